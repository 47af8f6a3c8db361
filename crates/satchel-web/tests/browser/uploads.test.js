// Uploads in a real browser against the real server: chunked uploads that send only what the
// server lacks (nothing for a file the CLI stored), pause and resume across a reload, folders with
// sub-folders, name clashes, pause / cancel / retry, and the quota.

import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Api, PASSWORD, axe, binary, launchBrowser, signIn, startServer } from './harness.js';

let server;
let browser;
let context;
let page;
let api;
let scratch;
const errors = [];
/** Bytes of file content the page sent (chunk bodies and whole small files). */
let sent = 0;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  scratch = mkdtempSync(join(tmpdir(), 'satchel-uploads-'));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

beforeEach(async () => {
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  errors.length = 0;
  page.on('pageerror', (error) => errors.push(error.message));
  watchBytes(page);
  api = await Api.register(server.base);
});

afterEach(async () => {
  await context?.close();
  assert.deepEqual(errors, [], 'no script errors in the page');
});

/**
 * Counts the file bytes the page sends: each chunk PUT that the server took counts its chunk's
 * size (from `satchel debug-chunks` of the file being uploaded, see `expectChunks`), each whole
 * small-file PUT its Content-Length.
 */
let chunkSizes = [];
function watchBytes(target) {
  sent = 0;
  target.on('requestfinished', async (request) => {
    if (request.method() !== 'PUT') return;
    const chunk = request.url().match(/\/api\/v1\/uploads\/[^/]+\/chunks\/(\d+)$/);
    const status = (await request.response())?.status();
    if (chunk && status === 204) sent += chunkSizes[Number(chunk[1])];
    else if (request.url().includes('/api/v1/files/content') && status < 300) sent += Number((await request.headerValue('content-length')) || 0);
  });
}

/** The chunk list of the file the next uploads send (as the CLI cuts it). */
function expectChunks(path) {
  chunkSizes = execFileSync(binary(), ['debug-chunks', path], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => Number(line.split(' ')[1]));
}

/** A file of random bytes (written in pieces, never held whole); returns its path and SHA-256. */
function randomFile(name, size, dir = scratch) {
  const path = join(dir, name);
  const hash = createHash('sha256');
  const fd = openSync(path, 'w');
  for (let left = size; left > 0; ) {
    const piece = randomBytes(Math.min(left, 8 << 20));
    hash.update(piece);
    writeSync(fd, piece);
    left -= piece.length;
  }
  closeSync(fd);
  return { path, sha256: hash.digest('hex') };
}

/** The SHA-256 of a stored file's content, streamed from the API. */
async function storedSha256(path) {
  const node = await api.byPath(path);
  const response = await fetch(`${server.base}/api/v1/files/${node.id}/content`, { headers: { Authorization: `Bearer ${api.token}` } });
  assert.equal(response.status, 200);
  const hash = createHash('sha256');
  for await (const piece of response.body) hash.update(piece);
  return hash.digest('hex');
}

async function openSignedIn(path = '/') {
  await page.goto(server.base + path);
  await signIn(page, api.email);
  await grid().waitFor();
}

async function until(check, timeout = 20000) {
  const end = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${check}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const grid = () => page.getByRole('grid', { name: 'Files' });
const panel = () => page.getByRole('region', { name: 'Uploads' });
const item = (name) => panel().getByRole('listitem', { name, exact: true });

async function noAxeViolations(what) {
  const violations = await axe(page);
  assert.deepEqual(violations, [], `axe on ${what}: ${JSON.stringify(violations, null, 1)}`);
}

async function throttle(bytesPerSecond) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond });
  return cdp;
}

/** Runs the CLI as the test's user (its own config folder). */
function cli(...args) {
  const config = join(scratch, `cli-${api.email}`);
  mkdirSync(config, { recursive: true });
  const env = { ...process.env, XDG_CONFIG_HOME: config, XDG_CACHE_HOME: join(config, 'cache'), SATCHEL_PASSWORD: PASSWORD, SATCHEL_LOG: 'warn' };
  return execFileSync(binary(), args, { env, encoding: 'utf8' });
}

