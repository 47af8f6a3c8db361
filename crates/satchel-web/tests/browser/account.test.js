// The Account page: the sessions (devices) list with Revoke, and Change password (the current
// password checked, other sessions signed out, the new password the one that signs in).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, PASSWORD, signIn } from './harness.js';
import { noAxeViolations, openSignedIn, suite } from './kit.js';

const s = suite();

async function status(api) {
  const response = await fetch(`${api.base}/api/v1/me`, { headers: { Authorization: `Bearer ${api.token}` } });
  return response.status;
}

test('the Account page lists sessions and revokes another device', async () => {
  const api = await Api.register(s.server.base);
  await openSignedIn(s.page, s.server.base, api.email);
  await s.page.getByRole('link', { name: 'Account' }).click();
  const sessions = s.page.getByRole('table', { name: 'Sessions' });
  await sessions.getByRole('row', { name: 'Web browser (This device)' }).waitFor();
  await noAxeViolations(s.page, 'the Account page');
  assert.equal(await sessions.getByRole('row', { name: 'Web browser (This device)' }).getByRole('button').count(), 0);
  assert.equal(await status(api), 200);
  await sessions.getByRole('button', { name: 'Revoke Unknown device' }).click();
  await s.page.getByText('Session revoked').waitFor();
  assert.equal(await status(api), 401, 'the revoked device is signed out');
  assert.equal(await sessions.getByRole('row').count(), 2, 'the header and this device');
});

test('changing the password checks the current one and signs other sessions out', async () => {
  const api = await Api.register(s.server.base);
  await openSignedIn(s.page, s.server.base, api.email, '/account');
  await s.page.getByLabel('Current password').fill('not my password');
  await s.page.getByLabel('New password').fill('a brand new passphrase');
  await s.page.getByRole('button', { name: 'Change password' }).click();
  await s.page.getByText('The current password is wrong.').waitFor();
  assert.equal(await status(api), 200, 'a refused change ends nothing');

  await s.page.getByLabel('Current password').fill(PASSWORD);
  await s.page.getByLabel('New password').fill('a brand new passphrase');
  await s.page.getByRole('button', { name: 'Change password' }).click();
  await s.page.getByText('Password changed.').waitFor();
  assert.equal(await status(api), 401, 'the other session ended');
  // This session stays; after signing out, only the new password signs in.
  await s.page.reload();
  await s.page.getByRole('button', { name: 'Sign out' }).click();
  await s.page.getByLabel('Email').fill(api.email);
  await s.page.getByLabel('Password').fill(PASSWORD);
  await s.page.getByRole('button', { name: 'Sign in' }).click();
  await s.page.getByText('Wrong email or password.').waitFor();
  await signIn(s.page, api.email, 'a brand new passphrase');
});
