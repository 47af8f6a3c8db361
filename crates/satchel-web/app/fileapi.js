// The API calls of the file manager's actions (move, copy, versions, zip, thumbnails, saving text),
// on top of api.js (which holds the token and refreshes it).

import * as api from './api.js';

const q = encodeURIComponent;

export const move = (id, parentId) => api.request('PATCH', `/api/v1/nodes/${q(id)}`, { parent_id: parentId });
export const copy = (id, parentId) =>
  api.request('POST', `/api/v1/nodes/${q(id)}/copy`, { parent_id: parentId, on_conflict: 'rename' });
export const versions = (id) => api.request('GET', `/api/v1/files/${q(id)}/versions?limit=200`);
export const restoreVersion = (id, n) => api.request('POST', `/api/v1/files/${q(id)}/versions/${n}/restore`, {});
/** A signed URL of a file (of `version`, else the current one), for the browser to fetch itself. */
export const signedUrl = (id, version) =>
  api.request('POST', `/api/v1/files/${q(id)}/download-url`, version ? { version } : {});
/** A short-lived URL that streams the nodes as one zip. */
export const zipUrl = (ids) => api.request('POST', '/api/v1/zip', { node_ids: ids });

/** A GET with the token that answers the raw response (refreshing the token once on a 401). */
export async function fetchRaw(path, init = {}, retried = false) {
  const response = await fetch(path, { ...init, headers: { ...(init.headers || {}), Authorization: `Bearer ${api.token()}` } });
  if (response.status === 401 && !retried) {
    await api.refresh();
    return fetchRaw(path, init, true);
  }
  return response;
}

async function failure(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return new api.ApiError(response.status, body);
}

/** Saves `text` as a new version of file `id`, only if it is still at `rev` (else 412 rev_mismatch). */
export async function saveText(id, text, rev) {
  const response = await fetchRaw(`/api/v1/files/${q(id)}/content`, {
    method: 'PUT',
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'If-Match': `"${rev}"` },
    body: text,
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/** Saves `text` as a new file named `name` in `parentId`, renamed by the server if the name is taken. */
export async function saveTextAs(parentId, name, text) {
  const response = await fetchRaw(`/api/v1/files/content?parent_id=${q(parentId)}&name=${q(name)}&on_conflict=rename`, {
    method: 'PUT',
    headers: { 'Content-Type': 'text/plain; charset=utf-8' },
    body: text,
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/** The text of a file (its current version), read through the API. */
export async function readText(id) {
  const response = await fetchRaw(`/api/v1/files/${q(id)}/content`);
  if (!response.ok) throw await failure(response);
  return response.text();
}

/** Makes the browser download `url` with its own download manager. */
export function startDownload(url, name) {
  const link = document.createElement('a');
  link.href = url;
  if (name) link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
}
