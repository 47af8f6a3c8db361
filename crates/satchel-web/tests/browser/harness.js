// What every browser test needs: a real `satchel serve` on a free port over a fresh data folder
// (SQLite, or a fresh PostgreSQL database when SATCHEL_TEST_DATABASE_URL is set), the system's
// Chromium through playwright-core, accounts made through the API, and axe-core checks.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..', '..');

/** The `satchel` binary cargo built: $SATCHEL_BIN, else $CARGO_TARGET_DIR/debug/satchel, else target/debug. */
export function binary() {
  if (process.env.SATCHEL_BIN) return process.env.SATCHEL_BIN;
  const target = process.env.CARGO_TARGET_DIR || join(repo, 'target');
  return join(target, 'debug', 'satchel');
}

let databases = 0;

/** A fresh PostgreSQL database next to the one SATCHEL_TEST_DATABASE_URL names (made with psql). */
function freshPostgres(url) {
  const server = url.replace(/\/[^/]*$/, '');
  const name = `satchel_t_web_${process.pid}_${Date.now()}_${++databases}`;
  execFileSync('psql', [url, '-qc', `CREATE DATABASE ${name}`]);
  return `${server}/${name}`;
}

/** Starts `satchel serve` on 127.0.0.1:0; resolves to {base, stop()} once it logs its address. */
export async function startServer(flags = []) {
  const data = mkdtempSync(join(tmpdir(), 'satchel-web-'));
  const args = ['serve', '--listen', '127.0.0.1:0', '--data', data, ...flags];
  if (process.env.SATCHEL_TEST_DATABASE_URL) {
    args.push('--database', freshPostgres(process.env.SATCHEL_TEST_DATABASE_URL));
  }
  const child = spawn(binary(), args, {
    env: { ...process.env, SATCHEL_LOG: 'info', NO_COLOR: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines = createInterface({ input: child.stderr });
  const base = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`satchel exited with ${code}`)));
    lines.on('line', (line) => {
      const found = line.match(/address=(\S+)/);
      if (found) resolve(`http://${found[1]}`);
      if (/ERROR/.test(line)) process.stderr.write(`server: ${line}\n`);
    });
  });
  return {
    base,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** The system's Chromium, headless. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
}

export const PASSWORD = 'correct horse battery';
let accounts = 0;

/** A new account's email (unique per run). */
export function newEmail(tag = 'user') {
  return `${tag}-${process.pid}-${++accounts}@example.org`;
}

/** The API as a test talks to it: a signed-in user's token and a few calls. */
export class Api {
  constructor(base, token) {
    this.base = base;
    this.token = token;
  }

  static async register(base, email = newEmail()) {
    const made = await fetch(`${base}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    if (made.status !== 201) throw new Error(`register: ${made.status}`);
    const pair = await (
      await fetch(`${base}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email, password: PASSWORD }),
      })
    ).json();
    const api = new Api(base, pair.access_token);
    api.email = email;
    return api;
  }

  async call(method, path, body, headers = {}) {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${this.token}`,
        ...(body !== undefined && !(body instanceof Uint8Array) && typeof body !== 'string'
          ? { 'Content-Type': 'application/json' }
          : {}),
        ...headers,
      },
      body: body === undefined ? undefined : body instanceof Uint8Array || typeof body === 'string' ? body : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    const type = response.headers.get('content-type') || '';
    return type.includes('json') ? response.json() : response.text();
  }

  folder(parent, name) {
    return this.call('POST', '/api/v1/folders', { parent_id: parent, name });
  }

  put(parent, name, content, type = 'application/octet-stream') {
    const q = `parent_id=${encodeURIComponent(parent)}&name=${encodeURIComponent(name)}`;
    return this.call('PUT', `/api/v1/files/content?${q}`, content, { 'Content-Type': type });
  }

  async children(parent = 'root') {
    const entries = [];
    let cursor = null;
    do {
      const page = await this.call('GET', `/api/v1/folders/${parent}/children?limit=2000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      entries.push(...page.entries);
      cursor = page.next_cursor;
    } while (cursor);
    return entries;
  }

  async byPath(path) {
    return this.call('GET', `/api/v1/nodes/by-path?path=${encodeURIComponent(path)}`);
  }

  async content(id) {
    return this.call('GET', `/api/v1/files/${id}/content`);
  }
}

/** Signs in through the page (Email, Password, "Sign in") and waits for the file list. */
export async function signIn(page, email, password = PASSWORD) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

const axeSource = readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/** Runs axe-core in the page; returns the serious and critical violations (none expected). */
export async function axe(page, context) {
  // The app's CSP forbids inline script: inject axe through the debugger, which CSP does not see.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async (selector) => {
    // eslint-disable-next-line no-undef
    const found = await window.axe.run(selector ? document.querySelector(selector) : document, {
      resultTypes: ['violations'],
    });
    return found.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  }, context || null);
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
