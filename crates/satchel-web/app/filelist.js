// The file list: a `grid` named "Files" whose rows are named by the entry's name. Sorted (folders
// first), filtered, virtualised (only the rows in view exist in the page, so 100,000 entries cost
// what 50 do), with selection by click, Shift (range), Ctrl/Cmd (toggle), Ctrl+A, and the keyboard.

import { h, icon } from './dom.js';
import { t, bytes, date } from './i18n.js';

const ROW = 44; // px; keep in step with --row in app.css
// Grid view: tiles of TILE_W × TILE_H px (keep in step with .tiles in app.css).
const TILE_W = 168;
const TILE_H = 176;
const OVERSCAN = 8;
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

const COLUMNS = [
  { key: 'name', label: t.name },
  { key: 'size', label: t.size },
  { key: 'modified', label: t.modified },
];

export class FileList {
  /**
   * `actions`: { open(entry), up(), key(event) → handled, selectionChanged(entries),
   * decorate(rowElement, entry, mode) (thumbnails, dragging) }.
   * `label` names the grid ("Files").
   */
  constructor(actions, label = t.files) {
    this.actions = actions;
    this.all = [];
    this.view = [];
    this.filter = '';
    this.sort = { key: 'name', dir: 1 };
    this.selected = new Set();
    this.anchor = -1;
    this.active = -1;
    this.rows = new Map();
    this.frame = 0;
    this.mode = 'list';

    this.headers = COLUMNS.map((column) =>
      h(
        'div',
        { role: 'columnheader', class: `cell col-${column.key}` },
        h('button', { type: 'button', class: 'sort', onclick: () => this.sortBy(column.key) }, column.label),
      ),
    );
    this.body = h('div', { role: 'rowgroup', class: 'rows' });
    this.grid = h(
      'div',
      {
        role: 'grid',
        'aria-label': label,
        'aria-multiselectable': 'true',
        tabindex: '0',
        class: 'grid',
      },
      h('div', { role: 'rowgroup', class: 'head' }, h('div', { role: 'row', 'aria-rowindex': '1', class: 'row' }, this.headers)),
      this.body,
    );
    this.empty = h('p', { class: 'empty', hidden: true });
    this.element = h('div', { class: 'filelist' }, this.grid, this.empty);

    this.grid.addEventListener('scroll', () => this.schedule());
    this.grid.addEventListener('click', (e) => this.click(e));
    this.grid.addEventListener('dblclick', (e) => {
      const index = this.indexOf(e.target);
      if (index >= 0) this.actions.open(this.view[index]);
    });
    this.grid.addEventListener('keydown', (e) => this.key(e));
    this.grid.addEventListener('focus', () => {
      if (this.active < 0 && this.view.length) this.setActive(0);
      this.render();
    });
    new ResizeObserver(() => this.schedule()).observe(this.grid);
    this.syncHeaders();
  }

  /** Shows rows as a list or as a grid of tiles ('list' | 'grid'). */
  setMode(mode) {
    if (mode === this.mode) return;
    this.mode = mode;
    this.grid.classList.toggle('tiles', mode === 'grid');
    for (const row of this.rows.values()) row.el.remove();
    this.rows.clear();
    this.refresh(this.view[this.active]?.id);
    if (this.active >= 0) this.setActive(this.active);
  }

  /** Tiles per line (1 in the list), and the height of a line. */
  get columns() {
    return this.mode === 'grid' ? Math.max(1, Math.floor((this.grid.clientWidth - 2) / TILE_W)) : 1;
  }

  get lineHeight() {
    return this.mode === 'grid' ? TILE_H : ROW;
  }

  /** Replaces the entries, keeping selection (by id), the active row and the scroll position. */
  setEntries(entries) {
    const activeId = this.view[this.active]?.id;
    this.all = entries;
    const ids = new Set(entries.map((e) => e.id));
    for (const id of this.selected) if (!ids.has(id)) this.selected.delete(id);
    this.refresh(activeId);
  }

  setFilter(text) {
    this.filter = text.trim().toLowerCase();
    this.refresh(this.view[this.active]?.id);
  }

