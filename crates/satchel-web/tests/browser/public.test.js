// Public link pages as a visitor's browser sees /s/{token}: a file with its preview and Download,
// a browsable folder with Download all, a password link, an expired link, an upload-only drop zone
// that never lists what is inside; nothing of the owner shows.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Api } from './harness.js';
import { noAxeViolations, suite, until } from './kit.js';

const s = suite();

async function link(api, body) {
  return api.call('POST', '/api/v1/links', body);
}

async function noOwner(api) {
  const text = await s.page.content();
  assert.ok(!text.includes(api.email), 'the owner’s email is nowhere in the page');
}

test('a file link shows a preview and a Download button', async () => {
  const api = await Api.register(s.server.base);
  const file = await api.put('root', 'notes.txt', 'hello, visitor', 'text/plain');
  const { url } = await link(api, { node_id: file.id });
  await s.page.goto(url);
  await s.page.getByRole('heading', { name: 'notes.txt' }).waitFor();
  await s.page.getByText('hello, visitor').waitFor();
  await noAxeViolations(s.page, 'a file link page');
  await noOwner(api);
  const [download] = await Promise.all([s.page.waitForEvent('download'), s.page.getByRole('button', { name: 'Download' }).click()]);
  assert.equal(download.suggestedFilename(), 'notes.txt');
  assert.equal(readFileSync(await download.path(), 'utf8'), 'hello, visitor');
});

test('a folder link is browsable and offers Download all', async () => {
  const api = await Api.register(s.server.base);
  const trip = await api.folder('root', 'Trip');
  const day = await api.folder(trip.id, 'Day 1');
  await api.put(day.id, 'beach.txt', 'sand');
  await api.put(trip.id, 'route.txt', 'north');
  const { url } = await link(api, { node_id: trip.id });
  await s.page.goto(url);
  const table = s.page.getByRole('table', { name: 'Trip' });
  await table.getByRole('row', { name: 'route.txt' }).waitFor();
  await noAxeViolations(s.page, 'a folder link page');
  await noOwner(api);
  const all = s.page.getByRole('button', { name: 'Download all' });
  assert.match(await all.getAttribute('href'), /\?download=zip$/);
  await table.getByRole('link', { name: 'Day 1' }).click();
  await s.page.getByRole('table', { name: 'Day 1' }).getByRole('row', { name: 'beach.txt' }).waitFor();
  assert.ok(s.page.url().endsWith('/Day%201'), s.page.url());
  // Reload keeps the place (the server answers the page at any depth).
  await s.page.reload();
  await s.page.getByRole('table', { name: 'Day 1' }).getByRole('row', { name: 'beach.txt' }).waitFor();
  const [download] = await Promise.all([
    s.page.waitForEvent('download'),
    s.page.getByRole('link', { name: 'Download beach.txt' }).click(),
  ]);
  assert.equal(readFileSync(await download.path(), 'utf8'), 'sand');
  await s.page.goBack();
  await s.page.getByRole('table', { name: 'Trip' }).getByRole('row', { name: 'route.txt' }).waitFor();
});

test('a password link asks for the password, refuses a wrong one, then opens', async () => {
  const api = await Api.register(s.server.base);
  const file = await api.put('root', 'secret.txt', 'the secret', 'text/plain');
  const { url } = await link(api, { node_id: file.id, password: 'open sesame' });
  await s.page.goto(url);
  await s.page.getByRole('heading', { name: 'This link is protected' }).waitFor();
  await noAxeViolations(s.page, 'a password link page');
  assert.equal(await s.page.getByText('the secret').count(), 0);
  await s.page.getByLabel('Password').fill('wrong words');
  await s.page.getByRole('button', { name: 'Open' }).click();
  await s.page.getByText('Wrong password.').waitFor();
  await s.page.getByLabel('Password').fill('open sesame');
  await s.page.getByRole('button', { name: 'Open' }).click();
  await s.page.getByText('the secret').waitFor();
  const [download] = await Promise.all([s.page.waitForEvent('download'), s.page.getByRole('button', { name: 'Download' }).click()]);
  assert.equal(readFileSync(await download.path(), 'utf8'), 'the secret');
});

test('an expired link says so', async () => {
  const api = await Api.register(s.server.base);
  const file = await api.put('root', 'old.txt', 'old');
  const { url } = await link(api, { node_id: file.id, expires_at: new Date(Date.now() + 3000).toISOString() });
  await new Promise((resolve) => setTimeout(resolve, 3500));
  await s.page.goto(url);
  await s.page.getByRole('alert').filter({ hasText: 'This link has expired.' }).waitFor();
  await noAxeViolations(s.page, 'an expired link page');
  assert.equal(await s.page.getByText('old.txt').count(), 0);
});

test('an upload-only link takes dropped files with progress and lists nothing', async () => {
  const api = await Api.register(s.server.base);
  const inbox = await api.folder('root', 'Inbox');
  await api.put(inbox.id, 'already-there.txt', 'private');
  const { url } = await link(api, { node_id: inbox.id, permission: 'upload' });
  await s.page.goto(url);
  const zone = s.page.getByRole('region', { name: 'Drop zone' });
  await zone.waitFor();
  await noAxeViolations(s.page, 'an upload-only link page');
  await noOwner(api);
  assert.equal(await s.page.getByText('already-there.txt').count(), 0);

  const transfer = await s.page.evaluateHandle(() => {
    const data = new DataTransfer();
    data.items.add(new File(['dropped bytes'], 'dropped.txt', { type: 'text/plain' }));
    data.items.add(new File(['x'.repeat(300000)], 'big.bin'));
    return data;
  });
  await zone.dispatchEvent('drop', { dataTransfer: transfer });
  const uploads = s.page.getByRole('list', { name: 'Uploads' });
  await uploads.getByRole('listitem', { name: 'dropped.txt' }).getByText('Sent').waitFor();
  await uploads.getByRole('listitem', { name: 'big.bin' }).getByText('Sent').waitFor();
  assert.equal(await uploads.getByRole('progressbar', { name: 'big.bin' }).getAttribute('value'), '300000');
  // The chooser works too (the file input exists in the page), and a clash gets a free name.
  await s.page.locator('input[type=file]').setInputFiles({ name: 'dropped.txt', mimeType: 'text/plain', buffer: Buffer.from('again') });
  await uploads.getByText(/Sent as dropped/).waitFor();
  const names = (await api.children(inbox.id)).map((e) => e.name).sort();
  assert.equal(names.length, 4, names.join());
  assert.ok(names.includes('dropped.txt') && names.includes('big.bin'), names.join());
  await until(async () => (await s.page.getByText('already-there.txt').count()) === 0);
});
