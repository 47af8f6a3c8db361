// The Files page: breadcrumbs, the toolbar (Upload, New folder, Rename, Download, Move to trash),
// the filter box and the file list of one folder, whose path is in the URL (/files/A/B).

import * as api from './api.js';
import { h, icon, replace } from './dom.js';
import { t, ts } from './i18n.js';
import { FileList } from './filelist.js';
import { promptDialog } from './dialogs.js';
import { fileActions } from './manage.js';

/** `/files/A/B` for the folder path `/A/B`. */
export function folderUrl(path) {
  const segments = path.split('/').filter(Boolean).map(encodeURIComponent);
  return segments.length ? `/files/${segments.join('/')}` : '/files';
}

function parentPath(path) {
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

export function browsePage(app, initialPath) {
  let path = null;
  let folder = null;
  let loads = 0;
  let selectAfterLoad = null;
  let more = null;

  const list = new FileList({
    open: openEntry,
    up: () => path !== '/' && app.navigate(folderUrl(parentPath(path))),
    key: (e) => {
      if (e.key === 'F2') return (e.preventDefault(), renameSelected(), true);
      if (e.key === 'Delete') return (e.preventDefault(), trashSelected(), true);
      return more.key(e);
    },
    selectionChanged: syncToolbar,
    decorate: (el, entry, mode) => more.decorate(el, entry, mode),
  });
  more = fileActions(app, {
    list,
    folder: () => folder,
    reload: async (names) => {
      selectAfterLoad = names;
      await load(false);
    },
  });

  const fileInput = h('input', {
    type: 'file',
    multiple: true,
    class: 'visually-hidden',
    tabindex: '-1',
    'aria-hidden': 'true',
    onchange: () => {
      upload([...fileInput.files]);
      fileInput.value = '';
    },
  });
  const buttons = {
    upload: h('button', { type: 'button', class: 'primary', onclick: () => fileInput.click() }, icon('upload'), h('span', { class: 'label' }, t.upload)),
    uploadFolder: h('button', { type: 'button', onclick: pickFolder }, icon('folder'), h('span', { class: 'label' }, t.uploadFolder)),
    newFolder: h('button', { type: 'button', onclick: newFolder }, icon('plus'), h('span', { class: 'label' }, t.newFolder)),
    rename: h('button', { type: 'button', onclick: renameSelected }, icon('edit'), h('span', { class: 'label' }, t.rename)),
    download: h('button', { type: 'button', onclick: downloadSelected }, icon('download'), h('span', { class: 'label' }, t.download)),
    trash: h('button', { type: 'button', onclick: trashSelected }, icon('trash'), h('span', { class: 'label' }, t.moveToTrash)),
    share: h('button', { type: 'button', onclick: shareSelected }, icon('share'), h('span', { class: 'label' }, ts.share)),
    ...more.buttons,
  };
  const crumbs = h('ol', {});
  const filter = h('input', {
    type: 'text',
    class: 'filter',
    'aria-label': t.filter,
    placeholder: t.filterPlaceholder,
    oninput: () => list.setFilter(filter.value),
  });
  const status = h('p', { class: 'status', 'aria-live': 'polite' });
  const heading = h('h1', { class: 'visually-hidden' }, t.files);
  const element = h(
    'section',
    { class: 'browse' },
    heading,
    h('nav', { 'aria-label': t.breadcrumbs, class: 'crumbs' }, crumbs),
    h('div', { class: 'toolbar' }, Object.values(buttons), fileInput, filter),
    list.element,
    status,
  );
  wireDrops(element);
  more.wireCrumbs(crumbs);
  open(initialPath);

  function syncToolbar(selection = list.selection()) {
    const one = selection.length === 1;
    buttons.rename.disabled = !one;
    buttons.download.disabled = !selection.length;
    buttons.trash.disabled = !selection.length;
    buttons.share.disabled = !one;
    more?.sync(selection);
    const counts = [t.items(list.view.length)];
    if (selection.length) counts.push(t.selected(selection.length));
    status.textContent = counts.join(' · ');
  }

  function drawCrumbs() {
    const parts = path.split('/').filter(Boolean);
    const items = [h('li', {}, crumbLink('/', t.files, parts.length === 0))];
    parts.forEach((name, i) => {
      const at = '/' + parts.slice(0, i + 1).join('/');
      items.push(h('li', {}, crumbLink(at, name, i === parts.length - 1)));
    });
    replace(crumbs, items);
  }

  function crumbLink(at, label, current) {
    return h('a', { href: folderUrl(at), 'data-link': '', 'aria-current': current ? 'page' : null }, label);
  }

  /** Shows the folder at `next` (a path); going up selects the folder we came from. */
  async function open(next) {
    if (path && path.startsWith(next === '/' ? '/' : next + '/') && next !== path) {
      selectAfterLoad = [path.slice(next.length).split('/').filter(Boolean)[0]];
    }
    path = next;
    folder = null;
    filter.value = '';
    list.setFilter('');
    list.selected.clear();
    list.grid.scrollTop = 0;
    drawCrumbs();
    await load(true);
  }

  /** Lists the folder; `progressive` shows each page as it arrives (first screen fast). */
  async function load(progressive) {
    const seq = ++loads;
    try {
      if (!folder) {
        folder = path === '/' ? { id: 'root', kind: 'folder', path: '/' } : await api.nodeByPath(path);
        if (seq !== loads) return;
        if (folder.kind !== 'folder') {
          // A link to a file opens its folder with the file selected.
          app.navigate(folderUrl(parentPath(path)), true);
          selectAfterLoad = [folder.name];
          return;
        }
      }
      list.setEmptyText(t.loading);
      let entries = [];
      await api.allPages(
        () => api.children(folder.id, null, progressive ? 500 : 2000),
        (cursor) => api.children(folder.id, cursor),
        (page, done) => {
          if (seq !== loads) throw new Error('superseded');
          entries = entries.concat(page);
          if (progressive || done) list.setEntries(entries);
        },
      );
      list.setEmptyText(t.emptyFolder);
      if (selectAfterLoad) {
        const names = new Set(selectAfterLoad.map((n) => n.toLowerCase()));
        list.select(list.view.filter((e) => names.has(e.name.toLowerCase())).map((e) => e.id));
        selectAfterLoad = null;
      }
      syncToolbar();
    } catch (error) {
      if (seq !== loads) return;
      list.setEntries([]);
      list.setEmptyText(error.status === 404 ? t.notFound : t.errorGeneric);
    }
  }

  function openEntry(entry) {
    if (entry.kind === 'folder') app.navigate(folderUrl(`${path === '/' ? '' : path}/${entry.name}`));
    else more.open(entry);
  }

  async function newFolder() {
    const name = await promptDialog({ title: t.newFolder, label: t.name, confirm: t.create });
    if (!name) return;
    try {
      await api.createFolder(folder.id, name);
      selectAfterLoad = [name];
      await load(false);
      list.focus();
    } catch (error) {
      app.toast(app, error.code === 'name_conflict' ? t.nameTaken : error.message);
    }
  }

  async function renameSelected() {
    const [entry, more] = list.selection();
    if (!entry || more) return;
    const name = await promptDialog({
      title: t.rename,
      label: t.name,
      value: entry.name,
      confirm: t.rename,
      select: (v) => [0, entry.kind === 'file' && v.lastIndexOf('.') > 0 ? v.lastIndexOf('.') : v.length],
    });
    if (!name || name === entry.name) return;
    try {
      await api.rename(entry.id, name);
      selectAfterLoad = [name];
      await load(false);
      list.focus();
    } catch (error) {
      app.toast(app, error.code === 'name_conflict' ? t.nameTaken : error.message);
    }
  }

  async function trashSelected() {
    const entries = list.selection();
    if (!entries.length) return;
    const done = [];
    for (const entry of entries) {
      try {
        await api.trash(entry.id);
        done.push(entry);
      } catch (error) {
        app.toast(app, error.message);
      }
    }
    await load(false);
    list.focus();
    app.toast(app, t.movedToTrash(done.length), {
      label: t.undo,
      run: async () => {
        for (const entry of done) await api.restore(entry.id).catch(() => {});
        selectAfterLoad = done.map((e) => e.name);
        await load(false);
        app.toast(app, t.restored(done.length));
      },
    });
  }

  /** The Share dialog (share.js, loaded on first use) for the one selected entry. */
  async function shareSelected() {
    const [entry, more] = list.selection();
    if (!entry || more) return;
    try {
      const { shareDialog } = await import('./share.js');
      await shareDialog(app, entry);
    } catch (error) {
      app.toast(app, error.message);
    }
  }

  function downloadSelected() {
    // One file: itself; folders or several: one zip.
    more.download(list.selection());
  }

  function upload(files) {
    if (!files.length || !folder) return;
    app.uploads.add(files, folder.id, uploaded(folder.id));
  }

  /** After files land in `target`: reload the list when it shows that folder (or holds it). */
  function uploaded(target) {
    const shown = folder?.id;
    return () => {
      if (folder && folder.id === shown) load(false);
      app.refreshQuota();
    };
  }

  // A folder picker made on demand, so that the page keeps a single `input type=file` (Upload's).
  function pickFolder() {
    if (!folder) return;
    const target = folder.id;
    const input = h('input', { type: 'file', webkitdirectory: true, multiple: true, class: 'visually-hidden', tabindex: '-1', 'aria-hidden': 'true' });
    input.addEventListener('change', () => {
      app.uploads.add([...input.files], target, uploaded(target));
      input.remove();
    });
    document.body.append(input);
    input.click();
  }

  /** The folder row under a drop, if any: the drop goes into it. */
  function dropFolder(e) {
    const index = list.indexOf(e.target);
    const entry = index >= 0 ? list.view[index] : null;
    return entry?.kind === 'folder' ? entry : null;
  }

  function wireDrops(zone) {
    let depth = 0;
    const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes('Files');
    zone.addEventListener('dragenter', (e) => {
      if (!hasFiles(e)) return;
      depth += 1;
      zone.classList.add('dropping');
    });
    zone.addEventListener('dragleave', () => {
      depth = Math.max(0, depth - 1);
      if (!depth) zone.classList.remove('dropping');
    });
    let marked = null;
    const mark = (row) => {
      if (marked === row) return;
      marked?.classList.remove('drop-target');
      marked = row;
      marked?.classList.add('drop-target');
    };
    zone.addEventListener('dragover', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      mark(dropFolder(e) ? e.target.closest('[role=row]') : null);
    });
    zone.addEventListener('drop', (e) => {
      e.preventDefault();
      depth = 0;
      zone.classList.remove('dropping');
      mark(null);
      const target = dropFolder(e)?.id || folder?.id;
      if (target) app.uploads.drop(e.dataTransfer, target, uploaded(target));
    });
  }

  return {
    kind: 'browse',
    title: t.files,
    element,
    open,
    changed: () => folder && load(false),
  };
}
