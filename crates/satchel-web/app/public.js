// The public link page: what a browser opening /s/{token} sees (the server answers this page to
// `Accept: text/html` and the bytes or JSON to everyone else). A file shows a preview and a Download
// button; a folder is browsable, with "Download all" (the server's zip); a password link asks for
// the password first; an upload-only link is a drop zone with progress and never lists anything.
//
// Invariants: nothing here needs an account or shows one (the server's `?info` names no owner);
// the link password stays in this page's memory, and what cannot send it as a header (images,
// players, download links) carries the short-lived grant the server handed out for it instead.

import { h, icon, replace } from './dom.js';
import { t, ts, bytes, date } from './i18n.js';

const root = document.getElementById('app');
const [, , token = ''] = location.pathname.split('/');
const base = `/s/${token}`;
let password = null;
let grant = null;

/** The link-relative path now shown ('' or '/A/B', each segment URL-encoded). */
function here() {
  return location.pathname.slice(base.length).replace(/\/+$/, '');
}

/** A URL under the link, with the grant when there is one. */
function url(path, query = '') {
  const params = new URLSearchParams(query);
  if (grant) params.set('grant', grant);
  const text = params.toString();
  return `${base}${path}${text ? `?${text}` : ''}`;
}

/** A problem document's code, or `http_STATUS`. */
async function problemCode(response) {
  try {
    return (await response.json()).code || `http_${response.status}`;
  } catch {
    return `http_${response.status}`;
  }
}

const MESSAGES = {
  not_found: ts.linkNotFound,
  link_expired: ts.linkExpired,
  link_disabled: ts.linkDisabled,
  download_limit: ts.linkUsedUp,
  too_many_requests: ts.tooManyGuesses,
};

function frame(...children) {
  const main = h('main', { class: 'public-page', id: 'main' }, ...children, h('p', { class: 'public-foot' }, ts.poweredBy));
  root.replaceChildren(main);
  return main;
}

function message(text) {
  document.title = `${ts.sharedWithYou} – ${t.appName}`;
  frame(h('section', { class: 'public-card' }, h('h1', {}, ts.sharedWithYou), h('p', { role: 'alert' }, text)));
}

async function load() {
  const headers = password && !grant ? { 'X-Share-Password': password } : {};
  const response = await fetch(url(here(), 'info'), { headers, credentials: 'omit' });
  if (!response.ok) {
    const code = await problemCode(response);
    if (code === 'password_required' || code === 'wrong_password') return askPassword(code === 'wrong_password');
    return message(MESSAGES[code] || t.errorGeneric);
  }
  const info = await response.json();
  if (info.grant) grant = info.grant;
  document.title = `${info.name || ts.sharedWithYou} – ${t.appName}`;
  if (info.upload_only) return dropZone(info);
  if (info.kind === 'file') return fileView(info);
  return folderView(info);
}

function askPassword(wrong) {
  password = null;
  grant = null;
  document.title = `${ts.protectedLink} – ${t.appName}`;
  const input = h('input', { id: 'link-password', type: 'password', autocomplete: 'off', required: true });
  const error = h('p', { class: 'form-error', role: 'alert' }, wrong ? ts.wrongPassword : '');
  const form = h(
    'form',
    {
      class: 'signin',
      onsubmit: (e) => {
        e.preventDefault();
        password = input.value;
        load();
      },
    },
    h('h1', {}, ts.protectedLink),
    h('p', {}, ts.protectedHint),
    h('label', { for: input.id }, t.password),
    input,
    error,
    h('div', { class: 'signin-actions' }, h('button', { type: 'submit', class: 'primary' }, ts.open)),
  );
  frame(form);
  input.focus();
}

function downloadButton(href, label = t.download, name = undefined) {
  return h('a', { class: 'button primary', role: 'button', href, download: name ?? '' }, icon('download'), label);
}

function preview(info) {
  const mime = info.mime || '';
  // A limited link counts every transfer: nothing is fetched until the visitor asks for it.
  if (info.limited) return null;
  const src = url('');
  if (/^image\/(png|jpeg|gif|webp|avif|bmp)$/.test(mime)) return h('img', { class: 'public-preview', src, alt: info.name });
  if (mime.startsWith('video/')) return h('video', { class: 'public-preview', src, controls: true, preload: 'metadata' });
  if (mime.startsWith('audio/')) return h('audio', { src, controls: true, preload: 'metadata' });
  if ((mime.startsWith('text/') || mime === 'application/json') && info.size <= 256 * 1024) {
    const pre = h('pre', { class: 'public-text', tabindex: '0', 'aria-label': info.name });
    fetch(src, { credentials: 'omit' })
      .then((r) => (r.ok ? r.text() : ''))
      .then((text) => (pre.textContent = text));
    return pre;
  }
  return null;
}

function fileView(info) {
  frame(
    h(
      'section',
      { class: 'public-card' },
      h('h1', { class: 'name-cell' }, icon('file'), info.name),
      h('p', { class: 'status' }, bytes(info.size)),
      preview(info),
      h('div', { class: 'dialog-actions' }, downloadButton(url('', 'download=1'), t.download, info.name)),
    ),
  );
}

