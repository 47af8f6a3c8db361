// The API client: the access token lives in this module's memory only; the refresh token is an
// HttpOnly cookie the browser sends to /api/v1/auth/web/* (never readable here).

const CSRF = { 'X-Satchel-CSRF': '1' };
let accessToken = null;
let refreshing = null;
let refreshTimer = null;
let onSignedOut = () => {};

/** An error answered by the API: `code` is the problem's stable code. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem?.code || 'http_' + status;
  }
}

export function setSignedOutHandler(handler) {
  onSignedOut = handler;
}

export function token() {
  return accessToken;
}

function adopt(session) {
  accessToken = session.access_token;
  clearTimeout(refreshTimer);
  // Refresh a minute before the access token expires.
  const wait = Math.max(10, session.expires_in - 60) * 1000;
  refreshTimer = setTimeout(() => refresh().catch(() => {}), wait);
  return session;
}

async function post(path, body, headers = {}) {
  const response = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { ...CSRF, ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw await problem(response);
  return response.status === 204 ? null : response.json();
}

async function problem(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return new ApiError(response.status, body);
}

export async function signIn(email, password) {
  return adopt(await post('/api/v1/auth/web/login', { email, password, device_name: 'Web browser' }));
}

export async function register(email, password) {
  return post('/api/v1/auth/register', { email, password });
}

/** Resumes the session from the cookie; one refresh in flight at a time. */
export function refresh() {
  if (!refreshing) {
    refreshing = post('/api/v1/auth/web/refresh')
      .then(adopt)
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

export async function signOut() {
  clearTimeout(refreshTimer);
  accessToken = null;
  await post('/api/v1/auth/web/logout').catch(() => {});
}

/** An authenticated request; on an expired token, refreshes once and retries. */
export async function request(method, path, body, retried = false) {
  const headers = { Authorization: `Bearer ${accessToken}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && !retried) {
    try {
      await refresh();
    } catch {
      onSignedOut();
      throw await problem(response);
    }
    return request(method, path, body, true);
  }
  if (!response.ok) throw await problem(response);
  return response.status === 204 ? null : response.json();
}

const get = (path) => request('GET', path);
const q = encodeURIComponent;

export const serverInfo = () => fetch('/api/v1/server-info').then((r) => r.json());
export const me = () => get('/api/v1/me');
export const nodeByPath = (path) => get(`/api/v1/nodes/by-path?path=${q(path)}`);
export const node = (id) => get(`/api/v1/nodes/${q(id)}`);
export const children = (id, cursor, limit = 2000) =>
  get(`/api/v1/folders/${q(id)}/children?limit=${limit}${cursor ? `&cursor=${q(cursor)}` : ''}`);
export const createFolder = (parentId, name) =>
  request('POST', '/api/v1/folders', { parent_id: parentId, name });
export const rename = (id, name) => request('PATCH', `/api/v1/nodes/${q(id)}`, { name });
export const trash = (id) => request('DELETE', `/api/v1/nodes/${q(id)}`);
export const restore = (id) => request('POST', `/api/v1/nodes/${q(id)}/restore`, {});
export const listTrash = (cursor) => get(`/api/v1/trash?limit=2000${cursor ? `&cursor=${q(cursor)}` : ''}`);
export const purge = (id) => request('DELETE', `/api/v1/trash/${q(id)}`);
export const search = (text) => get(`/api/v1/search?q=${q(text)}&limit=200`);
export const downloadUrl = (id) => request('POST', `/api/v1/files/${q(id)}/download-url`, {});
export const listLinks = () => get('/api/v1/links');
export const listShares = () => get('/api/v1/shares');

/** Every page of a paged list, handing each page to `onPage` as it arrives. */
export async function allPages(first, next, onPage) {
  let page = await first();
  onPage(page.entries, !page.next_cursor);
  while (page.next_cursor) {
    page = await next(page.next_cursor);
    onPage(page.entries, !page.next_cursor);
  }
}

/**
 * Uploads `file` into folder `parentId` (a new version when the name exists), streaming it in
 * one PUT. Returns {promise, abort}; `progress(sent, total)` is called as bytes leave.
 */
export function uploadFile(parentId, file, progress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    const send = () => {
      xhr.open('PUT', `/api/v1/files/content?parent_id=${q(parentId)}&name=${q(file.name)}`);
      xhr.setRequestHeader('Authorization', `Bearer ${accessToken}`);
      xhr.setRequestHeader('Content-Type', 'application/octet-stream');
      xhr.upload.onprogress = (e) => progress(e.loaded, e.total || file.size);
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) resolve(JSON.parse(xhr.responseText));
        else {
          let body = null;
          try {
            body = JSON.parse(xhr.responseText);
          } catch {
            body = null;
          }
          reject(new ApiError(xhr.status, body));
        }
      };
      xhr.onerror = () => reject(new ApiError(0, { detail: 'network error' }));
      xhr.onabort = () => reject(new ApiError(0, { code: 'aborted' }));
      xhr.send(file);
    };
    send();
  });
  return { promise, abort: () => xhr.abort() };
}

/** The notifications socket URL for the current token. */
export function notificationsUrl() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/api/v1/notifications?access_token=${q(accessToken)}`;
}
