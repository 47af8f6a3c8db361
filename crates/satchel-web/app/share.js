// The Share dialog of one file or folder (loaded on first use): public links — Create link with
// Password, Expires, Download limit and Upload only; Copy link; each link's downloads, access log,
// Disable/Enable, Delete — and people: Email, Permission (View/Edit), Invite; change or Remove.
//
// Invariants: the dialog shows only this node's links and shares, read back from the server after
// every change (what it shows is what the server holds); a failed request changes nothing on
// screen but a message.

import * as api from './api.js';
import { h, replace } from './dom.js';
import { t, ts, date } from './i18n.js';

let dialogs = 0;

/** A modal dialog named by its heading; `build(close)` makes the body. Resolves on close. */
export function modal(title, build, wide = false) {
  const id = `xdialog-${++dialogs}`;
  const returnTo = document.activeElement;
  return new Promise((resolve) => {
    const dialog = h('dialog', { 'aria-labelledby': `${id}-title`, class: wide ? 'dialog wide' : 'dialog' });
    const close = (value) => {
      dialog.close();
      dialog.remove();
      returnTo?.focus?.();
      resolve(value);
    };
    dialog.append(h('h2', { id: `${id}-title` }, title), build(close, id));
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      close(null);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A labelled field: {wrap, input}. */
export function field(id, label, attrs) {
  const input = h(attrs.tag || 'input', { id, ...attrs, tag: null });
  return { input, wrap: h('div', { class: 'field' }, h('label', { for: id }, label), input) };
}

/** Copies `text`; falls back to selecting it when the clipboard is out of reach. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = h('textarea', { class: 'visually-hidden' }, text);
    document.body.append(area);
    area.select();
    const done = document.execCommand('copy');
    area.remove();
    return done;
  }
}

/** The end of the chosen day (local time) as an ISO instant, or null. */
function endOfDay(value) {
  if (!value) return null;
  const [y, m, d] = value.split('-').map(Number);
  return new Date(y, m - 1, d, 23, 59, 59).toISOString();
}

export function linkSummary(link) {
  const parts = [link.permission === 'upload' ? ts.uploadOnly : t.download];
  if (link.has_password) parts.push(ts.withPassword);
  if (link.expires_at) {
    const past = new Date(link.expires_at) <= new Date();
    parts.push((past ? ts.expiredOn : ts.expiresOn)(date(link.expires_at)));
  }
  if (link.permission !== 'upload') parts.push(ts.downloadsCount(link.download_count, link.max_downloads));
  if (link.disabled) parts.push(t.disabled);
  return parts.join(' · ');
}

/** The access log of a link as a table. */
export async function accessLog(link) {
  const page = await api.request('GET', `/api/v1/links/${encodeURIComponent(link.id)}/accesses`);
  if (!page.entries.length) return h('p', { class: 'muted' }, ts.noAccesses);
  return h(
    'table',
    { class: 'table access-log', 'aria-label': ts.accessLog },
    h('thead', {}, h('tr', {}, [ts.when, ts.address, ts.request, ts.status].map((c) => h('th', { scope: 'col' }, c)))),
    h(
      'tbody',
      {},
      page.entries.map((a) => h('tr', {}, h('td', {}, date(a.at)), h('td', {}, a.address), h('td', {}, a.path), h('td', {}, String(a.status)))),
    ),
  );
}

/** The buttons every link row has: Copy link, Access log, Disable/Enable, Delete. */
export function linkActions(app, link, changed, logSlot) {
  let logShown = false;
  const logButton = h('button', { type: 'button', 'aria-expanded': 'false' }, ts.accessLog);
  logButton.addEventListener('click', async () => {
    logShown = !logShown;
    logButton.setAttribute('aria-expanded', String(logShown));
    logButton.textContent = logShown ? ts.hideAccessLog : ts.accessLog;
    if (!logShown) return replace(logSlot);
    try {
      replace(logSlot, await accessLog(link));
    } catch (error) {
      replace(logSlot, h('p', { class: 'form-error' }, error.message));
    }
  });
  const act = (run) => async () => {
    try {
      await run();
    } catch (error) {
      app.toast(app, error.message);
    }
    changed();
  };
  return h(
    'div',
    { class: 'row-actions' },
    h(
      'button',
      {
        type: 'button',
        onclick: async () => app.toast(app, (await copyText(link.url)) ? ts.linkCopied : link.url),
      },
      ts.copyLink,
    ),
    logButton,
    h(
      'button',
      { type: 'button', onclick: act(() => api.request('PATCH', `/api/v1/links/${link.id}`, { disabled: !link.disabled })) },
      link.disabled ? ts.enable : ts.disable,
    ),
    h('button', { type: 'button', class: 'danger', onclick: act(() => api.request('DELETE', `/api/v1/links/${link.id}`)) }, ts.delete),
  );
}

/** Opens the Share dialog for `entry` ({id, name, kind}). */
export function shareDialog(app, entry) {
  return modal(
    ts.shareTitle(entry.name),
    (close, id) => {
      const linksList = h('ul', { class: 'items', 'aria-label': ts.publicLinks });
      const peopleList = h('ul', { class: 'items', 'aria-label': ts.people });
      const linkError = h('p', { class: 'form-error', role: 'alert' });
      const peopleError = h('p', { class: 'form-error', role: 'alert' });

      const password = field(`${id}-password`, t.password, { type: 'password', autocomplete: 'new-password' });
      const expires = field(`${id}-expires`, t.expires, { type: 'date' });
      const limit = field(`${id}-limit`, ts.downloadLimit, { type: 'number', min: '1', step: '1', inputmode: 'numeric' });
      const uploadOnly = h('input', { id: `${id}-upload`, type: 'checkbox', disabled: entry.kind !== 'folder' });
      const linkForm = h(
        'form',
        { onsubmit: createLink },
        h('div', { class: 'field-row' }, password.wrap, expires.wrap, limit.wrap),
        h('div', { class: 'check' }, uploadOnly, h('label', { for: uploadOnly.id }, ts.uploadOnly)),
        h('p', { class: 'hint' }, ts.uploadOnlyHint),
        linkError,
        h('div', {}, h('button', { type: 'submit', class: 'primary' }, ts.createLink)),
      );

      const email = field(`${id}-email`, t.email, { type: 'email', autocomplete: 'off', required: true });
      const permission = field(`${id}-permission`, t.permission, { tag: 'select' });
      permission.input.append(h('option', { value: 'view' }, ts.view), h('option', { value: 'edit' }, ts.edit));
      const peopleForm = h(
        'form',
        { onsubmit: invite },
        h('div', { class: 'field-row' }, email.wrap, permission.wrap),
        peopleError,
        h('div', {}, h('button', { type: 'submit', class: 'primary' }, ts.invite)),
      );

      async function createLink(event) {
        event.preventDefault();
        linkError.textContent = '';
        const body = { node_id: entry.id };
        if (password.input.value) body.password = password.input.value;
        if (expires.input.value) body.expires_at = endOfDay(expires.input.value);
        if (limit.input.value) body.max_downloads = Number(limit.input.value);
        if (uploadOnly.checked) body.permission = 'upload';
        try {
          const link = await api.request('POST', '/api/v1/links', body);
          linkForm.reset();
          await drawLinks();
          app.toast(app, (await copyText(link.url)) ? `${ts.linkCreated} · ${ts.linkCopied}` : ts.linkCreated);
        } catch (error) {
          linkError.textContent = error.message;
        }
      }

      async function invite(event) {
        event.preventDefault();
        peopleError.textContent = '';
        try {
          await api.request('POST', '/api/v1/shares', { node_id: entry.id, email: email.input.value, permission: permission.input.value });
          app.toast(app, ts.invited(email.input.value));
          peopleForm.reset();
          await drawPeople();
        } catch (error) {
          peopleError.textContent = error.message;
        }
      }

      async function drawLinks() {
        const all = await api.listLinks();
        const mine = all.entries.filter((l) => l.node_id === entry.id);
        if (!mine.length) return replace(linksList, h('li', { class: 'muted' }, ts.noLinksHere));
        replace(
          linksList,
          mine.map((link) => {
            const log = h('div', {});
            return h(
              'li',
              { 'aria-label': link.url },
              h('span', { class: 'link-url' }, link.url),
              h('span', { class: 'muted' }, linkSummary(link)),
              linkActions(app, link, () => drawLinks().catch(() => {}), log),
              log,
            );
          }),
        );
      }

      async function drawPeople() {
        const page = await api.request('GET', '/api/v1/shares?direction=outgoing&limit=2000');
        const members = page.entries.filter((s) => s.node_id === entry.id);
        if (!members.length) return replace(peopleList, h('li', { class: 'muted' }, ts.noMembers));
        replace(
          peopleList,
          members.map((share) => {
            const choose = h(
              'select',
              {
                'aria-label': `${t.permission} ${share.member_email}`,
                onchange: async () => {
                  try {
                    await api.request('PATCH', `/api/v1/shares/${share.id}`, { permission: choose.value });
                  } catch (error) {
                    app.toast(app, error.message);
                  }
                  drawPeople();
                },
              },
              h('option', { value: 'view', selected: share.permission === 'view' }, ts.view),
              h('option', { value: 'edit', selected: share.permission === 'edit' }, ts.edit),
            );
            return h(
              'li',
              { 'aria-label': share.member_email },
              h('span', {}, share.member_email),
              h(
                'div',
                { class: 'row-actions' },
                choose,
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'danger',
                    'aria-label': `${ts.remove} ${share.member_email}`,
                    onclick: async () => {
                      try {
                        await api.request('DELETE', `/api/v1/shares/${share.id}`);
                      } catch (error) {
                        app.toast(app, error.message);
                      }
                      drawPeople();
                    },
                  },
                  ts.remove,
                ),
              ),
            );
          }),
        );
      }

      drawLinks().catch((error) => replace(linksList, h('li', { class: 'form-error' }, error.message)));
      drawPeople().catch((error) => replace(peopleList, h('li', { class: 'form-error' }, error.message)));
      queueMicrotask(() => password.input.focus());
      return h(
        'div',
        {},
        h('section', { 'aria-labelledby': `${id}-links` }, h('h3', { id: `${id}-links` }, ts.publicLinks), linkForm, linksList),
        h('section', { 'aria-labelledby': `${id}-people` }, h('h3', { id: `${id}-people` }, ts.people), peopleForm, peopleList),
        h('div', { class: 'dialog-actions' }, h('button', { type: 'button', onclick: () => close(null) }, t.close)),
      );
    },
    true,
  );
}