async function folderView(info) {
  const path = here();
  const parts = path.split('/').filter(Boolean);
  const crumbs = [h('li', {}, h('a', { href: base, 'data-link': '', 'aria-current': parts.length ? null : 'page' }, rootName || info.name))];
  parts.forEach((part, i) => {
    const at = `${base}/${parts.slice(0, i + 1).join('/')}`;
    crumbs.push(h('li', {}, h('a', { href: at, 'data-link': '', 'aria-current': i === parts.length - 1 ? 'page' : null }, decodeURIComponent(part))));
  });
  if (!parts.length) rootName = info.name;
  const body = h('tbody', {});
  const empty = h('p', { class: 'empty', hidden: true }, ts.emptyShared);
  frame(
    h(
      'section',
      { class: 'public-card wide' },
      h('h1', { class: 'name-cell' }, icon('folder'), info.name),
      h('nav', { 'aria-label': t.breadcrumbs, class: 'crumbs' }, h('ol', {}, crumbs)),
      h('div', { class: 'toolbar' }, downloadButton(url(path, 'download=zip'), ts.downloadAll, `${info.name}.zip`)),
      h(
        'table',
        { class: 'table', 'aria-label': info.name },
        h('thead', {}, h('tr', {}, [t.name, t.size, t.modified, t.actions].map((c) => h('th', { scope: 'col' }, c)))),
        body,
      ),
      empty,
    ),
  );
  let cursor = null;
  let count = 0;
  do {
    const response = await fetch(url(path, cursor ? `cursor=${encodeURIComponent(cursor)}` : ''), { credentials: 'omit', headers: { Accept: 'application/json' } });
    if (!response.ok) return message(MESSAGES[await problemCode(response)] || t.errorGeneric);
    const page = await response.json();
    for (const entry of page.entries) body.append(entryRow(path, entry));
    count += page.entries.length;
    cursor = page.next_cursor;
  } while (cursor);
  empty.hidden = count > 0;
}

let rootName = null;

function entryRow(path, entry) {
  const at = `${path}/${encodeURIComponent(entry.name)}`;
  const folder = entry.kind === 'folder';
  return h(
    'tr',
    { 'aria-label': entry.name },
    h(
      'th',
      { scope: 'row' },
      folder
        ? h('a', { href: `${base}${at}`, 'data-link': '', class: 'name-cell' }, icon('folder'), entry.name)
        : h('span', { class: 'name-cell' }, icon('file'), entry.name),
    ),
    h('td', {}, folder ? '—' : bytes(entry.size)),
    h('td', {}, date(entry.modified_at)),
    h('td', {}, folder ? '' : h('a', { href: url(at, 'download=1'), download: entry.name, 'aria-label': `${t.download} ${entry.name}` }, t.download)),
  );
}

function dropZone(info) {
  const input = h('input', {
    type: 'file',
    multiple: true,
    class: 'visually-hidden',
    tabindex: '-1',
    'aria-hidden': 'true',
    onchange: () => {
      send([...input.files]);
      input.value = '';
    },
  });
  const list = h('ul', { class: 'upload-list', 'aria-label': t.uploads });
  const zone = h(
    'section',
    { class: 'dropzone', role: 'region', 'aria-label': ts.dropZone },
    icon('upload'),
    h('p', {}, ts.dropHint),
    h('button', { type: 'button', class: 'primary', onclick: () => input.click() }, ts.chooseFiles),
    input,
  );
  let depth = 0;
  zone.addEventListener('dragenter', (e) => {
    e.preventDefault();
    depth += 1;
    zone.classList.add('dropping');
  });
  zone.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (!depth) zone.classList.remove('dropping');
  });
  zone.addEventListener('dragover', (e) => e.preventDefault());
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    zone.classList.remove('dropping');
    send([...(e.dataTransfer?.files || [])]);
  });
  frame(h('section', { class: 'public-card' }, h('h1', {}, ts.sendFilesTo(info.name)), zone, list));

  function send(files) {
    // One file at a time: the link's folder, not the visitor, decides the names.
    let chain = Promise.resolve();
    for (const file of files) {
      const bar = h('progress', { max: file.size || 1, value: 0, 'aria-label': file.name });
      const state = h('span', { class: 'upload-state' }, ts.sending);
      list.append(h('li', { class: 'upload', 'aria-label': file.name }, h('span', { class: 'upload-name' }, file.name), state, bar));
      chain = chain.then(() => put(file, bar, state));
    }
  }

  function put(file, bar, state) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open('PUT', `${base}/${encodeURIComponent(file.name)}`);
      if (password) xhr.setRequestHeader('X-Share-Password', password);
      xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
      xhr.upload.onprogress = (e) => {
        bar.value = e.loaded;
        state.textContent = `${ts.sending} · ${bytes(e.loaded)} / ${bytes(file.size)}`;
      };
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          bar.value = bar.max;
          const stored = JSON.parse(xhr.responseText);
          state.textContent = stored.name === file.name ? ts.sent : `${ts.sent} · ${ts.sentAs(stored.name)}`;
        } else {
          state.classList.add('failed');
          state.textContent = `${ts.failed}: ${xhr.status === 413 ? ts.tooLarge : xhr.statusText || xhr.status}`;
        }
        resolve();
      };
      xhr.onerror = () => {
        state.classList.add('failed');
        state.textContent = ts.failed;
        resolve();
      };
      xhr.send(file);
    });
  }
}

// Links inside the folder view move through history, so back/forward and reload keep the place.
root.addEventListener('click', (event) => {
  const link = event.target.closest('a[data-link]');
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  history.pushState(null, '', link.getAttribute('href'));
  load();
});
window.addEventListener('popstate', load);

const chosen = localStorage.getItem('satchel-theme');
if (chosen) document.documentElement.dataset.theme = chosen;
load().catch(() => message(t.errorGeneric));
