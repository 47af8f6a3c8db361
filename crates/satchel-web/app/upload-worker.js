// The upload worker (a module worker): cuts a file into content-defined chunks and hashes each with
// SHA-256, off the page's thread. Messages in: {file, from} (start cutting at the boundary `from`).
// Messages out: {type: 'chunks', chunks: [{offset, size, sha256}]} in file order, then
// {type: 'done'} or {type: 'error', message}. The page terminates the worker to stop it.

import { chunkBlob } from './chunker.js';

self.onmessage = async (event) => {
  const { file, from } = event.data;
  try {
    await chunkBlob(file, from, (chunks) => self.postMessage({ type: 'chunks', chunks }));
    self.postMessage({ type: 'done' });
  } catch (error) {
    self.postMessage({ type: 'error', message: String(error?.message || error) });
  }
};
