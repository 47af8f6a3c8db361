// Content-defined chunk boundaries, cut exactly as the Rust side does (crate `fastcdc` 3.2.1,
// `v2020::FastCDC::new(window, 256 KiB, 1 MiB, 4 MiB)`, normalisation level 1, no seed, as
// `satchel-blob/src/chunking.rs` calls it), so that a file the CLI stored and the same file picked in
// the browser list the same chunks and the server asks for none of them again.
//
// Invariants: `cutPoint` returns the same length as Rust's `cut_point` for the same bytes; chunking
// restarts at every boundary, so cutting may resume from any boundary offset.

export const MIN_CHUNK = 256 * 1024;
export const AVG_CHUNK = 1024 * 1024;
export const MAX_CHUNK = 4 * 1024 * 1024;

// The crate's GEAR table; GEAR_LS is each entry shifted left by one (wrapping), as in the crate.
const GEAR = [
  '3b5d3c7d207e37dc', '784d68ba91123086', 'cd52880f882e7298', 'eacf8e4e19fdcca7',
  'c31f385dfbd1632b', '1d5f27001e25abe6', '83130bde3c9ad991', 'c4b225676e9b7649',
  'aa329b29e08eb499', 'b67fcbd21e577d58', '0027baaada2acf6b', 'e3ef2d5ac73c2226',
  '0890f24d6ed312b7', 'a809e036851d7c7e', 'f0a6fe5e0013d81b', '1d026304452cec14',
  '03864632648e248f', 'cdaacf3dcd92b9b4', 'f5e012e63c187856', '8862f9d3821c00b6',
  'a82f7338750f6f8a', '1e583dc6c1cb0b6f', '7a3145b69743a7f1', 'abb20fee404807eb',
  'b14b3cfe07b83a5d', 'b9dc27898adb9a0f', '3703f5e91baa62be', 'cf0bb866815f7d98',
  '3d9867c41ea9dcd3', '1be1fa65442bf22c', '14300da4c55631d9', 'e698e9cbc6545c99',
  '4763107ec64e92a5', 'c65821fc65696a24', '76196c064822f0b7', '485be841f3525e01',
  'f652bc9c85974ff5', 'cad8352face9e3e9', '2a6ed1dceb35e98e', 'c6f483badc11680f',
  '3cfd8c17e9cf12f1', '89b83c5e2ea56471', 'ae665cfd24e392a9', 'ec33c4e504cb8915',
  '3fb9b15fc9fe7451', 'd7fd1fd1945f2195', '31ade0853443efd8', '255efc9863e1e2d2',
  '10eab6008d5642cf', '46f04863257ac804', 'a52dc42a789a27d3', 'daaadf9ce77af565',
  '6b479cd53d87febb', '6309e2d3f93db72f', 'c5738ffbaa1ff9d6', '6bd57f3f25af7968',
  '67605486d90d0a4a', 'e14d0b9663bfbdae', 'b7bbd8d816eb0414', 'def8a4f16b35a116',
  'e7932d85aaaffed6', '08161cbae90cfd48', '855507beb294f08b', '91234ea6ffd399b2',
  'ad70cf4b2435f302', 'd289a97565bc2d27', '8e558437ffca99de', '96d2704b7115c040',
  '0889bbcdfc660e41', '5e0d4e67dc92128d', '72a9f8917063ed97', '438b69d409e016e3',
  'df4fed8a5d8a4397', '00f41dcf41d403f7', '4814eb038e52603f', '9dafbacc58e2d651',
  'fe2f458e4be170af', '4457ec414df6a940', '06e62f1451123314', 'bd1014d173ba92cc',
  'def318e25ed57760', '9fea0de9dfca8525', '459de1e76c20624b', 'aeec189617e2d666',
  '126a2c06ab5a83cb', 'b1321532360f6132', '65421503dbb40123', '2d67c287ea089ab3',
  '6c93bff5a56bd6b6', '4ffb2036cab6d98d', 'ce7b785b1be7ad4f', 'edb42ef6189fd163',
  'dc905288703988f6', '365f9c1d2c691884', 'c640583680d99bfe', '3cd4624c07593ec6',
  '7f1ea8d85d7c5805', '014842d480b57149', '0b649bcb5a828688', 'bcd5708ed79b18f0',
  'e987c862fbd2f2f0', '982731671f0cd82c', 'baf13e8b16d8c063', '8ea3109cbd951bba',
  'd141045bfb385cad', '2acbc1a0af1f7d30', 'e6444d89df03bfdf', 'a18cc771b8188ff9',
  '9834429db01c39bb', '214add07fe086a1f', '8f07c19b1f6b3ff9', '56a297b1bf4ffe55',
  '94d558e493c54fc7', '40bfc24c764552cb', '931a706f8a8520cb', '32229d322935bd52',
  '2560d0f5dc4fefaf', '9dbcc48355969bb6', '0fd81c3985c0b56a', 'e03817e1560f2bda',
  'c1bb4f81d892b2d5', 'b0c4864f4e28d2d7', '3ecc49f9d9d6c263', '51307e99b52ba65e',
  '8af2b688da84a752', 'f5d72523b91b20b6', '6d95ff1ff4634806', '562f21555458339a',
  'c0ce47f889336346', '487823e5089b40d8', 'e4727c7ebc6d9592', '5a8f7277e94970ba',
  'fca2f406b1c8bb50', '5b1f8a95f1791070', 'd304af9fc9028605', '5440ab7fc930e748',
  '312d25fbca2ab5a1', '10f4a4b234a4d575', '90301d55047e7473', '3b6372886c61591e',
  '293402b77c444e06', '451f34a4d3e97dd7', '3158d814d81bc57b', '034942425b9bda69',
  'e2032ff9e532d9bb', '62ae066b8b2179e5', '9545e10c2f8d71d8', '7ff7483eb2d23fc0',
  '00945fcebdc98d86', '8764bbbe99b26ca2', '1b1ec62284c0bfc3', '58e0fcc4f0aa362b',
  '5f4abefa878d458d', 'fd74ac2f9607c519', 'a4e3fb37df8cbfa9', 'bf697e43cac574e5',
  '86f14a3f68f4cd53', '24a23d076f1ce522', 'e725cd8048868cc8', 'bf3c729eb2464362',
  'd8f6cd57b3cc1ed8', '6329e52425541577', '62aa688ad5ae1ac0', '0a242566269bf845',
  '168b1a4753aca74b', 'f789afefff2e7e3c', '6c3362093b6fccdb', '4ce8f50bd28c09b2',
  '006a2db95ae8aa93', '975b0d623c3d1a8c', '18605d3935338c5b', '5bb6f6136cad3c71',
  '0f53a20701f8d8a6', 'ab8c5ad2e7e93c67', '40b5ac5127acaa29', '8c7bf63c2075895f',
  '78bd9f7e014a805c', 'b2c9e9f4f9c8c032', 'efd6049827eb91f3', '2be459f482c16fbd',
  'd92ce0c5745aaa8c', '0aaa8fb298d965b9', '2b37f92c6c803b15', '8c54a5e94e0f0e78',
  '95f9b6e90c0a3032', 'e7939faa436c7874', 'd16bfe8f6a8a40c9', '44982b86263fd2fa',
  'e285fb39f984e583', '779a8df72d7619d3', 'f2d79a8de8d5dd1e', 'd1037354d66684e2',
  '004c82a4e668a8e5', '31d40a7668b044e6', 'd70578538bd02c11', 'db45431078c5f482',
  '977121bb7f6a51ad', '73d5ccbd34eff8dd', 'e437a07d356e17cd', '47b2782043c95627',
  '9fb251413e41d49a', 'ccd70b60652513d3', '1c95b31e8a1b49b2', 'cae73dfd1bcb4c1b',
  '34d98331b1f5b70f', '784e39f22338d92f', '18613d4a064df420', 'f1d8dae25f0bcebe',
  '33f77c15ae855efc', '3c88b3b912eb109c', '956a2ec96bafeea5', '1aa005b5e0ad0e87',
  '5500d70527c4bb8e', 'e36c57196421cc44', '13c4d286cc36ee39', '5654a23d818b2a81',
  '77b1dc13d161abdc', '734f44de5f8d5eb5', '60717e174a6c89a2', 'd47d9649266a211e',
  '5b13a4322bb69e90', 'f7669609f8b5fc3c', '21e6ac55bedcdac9', '9b56b62b61166dea',
  'f48f66b939797e9c', '35f332f9c0e6ae9a', 'cc733f6a9a878db0', '3da161e41cc108c2',
  'b7d74ae535914d51', '4d493b0b11d36469', 'ce264d1dfba9741a', 'a9d1f2dc7436dc06',
  '70738016604c2a27', '231d36e96e93f3d5', '7666881197838d19', '4a2a83090aaad40c',
  'f1e761591668b35d', '7363236497f730a7', '301080e37379dd4d', '502dea2971827042',
  'c2c5eb858f32625f', '786afb9edfafbdff', 'daee0d868490b2a4', '617366b3268609f6',
  'ae0e35a0fe46173e', 'd1a07de93e824f11', '079b8b115ea4cca8', '93a99274558faebb',
  'fb1e6e22e08a03b3', 'ea635fdba3698dd0', 'cf53659328503a5c', 'cde3b31e6fd5d780',
  '8e3e4221d3614413', 'ef14d0d86bf1a22c', 'e1d830d3f16c5ddb', 'aabd2b2a451504e1',
];

