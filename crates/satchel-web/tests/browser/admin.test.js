// The Admin page: only for admins (the first account), with storage statistics and accounts
// (Create user, Disable, Reset password, Set quota); a non-admin has no Admin page.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, PASSWORD } from './harness.js';
import { noAxeViolations, openSignedIn, suite } from './kit.js';

const s = suite();
let admin;

/** The server's first account, its admin (made before any other account). */
async function firstAccount() {
  admin ??= await Api.register(s.server.base);
  return admin;
}

async function login(email, password = PASSWORD) {
  return fetch(`${s.server.base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
}

test('an admin creates a user, sets a quota, resets the password and disables the account', async () => {
  await firstAccount();
  await admin.put('root', 'a.bin', 'x'.repeat(5000));
  await admin.put('root', 'b.bin', 'x'.repeat(5000));
  await openSignedIn(s.page, s.server.base, admin.email);
  await s.page.getByRole('link', { name: 'Admin' }).click();
  const users = s.page.getByRole('table', { name: 'Users' });
  await users.getByRole('row', { name: admin.email }).waitFor();
  await s.page.getByText('Dedup ratio').waitFor();
  assert.match(await s.page.locator('dl.stats').textContent(), /Logical size[^]*10 KB[^]*Stored size[^]*5\.0 KB/);
  await noAxeViolations(s.page, 'the Admin page');

  await s.page.getByRole('button', { name: 'Create user' }).click();
  const create = s.page.getByRole('dialog', { name: 'Create user' });
  await noAxeViolations(s.page, 'the Create user dialog');
  await create.getByLabel('Email').fill('cy@example.org');
  await create.getByLabel('Password').fill(PASSWORD);
  await create.getByLabel('Quota').fill('5');
  await create.getByRole('button', { name: 'Create user' }).click();
  const cy = users.getByRole('row', { name: 'cy@example.org' });
  await cy.waitFor();
  assert.match(await cy.textContent(), /5\.0 MB/);
  assert.equal((await login('cy@example.org')).status, 200);

  await cy.getByRole('button', { name: 'Set quota' }).click();
  const quota = s.page.getByRole('dialog', { name: 'Set quota' });
  await quota.getByLabel('Quota').fill('');
  await quota.getByRole('button', { name: 'Set quota' }).click();
  await cy.getByText('Unlimited').waitFor();

  await cy.getByRole('button', { name: 'Reset password' }).click();
  const reset = s.page.getByRole('dialog', { name: 'Reset password' });
  await reset.getByLabel('New password').fill('a reset passphrase');
  await reset.getByRole('button', { name: 'Reset password' }).click();
  await reset.waitFor({ state: 'detached' });
  assert.equal((await login('cy@example.org')).status, 401);
  const session = await (await login('cy@example.org', 'a reset passphrase')).json();

  await cy.getByRole('button', { name: 'Disable' }).click();
  await cy.getByRole('button', { name: 'Enable' }).waitFor();
  assert.match(await cy.textContent(), /Disabled/);
  const refused = await login('cy@example.org', 'a reset passphrase');
  assert.equal(refused.status, 403);
  assert.equal((await refused.json()).code, 'account_disabled');
  const me = await fetch(`${s.server.base}/api/v1/me`, { headers: { Authorization: `Bearer ${session.access_token}` } });
  assert.equal(me.status, 401, 'the disabled account’s sessions ended');
  assert.equal(await users.getByRole('row', { name: admin.email }).getByRole('button', { name: 'Disable' }).count(), 0, 'no locking oneself out');
});

test('a non-admin has no Admin page', async () => {
  await firstAccount();
  const api = await Api.register(s.server.base);
  await openSignedIn(s.page, s.server.base, api.email);
  await s.page.getByRole('link', { name: 'Account' }).waitFor();
  assert.equal(await s.page.getByRole('link', { name: 'Admin' }).count(), 0);
  await s.page.goto(s.server.base + '/admin');
  await s.page.getByRole('button', { name: 'Sign out' }).waitFor();
  await s.page.getByText('only admin accounts may use the admin API').waitFor();
  assert.equal(await s.page.getByRole('table', { name: 'Users' }).getByRole('row', { name: admin.email }).count(), 0);
  const response = await api.call('GET', '/api/v1/admin/users').catch((error) => error.message);
  assert.match(String(response), /403/);
});
