// How one file goes up, loaded only when an upload starts. Small files (≤ 64 KiB, as the CLI does)
// go in one PUT. Larger ones use the chunked session API exactly as the CLI does: a worker cuts the
// file into content-defined chunks (the CLI's boundaries) and hashes them; the chunk list is
// announced in pieces (init, then appends) while cutting goes on; the server answers which chunks
// it lacks and only those are sent, four at a time, each read straight from the File (never the
// whole file in memory). After each piece the session is saved (resume-store.js) so that a reload
// resumes it: the server's status says what is still missing.
//
// Invariants: a chunk's index is its place in the announced list; the saved list only ever holds
// pieces the server accepted; a session is committed only once the server reports nothing missing;
// the record is removed after the commit (or the cancel), never before.

import { ApiError, refresh, token } from './api.js';
import * as store from './resume-store.js';

/** Files up to this size go up in one request (as the CLI's SMALL_FILE). */
export const SMALL_FILE = 64 * 1024;
const PARALLEL_CHUNKS = 4;
const FIRST_PIECE = 8;
const PIECE = 64;
const ATTEMPTS = 6;

/** A request with the access token; refreshes it once on 401. Throws ApiError (status 0: network). */
async function call(method, path, { body, json, signal } = {}) {
  for (let refreshed = false; ; refreshed = true) {
    const headers = { Authorization: `Bearer ${token()}` };
    if (json !== undefined) headers['Content-Type'] = 'application/json';
    else if (body !== undefined) headers['Content-Type'] = 'application/octet-stream';
    let response;
    try {
      response = await fetch(path, { method, headers, body: json !== undefined ? JSON.stringify(json) : body, signal });
    } catch (error) {
      if (signal?.aborted) throw signal.reason || error;
      throw new ApiError(0, { code: 'network', detail: 'The network connection was lost.' });
    }
    if (response.status === 401 && !refreshed) {
      await refresh();
      continue;
    }
    if (!response.ok) {
      let problem = null;
      try {
        problem = await response.json();
      } catch {
        problem = null;
      }
      throw new ApiError(response.status, problem);
    }
    return response.status === 204 ? null : response.json();
  }
}

const transient = (error) => error instanceof ApiError && (error.status === 0 || error.status === 429 || error.status >= 500);

/** Runs `work` until it succeeds, fails for good, or failed ATTEMPTS times (0.5 s, 1 s, 2 s … apart). */
async function withRetries(work, signal) {
  let delay = 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (signal?.aborted || !transient(error) || attempt >= ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay *= 2;
    }
  }
}

