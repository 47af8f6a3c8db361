// What the file-manager tests (manage.test.js, preview.test.js) share: one server and browser per
// file, a fresh account and page per test, no script errors, axe on dialogs, waiting, keyboard
// focus by Tab, and small media made here (PNG, WAV, PDF).

import { before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync, crc32 } from 'node:zlib';
import { Api, axe, launchBrowser, signIn, startServer } from './harness.js';

/** The state of the current test: {server, browser, context, page, api, errors}. */
export const s = { errors: [] };

/** Registers the hooks: a server and browser per file, an account and page per test. */
export function setup() {
  before(async () => {
    s.server = await startServer();
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
    s.page.on('dialog', (dialog) => {
      s.errors.push(`a JavaScript dialog opened: ${dialog.message()}`);
      dialog.dismiss().catch(() => {});
    });
    s.api = await Api.register(s.server.base);
  });
  afterEach(async () => {
    await s.context?.close();
    assert.deepEqual(s.errors, [], 'no script errors in the page');
  });
}

export async function openSignedIn(path = '/') {
  await s.page.goto(s.server.base + path);
  await signIn(s.page, s.api.email);
}

export const grid = () => s.page.getByRole('grid', { name: 'Files' });
export const row = (name) => grid().getByRole('row', { name, exact: true });

/** Waits until `check()` holds. */
export async function until(check, timeout = 10000) {
  const end = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${check}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function noAxeViolations(what) {
  const violations = await axe(s.page);
  assert.deepEqual(violations, [], `axe on ${what}: ${JSON.stringify(violations, null, 1)}`);
}

/** The accessible-ish name of the focused element (its label, aria-label or text). */
async function focusedName() {
  return s.page.evaluate(() => {
    const el = document.activeElement;
    if (!el) return '';
    const labelled = el.getAttribute('aria-labelledby');
    const label = el.getAttribute('aria-label') || (labelled && document.getElementById(labelled)?.textContent) || el.textContent || '';
    return `${el.getAttribute('role') || el.tagName.toLowerCase()}:${label.trim()}`;
  });
}

/** Presses Tab (Shift+Tab when `back`) until the focused element's "role:name" matches `pattern`. */
export async function tabTo(pattern, back = false) {
  for (let i = 0; i < 60; i += 1) {
    if (pattern.test(await focusedName())) return;
    await s.page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
  }
  throw new Error(`Tab never reached ${pattern} (at ${await focusedName()})`);
}

function chunk(type, data) {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([head, body, crc]);
}

/** A PNG of `width` × `height` filled with `rgb`. */
export function png(width, height, rgb = [200, 40, 40]) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const line = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x += 1) line.set(rgb, 1 + x * 3);
  const raw = Buffer.concat(Array.from({ length: height }, () => line));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A WAV of `seconds` of a quiet tone. */
export function wav(seconds = 1, rate = 8000) {
  const samples = seconds * rate;
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i += 1) data.writeInt16LE(Math.round(Math.sin(i / 4) * 2000), i * 2);
  const head = Buffer.alloc(44);
  head.write('RIFF', 0);
  head.writeUInt32LE(36 + data.length, 4);
  head.write('WAVEfmt ', 8);
  head.writeUInt32LE(16, 16);
  head.writeUInt16LE(1, 20);
  head.writeUInt16LE(1, 22);
  head.writeUInt32LE(rate, 24);
  head.writeUInt32LE(rate * 2, 28);
  head.writeUInt16LE(2, 32);
  head.writeUInt16LE(16, 34);
  head.write('data', 36);
  head.writeUInt32LE(data.length, 40);
  return Buffer.concat([head, data]);
}

/** A one-page PDF that says `text`. */
export function pdf(text = 'Hello PDF') {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    null,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  const stream = `BT /F1 24 Tf 40 60 Td (${text}) Tj ET`;
  objects[3] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`;
  let out = '%PDF-1.4\n';
  const offsets = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const at of offsets) out += `${String(at).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
