// The app's entry: resumes the session (or shows sign-in), draws the shell, routes by URL (history
// API: back/forward and reload keep the place), and listens on the notifications socket.

import * as api from './api.js';
import { h, icon, replace } from './dom.js';
import { t, ts, bytes } from './i18n.js';
import { signInPage } from './session.js';
import { browsePage } from './browse.js';
import { trashPage, searchPage } from './pages.js';
import { Uploads } from './uploads.js';
import { toast } from './dialogs.js';
import { globalShortcut } from './shortcuts.js';

const root = document.getElementById('app');
const app = { page: null, uploads: null, user: null, navigate, refreshQuota, toast };
let socket = null;
let socketRetry = 1000;
let signedIn = false;

applyTheme();
boot();

async function boot() {
  api.setSignedOutHandler(signedOut);
  let session = null;
  try {
    session = await api.refresh();
  } catch {
    const info = await api.serverInfo().catch(() => ({ registration_open: false }));
    session = await signInPage(root, info.registration_open);
  }
  start(session);
}

function start(session) {
  signedIn = true;
  app.user = session.user;
  drawShell();
  route();
  connect();
  refreshQuota();
}

function signedOut() {
  if (!signedIn) return;
  signedIn = false;
  socket?.close();
  app.page?.leave?.();
  app.page = null;
  boot();
}

async function signOut() {
  signedIn = false;
  socket?.close();
  await api.signOut();
  app.page?.leave?.();
  app.page = null;
  boot();
}

// ---- shell

const shell = {};

function drawShell() {
  shell.main = h('main', { id: 'main', tabindex: '-1' });
  shell.quota = h('p', { class: 'quota' });
  shell.nav = h(
    'nav',
    { 'aria-label': t.mainNavigation, class: 'sidenav' },
    h(
      'ul',
      {},
      navLink('/files', t.files, 'folder'),
      navLink('/shared', t.sharedWithMe, 'folder'),
      navLink('/links', t.links, 'file'),
      navLink('/trash', t.trash, 'trash'),
      navLink('/account', ts.account, 'user'),
      app.user.is_admin && navLink('/admin', ts.admin, 'shield'),
    ),
    shell.quota,
  );
  shell.search = h('input', {
    type: 'search',
    id: 'search',
    'aria-label': t.search,
    placeholder: t.search,
    autocomplete: 'off',
  });
  let searchTimer = null;
  shell.search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    const q = shell.search.value.trim();
    searchTimer = setTimeout(() => {
      if (q) navigate(`/search?q=${encodeURIComponent(q)}`, location.pathname === '/search');
    }, 250);
  });
  const searchForm = h(
    'form',
    {
      role: 'search',
      class: 'search',
      onsubmit: (e) => {
        e.preventDefault();
        clearTimeout(searchTimer);
        const q = shell.search.value.trim();
        if (q) navigate(`/search?q=${encodeURIComponent(q)}`);
      },
    },
    shell.search,
  );
  shell.theme = h('button', { type: 'button', class: 'icon-button', onclick: toggleTheme, title: t.darkMode }, icon('moon'), h('span', { class: 'visually-hidden' }, t.darkMode));
  syncThemeButton();
  const header = h(
    'header',
    { class: 'topbar' },
    h('a', { href: '/files', class: 'brand', 'data-link': '' }, h('img', { src: iconUrl(), alt: '', width: 24, height: 24 }), t.appName),
    searchForm,
    h(
      'div',
      { class: 'account' },
      shell.theme,
      h('span', { class: 'user-email' }, app.user.email),
      h('button', { type: 'button', onclick: signOut }, t.signOut),
    ),
  );
  app.uploads = new Uploads(app);
  shell.toasts = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
  root.replaceChildren(
    h('a', { class: 'skip', href: '#main' }, t.skipToContent),
    header,
    h('div', { class: 'layout' }, shell.nav, shell.main),
    app.uploads.element,
    shell.toasts,
  );
  app.toasts = shell.toasts;
  root.addEventListener('click', followLink);
  document.addEventListener('keydown', globalKeys);
}

function iconUrl() {
  return document.querySelector('link[rel=icon]').getAttribute('href');
}

function navLink(href, label, iconName) {
  return h('li', {}, h('a', { href, 'data-link': '' }, icon(iconName), label));
}

