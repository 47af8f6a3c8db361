// The preview dialog (loaded on first use): images (with Previous / Next and the arrow keys), PDF,
// audio and video through signed URLs the browser fetches itself (Range, streaming), and text,
// Markdown and code read through the API and drawn as text nodes.
//
// User content never runs in the app's origin: media elements and <img> do not run script; the
// PDF frame's URL answers `inline` only for harmless types and always with `CSP: sandbox`; text
// (HTML and SVG included) is shown as text, and Markdown is turned into elements by markdown.js,
// never into HTML markup.

import { h, replace } from './dom.js';
import { t } from './i18n.js';
import { modal } from './modal.js';
import * as fapi from './fileapi.js';

const TEXT_LIMIT = 1024 * 1024;
const IMAGE = /\.(jpe?g|png|gif|webp|bmp|avif|ico)$/i;
const AUDIO = /\.(mp3|ogg|oga|wav|flac|m4a|aac|opus)$/i;
const VIDEO = /\.(mp4|m4v|webm|ogv|mov)$/i;
const MARKDOWN = /\.(md|markdown|mdown)$/i;
const CODE = /\.(txt|text|log|csv|tsv|json|jsonl|toml|ya?ml|ini|cfg|conf|env|xml|html?|svg|css|scss|js|mjs|cjs|ts|tsx|jsx|rs|py|rb|go|java|kt|c|h|cc|cpp|hpp|cs|php|sh|bash|zsh|fish|ps1|sql|lua|pl|r|swift|dart|vue|tex|diff|patch|gitignore|dockerfile|makefile)$/i;

/** What kind of preview `entry` gets: image, pdf, audio, video, markdown, text or none. */
export function previewKind(entry) {
  const mime = (entry.mime || '').toLowerCase();
  const name = entry.name;
  if (/svg/.test(mime) || /\.svgz?$/i.test(name)) return 'text';
  if (mime.startsWith('image/') || IMAGE.test(name)) return 'image';
  if (mime === 'application/pdf' || /\.pdf$/i.test(name)) return 'pdf';
  if (mime.startsWith('audio/') || AUDIO.test(name)) return 'audio';
  if (mime.startsWith('video/') || VIDEO.test(name)) return 'video';
  if (mime === 'text/markdown' || MARKDOWN.test(name)) return 'markdown';
  if (mime.startsWith('text/') || CODE.test(name) || mime === 'application/json') return 'text';
  return 'none';
}

/** Shows `entry`; `siblings` are the folder's files (images step through them); `changed(names)` after an edit. */
export function preview(app, entry, { siblings = [entry], changed } = {}) {
  let current = entry;
  return modal(entry.name, (close, dialog, heading) => {
    const stage = h('div', { class: 'preview-stage' });
    const note = h('p', { class: 'status', 'aria-live': 'polite' });
    const previous = h('button', { type: 'button', onclick: () => step(-1) }, t.previous);
    const next = h('button', { type: 'button', onclick: () => step(1) }, t.next);
    const edit = h('button', { type: 'button', onclick: () => startEdit() }, t.edit);
    const download = h('button', { type: 'button', onclick: () => save() }, t.download);
    const images = () => siblings.filter((s) => previewKind(s) === 'image');

    async function show(item) {
      current = item;
      heading.textContent = item.name;
      dialog.setAttribute('aria-label', t.previewOf(item.name));
      note.textContent = '';
      const kind = previewKind(item);
      const inImages = images();
      previous.hidden = next.hidden = kind !== 'image' || inImages.length < 2;
      edit.hidden = true;
      replace(stage, h('p', { class: 'muted' }, t.loading));
      try {
        if (kind === 'image' || kind === 'audio' || kind === 'video' || kind === 'pdf') {
          const { url } = await fapi.signedUrl(item.id);
          if (current !== item) return;
          if (kind === 'image') replace(stage, h('img', { src: url, alt: item.name, class: 'preview-image' }));
          else if (kind === 'audio') replace(stage, h('audio', { src: url, controls: true, 'aria-label': item.name }));
          else if (kind === 'video') replace(stage, h('video', { src: url, controls: true, 'aria-label': item.name, class: 'preview-video' }));
          else {
            const inline = `${url}&inline=1`;
            replace(
              stage,
              h('iframe', { src: inline, title: item.name, class: 'preview-frame' }),
              h('p', {}, h('a', { href: inline, target: '_blank', rel: 'noopener noreferrer' }, t.openInNewTab)),
            );
          }
        } else if (kind === 'text' || kind === 'markdown') {
          await showText(item, kind);
        } else {
          replace(stage, h('p', { class: 'muted' }, t.noPreview));
        }
      } catch (error) {
        if (current === item) replace(stage, h('p', { class: 'muted' }, error.message));
      }
    }

    async function showText(item, kind) {
      const response = await fapi.fetchRaw(`/api/v1/files/${encodeURIComponent(item.id)}/content`, {
        headers: { Range: `bytes=0-${TEXT_LIMIT - 1}` },
      });
      if (!response.ok && response.status !== 416) throw new Error(t.errorGeneric);
      const text = response.status === 416 ? '' : new TextDecoder().decode(await response.arrayBuffer());
      if (current !== item) return;
      if (item.size > TEXT_LIMIT) note.textContent = t.previewCut;
      const { editable } = await import('./editor.js');
      edit.hidden = !editable(item);
      if (kind === 'markdown') {
        const { renderMarkdown } = await import('./markdown.js');
        replace(stage, h('article', { class: 'markdown' }, renderMarkdown(text)));
      } else {
        replace(stage, h('pre', { class: 'preview-text', tabindex: '0', 'aria-label': item.name }, h('code', {}, text)));
      }
    }

    function step(by) {
      const list = images();
      const at = list.findIndex((s) => s.id === current.id);
      if (at < 0 || list.length < 2) return;
      show(list[(at + by + list.length) % list.length]);
    }

    async function save() {
      try {
        const { url } = await fapi.signedUrl(current.id);
        fapi.startDownload(url, current.name);
      } catch (error) {
        note.textContent = error.message;
      }
    }

    async function startEdit() {
      const item = current;
      close(null);
      const { editText } = await import('./editor.js');
      await editText(app, item, changed);
    }

    dialog.addEventListener('keydown', (e) => {
      if (e.target.closest('video, audio, textarea, input')) return;
      if (e.key === 'ArrowRight') step(1);
      else if (e.key === 'ArrowLeft') step(-1);
    });
    show(entry);
    return h(
      'div',
      { class: 'preview' },
      stage,
      note,
      h('div', { class: 'dialog-actions' }, previous, next, edit, download, h('button', { type: 'button', onclick: () => close(null) }, t.close)),
    );
  }, { wide: true, label: t.previewOf(entry.name) });
}
