// Thumbnails of image files, fetched with the token (an <img> cannot send it) and shown from
// object URLs: at most four requests at once, and an LRU of recent ones (older object URLs are
// revoked). Content without a thumbnail keeps its icon.

import { fetchRaw } from './fileapi.js';

const TYPES = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif']);
const NAMES = /\.(jpe?g|png|webp|gif)$/i;
const KEEP = 400;
const PARALLEL = 4;

const cache = new Map();
const waiting = [];
let running = 0;

/** Whether the server can make a thumbnail of `entry`. */
export function hasThumbnail(entry) {
  return entry.kind === 'file' && entry.size > 0 && (TYPES.has(entry.mime) || NAMES.test(entry.name));
}

function limited(task) {
  return new Promise((resolve) => {
    waiting.push(() => task().then(resolve, () => resolve(null)));
    pump();
  });
}

function pump() {
  while (running < PARALLEL && waiting.length) {
    const next = waiting.shift();
    running += 1;
    next().finally(() => {
      running -= 1;
      pump();
    });
  }
}

/** An object URL of `entry`'s thumbnail at `size` (64, 256, 1024), or null when it has none. */
export function thumbnailUrl(entry, size) {
  const key = `${entry.id}:${entry.sha256}:${size}`;
  let found = cache.get(key);
  if (found) {
    cache.delete(key);
    cache.set(key, found);
    return found;
  }
  found = limited(async () => {
    const response = await fetchRaw(`/api/v1/files/${encodeURIComponent(entry.id)}/thumbnail?size=${size}`);
    if (!response.ok) return null;
    return URL.createObjectURL(await response.blob());
  });
  cache.set(key, found);
  while (cache.size > KEEP) {
    const [oldest, url] = cache.entries().next().value;
    cache.delete(oldest);
    url.then((u) => u && URL.revokeObjectURL(u));
  }
  return found;
}

/** Puts `entry`'s thumbnail in place of the row's icon once it arrives (list: 64 px, grid: 256 px). */
export function showThumbnail(el, entry, mode) {
  if (!hasThumbnail(entry)) return;
  const icon = el.querySelector('.col-name .icon');
  if (!icon) return;
  thumbnailUrl(entry, mode === 'grid' ? 256 : 64).then((url) => {
    if (!url || !icon.isConnected) return;
    const img = document.createElement('img');
    img.className = 'thumb';
    img.alt = '';
    img.src = url;
    icon.replaceWith(img);
  });
}
