// A modal dialog for the file manager's larger dialogs (move/copy picker, versions, preview,
// editor, shortcuts): a native <dialog> (focus stays inside, Esc closes) named by its heading,
// focus given back where it was when it closes.

import { h } from './dom.js';

let made = 0;

/**
 * Opens a dialog titled `title`; `build(close, dialog)` makes its body; `close(value)` resolves the
 * promise with `value` (Esc resolves null). `wide` for previews and the editor.
 */
export function modal(title, build, { wide = false, label = null } = {}) {
  const id = `modal-${++made}`;
  const returnTo = document.activeElement;
  return new Promise((resolve) => {
    const heading = h('h2', { id: `${id}-title` }, title);
    const dialog = h('dialog', {
      class: `dialog${wide ? ' wide' : ''}`,
      'aria-labelledby': label ? null : heading.id,
      'aria-label': label,
    });
    let done = false;
    const close = (value) => {
      if (done) return;
      done = true;
      dialog.close();
      dialog.remove();
      returnTo?.focus?.();
      resolve(value);
    };
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      close(null);
    });
    dialog.append(heading, build(close, dialog, heading));
    document.body.append(dialog);
    dialog.showModal();
  });
}
