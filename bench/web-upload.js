#!/usr/bin/env node
// bench/web-upload.js — a browser upload against the CLI's, on loopback.
//
// Usage (after `cargo build --release -p satchel` and `npm ci` in crates/satchel-web/tests/browser):
//   SATCHEL_BIN=target/release/satchel node bench/web-upload.js [SIZE_MIB=1024]
//
// Starts `satchel serve` on a fresh data folder, makes a file of SIZE_MIB random MiB, then times:
//   1. `satchel put FILE /` by user A (the CLI's rate);
//   2. the same file uploaded by user B in headless Chromium through the web app (picked with
//      Upload, timed from the pick to "Done"): the web app's rate, and its share of the CLI's;
//   3. user B uploading the same file again into another folder: the bytes the page sent.
// Prints one JSON line. Targets: browser ≥ 60 % of the CLI; re-upload < 1 MiB sent.

import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const tests = join(here, '..', 'crates', 'satchel-web', 'tests', 'browser');
const { Api, PASSWORD, binary, launchBrowser, signIn, startServer } = await import(join(tests, 'harness.js'));

const mib = Number(process.argv[2] || 1024);
const size = mib * 1024 * 1024;
const scratch = mkdtempSync(join(tmpdir(), 'satchel-web-bench-'));
const file = join(scratch, 'bench.bin');
const fd = openSync(file, 'w');
for (let left = size; left > 0; left -= 8 << 20) writeSync(fd, randomBytes(Math.min(left, 8 << 20)));
closeSync(fd);

const server = await startServer();
const browser = await launchBrowser();
try {
  // 1. The CLI.
  const cliUser = await Api.register(server.base);
  const config = join(scratch, 'cli');
  mkdirSync(config);
  const env = { ...process.env, XDG_CONFIG_HOME: config, XDG_CACHE_HOME: join(config, 'cache'), SATCHEL_PASSWORD: PASSWORD, SATCHEL_LOG: 'warn' };
  execFileSync(binary(), ['login', server.base, '--email', cliUser.email], { env });
  let started = performance.now();
  execFileSync(binary(), ['put', file, '/'], { env });
  const cliSeconds = (performance.now() - started) / 1000;

  // 2. The browser, as another user (so that nothing is already on the server for it).
  const webUser = await Api.register(server.base);
  const context = await browser.newContext();
  const page = await context.newPage();
  // Bytes sent: each chunk PUT the server took counts its chunk's size (the CLI's cut of the file,
  // which the web app's equals); whole small-file PUTs count their Content-Length.
  const chunkSizes = execFileSync(binary(), ['debug-chunks', file], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => Number(line.split(' ')[1]));
  let sent = 0;
  page.on('requestfinished', async (request) => {
    if (request.method() !== 'PUT') return;
    const status = (await request.response())?.status();
    const chunk = request.url().match(/\/api\/v1\/uploads\/[^/]+\/chunks\/(\d+)$/);
    if (chunk && status === 204) sent += chunkSizes[Number(chunk[1])];
    else if (request.url().includes('/api/v1/files/content') && status < 300) sent += Number((await request.headerValue('content-length')) || 0);
  });
  await page.goto(server.base + '/');
  await signIn(page, webUser.email);
  await page.getByRole('grid', { name: 'Files' }).waitFor();
  const done = () => page.getByRole('region', { name: 'Uploads' }).getByRole('listitem', { name: 'bench.bin' }).getByText(/^Done/);
  started = performance.now();
  await page.locator('input[type=file]').setInputFiles(file);
  await done().waitFor({ timeout: 3600_000 });
  const webSeconds = (performance.now() - started) / 1000;
  const firstSent = sent;

  // 3. The same file again, into another folder.
  await webUser.folder('root', 'again');
  await page.goto(server.base + '/files/again');
  await page.getByRole('grid', { name: 'Files' }).waitFor();
  sent = 0;
  started = performance.now();
  await page.locator('input[type=file]').setInputFiles(file);
  await done().waitFor({ timeout: 3600_000 });
  const againSeconds = (performance.now() - started) / 1000;
  const rate = (seconds) => Math.round((size / 1048576 / seconds) * 10) / 10;
  console.log(
    JSON.stringify({
      size_mib: mib,
      cli_seconds: +cliSeconds.toFixed(2),
      cli_mib_per_s: rate(cliSeconds),
      browser_seconds: +webSeconds.toFixed(2),
      browser_mib_per_s: rate(webSeconds),
      browser_share_of_cli: +(cliSeconds / webSeconds).toFixed(2),
      browser_bytes_sent: firstSent,
      reupload_seconds: +againSeconds.toFixed(2),
      reupload_bytes_sent: sent,
    }),
  );
  await context.close();
} finally {
  await browser.close();
  await server.stop();
  rmSync(scratch, { recursive: true, force: true });
}