test('a 200 MB upload paused, the page reloaded, resumed: only the rest is sent, the SHA-256 matches', async () => {
  const size = 200 * 1000 * 1000;
  const file = randomFile('big-200.bin', size);
  expectChunks(file.path);
  await openSignedIn();
  const cdp = await throttle(25 * 1024 * 1024);
  await page.locator('input[type=file]').setInputFiles(file.path);
  const progress = item('big-200.bin').getByRole('progressbar');
  await until(async () => Number(await progress.getAttribute('value')) > 60_000_000, 60000);
  await item('big-200.bin').getByRole('button', { name: 'Pause' }).click();
  await item('big-200.bin').getByText(/^Paused/).waitFor();
  await noAxeViolations('the uploads panel with a paused upload');
  const before = sent;
  assert.ok(before > 50_000_000 && before < size, `sent ${before} before pausing`);
  await cdp.detach();

  await page.reload();
  await grid().waitFor();
  // The interrupted upload is listed again; Resume asks for the file, and only the rest goes up.
  await item('big-200.bin').getByText(/Interrupted/).waitFor();
  sent = 0;
  // The saved session goes on: no new one is opened.
  const opened = [];
  page.on('request', (request) => request.method() === 'POST' && request.url().endsWith('/api/v1/uploads') && opened.push(request.url()));
  const chooser = page.waitForEvent('filechooser');
  await item('big-200.bin').getByRole('button', { name: 'Resume' }).click();
  await (await chooser).setFiles(file.path);
  await item('big-200.bin').getByText(/^Done/).waitFor({ timeout: 120000 });
  assert.ok(sent < size - before + 8 * 1024 * 1024, `after the reload ${sent} bytes went up; ${size - before} were left`);
  assert.ok(sent > 0);
  assert.deepEqual(opened, [], 'the interrupted session was resumed, not a new one opened');
  assert.equal(await storedSha256('/big-200.bin'), file.sha256);
  // Nothing is left to resume.
  await page.reload();
  await grid().waitFor();
  await grid().getByRole('row', { name: 'big-200.bin', exact: true }).waitFor();
  assert.equal(await panel().count(), 0);
  rmSync(file.path);
});

test('an interrupted upload goes on when the same file is picked again with Upload', async () => {
  const file = randomFile('again.bin', 24 * 1000 * 1000);
  expectChunks(file.path);
  await openSignedIn();
  const cdp = await throttle(4 * 1024 * 1024);
  await page.locator('input[type=file]').setInputFiles(file.path);
  const progress = item('again.bin').getByRole('progressbar');
  await until(async () => Number(await progress.getAttribute('value')) > 6_000_000, 60000);
  await cdp.detach();
  await page.reload(); // mid-upload, without pausing: as a closed tab would
  await grid().waitFor();
  await item('again.bin').getByText(/Interrupted/).waitFor();
  sent = 0;
  const opened = [];
  page.on('request', (request) => request.method() === 'POST' && request.url().endsWith('/api/v1/uploads') && opened.push(request.url()));
  await page.locator('input[type=file]').setInputFiles(file.path);
  await item('again.bin').getByText(/^Done/).waitFor({ timeout: 60000 });
  assert.equal(await panel().getByText(/Interrupted/).count(), 0, 'the interrupted row made way for the resumed upload');
  assert.deepEqual(opened, [], 'the saved session went on');
  assert.ok(sent < 24_000_000 - 4_000_000, `${sent} bytes sent after the reload`);
  assert.equal(await storedSha256('/again.bin'), file.sha256);
});

test('a file the CLI stored sends nothing when uploaded from the browser; an edit sends one chunk or two', async () => {
  const file = randomFile('from-cli.bin', 30 * 1000 * 1000);
  expectChunks(file.path);
  cli('login', server.base, '--email', api.email);
  cli('put', file.path, '/');
  const again = await api.folder('root', 'Again');
  await openSignedIn('/files/Again');
  await page.locator('input[type=file]').setInputFiles(file.path);
  await item('from-cli.bin').getByText(/^Done/).waitFor({ timeout: 60000 });
  assert.equal(sent, 0, 'no chunk bytes sent');
  await item('from-cli.bin').getByText(/already on the server/).waitFor();
  assert.equal(await storedSha256('/Again/from-cli.bin'), file.sha256);

  // The same file with a few bytes changed in the middle: only the chunk(s) around them go up.
  const bytes = readFileSync(file.path);
  bytes.write('edited!', 15_000_000);
  mkdirSync(join(scratch, 'edited'), { recursive: true });
  const edited = join(scratch, 'edited', 'from-cli.bin');
  writeFileSync(edited, bytes);
  expectChunks(edited);
  const other = await api.folder(again.id, 'Edited');
  await page.goto(`${server.base}/files/Again/Edited`);
  await grid().waitFor();
  sent = 0;
  await page.locator('input[type=file]').setInputFiles(edited);
  await item('from-cli.bin').getByText(/^Done/).waitFor({ timeout: 60000 });
  assert.ok(sent > 0 && sent <= 2 * 4 * 1024 * 1024, `an edit sent ${sent} bytes`);
  assert.equal(await storedSha256('/Again/Edited/from-cli.bin'), createHash('sha256').update(bytes).digest('hex'));
  assert.ok(other.id);
  rmSync(file.path);
});

