// Previews and the editor in a real browser against the real server: images with Previous/Next,
// PDF, audio, text, Markdown drawn safely, uploaded HTML and SVG never running in the app's origin,
// and the text editor saving with If-Match and offering "Keep both" on a conflict.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noAxeViolations, openSignedIn, pdf, png, row, s, setup, until, wav } from './filekit.js';

setup();

const dialog = (name) => s.page.getByRole('dialog', { name });

test('images preview with Previous and Next', async () => {
  await s.api.put('root', 'a-red.png', png(40, 30, [220, 0, 0]), 'image/png');
  await s.api.put('root', 'b-blue.png', png(30, 40, [0, 0, 220]), 'image/png');
  await s.api.put('root', 'c-notes.txt', 'not an image');
  await openSignedIn();
  await row('a-red.png').dblclick();
  const view = dialog('Preview: a-red.png');
  const image = view.getByRole('img', { name: 'a-red.png' });
  await image.waitFor();
  await until(() => image.evaluate((img) => img.complete && img.naturalWidth === 40));
  await noAxeViolations('the image preview');
  assert.equal(await view.getByRole('button', { name: 'Edit' }).count(), 0, 'no Edit for images');
  await view.getByRole('button', { name: 'Next' }).click();
  await dialog('Preview: b-blue.png').getByRole('img', { name: 'b-blue.png' }).waitFor();
  // The arrow keys step too, skipping files that are not images, and wrap around.
  await s.page.keyboard.press('ArrowRight');
  await dialog('Preview: a-red.png').getByRole('img', { name: 'a-red.png' }).waitFor();
  await s.page.keyboard.press('ArrowLeft');
  await dialog('Preview: b-blue.png').waitFor();
  await s.page.keyboard.press('Escape');
  await dialog('Preview').waitFor({ state: 'detached' });
});

test('PDF previews in a sandboxed frame; audio plays in the page', async () => {
  const doc = await s.api.put('root', 'paper.pdf', pdf(), 'application/pdf');
  await s.api.put('root', 'tone.wav', wav(1), 'audio/wav');
  await openSignedIn();
  await row('paper.pdf').dblclick();
  const frame = dialog('Preview: paper.pdf').locator('iframe');
  await frame.waitFor();
  const src = await frame.getAttribute('src');
  assert.match(src, /\/api\/v1\/signed\/.*&inline=1$/);
  const answer = await fetch(src);
  assert.equal(answer.headers.get('content-type'), 'application/pdf');
  assert.match(answer.headers.get('content-disposition'), /^inline/);
  assert.equal(answer.headers.get('content-security-policy'), 'sandbox');
  assert.equal(Buffer.from(await answer.arrayBuffer()).toString('latin1'), pdf().toString('latin1'));
  assert.ok(doc.id);
  await s.page.keyboard.press('Escape');
  await row('tone.wav').dblclick();
  const audio = dialog('Preview: tone.wav').locator('audio');
  await audio.waitFor();
  await until(() => audio.evaluate((a) => a.readyState >= 1 && Math.abs(a.duration - 1) < 0.05));
});

test('text and code show as text; Markdown is drawn without running anything', async () => {
  const markdown = [
    '# Trip notes',
    '',
    'Some **bold** words and a [safe link](https://example.org/x).',
    '',
    '- one',
    '- two',
    '',
    '<script>window.pwned = 1</script>',
    '<img src=x onerror="window.pwned = 2">',
    '[bad link](javascript:window.pwned=3)',
    '',
    '```',
    'let x = "<b>not bold</b>";',
    '```',
  ].join('\n');
  await s.api.put('root', 'notes.md', markdown, 'text/markdown');
  await s.api.put('root', 'main.rs', 'fn main() { println!("<hi>"); }', 'text/x-rust');
  await openSignedIn();
  await row('notes.md').dblclick();
  const view = dialog('Preview: notes.md');
  await view.getByRole('heading', { name: 'Trip notes' }).waitFor();
  await noAxeViolations('the Markdown preview');
  assert.equal(await view.getByRole('link', { name: 'safe link' }).getAttribute('href'), 'https://example.org/x');
  assert.equal(await view.getByRole('link', { name: 'bad link' }).count(), 0, 'javascript: links stay text');
  assert.equal(await view.getByRole('listitem').count(), 2);
  assert.equal(await view.locator('script, img, b').count(), 0, 'markup in the file stays text');
  await view.getByText('<script>window.pwned = 1</script>').waitFor();
  assert.equal(await s.page.evaluate(() => window.pwned), undefined);
  await s.page.keyboard.press('Escape');
  await row('main.rs').dblclick();
  await dialog('Preview: main.rs').locator('pre').getByText('fn main() { println!("<hi>"); }').waitFor();
});

