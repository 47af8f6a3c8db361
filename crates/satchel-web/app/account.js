// The Account page (loaded on first visit): the signed-in sessions (devices), each revocable but
// this one, and Change password (the current password checked by the server; every other session
// ends, this one stays).

import * as api from './api.js';
import { h, replace } from './dom.js';
import { t, ts, date } from './i18n.js';

export function accountPage(app) {
  const sessions = h('tbody', {});
  const sessionsNote = h('p', { class: 'empty', hidden: true });
  const current = h('input', { id: 'current-password', type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { id: 'new-password', type: 'password', autocomplete: 'new-password', required: true, minlength: '8' });
  const message = h('p', { class: 'form-error', role: 'alert' });
  const done = h('p', { role: 'status' });
  const form = h(
    'form',
    { class: 'stack', onsubmit: changePassword },
    h('label', { for: current.id }, ts.currentPassword),
    current,
    h('label', { for: next.id }, ts.newPassword),
    next,
    message,
    done,
    h('div', {}, h('button', { type: 'submit', class: 'primary' }, ts.changePassword)),
  );
  const element = h(
    'section',
    { class: 'page' },
    h('h1', {}, ts.account),
    h('p', { class: 'muted' }, app.user.email),
    h(
      'section',
      { 'aria-labelledby': 'account-sessions' },
      h('h2', { id: 'account-sessions' }, ts.sessions),
      h(
        'table',
        { class: 'table keep-cols', 'aria-label': ts.sessions },
        h('thead', {}, h('tr', {}, [ts.device, ts.signedInAt, ts.lastActive, t.actions].map((c) => h('th', { scope: 'col' }, c)))),
        sessions,
      ),
      sessionsNote,
    ),
    h('section', { 'aria-labelledby': 'account-password' }, h('h2', { id: 'account-password' }, ts.changePassword), form),
  );

  async function drawSessions() {
    try {
      const page = await api.request('GET', '/api/v1/sessions');
      sessionsNote.hidden = true;
      replace(
        sessions,
        page.entries.map((session) => {
          const name = session.device_name || ts.unknownDevice;
          return h(
            'tr',
            { 'aria-label': session.current ? `${name} (${ts.thisDevice})` : name },
            h('th', { scope: 'row' }, name, session.current ? h('span', { class: 'muted' }, ` · ${ts.thisDevice}`) : null),
            h('td', {}, date(session.created_at)),
            h('td', {}, date(session.last_used_at)),
            h(
              'td',
              {},
              session.current
                ? ''
                : h(
                    'button',
                    {
                      type: 'button',
                      class: 'danger',
                      'aria-label': `${ts.revoke} ${name}`,
                      onclick: async () => {
                        try {
                          await api.request('DELETE', `/api/v1/sessions/${session.id}`);
                          app.toast(app, ts.revoked);
                        } catch (error) {
                          app.toast(app, error.message);
                        }
                        drawSessions();
                      },
                    },
                    ts.revoke,
                  ),
            ),
          );
        }),
      );
    } catch (error) {
      sessionsNote.textContent = error.message;
      sessionsNote.hidden = false;
    }
  }

  async function changePassword(event) {
    event.preventDefault();
    message.textContent = '';
    done.textContent = '';
    try {
      await api.request('POST', '/api/v1/me/password', { current_password: current.value, new_password: next.value });
      form.reset();
      done.textContent = ts.passwordChanged;
      drawSessions();
    } catch (error) {
      message.textContent = error.code === 'wrong_current_password' ? ts.wrongCurrentPassword : error.message;
    }
  }

  drawSessions();
  return { title: ts.account, element, changed: drawSessions };
}