test('a folder of 1,000 files in sub-folders, picked with Import folder', async () => {
  const top = join(scratch, 'Thousand');
  let expected = 0;
  for (let a = 0; a < 10; a++) {
    const dir = join(top, `part-${a}`, a % 2 ? 'deeper' : '');
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 100; i++) {
      writeFileSync(join(dir, `file-${a}-${i}.txt`), `file ${a} ${i}\n`);
      expected += 1;
    }
  }
  await openSignedIn();
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Import folder' }).click();
  await (await chooser).setFiles(top);
  await panel().getByText('1,000 of 1,000 files').waitFor({ timeout: 120000 });
  await grid().getByRole('row', { name: 'Thousand', exact: true }).waitFor();
  let files = 0;
  const walk = async (id) => {
    for (const entry of await api.children(id)) {
      if (entry.kind === 'folder') await walk(entry.id);
      else files += 1;
    }
  };
  await walk((await api.byPath('/Thousand')).id);
  assert.equal(files, expected);
  assert.equal(await api.content((await api.byPath('/Thousand/part-3/deeper/file-3-42.txt')).id), 'file 3 42\n');
  assert.equal(await api.content((await api.byPath('/Thousand/part-4/file-4-99.txt')).id), 'file 4 99\n');
  rmSync(top, { recursive: true });
});

test('a folder dragged from the desktop onto a folder row lands inside it, sub-folders too', async () => {
  const top = join(scratch, 'Dragged');
  mkdirSync(join(top, 'inner', 'deepest'), { recursive: true });
  writeFileSync(join(top, 'a.txt'), 'a');
  writeFileSync(join(top, 'inner', 'b.txt'), 'b');
  writeFileSync(join(top, 'inner', 'deepest', 'c.txt'), 'c');
  mkdirSync(join(top, 'empty'));
  await api.folder('root', 'Target');
  await openSignedIn();
  const target = page.getByRole('row', { name: 'Target' });
  await target.waitFor();
  const box = await target.boundingBox();
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  // A real drag of a folder, as the operating system gives it to the browser.
  const cdp = await context.newCDPSession(page);
  const data = { items: [], files: [top], dragOperationsMask: 1 };
  for (const type of ['dragEnter', 'dragOver', 'drop']) {
    await cdp.send('Input.dispatchDragEvent', { type, x, y, data });
  }
  await until(async () => {
    try {
      return (await api.content((await api.byPath('/Target/Dragged/inner/deepest/c.txt')).id)) === 'c';
    } catch {
      return false;
    }
  });
  assert.equal(await api.content((await api.byPath('/Target/Dragged/a.txt')).id), 'a');
  assert.equal((await api.byPath('/Target/Dragged/empty')).kind, 'folder');
  rmSync(top, { recursive: true });
});

