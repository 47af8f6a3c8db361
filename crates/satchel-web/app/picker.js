// The folder picker of Move and Copy: a dialog named after the action, listing the folders of one
// place (a `listbox` named "Folders": arrows move, Enter or a double click opens one, Backspace or
// "Up" goes up) and a button that picks the folder shown.

import * as api from './api.js';
import { h, icon, replace } from './dom.js';
import { t } from './i18n.js';
import { modal } from './modal.js';

/** Resolves to the folder picked ({id, path}) or null. `start` is where it opens ({id, path}). */
export function pickFolder({ title, confirm, start }) {
  return modal(title, (close) => {
    let here = start;
    let folders = [];
    let active = 0;
    const where = h('p', { class: 'picker-path', 'aria-live': 'polite' });
    const list = h('ul', { role: 'listbox', 'aria-label': t.folders, tabindex: '0', class: 'picker-list' });
    const up = h('button', { type: 'button', onclick: () => goUp() }, t.upOneFolder);
    const choose = h('button', { type: 'button', class: 'primary', onclick: () => close(here) }, confirm);

    async function show(folder) {
      here = folder;
      where.textContent = t.pickerIn(folder.path === '/' ? t.files : folder.path);
      up.disabled = folder.path === '/';
      replace(list, h('li', { class: 'muted' }, t.loading));
      const found = [];
      try {
        await api.allPages(
          () => api.children(folder.id),
          (cursor) => api.children(folder.id, cursor),
          (page) => found.push(...page.filter((e) => e.kind === 'folder')),
        );
      } catch (error) {
        replace(list, h('li', { class: 'muted' }, error.message));
        return;
      }
      if (here !== folder) return;
      folders = found.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true, sensitivity: 'base' }));
      active = 0;
      draw();
    }

    function draw() {
      replace(
        list,
        folders.length
          ? folders.map((f, i) =>
              h(
                'li',
                {
                  role: 'option',
                  id: `pick-${f.id}`,
                  'aria-selected': String(i === active),
                  class: i === active ? 'active' : '',
                  onclick: () => {
                    active = i;
                    draw();
                  },
                  ondblclick: () => show(f),
                },
                icon('folder'),
                f.name,
              ),
            )
          : h('li', { class: 'muted' }, t.noFolders),
      );
      if (folders[active]) list.setAttribute('aria-activedescendant', `pick-${folders[active].id}`);
      else list.removeAttribute('aria-activedescendant');
      list.querySelector('.active')?.scrollIntoView({ block: 'nearest' });
    }

    function goUp() {
      if (here.path === '/') return;
      const cut = here.path.lastIndexOf('/');
      const parent = cut <= 0 ? '/' : here.path.slice(0, cut);
      if (parent === '/') return show({ id: 'root', path: '/' });
      api.nodeByPath(parent).then(show, () => show({ id: 'root', path: '/' }));
    }

    list.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        active = Math.max(0, Math.min(folders.length - 1, active + (e.key === 'ArrowDown' ? 1 : -1)));
        draw();
      } else if (e.key === 'Enter' && folders[active]) {
        e.preventDefault();
        show(folders[active]);
      } else if (e.key === 'Backspace' || (e.altKey && e.key === 'ArrowUp')) {
        e.preventDefault();
        goUp();
      }
    });

    show(start);
    queueMicrotask(() => list.focus());
    return h(
      'div',
      { class: 'picker' },
      h('div', { class: 'picker-head' }, where, up),
      list,
      h('p', { class: 'hint' }, t.pickerHint),
      h('div', { class: 'dialog-actions' }, h('button', { type: 'button', onclick: () => close(null) }, t.cancel), choose),
    );
  });
}
