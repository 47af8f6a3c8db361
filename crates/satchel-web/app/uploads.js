// The uploads panel: a `region` named "Uploads" listing each file (bytes, rate, time left) and the
// whole (files done of all, bytes, rate, time left), with Pause / Resume / Retry / Cancel per file
// and for all. Six files go at a time; how each goes up is upload-engine.js (loaded when the first
// upload starts). Before a batch starts: the quota is checked, dropped folders are made (or found),
// and names already taken ask Replace / Keep both / Skip. Uploads interrupted by a reload or a
// closed tab are listed again from resume-store.js; picking or dropping the same file (same folder,
// name, size and modification time) continues its session and sends only what the server lacks.

import * as api from './api.js';
import { h, replace } from './dom.js';
import { t, bytes } from './i18n.js';
import { readDrop, readPicked } from './upload-drop.js';

const PARALLEL = 6; // what a browser opens to one host over HTTP/1.1
let nextId = 0;
const engine = () => import('./upload-engine.js');
const resumeStore = () => import('./resume-store.js');

export class Uploads {
  constructor(app) {
    this.app = app;
    this.items = [];
    this.list = h('ul', { class: 'upload-list' });
    this.summary = h('span', { class: 'upload-summary', 'aria-live': 'off' });
    this.message = h('p', { class: 'upload-message', role: 'alert', hidden: true });
    this.globals = h('span', { class: 'upload-buttons upload-globals' });
    this.samples = [];
    this.frame = 0;
    this.element = h(
      'section',
      { class: 'uploads', role: 'region', 'aria-label': t.uploads, hidden: true },
      h(
        'div',
        { class: 'uploads-head' },
        h('h2', {}, t.uploads),
        this.summary,
        this.globals,
        h('button', { type: 'button', onclick: () => this.clearFinished() }, t.clearFinished),
      ),
      this.message,
      this.list,
    );
    addEventListener('online', () => this.items.filter((i) => i.state === 'failed' && i.offline).forEach((i) => this.resume(i)));
    this.ticker = setInterval(() => this.tick(), 500);
    this.restore();
  }

  get user() {
    return this.app.user?.id || this.app.user?.email || '';
  }

  /** Lists the uploads a reload or a closed tab interrupted (kept in IndexedDB). */
  async restore() {
    let records = [];
    try {
      records = await (await resumeStore()).list(this.user);
    } catch {
      return; // no IndexedDB (private mode): nothing to resume
    }
    for (const record of records) {
      if (this.items.some((i) => i.record?.key === record.key)) continue;
      this.push({ file: null, name: record.name, path: record.path, parentId: record.parentId, record, state: 'interrupted' });
    }
    this.show();
  }

  /** Queues `files` (from the Upload button, or a folder pick) for the folder `parentId`. */
  add(files, parentId, onDone) {
    return this.addBatch(readPicked(files), parentId, onDone);
  }

  /** Queues what a drop holds (files and folders); call inside the drop handler. */
  drop(dataTransfer, parentId, onDone) {
    const reading = readDrop(dataTransfer);
    return reading.then((found) => this.addBatch(found, parentId, onDone));
  }

