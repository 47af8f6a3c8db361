// The uploads panel: a `region` named "Uploads" listing each file with its progress, rate and
// Pause / Resume / Retry / Cancel. Three files go at a time. A file goes up in one streaming PUT;
// pausing aborts it and resuming starts it again (chunked, resumable uploads come later).

import * as api from './api.js';
import { h, replace } from './dom.js';
import { t } from './i18n.js';

const PARALLEL = 3;
let nextId = 0;

export class Uploads {
  constructor(app) {
    this.app = app;
    this.items = [];
    this.list = h('ul', { class: 'upload-list' });
    this.summary = h('span', { class: 'upload-summary' });
    this.element = h(
      'section',
      { class: 'uploads', role: 'region', 'aria-label': t.uploads, hidden: true },
      h(
        'div',
        { class: 'uploads-head' },
        h('h2', {}, t.uploads),
        this.summary,
        h('button', { type: 'button', onclick: () => this.clearFinished() }, t.clearFinished),
      ),
      this.list,
    );
  }

  /** Queues `files` for the folder `parentId`; `onDone` runs after each file lands. */
  add(files, parentId, onDone) {
    for (const file of files) {
      const item = { id: ++nextId, file, parentId, onDone, state: 'waiting', sent: 0, rate: 0, handle: null };
      item.el = h('li', { class: 'upload', 'aria-label': file.name });
      this.items.push(item);
      this.list.append(item.el);
      this.draw(item);
    }
    this.element.hidden = false;
    this.pump();
  }

  pump() {
    const running = this.items.filter((i) => i.state === 'running').length;
    const waiting = this.items.filter((i) => i.state === 'waiting');
    waiting.slice(0, Math.max(0, PARALLEL - running)).forEach((item) => this.start(item));
    this.drawSummary();
  }

  start(item) {
    item.state = 'running';
    item.sent = 0;
    const began = performance.now();
    item.handle = api.uploadFile(item.parentId, item.file, (sent) => {
      item.sent = sent;
      const seconds = (performance.now() - began) / 1000;
      item.rate = seconds > 0.2 ? sent / seconds : 0;
      this.draw(item);
    });
    this.draw(item);
    item.handle.promise.then(
      () => {
        item.state = 'done';
        item.sent = item.file.size;
        this.draw(item);
        item.onDone?.();
        this.pump();
      },
      (error) => {
        // Pause and Cancel abort on purpose: their state is already set.
        if (item.state === 'running') {
          item.state = 'failed';
          item.error = error.message;
        }
        this.draw(item);
        this.pump();
      },
    );
  }

  pause(item) {
    const wasRunning = item.state === 'running';
    item.state = 'paused';
    if (wasRunning) item.handle?.abort();
    this.draw(item);
    this.pump();
  }

  resume(item) {
    item.state = 'waiting';
    item.error = null;
    this.draw(item);
    this.pump();
  }

  cancel(item) {
    const wasRunning = item.state === 'running';
    item.state = 'cancelled';
    if (wasRunning) item.handle?.abort();
    this.draw(item);
    this.pump();
  }

  clearFinished() {
    this.items = this.items.filter((item) => {
      const finished = item.state === 'done' || item.state === 'cancelled';
      if (finished) item.el.remove();
      return !finished;
    });
    this.element.hidden = this.items.length === 0;
    this.drawSummary();
  }

  draw(item) {
    const { state, file } = item;
    const label = {
      waiting: t.uploadWaiting,
      running: t.uploadProgress(item.sent, file.size, item.rate),
      paused: t.uploadPaused,
      done: t.uploadDone,
      failed: `${t.uploadFailed}: ${item.error || ''}`,
      cancelled: t.uploadCancelled,
    }[state];
    const button = (text, run) => h('button', { type: 'button', onclick: () => run.call(this, item) }, text);
    replace(
      item.el,
      h('span', { class: 'upload-name' }, file.name),
      h('progress', { max: file.size || 1, value: state === 'done' ? file.size || 1 : item.sent, 'aria-label': file.name }),
      h('span', { class: `upload-state ${state}` }, label),
      h(
        'span',
        { class: 'upload-buttons' },
        (state === 'running' || state === 'waiting') && button(t.pause, this.pause),
        state === 'paused' && button(t.resume, this.resume),
        state === 'failed' && button(t.retry, this.resume),
        state !== 'done' && state !== 'cancelled' && button(t.cancel, this.cancel),
      ),
    );
    item.el.dataset.state = state;
  }

  drawSummary() {
    const active = this.items.filter((i) => i.state === 'running' || i.state === 'waiting').length;
    const done = this.items.filter((i) => i.state === 'done').length;
    this.summary.textContent = `${done}/${this.items.length}${active ? ' …' : ''}`;
  }
}