test('an uploaded evil.html or evil.svg previewed or opened never runs in the app origin', async () => {
  const html = '<script>window.top.pwned = "html"; document.title = "pwned"</script><h1>evil</h1>';
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" onload="window.top.pwned = \'svg\'"><script>window.top.pwned = "svg"</script></svg>';
  await s.api.put('root', 'evil.html', html, 'text/html');
  await s.api.put('root', 'evil.svg', svg, 'image/svg+xml');
  await openSignedIn();
  for (const [name, source] of [['evil.html', html], ['evil.svg', svg]]) {
    await row(name).dblclick();
    const view = dialog(`Preview: ${name}`);
    // Shown as its source text, in no frame and no image.
    await view.locator('pre').getByText(source).waitFor();
    assert.equal(await view.locator('iframe, img, object, embed').count(), 0);
    await s.page.keyboard.press('Escape');
    await view.waitFor({ state: 'detached' });
  }
  assert.equal(await s.page.evaluate(() => window.pwned), undefined);
  assert.notEqual(await s.page.title(), 'pwned');
  // Opened by its signed URL (as "Open in a new tab" would), it downloads instead of rendering.
  const node = await s.api.byPath('/evil.html');
  const { url } = await s.api.call('POST', `/api/v1/files/${node.id}/download-url`, {});
  const visit = await s.context.newPage();
  const downloaded = visit.waitForEvent('download');
  await visit.goto(`${url}&inline=1`).catch(() => {});
  await downloaded;
  assert.notEqual(await visit.title(), 'pwned');
});

test('the editor saves a new version with If-Match', async () => {
  await s.api.put('root', 'todo.txt', 'milk', 'text/plain');
  await openSignedIn();
  await row('todo.txt').dblclick();
  await dialog('Preview: todo.txt').getByText('milk').waitFor();
  await dialog('Preview: todo.txt').getByRole('button', { name: 'Edit' }).click();
  const editor = dialog('Edit “todo.txt”');
  const text = editor.getByRole('textbox', { name: 'Text of todo.txt' });
  await until(async () => (await text.inputValue()) === 'milk');
  await noAxeViolations('the editor');
  await text.focus();
  await text.press('End');
  await text.pressSequentially(', eggs');
  // Typed into the text area (seen lost once under load before it had focus), then saved.
  await until(async () => (await text.inputValue()) === 'milk, eggs');
  await s.page.keyboard.press('Control+s');
  await editor.getByText('Saved').waitFor();
  const node = await s.api.byPath('/todo.txt');
  assert.equal(await s.api.content(node.id), 'milk, eggs');
  const versions = await s.api.call('GET', `/api/v1/files/${node.id}/versions`);
  assert.deepEqual(versions.entries.map((v) => v.size), [10, 4], 'a new version, the old one kept');
  // Saving again goes on from the version just written.
  await s.page.keyboard.type(', bread');
  await editor.getByRole('button', { name: 'Save' }).click();
  await until(async () => (await s.api.content(node.id)) === 'milk, eggs, bread');
});

test('a conflict in the editor offers Keep both instead of overwriting', async () => {
  const file = await s.api.put('root', 'shared.txt', 'original', 'text/plain');
  await openSignedIn();
  await row('shared.txt').click();
  await s.page.getByRole('grid', { name: 'Files' }).press('e');
  const editor = dialog('Edit “shared.txt”');
  const text = editor.getByRole('textbox', { name: 'Text of shared.txt' });
  await until(async () => (await text.inputValue()) === 'original');
  // Someone else saves meanwhile.
  await s.api.put('root', 'shared.txt', 'their version', 'text/plain');
  await text.fill('my version');
  await editor.getByRole('button', { name: 'Save' }).click();
  const conflict = dialog('Someone else saved this file');
  await conflict.getByRole('button', { name: 'Keep both' }).waitFor();
  await noAxeViolations('the conflict dialog');
  await conflict.getByRole('button', { name: 'Keep both' }).click();
  await row('shared (1).txt').waitFor();
  assert.equal(await s.api.content(file.id), 'their version', 'nothing overwritten');
  const mine = await s.api.byPath('/shared (1).txt');
  assert.equal(await s.api.content(mine.id), 'my version');
});