// The hash is kept modulo 2^49 (the masks test bits 12 to 48 only, and shifts and additions
// carry upwards only) as two small integers: bits 0..23 and bits 24..48. That keeps every step in
// V8's fast small-integer arithmetic.
const LOW = 0xffffff;
const HIGH = 0x1ffffff;
const GEAR_LO = new Int32Array(256);
const GEAR_HI = new Int32Array(256);
const GEAR_LS_LO = new Int32Array(256);
const GEAR_LS_HI = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const value = BigInt('0x' + GEAR[i]);
  const shifted = (value << 1n) & 0xffffffffffffffffn;
  GEAR_LO[i] = Number(value & 0xffffffn);
  GEAR_HI[i] = Number((value >> 24n) & 0x1ffffffn);
  GEAR_LS_LO[i] = Number(shifted & 0xffffffn);
  GEAR_LS_HI[i] = Number((shifted >> 24n) & 0x1ffffffn);
}

// MASKS[bits + 1] and MASKS[bits - 1] of the crate for bits = log2(1 MiB) = 20 (0xd91767537000 and 0xd91707537000),
// and each shifted left by one, split like the hash.
const MASK_S_HI = 0xd91767, MASK_S_LO = 0x537000;
const MASK_L_HI = 0xd91707, MASK_L_LO = 0x537000;
const MASK_S_LS_HI = 0x1b22ece, MASK_S_LS_LO = 0xa6e000;
const MASK_L_LS_HI = 0x1b22e0e, MASK_L_LS_LO = 0xa6e000;

