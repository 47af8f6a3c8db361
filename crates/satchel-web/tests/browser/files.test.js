// The file manager in a real browser against the real server: sign in and out, browsing and the
// URL, folders, renames, uploads, downloads, the trash, search, live refresh, big folders, the
// keyboard, the phone layout, and that user content never runs on the app's origin.

import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Api, axe, launchBrowser, newEmail, signIn, startServer, PASSWORD } from './harness.js';

let server;
let browser;
let context;
let page;
let api;
const errors = [];

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

beforeEach(async () => {
  context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  errors.length = 0;
  page.on('pageerror', (error) => errors.push(error.message));
  api = await Api.register(server.base);
});

afterEach(async () => {
  await context?.close();
  assert.deepEqual(errors, [], 'no script errors in the page');
});

/** Opens `path` and signs in as the test's user. */
async function openSignedIn(path = '/') {
  await page.goto(server.base + path);
  await signIn(page, api.email);
}

/** Waits until `check()` holds (the page updates asynchronously). */
async function until(check, timeout = 10000) {
  const end = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${check}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const grid = () => page.getByRole('grid', { name: 'Files' });
const row = (name) => grid().getByRole('row', { name, exact: true });

async function noAxeViolations(what) {
  const violations = await axe(page);
  assert.deepEqual(violations, [], `axe on ${what}: ${JSON.stringify(violations, null, 1)}`);
}

test('sign up, sign out, sign in; the session survives a reload', async () => {
  await page.goto(server.base + '/');
  await noAxeViolations('the sign-in page');
  const email = newEmail('signup');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  await grid().waitFor();
  await noAxeViolations('the files page');
  await page.reload();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await page.reload();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await signIn(page, email);
  await grid().waitFor();
});

test('a wrong password is refused with a message', async () => {
  await page.goto(server.base + '/');
  await page.getByLabel('Email').fill(api.email);
  await page.getByLabel('Password').fill('not the password at all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Wrong email or password' }).waitFor();
});

test('the access token is not kept in storage and the refresh cookie is HttpOnly', async () => {
  await openSignedIn();
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
  assert.ok(!stored.includes('ey'), `nothing token-like in storage: ${stored}`);
  const cookies = await context.cookies();
  const refresh = cookies.find((c) => c.name === 'satchel_refresh');
  assert.ok(refresh?.httpOnly, 'HttpOnly');
  assert.equal(refresh.sameSite, 'Strict');
  assert.equal(refresh.path, '/api/v1/auth/web');
});

test('browse: breadcrumbs, back and forward, reload keeps the folder', async () => {
  const a = await api.folder('root', 'Alpha');
  await api.folder(a.id, 'Beta');
  await openSignedIn();
  await row('Alpha').dblclick();
  await row('Beta').waitFor();
  assert.ok(page.url().endsWith('/files/Alpha'));
  await row('Beta').dblclick();
  await page.waitForURL(/\/files\/Alpha\/Beta$/);
  const crumbs = page.getByRole('navigation', { name: 'Breadcrumbs' });
  assert.equal(await crumbs.getByRole('link').count(), 3);
  await page.goBack();
  await row('Beta').waitFor();
  await page.goForward();
  await page.waitForURL(/\/files\/Alpha\/Beta$/);
  await page.reload();
  await crumbs.getByRole('link', { name: 'Beta' }).waitFor();
  await crumbs.getByRole('link', { name: 'Files' }).click();
  await row('Alpha').waitFor();
});

test('a deep link opens its folder after signing in', async () => {
  const a = await api.folder('root', 'Deep');
  await api.put(a.id, 'inside.txt', 'x');
  await page.goto(server.base + '/files/Deep');
  await signIn(page, api.email);
  await row('inside.txt').waitFor();
  assert.ok(page.url().endsWith('/files/Deep'));
});

test('new folder, then rename it with F2', async () => {
  await openSignedIn();
  await page.getByRole('button', { name: 'New folder' }).click();
  const dialog = page.getByRole('dialog', { name: 'New folder' });
  await noAxeViolations('the New folder dialog');
  await dialog.getByLabel('Name').fill('Projects');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await row('Projects').waitFor();
  await row('Projects').click();
  await grid().press('F2');
  const rename = page.getByRole('dialog', { name: 'Rename' });
  await rename.getByLabel('Name').fill('Work');
  await rename.getByRole('button', { name: 'Rename' }).click();
  await row('Work').waitFor();
  const names = (await api.children()).map((n) => n.name);
  assert.deepEqual(names, ['Work']);
});

test('upload through the file input; the bytes arrive', async () => {
  await openSignedIn();
  const input = page.locator('input[type=file]');
  await input.setInputFiles({ name: 'hello.txt', mimeType: 'text/plain', buffer: Buffer.from('hello from the browser') });
  const uploads = page.getByRole('region', { name: 'Uploads' });
  await uploads.getByText('Done').waitFor();
  await row('hello.txt').waitFor();
  await noAxeViolations('the files page with the uploads panel');
  const node = await api.byPath('/hello.txt');
  assert.equal(await api.content(node.id), 'hello from the browser');
});

