// A small Markdown reader for previews that builds elements and text nodes only — never markup
// from the file — so nothing in a document can run: headings, paragraphs, lists, quotes, fenced
// and indented code, rules, and inline code, emphasis, strong and links (http, https and mailto
// only; other schemes stay text). Tables and HTML blocks show as their text.

import { h } from './dom.js';

/** The elements of `source` (a DocumentFragment). */
export function renderMarkdown(source) {
  const out = document.createDocumentFragment();
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = line.match(/^\s*(```|~~~)/);
    if (fence) {
      const body = [];
      i += 1;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
      i += 1;
      out.append(h('pre', {}, h('code', {}, body.join('\n'))));
      continue;
    }
    if (!line.trim()) {
      i += 1;
      continue;
    }
    const heading = line.match(/^(#{1,6})\s+(.*?)\s*#*\s*$/);
    if (heading) {
      out.append(h(`h${Math.min(6, heading[1].length + 2)}`, {}, inline(heading[2])));
      i += 1;
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      out.append(h('hr', {}));
      i += 1;
      continue;
    }
    if (/^(\t| {4})/.test(line)) {
      const body = [];
      while (i < lines.length && (/^(\t| {4})/.test(lines[i]) || !lines[i].trim())) body.push(lines[i++].replace(/^(\t| {4})/, ''));
      out.append(h('pre', {}, h('code', {}, body.join('\n').trimEnd())));
      continue;
    }
    if (/^\s*>/.test(line)) {
      const body = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) body.push(lines[i++].replace(/^\s*>\s?/, ''));
      out.append(h('blockquote', {}, renderMarkdown(body.join('\n'))));
      continue;
    }
    const item = /^\s*([-*+]|\d+[.)])\s+/;
    if (item.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const list = h(ordered ? 'ol' : 'ul', {});
      while (i < lines.length && item.test(lines[i])) {
        let text = lines[i++].replace(item, '');
        while (i < lines.length && lines[i].trim() && !item.test(lines[i]) && /^\s+/.test(lines[i])) text += ' ' + lines[i++].trim();
        list.append(h('li', {}, inline(text)));
      }
      out.append(list);
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() && !/^(#{1,6}\s|\s*```|\s*~~~|\s*>)/.test(lines[i]) && !item.test(lines[i])) para.push(lines[i++].trim());
    out.append(h('p', {}, inline(para.join(' '))));
  }
  return out;
}

const SAFE_LINK = /^(https?:|mailto:)/i;

/** Inline spans of `text`: `code`, **strong**, *emphasis*, [links](url). */
function inline(text) {
  const parts = [];
  const pattern = /(`+)(.+?)\1|\*\*(.+?)\*\*|__(.+?)__|\*(.+?)\*|_(.+?)_|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let at = 0;
  for (const m of text.matchAll(pattern)) {
    if (m.index > at) parts.push(text.slice(at, m.index));
    if (m[2] !== undefined) parts.push(h('code', {}, m[2]));
    else if (m[3] !== undefined || m[4] !== undefined) parts.push(h('strong', {}, inline(m[3] ?? m[4])));
    else if (m[5] !== undefined || m[6] !== undefined) parts.push(h('em', {}, inline(m[5] ?? m[6])));
    else if (SAFE_LINK.test(m[8])) parts.push(h('a', { href: m[8], target: '_blank', rel: 'noopener noreferrer nofollow' }, inline(m[7])));
    else parts.push(m[0]);
    at = m.index + m[0].length;
  }
  if (at < text.length) parts.push(text.slice(at));
  return parts;
}
