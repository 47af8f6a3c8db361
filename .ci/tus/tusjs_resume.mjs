// tus-js-client (the official JavaScript client, as Uppy uses it) against Satchel in Node: start an
// upload, abort it after two pieces, resume from its URL in a new Upload, finish; then check the
// file through the API and the Satchel-Node-Id header of the last answer.
//
// Usage: node tusjs_resume.mjs BASE_URL ACCESS_TOKEN FILE
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import * as tus from 'tus-js-client'

const [base, token, path] = process.argv.slice(2)
const headers = { Authorization: `Bearer ${token}` }
const bytes = readFileSync(path)
const piece = 2 * 1024 * 1024
const options = {
  endpoint: `${base}/api/v1/tus/`,
  headers,
  chunkSize: piece,
  metadata: { filename: 'tusjs.bin', filetype: 'application/octet-stream', path: '/tus clients' },
  retryDelays: [],
}

const url = await new Promise((resolve, reject) => {
  const upload = new tus.Upload(bytes, {
    ...options,
    onError: reject,
    onChunkComplete: (_size, sent) => {
      if (sent >= 2 * piece) {
        upload.abort().then(() => resolve(upload.url), reject)
      }
    },
  })
  upload.start()
})

const head = await fetch(url, { method: 'HEAD', headers: { ...headers, 'Tus-Resumable': '1.0.0' } })
const offset = Number(head.headers.get('upload-offset'))
if (!(offset >= 2 * piece && offset < bytes.length)) throw new Error(`offset after abort: ${offset}`)

const node = await new Promise((resolve, reject) => {
  const upload = new tus.Upload(bytes, {
    ...options,
    uploadUrl: url,
    onError: reject,
    onSuccess: (payload) => resolve(payload.lastResponse.getHeader('Satchel-Node-Id')),
  })
  upload.start()
})
if (!node) throw new Error('no Satchel-Node-Id on the last answer')

const content = await fetch(`${base}/api/v1/files/${node}/content`, { headers })
const got = createHash('sha256').update(Buffer.from(await content.arrayBuffer())).digest('hex')
const want = createHash('sha256').update(bytes).digest('hex')
if (got !== want) throw new Error(`downloaded ${got}, uploaded ${want}`)
console.log(`tus-js-client: resumed at ${offset} of ${bytes.length} bytes, file verified (${want.slice(0, 12)}…)`)
