// Modal dialogs (native <dialog>: focus stays inside, Esc closes) named by their heading, and the
// toasts that offer Undo.

import { h } from './dom.js';
import { t } from './i18n.js';

let dialogs = 0;

/** Asks for a name: resolves to the text, or null when cancelled. */
export function promptDialog({ title, label, value = '', confirm, select }) {
  const id = `dialog-${++dialogs}`;
  const input = h('input', { id: `${id}-input`, type: 'text', value, required: true, autocomplete: 'off', spellcheck: 'false' });
  return open(id, title, (close) => {
    const form = h(
      'form',
      {
        method: 'dialog',
        onsubmit: async (e) => {
          e.preventDefault();
          const text = input.value.trim();
          if (!text) return;
          close(text);
        },
      },
      h('label', { for: input.id }, label),
      input,
      h('div', { class: 'dialog-actions' }, h('button', { type: 'button', onclick: () => close(null) }, t.cancel), h('button', { type: 'submit', class: 'primary' }, confirm)),
    );
    queueMicrotask(() => {
      input.focus();
      if (select) input.setSelectionRange(...select(value));
      else input.select();
    });
    return form;
  });
}

/** Asks a yes/no question: resolves to true when confirmed. */
export function confirmDialog({ title, message, confirm, danger = false }) {
  const id = `dialog-${++dialogs}`;
  return open(id, title, (close) =>
    h(
      'div',
      {},
      h('p', {}, message),
      h(
        'div',
        { class: 'dialog-actions' },
        h('button', { type: 'button', onclick: () => close(false) }, t.cancel),
        h('button', { type: 'button', class: danger ? 'danger' : 'primary', onclick: () => close(true) }, confirm),
      ),
    ),
  );
}

/** Shows a dialog whose body `build(close)` makes; `close(value)` resolves the promise with `value`. */
function open(id, title, build) {
  const returnTo = document.activeElement;
  return new Promise((resolve) => {
    const dialog = h('dialog', { 'aria-labelledby': `${id}-title`, class: 'dialog' });
    const finish = (value) => {
      dialog.close();
      dialog.remove();
      returnTo?.focus?.();
      resolve(value);
    };
    const body = build(finish);
    dialog.append(h('h2', { id: `${id}-title` }, title), body);
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      finish(null);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A short message at the bottom of the screen, with an optional action button ("Undo"). */
export function toast(app, message, action) {
  const note = h('div', { class: 'toast' }, h('span', {}, message));
  if (action) {
    note.append(
      h('button', {
        type: 'button',
        onclick: () => {
          note.remove();
          action.run();
        },
      }, action.label),
    );
  }
  app.toasts.append(note);
  setTimeout(() => note.remove(), action ? 10000 : 4000);
}