function followLink(event) {
  const link = event.target.closest('a[data-link]');
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  navigate(link.getAttribute('href'));
}

function globalKeys(event) {
  const typing = event.target.closest('input, textarea, select, [contenteditable]');
  if (event.key === '/' && !typing) {
    event.preventDefault();
    shell.search.focus();
  }
  globalShortcut(event);
}

async function refreshQuota() {
  try {
    const me = await api.me();
    shell.quota.textContent = t.quota(me.used_bytes, me.quota_bytes);
    if (me.quota_bytes) {
      replace(shell.quota, t.quota(me.used_bytes, me.quota_bytes), h('progress', { max: me.quota_bytes, value: me.used_bytes, 'aria-label': t.quota(me.used_bytes, me.quota_bytes) }));
    }
  } catch {
    // The quota is a hint; a failure here shows nothing.
  }
}

// ---- routing

function navigate(url, replaceState = false) {
  if (replaceState) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  route();
}

window.addEventListener('popstate', () => signedIn && route());

function route() {
  const path = location.pathname;
  if (path === '/' || path === '') {
    history.replaceState(null, '', '/files');
    return route();
  }
  for (const link of shell.nav.querySelectorAll('a')) {
    const href = link.getAttribute('href');
    const current = path === href || path.startsWith(href + '/');
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const previous = app.page;
  if (path.startsWith('/files')) {
    const folder = decodeURIComponent(path.slice('/files'.length)) || '/';
    if (previous?.kind === 'browse') {
      previous.open(folder);
      return;
    }
    show(browsePage(app, folder));
  } else if (path === '/trash') show(trashPage(app));
  else if (path === '/shared') lazy(() => import('./links.js'), (m) => m.sharedPage(app));
  else if (path === '/links') lazy(() => import('./links.js'), (m) => m.linksPage(app));
  else if (path === '/account') lazy(() => import('./account.js'), (m) => m.accountPage(app));
  else if (path === '/admin') lazy(() => import('./admin.js'), (m) => m.adminPage(app));
  else if (path === '/search') {
    const q = new URLSearchParams(location.search).get('q') || '';
    if (shell.search.value.trim() !== q) shell.search.value = q;
    show(searchPage(app, q));
  } else {
    navigate('/files', true);
  }
}

// Pages loaded on first visit (kept out of the first load); a later route wins over a slow import.
let shown = 0;

function lazy(load, make) {
  const turn = ++shown;
  load().then(
    (module) => turn === shown && show(make(module)),
    () => toast(app, t.errorGeneric),
  );
}

function show(page) {
  shown += 1;
  app.page?.leave?.();
  app.page = page;
  shell.main.replaceChildren(page.element);
  document.title = `${page.title} – ${t.appName}`;
}

// ---- live refresh

function connect() {
  if (!signedIn || !api.token()) return;
  const ws = new WebSocket(api.notificationsUrl());
  socket = ws;
  let timer = null;
  ws.onopen = () => {
    socketRetry = 1000;
  };
  ws.onmessage = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      app.page?.changed?.();
      refreshQuota();
    }, 100);
  };
  ws.onclose = async (event) => {
    if (socket !== ws || !signedIn) return;
    if (event.code === 4001) await api.refresh().catch(() => {});
    setTimeout(connect, socketRetry);
    socketRetry = Math.min(socketRetry * 2, 15000);
  };
}

// ---- theme

function prefersDark() {
  return window.matchMedia('(prefers-color-scheme: dark)').matches;
}

function applyTheme() {
  const chosen = localStorage.getItem('satchel-theme');
  if (chosen) document.documentElement.dataset.theme = chosen;
  else delete document.documentElement.dataset.theme;
}

function isDark() {
  const chosen = document.documentElement.dataset.theme;
  return chosen ? chosen === 'dark' : prefersDark();
}

function toggleTheme() {
  const next = isDark() ? 'light' : 'dark';
  // Back to following the system when the choice matches it.
  if ((next === 'dark') === prefersDark()) localStorage.removeItem('satchel-theme');
  else localStorage.setItem('satchel-theme', next);
  applyTheme();
  syncThemeButton();
}

function syncThemeButton() {
  shell.theme?.setAttribute('aria-pressed', String(isDark()));
}

window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', syncThemeButton);

export { bytes };