  /** Quota check, folders, name clashes; then the files join the queue. */
  async addBatch({ files, folders }, parentId, onDone) {
    if (!files.length && !folders.length) return;
    this.say('');
    const done = throttle(onDone || (() => {}), 700);
    try {
      const need = files.reduce((sum, f) => sum + f.file.size, 0);
      const me = await api.me();
      if (me.quota_bytes != null && me.used_bytes + need > me.quota_bytes) {
        this.say(t.quotaWouldPass(need, Math.max(0, me.quota_bytes - me.used_bytes)));
        this.show();
        return;
      }
      const maker = new FolderMaker(parentId);
      for (const path of [...folders].sort()) await maker.folder(path);
      if (folders.length) done();
      const store = files.length ? await resumeStore().catch(() => null) : null;
      const saved = new Map(((await store?.list(this.user).catch(() => null)) || []).map((r) => [r.key, r]));
      const plan = [];
      for (const { file, path } of files) {
        const target = await maker.folder(path);
        const key = store?.keyOf(this.user, target, path, file);
        const interrupted = this.items.find((i) => i.state === 'interrupted' && i.record.key === key);
        const record = interrupted?.record || saved.get(key);
        const taken = record ? null : (await maker.listing(target)).get(file.name);
        plan.push({ file, path, parentId: target, record, interrupted, taken });
      }
      let always = null;
      const clashes = plan.filter((p) => p.taken).length;
      let seen = 0;
      for (const entry of plan) {
        entry.onConflict = 'version';
        if (!entry.taken) continue;
        seen += 1;
        const folder = entry.taken.kind === 'folder';
        let choice = always?.choice;
        if (!choice || (folder && choice === 'replace')) {
          const { askClash } = await import('./upload-clash.js');
          const answer = await askClash(entry.path ? `${entry.path}/${entry.file.name}` : entry.file.name, { folder, more: clashes - seen });
          choice = answer.choice;
          if (answer.all) always = answer;
        }
        entry.onConflict = choice === 'keep' ? 'rename' : 'version';
        entry.skip = choice === 'skip';
      }
      for (const entry of plan) {
        if (entry.interrupted) this.forget(entry.interrupted);
        if (entry.skip) continue;
        this.push({ file: entry.file, name: entry.file.name, path: entry.path, parentId: entry.parentId, record: entry.record || null, onConflict: entry.onConflict, onDone: done, state: 'waiting' });
      }
    } catch (error) {
      this.say(messageOf(error));
    }
    this.show();
    this.pump();
  }

  push(fields) {
    const item = { id: ++nextId, done: 0, sent: 0, rate: 0, error: null, controller: null, ...fields };
    item.el = h('li', { class: 'upload', 'aria-label': label(item) });
    this.items.push(item);
    this.list.append(item.el);
    this.draw(item);
    return item;
  }

  forget(item) {
    item.el.remove();
    this.items = this.items.filter((i) => i !== item);
  }

  show() {
    this.element.hidden = this.items.length === 0 && this.message.hidden;
    this.drawSummary();
  }

  say(text) {
    this.message.textContent = text;
    this.message.hidden = !text;
  }

  pump() {
    let running = this.items.filter((i) => i.state === 'running').length;
    for (const item of this.items) {
      if (running >= PARALLEL) break;
      if (item.state === 'waiting') {
        running += 1;
        this.start(item);
      }
    }
    this.drawSummary();
  }

  async start(item) {
    item.state = 'running';
    item.error = null;
    item.offline = false;
    item.done = 0;
    item.began = performance.now();
    const controller = new AbortController();
    item.controller = controller;
    this.draw(item);
    const ctx = {
      signal: controller.signal,
      user: this.user,
      settled: (done, sent) => {
        item.done += done;
        item.sent += sent;
        this.draw(item);
      },
    };
    try {
      const run = await engine();
      const node = await (item.file.size <= run.SMALL_FILE ? run.uploadSmall(item, ctx) : run.uploadChunked(item, ctx));
      if (controller.signal.aborted) return;
      item.state = 'done';
      item.done = item.file.size;
      item.node = node;
      item.onDone?.();
    } catch (error) {
      if (controller.signal.aborted) return; // paused or cancelled: the state is already set
      item.state = 'failed';
      item.error = messageOf(error);
      item.offline = error?.code === 'network';
    } finally {
      if (item.controller === controller) item.controller = null;
    }
    this.draw(item);
    this.pump();
  }

  pause(item) {
    if (item.state !== 'running' && item.state !== 'waiting') return;
    item.state = 'paused';
    item.controller?.abort(new DOMException('paused', 'AbortError'));
    this.draw(item);
    this.pump();
  }

  resume(item) {
    if (item.state === 'interrupted') return this.pickAgain(item);
    if (item.state !== 'paused' && item.state !== 'failed') return;
    item.state = 'waiting';
    item.error = null;
    this.draw(item);
    this.pump();
  }

