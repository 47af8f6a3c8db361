// Screenshots of the sharing, account, admin and public link pages, light and dark, at 1280 and
// 375 px, into $SHOTS (default /tmp/web-shots): `node share-screenshots.js`. For looking at, not a
// test.

import { mkdirSync } from 'node:fs';
import { Api, launchBrowser, signIn, startServer } from './harness.js';

const out = process.env.SHOTS || '/tmp/web-shots';
mkdirSync(out, { recursive: true });
const server = await startServer(process.env.WEB_DIR ? ['--web-dir', process.env.WEB_DIR] : []);
const browser = await launchBrowser();
const api = await Api.register(server.base);
const bob = await Api.register(server.base);
const photos = await api.folder('root', 'Photos');
await api.put(photos.id, 'notes.txt', 'Pack the tent.\nBring water.', 'text/plain');
const file = await api.put('root', 'report.txt', 'Quarterly report\n'.repeat(20), 'text/plain');
const fileLink = await api.call('POST', '/api/v1/links', { node_id: file.id, max_downloads: 10 });
const folderLink = await api.call('POST', '/api/v1/links', { node_id: photos.id });
const dropLink = await api.call('POST', '/api/v1/links', { node_id: photos.id, permission: 'upload' });
const lockedLink = await api.call('POST', '/api/v1/links', { node_id: file.id, password: 'open sesame' });
await api.call('POST', '/api/v1/shares', { node_id: photos.id, email: bob.email, permission: 'edit' });

for (const scheme of ['light', 'dark']) {
  for (const width of [1280, 375]) {
    const context = await browser.newContext({ viewport: { width, height: width > 500 ? 800 : 740 }, colorScheme: scheme });
    const page = await context.newPage();
    const shot = (name) => page.screenshot({ path: `${out}/${name}-${scheme}-${width}.png` });
    await page.goto(server.base + '/');
    await signIn(page, api.email);
    await page.getByRole('row', { name: 'Photos' }).click();
    await page.getByRole('button', { name: 'Share', exact: true }).click();
    await page.getByRole('dialog', { name: 'Share' }).getByText(/downloads|No links/).first().waitFor();
    await page.getByRole('dialog', { name: 'Share' }).getByRole('listitem', { name: bob.email }).waitFor();
    await shot('share-dialog');
    await page.keyboard.press('Escape');
    await page.goto(server.base + '/links');
    await page.getByRole('table', { name: 'Public links' }).waitFor();
    await shot('links');
    await page.goto(server.base + '/account');
    await page.getByRole('table', { name: 'Sessions' }).getByRole('row').nth(1).waitFor();
    await shot('account');
    await page.goto(server.base + '/admin');
    await page.getByText('Dedup ratio').waitFor();
    await shot('admin');
    const visitor = await context.newPage();
    const pshot = (name) => visitor.screenshot({ path: `${out}/${name}-${scheme}-${width}.png` });
    await visitor.goto(fileLink.url);
    await visitor.getByRole('button', { name: 'Download' }).waitFor();
    await pshot('public-file');
    await visitor.goto(folderLink.url);
    await visitor.getByRole('row', { name: 'notes.txt' }).waitFor();
    await pshot('public-folder');
    await visitor.goto(dropLink.url);
    await visitor.getByRole('region', { name: 'Drop zone' }).waitFor();
    await pshot('public-drop');
    await visitor.goto(lockedLink.url);
    await visitor.getByLabel('Password').waitFor();
    await pshot('public-password');
    await context.close();
  }
}
await browser.close();
await server.stop();
console.log(`screenshots in ${out}`);
