// The Versions dialog of a file: every version (time, size, device), newest first, each with
// Download (that version's bytes, by the browser's own download) and, for older ones, Restore
// (which makes it the newest version under a new number).

import { h, replace } from './dom.js';
import { t, bytes, date } from './i18n.js';
import { modal } from './modal.js';
import * as fapi from './fileapi.js';

export function versionsDialog(app, entry, changed) {
  return modal(t.versionsOf(entry.name), (close) => {
    const body = h('tbody', {});
    const status = h('p', { class: 'status', 'aria-live': 'polite' });
    const table = h(
      'table',
      { class: 'table versions', 'aria-label': t.versions },
      h('thead', {}, h('tr', {}, [t.version, t.modified, t.size, t.device, t.actions].map((c) => h('th', { scope: 'col' }, c)))),
      body,
    );

    async function draw() {
      status.textContent = t.loading;
      try {
        const page = await fapi.versions(entry.id);
        const newest = page.entries[0]?.version;
        replace(
          body,
          page.entries.map((v) =>
            h(
              'tr',
              { 'aria-label': t.versionLabel(v.version) },
              h('th', { scope: 'row' }, v.version === newest ? t.currentVersion(v.version) : String(v.version)),
              h('td', {}, date(v.created_at)),
              h('td', {}, bytes(v.size)),
              h('td', {}, v.device || '—'),
              h(
                'td',
                { class: 'row-actions' },
                h('button', { type: 'button', 'aria-label': t.downloadVersion(v.version), onclick: () => download(v) }, t.download),
                v.version === newest ? null : h('button', { type: 'button', 'aria-label': t.restoreVersion(v.version), onclick: () => restore(v) }, t.restore),
              ),
            ),
          ),
        );
        status.textContent = t.versionCount(page.entries.length);
      } catch (error) {
        status.textContent = error.message;
      }
    }

    async function download(v) {
      try {
        const { url } = await fapi.signedUrl(entry.id, v.version);
        fapi.startDownload(url, entry.name);
      } catch (error) {
        status.textContent = error.message;
      }
    }

    async function restore(v) {
      try {
        await fapi.restoreVersion(entry.id, v.version);
        app.toast(app, t.versionRestored(v.version));
        await draw();
        changed?.();
      } catch (error) {
        status.textContent = error.message;
      }
    }

    draw();
    return h(
      'div',
      { class: 'versions-body' },
      h('div', { class: 'table-scroll' }, table),
      status,
      h('div', { class: 'dialog-actions' }, h('button', { type: 'button', onclick: () => close(null) }, t.close)),
    );
  }, { wide: true });
}