  async cancel(item) {
    if (item.state === 'done' || item.state === 'cancelled') return;
    item.state = 'cancelled';
    item.controller?.abort(new DOMException('cancelled', 'AbortError'));
    this.draw(item);
    this.pump();
    if (item.record) {
      const record = item.record;
      item.record = null;
      await (await engine()).discard(record).catch(() => {});
    }
  }

  /** An interrupted upload's file must be picked again (a page cannot reopen a file by itself). */
  pickAgain(item) {
    const input = h('input', { type: 'file', class: 'visually-hidden', tabindex: '-1', 'aria-hidden': 'true' });
    input.addEventListener('change', () => {
      const file = input.files[0];
      input.remove();
      if (!file) return;
      if (file.name !== item.record.name || file.size !== item.record.size) {
        this.say(t.notTheSameFile(item.record.name));
        return;
      }
      this.say('');
      Object.assign(item, { file, state: 'waiting', onConflict: item.record.onConflict || 'version', onDone: () => (this.app.page?.changed?.(), this.app.refreshQuota?.()) });
      this.draw(item);
      this.pump();
    });
    document.body.append(input);
    input.click();
  }

  all(action) {
    const states = { pause: ['running', 'waiting'], resume: ['paused'], retry: ['failed'], cancel: ['running', 'waiting', 'paused', 'failed', 'interrupted'] }[action];
    for (const item of [...this.items]) {
      if (!states.includes(item.state)) continue;
      if (action === 'pause') this.pause(item);
      else if (action === 'cancel') this.cancel(item);
      else this.resume(item);
    }
  }

  clearFinished() {
    this.items = this.items.filter((item) => {
      const finished = item.state === 'done' || item.state === 'cancelled';
      if (finished) item.el.remove();
      return !finished;
    });
    this.say('');
    this.show();
  }

  /** Twice a second: the rates and times left. */
  tick() {
    const now = performance.now();
    const total = this.items.reduce((sum, i) => sum + (i.file ? i.done : 0), 0);
    this.samples.push({ now, total });
    while (this.samples.length > 2 && now - this.samples[0].now > 4000) this.samples.shift();
    const first = this.samples[0];
    const seconds = (now - first.now) / 1000;
    this.rate = seconds > 0.4 ? Math.max(0, (total - first.total) / seconds) : 0;
    for (const item of this.items) {
      if (item.state !== 'running') continue;
      const elapsed = (now - item.began) / 1000;
      item.rate = elapsed > 0.5 ? item.done / elapsed : 0;
      this.draw(item);
    }
    if (this.items.some((i) => i.state === 'running')) this.drawSummary();
  }

  draw(item) {
    const { state } = item;
    const size = item.file?.size ?? item.record?.size ?? 0;
    const status = {
      waiting: t.uploadWaiting,
      running: t.uploadProgress(item.done, size, item.rate) + eta(size - item.done, item.rate),
      paused: `${t.uploadPaused} · ${t.uploadProgress(item.done, size, 0)}`,
      done: item.sent < size ? t.uploadDoneSkipped(size - item.sent) : t.uploadDone,
      failed: `${t.uploadFailed}: ${item.error || ''}`,
      cancelled: t.uploadCancelled,
      interrupted: t.uploadInterrupted,
    }[state];
    const button = (text, run) => h('button', { type: 'button', onclick: () => run.call(this, item) }, text);
    replace(
      item.el,
      h('span', { class: 'upload-name' }, label(item)),
      h('progress', { max: size || 1, value: state === 'done' ? size || 1 : item.done, 'aria-label': label(item) }),
      h('span', { class: `upload-state ${state}` }, status),
      h(
        'span',
        { class: 'upload-buttons' },
        (state === 'running' || state === 'waiting') && button(t.pause, this.pause),
        (state === 'paused' || state === 'interrupted') && button(t.resume, this.resume),
        state === 'failed' && button(t.retry, this.resume),
        state !== 'done' && state !== 'cancelled' && button(t.cancel, this.cancel),
      ),
    );
    item.el.dataset.state = state;
    this.scheduleSummary();
  }