/** The crate's `cut_gear` over `source[start, start + length)`: the first chunk's length. */
function cutGear(source, start, length) {
  let remaining = length;
  if (remaining <= MIN_CHUNK) return remaining;
  let center = AVG_CHUNK;
  if (remaining > MAX_CHUNK) remaining = MAX_CHUNK;
  else if (remaining < center) center = remaining;
  let index = MIN_CHUNK / 2;
  let hi = 0;
  let lo = 0;
  let sum = 0;
  let b = 0;
  const halfCenter = center >>> 1;
  while (index < halfCenter) {
    const a = index * 2;
    b = source[start + a];
    sum = (lo << 2) + GEAR_LS_LO[b];
    lo = sum & LOW;
    hi = ((hi << 2) + GEAR_LS_HI[b] + (sum >>> 24)) & HIGH;
    if ((lo & MASK_S_LS_LO) === 0 && (hi & MASK_S_LS_HI) === 0) return a;
    b = source[start + a + 1];
    sum = lo + GEAR_LO[b];
    lo = sum & LOW;
    hi = (hi + GEAR_HI[b] + (sum >>> 24)) & HIGH;
    if ((lo & MASK_S_LO) === 0 && (hi & MASK_S_HI) === 0) return a + 1;
    index += 1;
  }
  const halfRemaining = remaining >>> 1;
  while (index < halfRemaining) {
    const a = index * 2;
    b = source[start + a];
    sum = (lo << 2) + GEAR_LS_LO[b];
    lo = sum & LOW;
    hi = ((hi << 2) + GEAR_LS_HI[b] + (sum >>> 24)) & HIGH;
    if ((lo & MASK_L_LS_LO) === 0 && (hi & MASK_L_LS_HI) === 0) return a;
    b = source[start + a + 1];
    sum = lo + GEAR_LO[b];
    lo = sum & LOW;
    hi = (hi + GEAR_HI[b] + (sum >>> 24)) & HIGH;
    if ((lo & MASK_L_LO) === 0 && (hi & MASK_L_HI) === 0) return a + 1;
    index += 1;
  }
  return remaining;
}