  setEmptyText(text) {
    this.empty.textContent = text;
  }

  sortBy(key) {
    this.sort = { key, dir: this.sort.key === key ? -this.sort.dir : 1 };
    this.syncHeaders();
    this.refresh(this.view[this.active]?.id);
  }

  /** The selected entries, in view order. */
  selection() {
    return this.view.filter((e) => this.selected.has(e.id));
  }

  /** Selects the entries with these ids (and makes the first active, scrolled into view). */
  select(ids) {
    this.selected = new Set(ids);
    const first = this.view.findIndex((e) => this.selected.has(e.id));
    if (first >= 0) this.setActive(first);
    this.changed();
  }

  focus() {
    this.grid.focus();
  }

  refresh(activeId) {
    const f = this.filter;
    const view = f ? this.all.filter((e) => e.name.toLowerCase().includes(f)) : this.all.slice();
    const { key, dir } = this.sort;
    view.sort((a, b) => {
      if (a.kind !== b.kind) return a.kind === 'folder' ? -1 : 1;
      let order = 0;
      if (key === 'size') order = (a.size || 0) - (b.size || 0);
      else if (key === 'modified') order = a.modified_at < b.modified_at ? -1 : a.modified_at > b.modified_at ? 1 : 0;
      return (order || collator.compare(a.name, b.name)) * dir;
    });
    this.view = view;
    this.active = activeId ? view.findIndex((e) => e.id === activeId) : Math.min(this.active, view.length - 1);
    this.grid.setAttribute('aria-rowcount', String(view.length + 1));
    this.body.style.height = `${Math.ceil(view.length / this.columns) * this.lineHeight}px`;
    this.empty.hidden = view.length > 0;
    this.changed();
  }

  syncHeaders() {
    COLUMNS.forEach((column, i) => {
      const sorted = this.sort.key === column.key;
      this.headers[i].setAttribute('aria-sort', sorted ? (this.sort.dir > 0 ? 'ascending' : 'descending') : 'none');
    });
  }

