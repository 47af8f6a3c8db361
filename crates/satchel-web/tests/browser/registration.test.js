// A server with registration closed does not offer "Create account".

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, startServer } from './harness.js';

let server;
let browser;

before(async () => {
  server = await startServer(['--registration', 'closed']);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('closed registration hides Create account', async () => {
  const page = await browser.newPage();
  await page.goto(server.base + '/');
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Create account' }).count(), 0);
  await page.close();
});