test('upload by dropping files on the list', async () => {
  await openSignedIn();
  await grid().waitFor();
  const transfer = await page.evaluateHandle(() => {
    const data = new DataTransfer();
    data.items.add(new File(['dropped bytes'], 'dropped.txt', { type: 'text/plain' }));
    return data;
  });
  await grid().dispatchEvent('dragenter', { dataTransfer: transfer });
  await grid().dispatchEvent('dragover', { dataTransfer: transfer });
  await grid().dispatchEvent('drop', { dataTransfer: transfer });
  await row('dropped.txt').waitFor();
  const node = await api.byPath('/dropped.txt');
  assert.equal(await api.content(node.id), 'dropped bytes');
});

test('pausing and cancelling an upload', async () => {
  await openSignedIn();
  // Random bytes (equal chunks would be sent once), from a file: a 40 MB buffer crawls through
  // the debugging protocol on a busy machine.
  const dir = mkdtempSync(join(tmpdir(), 'satchel-big-'));
  writeFileSync(join(dir, 'big.bin'), randomBytes(40 * 1024 * 1024));
  // Slow the upload down so the panel can be used while it runs.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 2 * 1024 * 1024 });
  await page.locator('input[type=file]').setInputFiles(join(dir, 'big.bin'));
  const item = page.getByRole('region', { name: 'Uploads' }).getByRole('listitem', { name: 'big.bin' });
  await item.getByRole('button', { name: 'Pause' }).click();
  await item.getByRole('button', { name: 'Resume' }).waitFor();
  await item.getByRole('button', { name: 'Resume' }).click();
  await item.getByRole('button', { name: 'Cancel' }).click();
  await item.getByText('Cancelled').waitFor();
  const names = (await api.children()).map((n) => n.name);
  assert.ok(!names.includes('big.bin'));
  rmSync(dir, { recursive: true });
});

test('download a file', async () => {
  await api.put('root', 'report.txt', 'the report');
  await openSignedIn();
  await row('report.txt').click();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
  assert.equal(download.suggestedFilename(), 'report.txt');
  const path = await download.path();
  const { readFileSync } = await import('node:fs');
  assert.equal(readFileSync(path, 'utf8'), 'the report');
});

test('move to trash with Delete, then Undo', async () => {
  await api.put('root', 'keep.txt', 'k');
  await api.put('root', 'gone.txt', 'g');
  await openSignedIn();
  await row('gone.txt').click();
  await grid().press('Delete');
  await row('gone.txt').waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Undo' }).click();
  await row('gone.txt').waitFor();
  assert.equal((await api.children()).length, 2);
});

test('trash: restore, and delete forever', async () => {
  const one = await api.put('root', 'one.txt', '1');
  const two = await api.put('root', 'two.txt', '2');
  await api.call('DELETE', `/api/v1/nodes/${one.id}`);
  await api.call('DELETE', `/api/v1/nodes/${two.id}`);
  await openSignedIn('/trash');
  const trash = page.getByRole('table', { name: 'Trash' });
  await trash.getByRole('row', { name: 'one.txt' }).waitFor();
  await noAxeViolations('the trash');
  await trash.getByRole('row', { name: 'one.txt' }).getByRole('button', { name: 'Restore' }).click();
  await trash.getByRole('row', { name: 'one.txt' }).waitFor({ state: 'detached' });
  await trash.getByRole('row', { name: 'two.txt' }).getByRole('button', { name: 'Delete forever' }).click();
  const confirm = page.getByRole('dialog', { name: 'Delete forever' });
  await noAxeViolations('the Delete forever dialog');
  await confirm.getByRole('button', { name: 'Delete forever' }).click();
  await page.getByText('Trash is empty.').waitFor();
  assert.deepEqual((await api.children()).map((n) => n.name), ['one.txt']);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Files' }).click();
  await row('one.txt').waitFor();
});

test('search opens the result in its folder', async () => {
  const deep = await api.folder('root', 'Archive');
  await api.put(deep.id, 'needle-2024.txt', 'n');
  await openSignedIn();
  await page.getByRole('searchbox', { name: 'Search' }).fill('needle');
  await page.getByRole('searchbox', { name: 'Search' }).press('Enter');
  await page.getByRole('link', { name: 'needle-2024.txt' }).click();
  await page.waitForURL(/\/files\/Archive$/);
  await row('needle-2024.txt').waitFor();
  assert.equal(await row('needle-2024.txt').getAttribute('aria-selected'), 'true');
});

test('live refresh: a file made through the API appears without a reload', async () => {
  await openSignedIn();
  await grid().waitFor();
  await page.getByText('This folder is empty').waitFor();
  await api.put('root', 'from-elsewhere.txt', 'e');
  await row('from-elsewhere.txt').waitFor({ timeout: 5000 });
});