/** A first-in first-out queue an async loop can wait on; `fail(error)` makes waiters throw. */
class Queue {
  constructor() {
    this.items = [];
    this.closed = false;
    this.error = null;
    this.waiters = [];
  }
  wake() {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
  push(item) {
    this.items.push(item);
    this.wake();
  }
  close() {
    this.closed = true;
    this.wake();
  }
  fail(error) {
    this.error = this.error || error;
    this.wake();
  }
  async next() {
    for (;;) {
      if (this.error) throw this.error;
      if (this.items.length) return this.items.shift();
      if (this.closed) return null;
      await new Promise((resolve) => this.waiters.push(resolve));
    }
  }
}

const q = encodeURIComponent;

/** Uploads a small file in one request. `ctx`: {signal, settled(doneBytes, sentBytes)}. */
export async function uploadSmall(item, ctx) {
  const { file } = item;
  const query = `parent_id=${q(item.parentId)}&name=${q(item.name)}&on_conflict=${q(item.onConflict)}`;
  const node = await withRetries(() => call('PUT', `/api/v1/files/content?${query}`, { body: file, signal: ctx.signal }), ctx.signal);
  ctx.settled(file.size, file.size);
  return node;
}

/**
 * Uploads `item.file` through a chunked session, resuming `item.record` when there is one.
 * `ctx`: {signal, user, settled(doneBytes, sentBytes)}. Resolves to the new node.
 */
export async function uploadChunked(item, ctx) {
  const { file } = item;
  const { signal } = ctx;
  let record = item.record;
  const queue = new Queue();
  const queued = new Set();
  let worker = null;
  const stop = (error) => {
    worker?.terminate();
    worker = null;
    queue.fail(error);
  };
  signal.addEventListener('abort', () => stop(signal.reason || new DOMException('aborted', 'AbortError')), { once: true });

  // Queues the chunks of `piece` (list positions from `first`) the session says are missing, once
  // per distinct hash (one upload of a hash marks all its places); the rest count as done.
  const enqueue = (session, first, piece) => {
    const missing = new Set(session.missing);
    piece.forEach((chunk, i) => {
      if (missing.has(first + i) && !queued.has(chunk.sha256)) {
        queued.add(chunk.sha256);
        queue.push({ index: first + i, ...chunk });
      } else {
        ctx.settled(chunk.size, 0);
      }
    });
  };

  if (record?.uploadId) {
    try {
      const session = await withRetries(() => call('GET', `/api/v1/uploads/${q(record.uploadId)}`, { signal }), signal);
      enqueue(session, 0, withOffsets(record.chunks, 0));
    } catch (error) {
      if (!(error instanceof ApiError) || transient(error) || error.status === 401) throw error;
      // Expired, committed or unknown: start over (the server still skips what this user has).
      await store.remove(record.key);
      record = null;
    }
  }
  if (!record) {
    record = {
      key: store.keyOf(ctx.user, item.parentId, item.path, file),
      user: ctx.user,
      parentId: item.parentId,
      path: item.path,
      name: item.name,
      size: file.size,
      lastModified: file.lastModified,
      onConflict: item.onConflict,
      uploadId: null,
      chunks: [],
      listComplete: false,
      savedAt: Date.now(),
    };
  }
  item.record = record;

  const announce = async () => {
    if (record.listComplete) return;
    const from = record.chunks.reduce((sum, c) => sum + c.size, 0);
    const cut = new Queue();
    worker = new Worker(new URL('./upload-worker.js', import.meta.url), { type: 'module' });
    worker.onmessage = ({ data }) => {
      if (data.type === 'chunks') data.chunks.forEach((chunk) => cut.push(chunk));
      else if (data.type === 'done') cut.close();
      else cut.fail(new Error(data.message));
    };
    worker.onerror = (event) => cut.fail(new Error(event.message || 'the upload worker failed'));
    signal.addEventListener('abort', () => cut.fail(signal.reason), { once: true });
    worker.postMessage({ file, from });
    for (;;) {
      const piece = [];
      const want = record.uploadId ? PIECE : FIRST_PIECE;
      while (piece.length < want) {
        const chunk = await cut.next();
        if (!chunk) break;
        piece.push(chunk);
      }
      const more = piece.length === want;
      const specs = piece.map(({ size, sha256 }) => ({ size, sha256 }));
      const session = record.uploadId
        ? await withRetries(() => call('POST', `/api/v1/uploads/${q(record.uploadId)}/chunks`, { json: { chunks: specs, more_chunks: more }, signal }), signal)
        : await withRetries(
            () =>
              call('POST', '/api/v1/uploads', {
                json: { parent_id: item.parentId, name: item.name, size: file.size, chunks: specs, more_chunks: more, on_conflict: item.onConflict, mime: file.type || undefined },
                signal,
              }),
            signal,
          );
      record.uploadId = session.upload_id;
      const first = record.chunks.length;
      record.chunks.push(...specs);
      record.listComplete = !more;
      record.savedAt = Date.now();
      await store.save(record);
      enqueue(session, first, piece);
      if (!more) break;
    }
    worker?.terminate();
    worker = null;
  };

  const send = (chunk) =>
    withRetries(() => call('PUT', `/api/v1/uploads/${q(record.uploadId)}/chunks/${chunk.index}`, { body: file.slice(chunk.offset, chunk.offset + chunk.size), signal }), signal);

  const sender = async () => {
    for (;;) {
      const chunk = await queue.next();
      if (!chunk) return;
      await send(chunk);
      ctx.settled(chunk.size, chunk.size);
    }
  };

  try {
    await Promise.all([
      announce().then(
        () => queue.close(),
        (error) => {
          stop(error);
          throw error;
        },
      ),
      ...Array.from({ length: PARALLEL_CHUNKS }, () =>
        sender().catch((error) => {
          stop(error);
          throw error;
        }),
      ),
    ]);
  } finally {
    worker?.terminate();
  }
  // Whatever a lost request did not deliver is still missing: send it, then commit.
  const all = withOffsets(record.chunks, 0);
  for (let round = 0; ; round++) {
    const session = await withRetries(() => call('GET', `/api/v1/uploads/${q(record.uploadId)}`, { signal }), signal);
    if (!session.missing.length) break;
    if (round === 3) throw new Error('The server kept reporting missing chunks; try again.');
    for (const index of session.missing) await send({ index, ...all[index] });
  }
  const node = await withRetries(
    () => call('POST', `/api/v1/uploads/${q(record.uploadId)}/commit`, { json: { modified_at: new Date(file.lastModified).toISOString() }, signal }),
    signal,
  );
  await store.remove(record.key);
  return node;
}

/** Gives each chunk of a list its offset in the file, the first starting at `from`. */
function withOffsets(chunks, from) {
  let offset = from;
  return chunks.map(({ size, sha256 }) => {
    const chunk = { offset, size, sha256 };
    offset += size;
    return chunk;
  });
}

/** Abandons a saved session (Cancel): the server forgets it, and so does this browser. */
export async function discard(record) {
  if (record.uploadId) await call('DELETE', `/api/v1/uploads/${q(record.uploadId)}`).catch(() => {});
  await store.remove(record.key);
}
