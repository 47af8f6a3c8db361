// The Share dialog (public links with password, expiry, download limit, upload-only; Copy link;
// disable, delete, access log; people with View/Edit, change and revoke), and the Links and
// Shared with me views, in a real browser against the real server.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Api } from './harness.js';
import { dayFromNow, noAxeViolations, openSignedIn, suite, until } from './kit.js';

const s = suite();

const grid = () => s.page.getByRole('grid', { name: 'Files' });
const row = (name) => grid().getByRole('row', { name, exact: true });
const dialog = () => s.page.getByRole('dialog', { name: 'Share' });

async function openShare(name) {
  await row(name).click();
  await s.page.getByRole('button', { name: 'Share', exact: true }).click();
  await dialog().waitFor();
}

test('the Share dialog makes a link with password, expiry and download limit, copies, logs, disables and deletes it', async () => {
  const api = await Api.register(s.server.base);
  await api.put('root', 'notes.txt', 'hello, visitor');
  await s.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.server.base });
  await openSignedIn(s.page, s.server.base, api.email);
  await openShare('notes.txt');
  await noAxeViolations(s.page, 'the Share dialog');
  assert.equal(await dialog().getByRole('checkbox', { name: 'Upload only' }).isDisabled(), true, 'a file takes no uploads');

  await dialog().getByLabel('Password', { exact: true }).fill('open sesame');
  await dialog().getByLabel('Expires').fill(dayFromNow(7));
  await dialog().getByLabel('Download limit').fill('3');
  await dialog().getByRole('button', { name: 'Create link' }).click();
  await dialog().getByText('0 of 3 downloads').waitFor();

  const links = (await api.call('GET', '/api/v1/links')).entries;
  assert.equal(links.length, 1);
  const [link] = links;
  assert.equal(link.has_password, true);
  assert.equal(link.max_downloads, 3);
  const days = (new Date(link.expires_at) - Date.now()) / 86400000;
  assert.ok(days > 6 && days < 8, `expires in about a week: ${link.expires_at}`);

  await dialog().getByRole('button', { name: 'Copy link' }).click();
  assert.equal(await s.page.evaluate(() => navigator.clipboard.readText()), link.url);

  // A visit with the password shows up in the count and the access log.
  const visited = await fetch(link.url, { headers: { 'X-Share-Password': 'open sesame' } });
  assert.equal(await visited.text(), 'hello, visitor');
  const refused = await fetch(link.url);
  assert.equal(refused.status, 401);
  await dialog().getByRole('button', { name: 'Access log' }).click();
  const log = dialog().getByRole('table', { name: 'Access log' });
  await log.waitFor();
  assert.equal(await log.getByRole('row').count(), 3, 'header, the visit, the refusal');
  await noAxeViolations(s.page, 'the Share dialog with a link and its access log');

  await dialog().getByRole('button', { name: 'Disable' }).click();
  await dialog().getByRole('button', { name: 'Enable' }).waitFor();
  assert.equal((await api.call('GET', '/api/v1/links')).entries[0].disabled, true);
  await dialog().getByRole('button', { name: 'Delete' }).click();
  await dialog().getByText('No links to this item yet.').waitFor();
  assert.equal((await api.call('GET', '/api/v1/links')).entries.length, 0);
});

