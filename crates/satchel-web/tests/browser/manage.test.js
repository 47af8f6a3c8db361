// Managing files in a real browser against the real server: Move and Copy through the folder
// picker and by dragging rows onto folders and breadcrumbs, Download of folders and selections as
// one zip, the Versions dialog, the grid view with thumbnails, the shortcuts dialog, Empty trash,
// and a keyboard-only run of upload → rename → move → trash → restore.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { grid, noAxeViolations, openSignedIn, png, row, s, setup, tabTo, until } from './filekit.js';

setup();

const names = async (parent = 'root') => (await s.api.children(parent)).map((n) => n.name).sort();

test('keyboard only: upload, rename, move, trash, restore', async () => {
  await s.api.folder('root', 'Target');
  await openSignedIn();
  await row('Target').waitFor();
  // Upload: Tab to the button, Enter opens the file chooser.
  await tabTo(/^button:Upload$/);
  // (On a loaded machine Chromium has been seen to drop the first chooser: Enter again, at most
  // twice more; the button opens it synchronously, so a missing chooser after that is a failure.)
  let chooser = null;
  for (let attempt = 0; attempt < 3 && !chooser; attempt++) {
    [chooser] = await Promise.all([
      s.page.waitForEvent('filechooser', { timeout: 10000 }).catch(() => null),
      s.page.keyboard.press('Enter'),
    ]);
  }
  assert.ok(chooser, 'Enter on Upload opens the file chooser');
  await chooser.setFiles({ name: 'typed.txt', mimeType: 'text/plain', buffer: Buffer.from('typed by keys') });
  await row('typed.txt').waitFor();
  // Rename: to the list, down to the file, F2.
  await tabTo(/^grid:Files$/);
  await s.page.keyboard.press('End');
  assert.equal(await row('typed.txt').getAttribute('aria-selected'), 'true');
  await s.page.keyboard.press('F2');
  await s.page.getByRole('dialog', { name: 'Rename' }).waitFor();
  await s.page.keyboard.press('Control+a');
  await s.page.keyboard.type('keyed.txt');
  await s.page.keyboard.press('Enter');
  await row('keyed.txt').waitFor();
  // Move: "m", arrows to the folder, Enter opens it, Tab to "Move here".
  await s.page.keyboard.press('m');
  const picker = s.page.getByRole('dialog', { name: 'Move “keyed.txt”' });
  await picker.getByRole('option', { name: 'Target' }).waitFor();
  await s.page.keyboard.press('Enter');
  await picker.getByText('In /Target').waitFor();
  await tabTo(/^button:Move here$/);
  await s.page.keyboard.press('Enter');
  await row('keyed.txt').waitFor({ state: 'detached' });
  // Into Target, then Delete moves it to the trash.
  await s.page.keyboard.press('Home');
  await s.page.keyboard.press('Enter');
  await row('keyed.txt').waitFor();
  await tabTo(/^grid:Files$/);
  await s.page.keyboard.press('Home');
  await s.page.keyboard.press('Delete');
  await row('keyed.txt').waitFor({ state: 'detached' });
  // To the Trash page by its link, and Restore.
  await tabTo(/^a:.*Trash$/, true);
  await s.page.keyboard.press('Enter');
  const trash = s.page.getByRole('table', { name: 'Trash' });
  await trash.getByRole('row', { name: 'keyed.txt' }).waitFor();
  await tabTo(/^button:Restore$/);
  await s.page.keyboard.press('Enter');
  await s.page.getByText('Trash is empty.').waitFor();
  const node = await s.api.byPath('/Target/keyed.txt');
  assert.equal(await s.api.content(node.id), 'typed by keys');
});

test('Move with the folder picker', async () => {
  const dest = await s.api.folder('root', 'Dest');
  const inner = await s.api.folder(dest.id, 'Inner');
  await s.api.put('root', 'a.txt', 'a');
  await openSignedIn();
  await row('a.txt').click();
  await s.page.getByRole('button', { name: 'Move', exact: true }).click();
  const dialog = s.page.getByRole('dialog', { name: 'Move “a.txt”' });
  const folders = dialog.getByRole('listbox', { name: 'Folders' });
  await folders.getByRole('option', { name: 'Dest' }).waitFor();
  await noAxeViolations('the Move dialog');
  await folders.getByRole('option', { name: 'Dest' }).dblclick();
  await folders.getByRole('option', { name: 'Inner' }).waitFor();
  await dialog.getByRole('button', { name: 'Move here' }).click();
  await row('a.txt').waitFor({ state: 'detached' });
  await s.page.getByText('Moved 1 item to Dest').waitFor();
  assert.deepEqual(await names(dest.id), ['Inner', 'a.txt']);
  assert.deepEqual(await names(inner.id), []);
});

