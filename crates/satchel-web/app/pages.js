// The simpler pages: Trash (Restore, Delete forever) and search results (each opens its folder
// with the entry selected). Shared with me and Links live in links.js.

import * as api from './api.js';
import { h, icon, replace } from './dom.js';
import { t, bytes, date } from './i18n.js';
import { confirmDialog } from './dialogs.js';
import { folderUrl } from './browse.js';
import { emptyTrashButton } from './trashtools.js';

function parentOf(path) {
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

/** A page with a heading and a table whose body `fill(tbody)` draws; `changed` redraws it. */
function tablePage(title, columns, fill) {
  const body = h('tbody', {});
  const empty = h('p', { class: 'empty', hidden: true });
  const table = h(
    'table',
    { class: 'table', 'aria-label': title },
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))),
    body,
  );
  const element = h('section', { class: 'page' }, h('h1', {}, title), table, empty);
  const redraw = async () => {
    try {
      const message = await fill(body);
      empty.textContent = message || '';
      empty.hidden = !message;
    } catch (error) {
      empty.textContent = error.message || t.errorGeneric;
      empty.hidden = false;
    }
  };
  redraw();
  return { title, element, changed: redraw };
}

export function trashPage(app) {
  const page = tablePage(t.trash, [t.name, t.size, t.location, t.actions], async (body) => {
    const entries = [];
    await api.allPages(() => api.listTrash(), (c) => api.listTrash(c), (page) => entries.push(...page));
    replace(
      body,
      entries.map((entry) =>
        h(
          'tr',
          { 'aria-label': entry.name },
          h('th', { scope: 'row' }, h('span', { class: 'name-cell' }, icon(entry.kind === 'folder' ? 'folder' : 'file'), entry.name)),
          h('td', {}, entry.kind === 'file' ? bytes(entry.size) : '—'),
          h('td', {}, parentOf(entry.path)),
          h(
            'td',
            { class: 'row-actions' },
            h('button', { type: 'button', onclick: () => restore(app, entry) }, t.restore),
            h('button', { type: 'button', class: 'danger', onclick: () => purge(app, entry) }, t.deleteForever),
          ),
        ),
      ),
    );
    return entries.length ? null : t.emptyTrash;
  });
  page.element.querySelector('h1').after(h('div', { class: 'page-actions' }, emptyTrashButton(app, () => page.changed())));
  return page;

  async function restore(app, entry) {
    try {
      await api.restore(entry.id);
      app.toast(app, t.restored(1));
    } catch (error) {
      app.toast(app, error.message);
    }
    app.page?.changed?.();
  }

  async function purge(app, entry) {
    const sure = await confirmDialog({
      title: t.deleteForever,
      message: t.deleteForeverConfirm(entry.name),
      confirm: t.deleteForever,
      danger: true,
    });
    if (!sure) return;
    try {
      await api.purge(entry.id);
    } catch (error) {
      app.toast(app, error.message);
    }
    app.page?.changed?.();
    app.refreshQuota();
  }
}

export function searchPage(app, q) {
  const title = t.searchFor(q);
  return tablePage(title, [t.name, t.location, t.modified], async (body) => {
    const page = q ? await api.search(q) : { entries: [] };
    replace(
      body,
      page.entries.map((entry) => {
        const parent = parentOf(entry.path);
        // A file's link opens its folder with the file selected (see browse.js).
        const href = folderUrl(entry.path);
        return h(
          'tr',
          { 'aria-label': entry.name },
          h('th', { scope: 'row' }, h('a', { href, 'data-link': '', class: 'name-cell' }, icon(entry.kind === 'folder' ? 'folder' : 'file'), entry.name)),
          h('td', {}, parent),
          h('td', {}, date(entry.modified_at)),
        );
      }),
    );
    return page.entries.length ? null : t.noResults;
  });
}
