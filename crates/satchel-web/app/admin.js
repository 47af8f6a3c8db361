// The Admin page (admins only; loaded on first visit): storage statistics (logical against stored
// bytes, the dedup ratio) and the accounts — Create user, Disable/Enable, Reset password, Set quota.
// The server decides who is an admin; a non-admin reaching /admin sees its refusal, nothing else.

import * as api from './api.js';
import { h, replace } from './dom.js';
import { t, ts, bytes } from './i18n.js';
import { modal, field } from './share.js';

const MB = 1000 * 1000;

export function adminPage(app) {
  const stats = h('dl', { class: 'stats' });
  const users = h('tbody', {});
  const note = h('p', { class: 'empty', hidden: true });
  const element = h(
    'section',
    { class: 'page' },
    h('h1', {}, ts.admin),
    note,
    h('section', { 'aria-labelledby': 'admin-storage' }, h('h2', { id: 'admin-storage' }, ts.storage), stats),
    h(
      'section',
      { 'aria-labelledby': 'admin-users' },
      h('h2', { id: 'admin-users' }, ts.users),
      h('div', { class: 'toolbar' }, h('button', { type: 'button', class: 'primary', onclick: createUser }, ts.createUser)),
      h(
        'div',
        { class: 'table-scroll' },
        h(
          'table',
          { class: 'table keep-cols', 'aria-label': ts.users },
          h('thead', {}, h('tr', {}, [t.email, ts.role, ts.status, ts.used, ts.quotaLabel, t.actions].map((c) => h('th', { scope: 'col' }, c)))),
          users,
        ),
      ),
    ),
  );

  async function draw() {
    try {
      const [figures, list] = await Promise.all([api.request('GET', '/api/v1/admin/stats'), api.request('GET', '/api/v1/admin/users')]);
      note.hidden = true;
      replace(
        stats,
        [
          [ts.userCount, String(figures.users)],
          [ts.fileCount, String(figures.files)],
          [ts.versionCount, String(figures.versions)],
          [ts.logicalBytes, bytes(figures.logical_bytes)],
          [ts.storedBytes, bytes(figures.stored_bytes)],
          [ts.dedupRatio, `${figures.dedup_ratio.toFixed(2)}×`],
        ].map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
      );
      replace(users, list.entries.map(userRow));
    } catch (error) {
      note.textContent = error.message;
      note.hidden = false;
    }
  }

  function userRow(user) {
    const act = (run) => async () => {
      try {
        await run();
      } catch (error) {
        app.toast(app, error.message);
      }
      draw();
    };
    const self = user.id === app.user.id;
    return h(
      'tr',
      { 'aria-label': user.email },
      h('th', { scope: 'row' }, user.email),
      h('td', {}, user.is_admin ? ts.administrator : ts.user),
      h('td', {}, user.disabled ? t.disabled : ts.active),
      h('td', {}, bytes(user.used_bytes)),
      h('td', {}, user.quota_bytes == null ? ts.unlimited : bytes(user.quota_bytes)),
      h(
        'td',
        { class: 'row-actions' },
        !self &&
          h(
            'button',
            { type: 'button', onclick: act(() => patch(user, { disabled: !user.disabled })) },
            user.disabled ? ts.enable : ts.disable,
          ),
        h('button', { type: 'button', onclick: () => resetPassword(user) }, ts.resetPassword),
        h('button', { type: 'button', onclick: () => setQuota(user) }, ts.setQuota),
      ),
    );
  }

  const patch = (user, body) => api.request('PATCH', `/api/v1/admin/users/${user.id}`, body);

  /** A small form dialog: `fields` then a submit button; `submit(close)` may throw to show an error. */
  function formDialog(title, fields, confirm, submit) {
    return modal(title, (close) => {
      const error = h('p', { class: 'form-error', role: 'alert' });
      const form = h(
        'form',
        {
          onsubmit: async (e) => {
            e.preventDefault();
            error.textContent = '';
            try {
              await submit();
              close(true);
              draw();
            } catch (failure) {
              error.textContent = failure.message;
            }
          },
        },
        fields,
        error,
        h('div', { class: 'dialog-actions' }, h('button', { type: 'button', onclick: () => close(null) }, t.cancel), h('button', { type: 'submit', class: 'primary' }, confirm)),
      );
      queueMicrotask(() => form.querySelector('input')?.focus());
      return form;
    });
  }

  function quotaBytes(text) {
    const value = text.trim();
    return value ? Math.round(Number(value) * MB) : null;
  }

  function createUser() {
    const email = field('new-user-email', t.email, { type: 'email', required: true, autocomplete: 'off' });
    const password = field('new-user-password', t.password, { type: 'password', required: true, autocomplete: 'new-password' });
    const quota = field('new-user-quota', ts.quotaMb, { type: 'number', min: '0', step: 'any' });
    const admin = h('input', { id: 'new-user-admin', type: 'checkbox' });
    return formDialog(
      ts.createUser,
      [email.wrap, password.wrap, quota.wrap, h('div', { class: 'check' }, admin, h('label', { for: admin.id }, ts.makeAdmin))],
      ts.createUser,
      async () => {
        const body = { email: email.input.value, password: password.input.value, is_admin: admin.checked };
        const q = quotaBytes(quota.input.value);
        if (q != null) body.quota_bytes = q;
        await api.request('POST', '/api/v1/admin/users', body);
        app.toast(app, ts.userCreated(email.input.value));
      },
    );
  }

  function resetPassword(user) {
    const password = field('reset-password', ts.newPassword, { type: 'password', required: true, autocomplete: 'new-password' });
    return formDialog(`${ts.resetPassword}: ${user.email}`, [password.wrap], ts.resetPassword, async () => {
      await api.request('POST', `/api/v1/admin/users/${user.id}/password`, { password: password.input.value });
      app.toast(app, ts.passwordReset(user.email));
    });
  }

  function setQuota(user) {
    const value = user.quota_bytes == null ? '' : String(user.quota_bytes / MB);
    const quota = field('set-quota', ts.quotaMb, { type: 'number', min: '0', step: 'any', value });
    return formDialog(`${ts.setQuota}: ${user.email}`, [quota.wrap], ts.setQuota, () => patch(user, { quota_bytes: quotaBytes(quota.input.value) }));
  }

  draw();
  return { title: ts.admin, element, changed: draw };
}

