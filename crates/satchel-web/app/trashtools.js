// "Empty trash" on the Trash page: after a confirmation, deletes for good everything in the trash.

import * as api from './api.js';
import { h } from './dom.js';
import { t } from './i18n.js';
import { confirmDialog } from './dialogs.js';

/** The button; `changed()` redraws the page afterwards. */
export function emptyTrashButton(app, changed) {
  const button = h('button', { type: 'button', class: 'danger', onclick: () => emptyTrash() }, t.emptyTrashAction);

  async function emptyTrash() {
    const sure = await confirmDialog({ title: t.emptyTrashAction, message: t.emptyTrashConfirm, confirm: t.emptyTrashAction, danger: true });
    if (!sure) return;
    button.disabled = true;
    let failed = 0;
    try {
      const entries = [];
      await api.allPages(() => api.listTrash(), (c) => api.listTrash(c), (page) => entries.push(...page));
      for (const entry of entries) {
        // An entry inside a folder purged a moment ago is gone already.
        await api.purge(entry.id).catch((error) => {
          if (error.status !== 404) failed += 1;
        });
      }
    } catch (error) {
      app.toast(app, error.message);
    }
    button.disabled = false;
    if (failed) app.toast(app, t.errorGeneric);
    await changed();
    app.refreshQuota();
  }

  return button;
}
