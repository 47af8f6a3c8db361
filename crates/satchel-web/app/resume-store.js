// Interrupted uploads, kept in IndexedDB so that a reload, a closed tab or a crash does not lose
// them: per file its name, size, lastModified, target folder (and path inside a dropped folder),
// the server's upload id and the chunk list announced so far. Holds no file bytes and no token.
// A record is written after the server accepted each piece of the list, and deleted once the
// upload is committed or cancelled, so a record always names a session the server knew.

const DB = 'satchel-uploads';
const STORE = 'sessions';

let opening = null;

function db() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'key' });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return opening;
}

async function run(mode, work) {
  const database = await db();
  return new Promise((resolve, reject) => {
    const tx = database.transaction(STORE, mode);
    const result = work(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(result?.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/** The key that finds a file's record again: same user, folder, path, name, size and time. */
export function keyOf(user, parentId, path, file) {
  return JSON.stringify([user, parentId, path, file.name, file.size, file.lastModified]);
}

export const save = (record) => run('readwrite', (store) => store.put(record));
export const remove = (key) => run('readwrite', (store) => store.delete(key));
export const get = (key) => run('readonly', (store) => store.get(key));

/** Every record of `user`. */
export async function list(user) {
  const all = (await run('readonly', (store) => store.getAll())) || [];
  return all.filter((record) => record.user === user);
}