  scheduleSummary() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.drawSummary();
    });
  }

  drawSummary() {
    const live = this.items.filter((i) => i.state !== 'cancelled' && i.state !== 'interrupted');
    const done = live.filter((i) => i.state === 'done').length;
    const size = live.reduce((sum, i) => sum + (i.file?.size || 0), 0);
    const sent = live.reduce((sum, i) => sum + (i.state === 'done' ? i.file.size : i.done), 0);
    const running = live.some((i) => i.state === 'running');
    this.summary.textContent = live.length
      ? `${t.filesDone(done, live.length)} · ${t.uploadProgress(sent, size, running ? this.rate : 0)}${running ? eta(size - sent, this.rate) : ''}`
      : '';
    const has = (...states) => this.items.some((i) => states.includes(i.state));
    const button = (text, action) => h('button', { type: 'button', onclick: () => this.all(action) }, text);
    replace(
      this.globals,
      has('running', 'waiting') && button(t.pauseAll, 'pause'),
      has('paused') && button(t.resumeAll, 'resume'),
      has('failed') && button(t.retryAll, 'retry'),
      has('running', 'waiting', 'paused', 'failed', 'interrupted') && button(t.cancelAll, 'cancel'),
    );
  }
}

/** Finds or makes the folders of a batch under `root`; lists a folder's names once. */
class FolderMaker {
  constructor(root) {
    this.root = root;
    this.made = new Set();
    this.lists = new Map();
    this.paths = new Map([['', Promise.resolve(root)]]);
  }

  /** The names in folder `id` (a folder this batch made is empty). */
  listing(id) {
    if (!this.lists.has(id)) {
      this.lists.set(
        id,
        this.made.has(id)
          ? Promise.resolve(new Map())
          : (async () => {
              const names = new Map();
              await api.allPages(
                () => api.children(id),
                (cursor) => api.children(id, cursor),
                (entries) => entries.forEach((e) => names.set(e.name, e)),
              );
              return names;
            })(),
      );
    }
    return this.lists.get(id);
  }

  /** The id of the folder at `path` (relative to the root), made when missing. */
  folder(path) {
    if (!this.paths.has(path)) {
      const cut = path.lastIndexOf('/');
      const parentPath = cut < 0 ? '' : path.slice(0, cut);
      const name = path.slice(cut + 1);
      this.paths.set(
        path,
        this.folder(parentPath).then(async (parent) => {
          const names = await this.listing(parent);
          const found = names.get(name);
          if (found?.kind === 'folder') return found.id;
          if (found) throw new Error(t.fileInTheWay(name));
          const made = await api.createFolder(parent, name).catch(async (error) => {
            if (error.status !== 409) throw error;
            this.lists.delete(parent); // made meanwhile elsewhere: look again
            const again = (await this.listing(parent)).get(name);
            if (again?.kind !== 'folder') throw error;
            return again;
          });
          this.made.add(made.id);
          names.set(name, made);
          return made.id;
        }),
      );
    }
    return this.paths.get(path);
  }
}

function label(item) {
  return item.path ? `${item.path}/${item.name}` : item.name;
}

function eta(left, rate) {
  return rate > 0 && left > 0 ? ` · ${t.timeLeft(left / rate)}` : '';
}

function messageOf(error) {
  if (error?.code === 'quota_exceeded') return t.quotaExceeded;
  return error?.message || String(error);
}

/** Runs `fn` at most once per `ms` (and once more after the last call). */
function throttle(fn, ms) {
  let last = 0;
  let timer = 0;
  return () => {
    const wait = last + ms - Date.now();
    if (wait <= 0) {
      last = Date.now();
      fn();
    } else if (!timer) {
      timer = setTimeout(() => {
        timer = 0;
        last = Date.now();
        fn();
      }, wait);
    }
  };
}
