// Screenshots of each page, light and dark, at 1280 and 375 px, into $SHOTS (default
// /tmp/web-shots): `node screenshots.js`. For looking at, not a test.

import { mkdirSync } from 'node:fs';
import { Api, launchBrowser, signIn, startServer } from './harness.js';

const out = process.env.SHOTS || '/tmp/web-shots';
mkdirSync(out, { recursive: true });
const server = await startServer();
const browser = await launchBrowser();
const api = await Api.register(server.base);
const photos = await api.folder('root', 'Photos');
await api.folder('root', 'Documents');
await api.put(photos.id, 'beach.jpg', 'x'.repeat(2_400_000));
for (const [name, size] of [['report-2024.pdf', 180_000], ['notes.txt', 1200], ['a very long file name that goes on and on and on.txt', 12]]) {
  await api.put('root', name, 'y'.repeat(size));
}
const gone = await api.put('root', 'old-draft.txt', 'old');
await api.call('DELETE', `/api/v1/nodes/${gone.id}`);

for (const scheme of ['light', 'dark']) {
  for (const width of [1280, 375]) {
    const context = await browser.newContext({ viewport: { width, height: width > 500 ? 800 : 740 }, colorScheme: scheme });
    const page = await context.newPage();
    const shot = (name) => page.screenshot({ path: `${out}/${name}-${scheme}-${width}.png` });
    await page.goto(server.base + '/');
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await shot('signin');
    await signIn(page, api.email);
    await page.getByRole('row', { name: 'notes.txt' }).click();
    await shot('files');
    await page.getByRole('button', { name: 'New folder' }).click();
    await shot('newfolder');
    await page.keyboard.press('Escape');
    await page.locator('input[type=file]').setInputFiles({ name: `upload-${scheme}-${width}.bin`, mimeType: 'application/octet-stream', buffer: Buffer.alloc(1000) });
    await page.getByRole('region', { name: 'Uploads' }).getByText('Done').waitFor();
    await shot('uploads');
    await page.getByRole('link', { name: 'Trash' }).click();
    await page.getByRole('row', { name: 'old-draft.txt' }).waitFor();
    await shot('trash');
    await context.close();
  }
}
await browser.close();
await server.stop();
console.log(`screenshots in ${out}`);