test('Copy several items with the picker; the originals stay', async () => {
  const dest = await s.api.folder('root', 'Backup');
  await s.api.put('root', 'one.txt', '1');
  await s.api.put('root', 'two.txt', '2');
  await openSignedIn();
  await row('one.txt').click();
  await row('two.txt').click({ modifiers: ['Control'] });
  await s.page.getByRole('button', { name: 'Copy', exact: true }).click();
  const dialog = s.page.getByRole('dialog', { name: 'Copy 2 items' });
  await dialog.getByRole('option', { name: 'Backup' }).click();
  await dialog.getByRole('listbox', { name: 'Folders' }).press('Enter');
  await dialog.getByText('No folders here.').waitFor();
  await dialog.getByRole('button', { name: 'Copy here' }).click();
  await s.page.getByText('Copied 2 items to Backup').waitFor();
  assert.deepEqual(await names(dest.id), ['one.txt', 'two.txt']);
  assert.deepEqual(await names(), ['Backup', 'one.txt', 'two.txt']);
});

test('drag rows onto a folder row, and onto a breadcrumb', async () => {
  const box = await s.api.folder('root', 'Box');
  await s.api.put('root', 'dragged.txt', 'd');
  await openSignedIn();
  await row('dragged.txt').dragTo(row('Box'));
  await row('dragged.txt').waitFor({ state: 'detached' });
  assert.deepEqual(await names(box.id), ['dragged.txt']);
  // Into Box, then drag it back up onto the "Files" breadcrumb.
  await row('Box').dblclick();
  await row('dragged.txt').waitFor();
  const crumbs = s.page.getByRole('navigation', { name: 'Breadcrumbs' });
  await row('dragged.txt').dragTo(crumbs.getByRole('link', { name: 'Files' }));
  await row('dragged.txt').waitFor({ state: 'detached' });
  assert.deepEqual(await names(), ['Box', 'dragged.txt']);
});

/** The names in a zip file, and the text of `inside`, read by Python's zipfile. */
function readZip(path, inside) {
  const script = 'import sys, zipfile, json; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(json.dumps([sorted(z.namelist()), z.read(sys.argv[2]).decode()]))';
  return JSON.parse(execFileSync('python3', ['-c', script, path, inside], { encoding: 'utf8' }));
}

test('Download of a folder, or of several items, is one zip', async () => {
  const folder = await s.api.folder('root', 'Album');
  const sub = await s.api.folder(folder.id, 'Sub');
  await s.api.put(sub.id, 'deep.txt', 'deep text');
  await s.api.put('root', 'x.txt', 'x text');
  await openSignedIn();
  await row('Album').click();
  const [one] = await Promise.all([s.page.waitForEvent('download'), s.page.getByRole('button', { name: 'Download' }).click()]);
  assert.equal(one.suggestedFilename(), 'Album.zip');
  const [listed, deep] = readZip(await one.path(), 'Album/Sub/deep.txt');
  assert.deepEqual(listed, ['Album/', 'Album/Sub/', 'Album/Sub/deep.txt']);
  assert.equal(deep, 'deep text');
  await row('x.txt').click({ modifiers: ['Shift'] });
  const [both] = await Promise.all([s.page.waitForEvent('download'), s.page.getByRole('button', { name: 'Download' }).click()]);
  assert.equal(both.suggestedFilename(), 'Satchel.zip');
  const [all, x] = readZip(await both.path(), 'x.txt');
  assert.deepEqual(all, ['Album/', 'Album/Sub/', 'Album/Sub/deep.txt', 'x.txt']);
  assert.equal(x, 'x text');
});

