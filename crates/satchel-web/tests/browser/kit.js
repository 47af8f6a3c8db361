// The hooks every sharing/account/admin browser test file shares: one server and one Chromium per
// file, a fresh browser context per test (with no script errors allowed), and small helpers.

import { before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { axe, launchBrowser, signIn, startServer } from './harness.js';

/** Registers the hooks; the returned object's fields are filled in as they run. */
export function suite(flags = []) {
  // WEB_DIR serves the app from a folder instead of the binary (development: no rebuild per edit).
  if (process.env.WEB_DIR) flags = [...flags, '--web-dir', process.env.WEB_DIR];
  const s = { server: null, browser: null, context: null, page: null, errors: [] };
  before(async () => {
    s.server = await startServer(flags);
    s.browser = await launchBrowser();
  });
  after(async () => {
    await s.browser?.close();
    await s.server?.stop();
  });
  beforeEach(async () => {
    s.context = await s.browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 } });
    s.page = await s.context.newPage();
    s.errors.length = 0;
    s.page.on('pageerror', (error) => s.errors.push(error.message));
  });
  afterEach(async () => {
    await s.context?.close();
    assert.deepEqual(s.errors, [], 'no script errors in the page');
  });
  return s;
}

/** Opens `path` and signs in as `email`. */
export async function openSignedIn(page, base, email, path = '/') {
  await page.goto(base + path);
  await signIn(page, email);
}

/** Waits until `check()` holds. */
export async function until(check, timeout = 10000) {
  const end = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${check}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Fails with the list when axe finds serious or critical violations in `selector` (or the page). */
export async function noAxeViolations(page, what, selector) {
  const violations = await axe(page, selector);
  assert.deepEqual(violations, [], `axe on ${what}: ${JSON.stringify(violations, null, 1)}`);
}

/** A date `days` from today as YYYY-MM-DD (local time, as a date field takes it). */
export function dayFromNow(days) {
  const d = new Date(Date.now() + days * 86400000);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