test('an upload-only link is made for a folder', async () => {
  const api = await Api.register(s.server.base);
  await api.folder('root', 'Inbox');
  await openSignedIn(s.page, s.server.base, api.email);
  await openShare('Inbox');
  await dialog().getByRole('checkbox', { name: 'Upload only' }).check();
  await dialog().getByRole('button', { name: 'Create link' }).click();
  await dialog().getByRole('listitem', { name: /\/s\// }).waitFor();
  const [link] = (await api.call('GET', '/api/v1/links')).entries;
  assert.equal(link.permission, 'upload');
});

test('a folder shared with a second account shows in their Shared with me; permission changes and revoke', async () => {
  const ana = await Api.register(s.server.base);
  const bob = await Api.register(s.server.base);
  const team = await ana.folder('root', 'Team');
  await ana.put(team.id, 'plan.txt', 'the plan');
  await openSignedIn(s.page, s.server.base, ana.email);
  await openShare('Team');
  await dialog().getByLabel('Email').fill(bob.email);
  await dialog().getByLabel('Permission', { exact: true }).selectOption({ label: 'Edit' });
  await dialog().getByRole('button', { name: 'Invite' }).click();
  const member = dialog().getByRole('listitem', { name: bob.email });
  await member.waitFor();
  let shares = (await ana.call('GET', '/api/v1/shares')).entries;
  assert.equal(shares.length, 1);
  assert.equal(shares[0].permission, 'edit');

  // Bob sees it under Shared with me and opens it.
  const other = await s.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const bobPage = await other.newPage();
  await openSignedIn(bobPage, s.server.base, bob.email);
  await bobPage.getByRole('link', { name: 'Shared with me' }).click();
  const shared = bobPage.getByRole('table', { name: 'Shared with me' }).getByRole('row', { name: 'Team' });
  await shared.waitFor();
  assert.match(await shared.textContent(), new RegExp(ana.email.replace(/[.+]/g, '\\$&')));
  const violations = await (await import('./harness.js')).axe(bobPage);
  assert.deepEqual(violations, [], 'axe on Shared with me');
  await shared.getByRole('link', { name: 'Team' }).click();
  await bobPage.getByRole('grid', { name: 'Files' }).getByRole('row', { name: 'plan.txt' }).waitFor();

  // Ana lowers it to View, then revokes it.
  await member.getByRole('combobox').selectOption('view');
  await until(async () => (await ana.call('GET', '/api/v1/shares')).entries[0]?.permission === 'view');
  await member.getByRole('button', { name: /Remove/ }).click();
  await dialog().getByText('Not shared with anyone yet.').waitFor();
  shares = (await ana.call('GET', '/api/v1/shares')).entries;
  assert.equal(shares.length, 0);
  await bobPage.goto(s.server.base + '/shared');
  await bobPage.getByText('Nothing is shared with you yet.').waitFor();
  await other.close();
});

test('the Links view lists every link and share, with their actions', async () => {
  const ana = await Api.register(s.server.base);
  const bob = await Api.register(s.server.base);
  const report = await ana.put('root', 'report.pdf', 'pdf bytes');
  const photos = await ana.folder('root', 'Photos');
  await ana.call('POST', '/api/v1/links', { node_id: report.id, max_downloads: 5 });
  await ana.call('POST', '/api/v1/links', { node_id: photos.id, permission: 'upload' });
  await ana.call('POST', '/api/v1/shares', { node_id: photos.id, email: bob.email, permission: 'view' });
  await openSignedIn(s.page, s.server.base, ana.email);
  await s.page.getByRole('link', { name: 'Links' }).click();
  const table = s.page.getByRole('table', { name: 'Public links' });
  await table.getByRole('row', { name: 'report.pdf' }).waitFor();
  await table.getByRole('row', { name: 'Photos' }).waitFor();
  assert.match(await table.getByRole('row', { name: 'report.pdf' }).textContent(), /0 of 5 downloads/);
  const people = s.page.getByRole('table', { name: 'Shared with people' });
  await people.getByRole('row', { name: new RegExp(bob.email.replace(/[.+]/g, '\\$&')) }).waitFor();
  await noAxeViolations(s.page, 'the Links view');

  await table.getByRole('row', { name: 'report.pdf' }).getByRole('button', { name: 'Disable' }).click();
  await table.getByRole('row', { name: 'report.pdf' }).getByRole('button', { name: 'Enable' }).waitFor();
  await table.getByRole('row', { name: 'Photos' }).getByRole('button', { name: 'Delete' }).click();
  await until(async () => (await table.getByRole('row', { name: 'Photos' }).count()) === 0);
  const links = (await ana.call('GET', '/api/v1/links')).entries;
  assert.deepEqual(links.map((l) => [l.node_id, l.disabled]), [[report.id, true]]);
  await people.getByRole('button', { name: 'Remove' }).click();
  await s.page.getByText('You have not shared anything with people yet.').waitFor();
});
