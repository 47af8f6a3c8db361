// The "Links" view (everything the user shared: public links with their downloads, access logs and
// actions, and folders shared with people) and the "Shared with me" view (folders other accounts
// shared with the user, each opening in Files, with Leave). Loaded on first visit.

import * as api from './api.js';
import { h, icon, replace } from './dom.js';
import { t, ts } from './i18n.js';
import { folderUrl } from './browse.js';
import { linkActions, linkSummary } from './share.js';
import { confirmDialog } from './dialogs.js';

/** A page of sections; `draw()` fills them and runs again on `changed` (live refresh). */
function page(title, draw) {
  const element = h('section', { class: 'page' }, h('h1', {}, title));
  const body = h('div', {});
  element.append(body);
  const redraw = async () => {
    try {
      replace(body, await draw(redraw));
    } catch (error) {
      replace(body, h('p', { class: 'empty' }, error.message || t.errorGeneric));
    }
  };
  redraw();
  return { title, element, changed: redraw };
}

/** Where a node lives, for people: its path, or its name when the path is out of reach. */
async function describe(nodeId, cache) {
  if (!cache.has(nodeId)) {
    cache.set(
      nodeId,
      api.node(nodeId).then(
        (node) => node,
        () => null,
      ),
    );
  }
  return cache.get(nodeId);
}

function itemCell(node) {
  if (!node) return h('span', { class: 'muted' }, '—');
  const folder = node.kind === 'folder';
  const href = folderUrl(node.path || '/');
  return h('a', { href, 'data-link': '', class: 'name-cell' }, icon(folder ? 'folder' : 'file'), node.name || t.files);
}

export function linksPage(app) {
  const nodes = new Map();
  return page(t.links, async (redraw) => {
    const [links, shares] = await Promise.all([
      api.listLinks(),
      api.request('GET', '/api/v1/shares?direction=outgoing&limit=2000'),
    ]);
    const described = await Promise.all(links.entries.map((l) => describe(l.node_id, nodes)));
    const linkRows = links.entries.map((link, i) => {
      const log = h('td', { colspan: '3', class: 'log-cell' });
      const row = h(
        'tr',
        { 'aria-label': described[i]?.name || link.url },
        h('th', { scope: 'row' }, itemCell(described[i])),
        h('td', {}, h('span', { class: 'link-url' }, link.url)),
        h('td', {}, linkSummary(link)),
        h('td', {}, linkActions(app, link, redraw, log)),
      );
      return [row, h('tr', { class: 'log-row' }, h('td', {}), log)];
    });
    const shareRows = shares.entries.map((share) =>
      h(
        'tr',
        { 'aria-label': `${share.mount_name} ${share.member_email}` },
        h('th', { scope: 'row' }, share.mount_name),
        h('td', {}, share.member_email),
        h('td', {}, share.permission === 'edit' ? ts.edit : ts.view),
        h(
          'td',
          {},
          h(
            'button',
            {
              type: 'button',
              class: 'danger',
              onclick: async () => {
                try {
                  await api.request('DELETE', `/api/v1/shares/${share.id}`);
                } catch (error) {
                  app.toast(app, error.message);
                }
                redraw();
              },
            },
            ts.remove,
          ),
        ),
      ),
    );
    return [
      h(
        'section',
        { 'aria-labelledby': 'links-public' },
        h('h2', { id: 'links-public' }, ts.publicLinks),
        linkRows.length
          ? h(
              'table',
              { class: 'table keep-cols', 'aria-label': ts.publicLinks },
              h('thead', {}, h('tr', {}, [ts.item, ts.link, ts.access, t.actions].map((c) => h('th', { scope: 'col' }, c)))),
              h('tbody', {}, linkRows),
            )
          : h('p', { class: 'empty' }, t.noLinks),
      ),
      h(
        'section',
        { 'aria-labelledby': 'links-people' },
        h('h2', { id: 'links-people' }, ts.sharedWithPeople),
        shareRows.length
          ? h(
              'table',
              { class: 'table keep-cols', 'aria-label': ts.sharedWithPeople },
              h('thead', {}, h('tr', {}, [t.folder, ts.member, t.permission, t.actions].map((c) => h('th', { scope: 'col' }, c)))),
              h('tbody', {}, shareRows),
            )
          : h('p', { class: 'empty' }, ts.nothingSharedByYou),
      ),
    ];
  });
}

export function sharedPage(app) {
  return page(t.sharedWithMe, async (redraw) => {
    const shares = await api.request('GET', '/api/v1/shares?direction=incoming&limit=2000');
    if (!shares.entries.length) return h('p', { class: 'empty' }, t.nothingShared);
    return h(
      'table',
      { class: 'table', 'aria-label': t.sharedWithMe },
      h('thead', {}, h('tr', {}, [t.name, t.owner, t.permission, t.actions].map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        {},
        shares.entries.map((share) =>
          h(
            'tr',
            { 'aria-label': share.mount_name },
            h('th', { scope: 'row' }, h('a', { href: folderUrl('/' + share.mount_name), 'data-link': '', class: 'name-cell' }, icon('folder'), share.mount_name)),
            h('td', {}, share.owner_email),
            h('td', {}, share.permission === 'edit' ? ts.edit : ts.view),
            h(
              'td',
              {},
              h(
                'button',
                {
                  type: 'button',
                  onclick: async () => {
                    if (!(await confirmDialog({ title: ts.leave, message: ts.leaveConfirm(share.mount_name), confirm: ts.leave, danger: true }))) return;
                    try {
                      await api.request('DELETE', `/api/v1/shares/${share.id}`);
                    } catch (error) {
                      app.toast(app, error.message);
                    }
                    redraw();
                  },
                },
                ts.leave,
              ),
            ),
          ),
        ),
      ),
    );
  });
}
