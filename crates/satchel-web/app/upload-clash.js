// The question asked when an uploaded name is already taken in its folder: Replace (the upload
// becomes a new version of the file), Keep both (the upload gets a free name), or Skip, with
// "Apply to all" for the rest of the same drop. A modal <dialog> named by its heading.

import { h } from './dom.js';
import { t } from './i18n.js';

let asked = 0;

/**
 * Resolves to {choice: 'replace' | 'keep' | 'skip', all}. `folder`: the name is taken by a
 * folder, which cannot get versions (no Replace). `more`: how many other clashes follow.
 */
export function askClash(name, { folder = false, more = 0 } = {}) {
  const id = `clash-${++asked}`;
  const returnTo = document.activeElement;
  return new Promise((resolve) => {
    const all = h('input', { type: 'checkbox', id: `${id}-all` });
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': `${id}-title`, 'aria-describedby': `${id}-text` });
    const finish = (choice) => {
      dialog.close();
      dialog.remove();
      returnTo?.focus?.();
      resolve({ choice, all: all.checked });
    };
    const button = (label, choice, primary) => h('button', { type: 'button', class: primary ? 'primary' : null, onclick: () => finish(choice) }, label);
    dialog.append(
      h('h2', { id: `${id}-title` }, t.clashTitle),
      h('p', { id: `${id}-text` }, folder ? t.clashFolder(name) : t.clashText(name)),
      more > 0 && h('p', { class: 'clash-all' }, all, h('label', { for: all.id }, t.applyToAll(more))),
      h('div', { class: 'dialog-actions' }, button(t.skip, 'skip'), button(t.keepBoth, 'keep', folder), !folder && button(t.replace, 'replace', true)),
    );
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      finish('skip');
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