test('name clashes ask: replace makes a version, keep both renames, skip leaves it; apply to all', async () => {
  for (const name of ['a.txt', 'b.txt', 'c.txt', 'd.txt', 'e.txt']) await api.put('root', name, `old ${name}`);
  await openSignedIn();
  const input = page.locator('input[type=file]');
  const dialog = page.getByRole('dialog', { name: 'Name already taken' });
  const upload = (...names) => input.setInputFiles(names.map((name) => ({ name, mimeType: 'text/plain', buffer: Buffer.from(`new ${name}`) })));

  await upload('a.txt');
  await dialog.waitFor();
  await noAxeViolations('the name clash dialog');
  await dialog.getByRole('button', { name: 'Replace' }).click();
  await item('a.txt').getByText(/^Done/).waitFor();
  assert.equal(await api.content((await api.byPath('/a.txt')).id), 'new a.txt');
  const versions = await api.call('GET', `/api/v1/files/${(await api.byPath('/a.txt')).id}/versions`);
  assert.equal(versions.entries.length, 2, 'the old content is kept as a version');

  await upload('b.txt');
  await dialog.getByRole('button', { name: 'Keep both' }).click();
  await item('b.txt').getByText(/^Done/).waitFor();
  const names = (await api.children()).map((n) => n.name);
  assert.equal(await api.content((await api.byPath('/b.txt')).id), 'old b.txt');
  const copy = names.find((n) => n !== 'b.txt' && n.startsWith('b') && n.endsWith('.txt'));
  assert.ok(copy, `a second b: ${names}`);
  assert.equal(await api.content((await api.byPath(`/${copy}`)).id), 'new b.txt');

  // Three clashes: Skip with "apply to all" asks once and uploads none of them.
  await upload('c.txt', 'd.txt', 'e.txt', 'fresh.txt');
  await dialog.getByLabel(/apply to all/i).check();
  await dialog.getByRole('button', { name: 'Skip' }).click();
  await item('fresh.txt').getByText(/^Done/).waitFor();
  assert.equal(await dialog.count(), 0);
  for (const name of ['c.txt', 'd.txt', 'e.txt']) {
    assert.equal(await api.content((await api.byPath(`/${name}`)).id), `old ${name}`);
    assert.equal(await item(name).count(), 0);
  }
});

test('pause, resume and cancel one upload; pause all; a failed upload is retried', async () => {
  await openSignedIn();
  const cdp = await throttle(4 * 1024 * 1024);
  const big = randomFile('slow.bin', 40 * 1000 * 1000);
  await page.locator('input[type=file]').setInputFiles(big.path);
  const slow = item('slow.bin');
  await slow.getByRole('button', { name: 'Pause' }).click();
  await slow.getByText(/^Paused/).waitFor();
  await panel().getByRole('button', { name: 'Resume all' }).click();
  await slow.getByRole('button', { name: 'Pause' }).waitFor();
  await panel().getByRole('button', { name: 'Pause all' }).click();
  await slow.getByText(/^Paused/).waitFor();
  await slow.getByRole('button', { name: 'Resume' }).click();
  await slow.getByRole('button', { name: 'Cancel' }).click();
  await slow.getByText('Cancelled').waitFor();
  assert.ok(!(await api.children()).some((n) => n.name === 'slow.bin'));
  await cdp.detach();

  // The server refuses the chunks for a while: the upload fails, Retry finishes it.
  const refuse = (route) => route.fulfill({ status: 400, contentType: 'application/problem+json', body: JSON.stringify({ code: 'bad_request', title: 'refused for the test', status: 400 }) });
  await page.route(/\/api\/v1\/uploads\/[^/]+\/chunks\/\d+$/, refuse);
  const retried = randomFile('retried.bin', 3 * 1000 * 1000);
  await page.locator('input[type=file]').setInputFiles(retried.path);
  await item('retried.bin').getByText(/^Failed/).waitFor();
  await page.unroute(/\/api\/v1\/uploads\/[^/]+\/chunks\/\d+$/, refuse);
  await item('retried.bin').getByRole('button', { name: 'Retry' }).click();
  await item('retried.bin').getByText(/^Done/).waitFor();
  assert.equal(await storedSha256('/retried.bin'), retried.sha256);
  await noAxeViolations('the uploads panel');
});

test('an upload that would pass the quota is refused with a clear message', async () => {
  const small = await startServer(['--default-quota', '1000000']);
  try {
    const user = await Api.register(small.base);
    await page.goto(small.base + '/');
    await signIn(page, user.email);
    await grid().waitFor();
    await page.locator('input[type=file]').setInputFiles({ name: 'too-big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(1_500_000, 1) });
    await panel().getByRole('alert').getByText(/needs 1.5 MB but only 1.0 MB of your storage is free/).waitFor();
    assert.equal((await user.children()).length, 0);
  } finally {
    await small.stop();
  }
});
