// The text editor (loaded on first use) for small text files: Save writes a new version with
// `If-Match` set to the revision that was opened, so it never overwrites a version saved
// meanwhile by someone else (another tab, a sync client): on `412` it asks, and "Keep both" saves
// this text as a new file beside it ("name (1).txt") instead.

import * as api from './api.js';
import { h } from './dom.js';
import { t } from './i18n.js';
import { modal } from './modal.js';
import * as fapi from './fileapi.js';
import { previewKind } from './preview.js';

/** Files up to this size open in the editor. */
export const EDIT_LIMIT = 1024 * 1024;

/** Whether `entry` may be edited here: a text file (HTML and SVG too, as text) of at most 1 MB. */
export function editable(entry) {
  const kind = previewKind(entry);
  return entry.kind === 'file' && (kind === 'text' || kind === 'markdown') && (entry.size || 0) <= EDIT_LIMIT;
}

/** Opens `entry` in the editor; `changed(names)` after a save (to refresh and select). */
export async function editText(app, entry, changed) {
  let node;
  let text;
  try {
    // The node as it is now: its rev is what a save must still find.
    node = await api.node(entry.id);
    text = await fapi.readText(entry.id);
  } catch (error) {
    app.toast(app, error.message);
    return;
  }
  return modal(t.editTitle(entry.name), (close) => {
    const area = h('textarea', { class: 'editor', spellcheck: 'false', 'aria-label': t.textOf(entry.name) });
    area.value = text;
    const status = h('p', { class: 'status', 'aria-live': 'polite' });
    const saveButton = h('button', { type: 'submit', class: 'primary' }, t.save);
    let dirty = false;
    area.addEventListener('input', () => {
      dirty = true;
      status.textContent = t.unsaved;
    });

    async function save() {
      saveButton.disabled = true;
      try {
        node = await fapi.saveText(node.id, area.value, node.rev);
        dirty = false;
        status.textContent = t.saved;
        changed?.([node.name]);
      } catch (error) {
        if (error.code === 'rev_mismatch') await conflict();
        else status.textContent = error.message;
      } finally {
        saveButton.disabled = false;
      }
    }

    async function conflict() {
      const choice = await modal(t.conflictTitle, (done) =>
        h(
          'div',
          {},
          h('p', {}, t.conflictMessage(node.name)),
          h(
            'div',
            { class: 'dialog-actions' },
            h('button', { type: 'button', onclick: () => done(null) }, t.keepEditing),
            h('button', { type: 'button', class: 'primary', onclick: () => done('both') }, t.keepBoth),
          ),
        ),
      );
      if (choice !== 'both') return;
      try {
        const made = await fapi.saveTextAs(node.parent_id, node.name, area.value);
        app.toast(app, t.savedAs(made.name));
        dirty = false;
        changed?.([made.name]);
        close(made);
      } catch (error) {
        status.textContent = error.message;
      }
    }

    async function leave() {
      if (dirty) {
        const { confirmDialog } = await import('./dialogs.js');
        const sure = await confirmDialog({ title: t.discardTitle, message: t.discardMessage, confirm: t.discard, danger: true });
        if (!sure) return;
      }
      close(null);
    }

    area.addEventListener('keydown', (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 's') {
        e.preventDefault();
        save();
      }
    });
    queueMicrotask(() => area.focus());
    return h(
      'form',
      {
        class: 'editor-form',
        onsubmit: (e) => {
          e.preventDefault();
          save();
        },
      },
      area,
      status,
      h('div', { class: 'dialog-actions' }, h('button', { type: 'button', onclick: () => leave() }, t.close), saveButton),
    );
  }, { wide: true });
}