test('the Versions dialog lists, downloads and restores versions', async () => {
  await s.api.put('root', 'doc.txt', 'first words');
  await s.api.put('root', 'doc.txt', 'second words');
  await openSignedIn();
  await row('doc.txt').click();
  await s.page.getByRole('button', { name: 'Versions' }).click();
  const dialog = s.page.getByRole('dialog', { name: 'Versions' });
  const table = dialog.getByRole('table', { name: 'Versions' });
  await table.getByRole('row', { name: 'Version 1' }).waitFor();
  await noAxeViolations('the Versions dialog');
  assert.equal(await table.getByRole('row', { name: /^Version \d$/ }).count(), 2);
  assert.match(await table.getByRole('row', { name: 'Version 2' }).textContent(), /current.*12 B.*/);
  const [download] = await Promise.all([
    s.page.waitForEvent('download'),
    dialog.getByRole('button', { name: 'Download version 1' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'doc.txt');
  assert.equal(readFileSync(await download.path(), 'utf8'), 'first words');
  await dialog.getByRole('button', { name: 'Restore version 1' }).click();
  await table.getByRole('row', { name: 'Version 3' }).waitFor();
  const node = await s.api.byPath('/doc.txt');
  assert.equal(await s.api.content(node.id), 'first words');
  await dialog.getByRole('button', { name: 'Close' }).click();
  await dialog.waitFor({ state: 'detached' });
});

test('grid view shows thumbnails; image rows show a small one', async () => {
  await s.api.put('root', 'red.png', png(300, 200), 'image/png');
  await s.api.put('root', 'notes.txt', 'n');
  await openSignedIn();
  const thumb = row('red.png').locator('img.thumb');
  await thumb.waitFor();
  await until(() => thumb.evaluate((img) => img.complete && img.naturalWidth === 64));
  assert.equal(await row('notes.txt').locator('img').count(), 0, 'other files keep their icon');
  const toggle = s.page.getByRole('button', { name: 'Grid view' });
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
  await until(async () => (await grid().getAttribute('class')).includes('tiles'));
  await until(() => row('red.png').locator('img.thumb').evaluate((img) => img.complete && img.naturalWidth === 256));
  // Tiles sit side by side: Left moves to the one before.
  await row('red.png').click();
  await grid().press('ArrowLeft');
  assert.equal(await row('notes.txt').getAttribute('aria-selected'), 'true');
  await noAxeViolations('the grid view');
  // The choice survives a reload; "g" switches back.
  await s.page.reload();
  await row('red.png').waitFor();
  assert.equal(await s.page.getByRole('button', { name: 'Grid view' }).getAttribute('aria-pressed'), 'true');
  await grid().focus();
  await s.page.keyboard.press('g');
  await until(async () => !(await grid().getAttribute('class')).includes('tiles'));
});

test('"?" shows the shortcuts, "/" focuses search', async () => {
  await openSignedIn();
  await grid().waitFor();
  await s.page.keyboard.press('?');
  const dialog = s.page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await dialog.getByRole('cell', { name: 'Move to another folder' }).waitFor();
  await noAxeViolations('the shortcuts dialog');
  await s.page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  await s.page.keyboard.press('/');
  assert.equal(await s.page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Search');
});

test('Empty trash asks, then deletes everything in the trash', async () => {
  const folder = await s.api.folder('root', 'Old');
  await s.api.put(folder.id, 'inside.txt', 'i');
  const file = await s.api.put('root', 'loose.txt', 'l');
  await s.api.call('DELETE', `/api/v1/nodes/${folder.id}`);
  await s.api.call('DELETE', `/api/v1/nodes/${file.id}`);
  await openSignedIn('/trash');
  const trash = s.page.getByRole('table', { name: 'Trash' });
  await trash.getByRole('row', { name: 'loose.txt' }).waitFor();
  await s.page.getByRole('button', { name: 'Empty trash' }).click();
  const confirm = s.page.getByRole('dialog', { name: 'Empty trash' });
  await noAxeViolations('the Empty trash dialog');
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await s.api.call('GET', '/api/v1/trash')).entries.length, 2);
  await s.page.getByRole('button', { name: 'Empty trash' }).click();
  await confirm.getByRole('button', { name: 'Empty trash' }).click();
  await s.page.getByText('Trash is empty.').waitFor();
  assert.equal((await s.api.call('GET', '/api/v1/trash')).entries.length, 0);
});
