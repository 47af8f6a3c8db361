// The keyboard shortcuts dialog ("?"), the one list of the app's keys.

import { h } from './dom.js';
import { t } from './i18n.js';
import { modal } from './modal.js';

const KEYS = [
  ['↑ ↓ ← →', 'keyMove'],
  ['Shift + ↑ ↓', 'keyExtend'],
  ['Space', 'keyToggle'],
  ['Ctrl + A', 'keyAll'],
  ['Enter', 'keyOpen'],
  ['Backspace, Alt + ↑', 'keyUp'],
  ['F2', 'keyRename'],
  ['Delete', 'keyTrash'],
  ['M', 'keyMoveTo'],
  ['C', 'keyCopyTo'],
  ['V', 'keyVersions'],
  ['E', 'keyEdit'],
  ['G', 'keyGrid'],
  ['/', 'keySearch'],
  ['?', 'keyHelp'],
  ['Esc', 'keyEscape'],
];

let open = false;

/** Shows the shortcuts (once: pressing "?" again while it is open does nothing). */
export async function showShortcuts() {
  if (open) return;
  open = true;
  await modal(t.shortcuts, (close) =>
    h(
      'div',
      {},
      h(
        'table',
        { class: 'table shortcuts', 'aria-label': t.shortcuts },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t.key), h('th', { scope: 'col' }, t.action))),
        h('tbody', {}, KEYS.map(([keys, what]) => h('tr', {}, h('th', { scope: 'row' }, h('kbd', {}, keys)), h('td', {}, t[what])))),
      ),
      h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'primary', onclick: () => close(null) }, t.close)),
    ),
  );
  open = false;
}

/** The app-wide keys: "?" opens the shortcuts. Returns whether it handled the event. */
export function globalShortcut(event) {
  const typing = event.target.closest?.('input, textarea, select, [contenteditable]');
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return false;
  if (event.key === '?') {
    event.preventDefault();
    showShortcuts();
    return true;
  }
  return false;
}