  changed() {
    this.render();
    this.actions.selectionChanged?.(this.selection());
  }

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.render());
  }

  /** Draws the rows in view (and a few around), reusing the elements of rows still in view. */
  render() {
    this.frame = 0;
    const top = this.grid.scrollTop;
    const height = this.grid.clientHeight || 600;
    const [columns, line] = [this.columns, this.lineHeight];
    this.body.style.height = `${Math.ceil(this.view.length / columns) * line}px`;
    const first = Math.max(0, Math.floor(top / line) - OVERSCAN) * columns;
    const last = Math.min(this.view.length, (Math.ceil((top + height) / line) + OVERSCAN) * columns);
    const keep = new Map();
    for (let i = first; i < last; i += 1) {
      const entry = this.view[i];
      let row = this.rows.get(entry.id);
      if (row && row.entry !== entry) {
        row.el.remove(); // the entry changed: its old row goes, a new one is drawn
        row = null;
      }
      if (!row) row = this.makeRow(entry);
      this.rows.delete(entry.id);
      keep.set(entry.id, row);
      row.index = i;
      const x = (i % columns) * TILE_W;
      row.el.style.transform = this.mode === 'grid' ? `translate(${x}px, ${Math.floor(i / columns) * line}px)` : `translateY(${i * ROW}px)`;
      row.el.setAttribute('aria-rowindex', String(i + 2));
      row.el.setAttribute('aria-selected', String(this.selected.has(entry.id)));
      row.el.classList.toggle('active', i === this.active);
      if (row.el.parentNode !== this.body) this.body.append(row.el);
    }
    for (const row of this.rows.values()) row.el.remove();
    this.rows = keep;
    const active = this.view[this.active];
    if (active && keep.has(active.id)) this.grid.setAttribute('aria-activedescendant', `row-${active.id}`);
    else this.grid.removeAttribute('aria-activedescendant');
  }

  makeRow(entry) {
    const folder = entry.kind === 'folder';
    const el = h(
      'div',
      { role: 'row', id: `row-${entry.id}`, class: `row ${folder ? 'folder' : 'file'}`, 'aria-label': entry.name },
      h('div', { role: 'gridcell', class: 'cell col-name' }, icon(folder ? 'folder' : 'file'), h('span', { class: 'name' }, entry.name)),
      h('div', { role: 'gridcell', class: 'cell col-size' }, folder ? '—' : bytes(entry.size)),
      h('div', { role: 'gridcell', class: 'cell col-modified' }, date(entry.modified_at)),
    );
    this.actions.decorate?.(el, entry, this.mode);
    return { el, entry, index: -1 };
  }

  indexOf(target) {
    const el = target.closest?.('.rows [role=row]');
    if (!el) return -1;
    const id = el.id.slice('row-'.length);
    return this.view.findIndex((e) => e.id === id);
  }

  click(event) {
    const index = this.indexOf(event.target);
    if (index < 0) return;
    const id = this.view[index].id;
    if (event.shiftKey && this.anchor >= 0) {
      this.selectRange(this.anchor, index, event.ctrlKey || event.metaKey);
    } else if (event.ctrlKey || event.metaKey) {
      if (this.selected.has(id)) this.selected.delete(id);
      else this.selected.add(id);
      this.anchor = index;
    } else {
      this.selected = new Set([id]);
      this.anchor = index;
    }
    this.active = index;
    this.changed();
  }

  selectRange(from, to, add) {
    if (!add) this.selected.clear();
    const [a, b] = from < to ? [from, to] : [to, from];
    for (let i = a; i <= b; i += 1) this.selected.add(this.view[i].id);
  }

  setActive(index) {
    this.active = Math.max(0, Math.min(index, this.view.length - 1));
    const line = this.lineHeight;
    const top = Math.floor(this.active / this.columns) * line;
    const headHeight = this.mode === 'grid' ? 0 : ROW;
    if (top < this.grid.scrollTop) this.grid.scrollTop = top;
    else if (top + line + headHeight > this.grid.scrollTop + this.grid.clientHeight) {
      this.grid.scrollTop = top + line + headHeight - this.grid.clientHeight;
    }
  }

  key(event) {
    if (this.actions.key?.(event)) return;
    const ctrl = event.ctrlKey || event.metaKey;
    const n = this.view.length;
    const columns = this.columns;
    const page = Math.max(1, Math.floor(this.grid.clientHeight / this.lineHeight) - 1) * columns;
    const moves = { ArrowDown: columns, ArrowUp: -columns, PageDown: page, PageUp: -page, Home: -Infinity, End: Infinity };
    if (this.mode === 'grid') Object.assign(moves, { ArrowRight: 1, ArrowLeft: -1 });
    if (event.key in moves && !(event.key === 'ArrowUp' && event.altKey)) {
      event.preventDefault();
      if (!n) return;
      const start = this.active < 0 ? (moves[event.key] > 0 ? -1 : n) : this.active;
      const target = Math.max(0, Math.min(n - 1, start + moves[event.key]));
      this.setActive(target);
      if (event.shiftKey) {
        if (this.anchor < 0) this.anchor = start < 0 || start >= n ? target : start;
        this.selectRange(this.anchor, target, false);
      } else if (!ctrl) {
        this.selected = new Set([this.view[target].id]);
        this.anchor = target;
      }
      this.changed();
    } else if (event.key === ' ' && this.active >= 0) {
      event.preventDefault();
      const id = this.view[this.active].id;
      if (this.selected.has(id)) this.selected.delete(id);
      else this.selected.add(id);
      this.anchor = this.active;
      this.changed();
    } else if (event.key === 'Enter' && this.active >= 0) {
      event.preventDefault();
      this.actions.open(this.view[this.active]);
    } else if (ctrl && event.key.toLowerCase() === 'a') {
      event.preventDefault();
      this.selected = new Set(this.view.map((e) => e.id));
      this.changed();
    } else if (event.key === 'Escape') {
      this.selected.clear();
      this.changed();
    } else if (event.key === 'Backspace' || (event.altKey && event.key === 'ArrowUp')) {
      event.preventDefault();
      this.actions.up();
    }
  }
}