test('a folder of 2,500 entries: first screen, scroll to the end, filter', async () => {
  const big = await api.folder('root', 'Big');
  const names = Array.from({ length: 2500 }, (_, i) => `item-${String(i).padStart(5, '0')}.txt`);
  for (let i = 0; i < names.length; i += 50) {
    await Promise.all(names.slice(i, i + 50).map((name) => api.put(big.id, name, name)));
  }
  await openSignedIn('/files/Big');
  await row('item-00000.txt').waitFor();
  await until(async () => (await grid().getAttribute('aria-rowcount')) === '2501');
  const rendered = await grid().getByRole('row').count();
  assert.ok(rendered < 100, `only rows in view are drawn (${rendered})`);
  await row('item-00000.txt').click();
  await grid().press('End');
  await row('item-02499.txt').waitFor();
  await page.getByRole('textbox', { name: 'Filter' }).fill('item-0123');
  await row('item-01234.txt').waitFor();
  assert.equal(await grid().getAttribute('aria-rowcount'), String(10 + 1));
});

test('keyboard only: arrows, Enter opens, Backspace goes up', async () => {
  const a = await api.folder('root', 'A-folder');
  await api.folder('root', 'B-folder');
  await api.put(a.id, 'inner.txt', 'i');
  await openSignedIn();
  await row('B-folder').waitFor();
  await grid().focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  assert.equal(await row('B-folder').getAttribute('aria-selected'), 'true');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('Enter');
  await row('inner.txt').waitFor();
  await grid().focus();
  await page.keyboard.press('Backspace');
  await row('A-folder').waitFor();
  assert.equal(await row('A-folder').getAttribute('aria-selected'), 'true');
  // Shift extends, Ctrl+A takes all.
  await grid().focus();
  await page.keyboard.press('Shift+ArrowDown');
  assert.match(await page.getByText(/selected/).textContent(), /2 selected/);
  await page.keyboard.press('Control+a');
  assert.match(await page.getByText(/selected/).textContent(), /2 selected/);
});

test('an uploaded evil.html or evil.svg never runs in the app origin', async () => {
  const html = '<script>parent.postMessage("pwned","*");document.title="pwned"</script>';
  const svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>document.title="pwned"</script></svg>';
  const evilHtml = await api.put('root', 'evil.html', html, 'text/html');
  const evilSvg = await api.put('root', 'evil.svg', svg, 'image/svg+xml');
  await openSignedIn();
  for (const node of [evilHtml, evilSvg]) {
    // Even when asked to show it inline, the server answers an attachment in a sandbox.
    const response = await fetch(`${server.base}/api/v1/files/${node.id}/content?inline=1`, {
      headers: { Authorization: `Bearer ${api.token}` },
    });
    assert.match(response.headers.get('content-disposition'), /^attachment/);
    assert.equal(response.headers.get('content-security-policy'), 'sandbox');
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    // Opening it from the app downloads it; the app's page is untouched.
    await row(node.name).click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
    assert.equal(download.suggestedFilename(), node.name);
  }
  assert.notEqual(await page.title(), 'pwned');
  // Navigating straight to a signed URL downloads too, never renders.
  const { url } = await api.call('POST', `/api/v1/files/${evilHtml.id}/download-url`, {});
  const visit = await context.newPage();
  const downloaded = visit.waitForEvent('download');
  await visit.goto(url).catch(() => {});
  await downloaded;
  assert.notEqual(await visit.title(), 'pwned');
});

test('the phone layout at 375 px: navigation, toolbar and list fit', async () => {
  await page.setViewportSize({ width: 375, height: 740 });
  await api.put('root', 'a-rather-long-file-name-that-must-be-cut.txt', 'x');
  await openSignedIn();
  await row('a-rather-long-file-name-that-must-be-cut.txt').waitFor();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `no sideways scrolling (${width})`);
  for (const name of ['Upload', 'New folder', 'Sign out']) {
    assert.ok(await page.getByRole('button', { name }).isVisible(), name);
  }
  await page.getByRole('link', { name: 'Trash' }).click();
  await page.getByRole('heading', { name: 'Trash' }).waitFor();
  await noAxeViolations('the trash at 375 px');
});

test('shared with me and links pages', async () => {
  await openSignedIn('/shared');
  await page.getByRole('heading', { name: 'Shared with me' }).waitFor();
  await page.getByText('Nothing is shared with you yet.').waitFor();
  await noAxeViolations('shared with me');
  await page.getByRole('link', { name: 'Links' }).click();
  await page.getByText('You have no links yet.').waitFor();
  await noAxeViolations('links');
});

test('dark mode follows the system and the toggle', async () => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await openSignedIn();
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const dark = await background();
  const toggle = page.getByRole('button', { name: 'Dark mode' });
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
  await noAxeViolations('the files page in dark mode');
  await toggle.click();
  assert.notEqual(await background(), dark);
  assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
  await page.reload();
  await grid().waitFor();
  assert.notEqual(await background(), dark, 'the choice survives a reload');
});
