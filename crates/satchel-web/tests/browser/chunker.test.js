// The web app cuts files exactly as the CLI does: the JS port of FastCDC (app/chunker.js) against
// `satchel debug-chunks` (the Rust code `satchel put` uses) on random files of awkward sizes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openAsBlob, rmSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binary } from './harness.js';
import { chunkBlob, hex, sha256, MAX_CHUNK } from '../../app/chunker.js';

/** Random bytes with long repeated runs too (where content-defined cutting is easy to get wrong). */
function sample(size) {
  const bytes = randomBytes(size);
  for (let at = 0; at + 300_000 < size; at += 3_000_000) bytes.fill(7, at, at + 300_000);
  return bytes;
}

test('JS chunk boundaries and hashes equal the CLI’s on random files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'satchel-cdc-'));
  try {
    const sizes = [1, 65_537, 262_144, 262_145, MAX_CHUNK, 2 * MAX_CHUNK, 3 * MAX_CHUNK + 17, 41_000_003];
    for (const size of sizes) {
      const path = join(dir, `f${size}`);
      writeFileSync(path, sample(size));
      const rust = execFileSync(binary(), ['debug-chunks', path], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map((line) => line.split(' '))
        .map(([offset, length, sha256]) => ({ offset: Number(offset), size: Number(length), sha256 }));
      const js = [];
      await chunkBlob(await openAsBlob(path), 0, (list) => js.push(...list));
      assert.deepEqual(js, rust, `chunks of a ${size}-byte file`);
      if (rust.length > 2) {
        // Cutting may resume at any boundary (as a resumed upload does) and still agree.
        const from = rust[2].offset;
        const rest = [];
        await chunkBlob(await openAsBlob(path), from, (list) => rest.push(...list));
        assert.deepEqual(rest, rust.slice(2), `chunks of a ${size}-byte file from offset ${from}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the plain SHA-256 (for pages without WebCrypto) equals the real one', () => {
  for (const size of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 1 << 20, 3_000_017]) {
    const bytes = randomBytes(size);
    assert.equal(hex(sha256(new Uint8Array(bytes))), createHash('sha256').update(bytes).digest('hex'), `${size} bytes`);
  }
});