/**
 * Where the first chunk of `buffer[start, end)` ends (its length), if that is decided: always when
 * at least MAX_CHUNK bytes are there, and at the end of input (`eof`) for whatever is left; else 0.
 */
export function cutPoint(buffer, start, end, eof) {
  const length = end - start;
  if (length <= 0 || (!eof && length < MAX_CHUNK)) return 0;
  return cutGear(buffer, start, Math.min(length, MAX_CHUNK));
}

/** Lowercase hex of a digest. */
export function hex(digest) {
  const bytes = new Uint8Array(digest);
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += bytes[i].toString(16).padStart(2, '0');
  return out;
}

/**
 * Cuts `file` (a Blob) from byte `from` (a chunk boundary) and hashes each chunk with SHA-256;
 * `onChunks(list)` receives {offset, size, sha256} in order, a block at a time. `stopped()` is
 * asked between blocks. The next block is read while this one is cut, and hashes finish while the
 * next is cut (a digest copies its input when called). Memory stays bounded (a few blocks) whatever
 * the file's size.
 */
export async function chunkBlob(file, from, onChunks, stopped = () => false) {
  const block = 2 * MAX_CHUNK;
  const buffer = new Uint8Array(MAX_CHUNK + block);
  const readAt = (at) => (at < file.size ? file.slice(at, at + block).arrayBuffer() : Promise.resolve(new ArrayBuffer(0)));
  let filled = 0;
  let offset = from; // the file offset of buffer[0]
  let read = from;
  let eof = read >= file.size;
  let next = eof ? null : readAt(read);
  let posting = Promise.resolve();
  while (!eof || filled > 0) {
    if (stopped()) return;
    if (!eof) {
      const bytes = new Uint8Array(await next);
      buffer.set(bytes, filled);
      filled += bytes.length;
      read += bytes.length;
      eof = read >= file.size || bytes.length === 0;
      // After cutting, fewer than MAX_CHUNK bytes stay: the next block fits behind them.
      next = eof ? null : readAt(read);
    }
    const cuts = [];
    let consumed = 0;
    for (;;) {
      const size = cutPoint(buffer, consumed, filled, eof);
      if (!size) break;
      cuts.push({ offset: offset + consumed, size, hash: digest(buffer.subarray(consumed, consumed + size)) });
      consumed += size;
    }
    buffer.copyWithin(0, consumed, filled);
    filled -= consumed;
    offset += consumed;
    if (cuts.length) {
      posting = posting.then(async () => {
        const list = [];
        for (const cut of cuts) list.push({ offset: cut.offset, size: cut.size, sha256: hex(await cut.hash) });
        await onChunks(list);
      });
      posting.catch(() => {}); // seen by the final await; not an unhandled rejection meanwhile
    }
    if (eof && filled === 0) break;
  }
  await posting;
}

/** SHA-256 of `bytes`: WebCrypto where the page is a secure context, else the plain version below. */
function digest(bytes) {
  return globalThis.crypto?.subtle ? crypto.subtle.digest('SHA-256', bytes) : Promise.resolve(sha256(bytes));
}

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/**
 * SHA-256 in plain JavaScript, for pages served over plain HTTP (not a secure context), where
 * browsers offer no WebCrypto. Slower than WebCrypto, but it runs in the worker.
 */
export function sha256(bytes) {
  const state = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Uint32Array(64);
  const length = bytes.length;
  const tail = new Uint8Array(((length + 9 + 63) & ~63) - (length & ~63));
  tail.set(bytes.subarray(length & ~63));
  tail[length & 63] = 0x80;
  const bits = length * 8;
  const view = new DataView(tail.buffer);
  view.setUint32(tail.length - 8, Math.floor(bits / 0x100000000));
  view.setUint32(tail.length - 4, bits >>> 0);
  const block = (source, at) => {
    for (let i = 0; i < 16; i++) w[i] = (source[at + 4 * i] << 24) | (source[at + 4 * i + 1] << 16) | (source[at + 4 * i + 2] << 8) | source[at + 4 * i + 3];
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15];
      const b = w[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    let [a, b, c, d, e, f, g, h] = state;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
  };
  for (let at = 0; at + 64 <= length; at += 64) block(bytes, at);
  for (let at = 0; at < tail.length; at += 64) block(tail, at);
  const out = new Uint8Array(32);
  const result = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) result.setUint32(4 * i, state[i]);
  return out.buffer;
}
