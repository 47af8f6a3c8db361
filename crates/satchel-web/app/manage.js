// The file manager's actions beyond the basics, for the Files page: Move and Copy (a folder picker,
// or dragging rows onto a folder row or a breadcrumb), Download of folders and selections as one
// zip, Versions, the preview and the editor (loaded when first used), the list/grid toggle with
// thumbnails, and their keys (m, c, v, e, g; see shortcuts.js).

import { h, icon } from './dom.js';
import { t } from './i18n.js';
import * as fapi from './fileapi.js';
import { showThumbnail } from './thumbs.js';

/** The MIME type of rows dragged inside the app (files from the desktop come as "Files"). */
const DRAGGED = 'application/x-satchel-nodes';
const VIEW_KEY = 'satchel-view';

/**
 * `ctx`: { list, folder() → the folder shown ({id, path}), reload(selectNames?) }.
 * Returns the toolbar buttons, and hooks for browse.js: sync(selection), key(event) → handled,
 * open(entry), decorate(row, entry, mode), download(entries), wireCrumbs(element).
 */
export function fileActions(app, ctx) {
  let dragging = [];
  const buttons = {
    move: h('button', { type: 'button', onclick: () => moveOrCopy('move') }, icon('move'), h('span', { class: 'label' }, t.move)),
    copy: h('button', { type: 'button', onclick: () => moveOrCopy('copy') }, icon('copy'), h('span', { class: 'label' }, t.copy)),
    versions: h('button', { type: 'button', onclick: () => versions() }, icon('history'), h('span', { class: 'label' }, t.versions)),
    view: h('button', { type: 'button', class: 'icon-button', title: t.gridView, 'aria-pressed': 'false', onclick: () => toggleView() }, icon('grid'), h('span', { class: 'visually-hidden' }, t.gridView)),
  };
  if (localStorage.getItem(VIEW_KEY) === 'grid') {
    // Before any entries are shown: nothing to redraw yet.
    ctx.list.mode = 'grid';
    ctx.list.grid.classList.add('tiles');
    buttons.view.setAttribute('aria-pressed', 'true');
  }

  function setView(mode) {
    ctx.list.setMode(mode);
    buttons.view.setAttribute('aria-pressed', String(mode === 'grid'));
  }

  function toggleView() {
    const mode = ctx.list.mode === 'grid' ? 'list' : 'grid';
    if (mode === 'grid') localStorage.setItem(VIEW_KEY, 'grid');
    else localStorage.removeItem(VIEW_KEY);
    setView(mode);
  }

  function sync(selection) {
    buttons.move.disabled = !selection.length;
    buttons.copy.disabled = !selection.length;
    buttons.versions.disabled = !(selection.length === 1 && selection[0].kind === 'file');
  }

  async function moveOrCopy(kind, entries = ctx.list.selection(), target = null) {
    if (!entries.length) return;
    const single = entries.length === 1 ? entries[0].name : null;
    const folder = ctx.folder();
    if (!folder) return;
    if (!target) {
      const { pickFolder } = await import('./picker.js');
      target = await pickFolder({
        title: kind === 'move' ? t.moveTitle(single, entries.length) : t.copyTitle(single, entries.length),
        confirm: kind === 'move' ? t.moveHere : t.copyHere,
        start: { id: folder.id, path: folder.path || '/' },
      });
      if (!target) return;
    }
    let done = 0;
    for (const entry of entries) {
      try {
        if (kind === 'move') await fapi.move(entry.id, target.id);
        else await fapi.copy(entry.id, target.id);
        done += 1;
      } catch (error) {
        app.toast(app, problemText(error, entry));
      }
    }
    await ctx.reload(target.id === folder.id ? entries.map((e) => e.name) : null);
    ctx.list.focus();
    if (done) {
      const where = target.path === '/' ? t.files : target.path.split('/').pop();
      app.toast(app, kind === 'move' ? t.movedTo(done, where) : t.copiedTo(done, where));
    }
  }

  function problemText(error, entry) {
    if (error.code === 'name_conflict') return t.nameTakenThere(entry.name);
    if (error.code === 'cycle') return t.cannotMoveInside(entry.name);
    return error.message;
  }

  async function versions(entry = ctx.list.selection()[0]) {
    if (!entry || entry.kind !== 'file') return;
    const { versionsDialog } = await import('./versions.js');
    await versionsDialog(app, entry, () => ctx.reload([entry.name]));
  }

  async function open(entry) {
    const { preview } = await import('./preview.js');
    const images = ctx.list.view.filter((e) => e.kind === 'file');
    await preview(app, entry, { siblings: images, changed: (names) => ctx.reload(names) });
  }

  async function edit(entry = ctx.list.selection()[0]) {
    if (!entry || entry.kind !== 'file') return;
    const { editText, editable } = await import('./editor.js');
    if (!editable(entry)) {
      app.toast(app, t.notEditable);
      return;
    }
    await editText(app, entry, (names) => ctx.reload(names));
  }

  async function download(entries) {
    if (!entries.length) return;
    try {
      if (entries.length === 1 && entries[0].kind === 'file') {
        const { url } = await fapi.signedUrl(entries[0].id);
        fapi.startDownload(url, entries[0].name);
      } else {
        const { url } = await fapi.zipUrl(entries.map((e) => e.id));
        fapi.startDownload(url);
      }
    } catch (error) {
      app.toast(app, error.message);
    }
  }

  function key(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return false;
    const actions = { m: () => moveOrCopy('move'), c: () => moveOrCopy('copy'), v: () => versions(), e: () => edit(), g: () => toggleView() };
    const action = actions[event.key];
    if (!action) return false;
    event.preventDefault();
    action();
    return true;
  }

  // ---- dragging rows onto folders

  function decorate(el, entry, mode) {
    showThumbnail(el, entry, mode);
    el.draggable = true;
    el.addEventListener('dragstart', (e) => {
      const selected = ctx.list.selection();
      const picked = selected.some((s) => s.id === entry.id) ? selected : [entry];
      if (picked.length === 1 && !ctx.list.selected.has(entry.id)) ctx.list.select([entry.id]);
      dragging = picked;
      e.dataTransfer.setData(DRAGGED, JSON.stringify(picked.map((p) => p.id)));
      e.dataTransfer.effectAllowed = 'copyMove';
    });
    el.addEventListener('dragend', () => {
      dragging = [];
    });
    if (entry.kind !== 'folder') return;
    const accepts = (e) => [...(e.dataTransfer?.types || [])].includes(DRAGGED) && !dragging.some((d) => d.id === entry.id);
    el.addEventListener('dragover', (e) => {
      if (!accepts(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = e.ctrlKey || e.altKey ? 'copy' : 'move';
      el.classList.add('drop-target');
    });
    el.addEventListener('dragleave', () => el.classList.remove('drop-target'));
    el.addEventListener('drop', (e) => {
      el.classList.remove('drop-target');
      if (!accepts(e)) return;
      e.preventDefault();
      e.stopPropagation();
      const folder = ctx.folder();
      const base = folder.path === '/' ? '' : folder.path;
      moveOrCopy(e.ctrlKey || e.altKey ? 'copy' : 'move', dragging, { id: entry.id, path: `${base}/${entry.name}` });
    });
  }

  /** Breadcrumbs take dragged rows too (moving them up the tree). */
  function wireCrumbs(crumbs) {
    const target = (e) => {
      const link = e.target.closest?.('a[href]');
      if (!link || !link.getAttribute('href').startsWith('/files')) return null;
      if (![...(e.dataTransfer?.types || [])].includes(DRAGGED)) return null;
      return link;
    };
    const pathOf = (link) => decodeURIComponent(link.getAttribute('href').slice('/files'.length)) || '/';
    crumbs.addEventListener('dragover', (e) => {
      const link = target(e);
      if (!link || pathOf(link) === (ctx.folder().path || '/')) return;
      e.preventDefault();
      link.classList.add('drop-target');
    });
    crumbs.addEventListener('dragleave', (e) => e.target.closest?.('a')?.classList.remove('drop-target'));
    crumbs.addEventListener('drop', async (e) => {
      const link = target(e);
      if (!link) return;
      e.preventDefault();
      e.stopPropagation();
      link.classList.remove('drop-target');
      const path = pathOf(link);
      const entries = dragging;
      try {
        const folder = path === '/' ? { id: 'root', path: '/' } : await (await import('./api.js')).nodeByPath(path);
        await moveOrCopy(e.ctrlKey || e.altKey ? 'copy' : 'move', entries, { id: folder.id, path });
      } catch (error) {
        app.toast(app, error.message);
      }
    });
  }

  return { buttons, sync, key, open, edit, versions, decorate, download, wireCrumbs };
}
