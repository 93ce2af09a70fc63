// The one escape function and the `html` tag the status page is written with: text never becomes markup.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SafeHtml, escapeHtml, html, joinHtml } from '../../src/http/html.js';

/** What a browser makes of escaped text in content or a quoted attribute: the five entities decoded. */
function decode(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_, name: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[name] ?? '');
}

describe('escapeHtml', () => {
  it.each([
    ['plain text', 'plain text'],
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['"><img src=x onerror=alert(1)>', '&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'],
    ["'><svg onload=alert(1)>", '&#39;&gt;&lt;svg onload=alert(1)&gt;'],
    // Already-escaped text stays text: the reader sees "&lt;b&gt;", not <b>.
    ['&lt;b&gt;', '&amp;lt;b&amp;gt;'],
    ['ñandú · 100 %', 'ñandú · 100 %'],
    ['', ''],
  ])('%j → %j', (text, escaped) => {
    expect(escapeHtml(text)).toBe(escaped);
  });

  it('leaves no character that ends text or a quoted attribute, and a browser reads back the text itself', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const escaped = escapeHtml(text);
        expect(escaped).not.toMatch(/[<>"']/);
        // Every & starts one of the five entities.
        expect(escaped.replace(/&(amp|lt|gt|quot|#39);/g, '')).not.toContain('&');
        expect(decode(escaped)).toBe(text);
      }),
    );
  });
});

describe('html', () => {
  it('escapes every interpolated value and keeps the literal markup', () => {
    const name = '<b>x</b>';
    expect(html`<p title="${name}">${name}</p>`.toString()).toBe('<p title="&lt;b&gt;x&lt;/b&gt;">&lt;b&gt;x&lt;/b&gt;</p>');
  });

  it('keeps markup made by html, joins arrays, and writes nothing for undefined, null and false', () => {
    const inner = html`<code>${'a&b'}</code>`;
    expect(inner).toBeInstanceOf(SafeHtml);
    expect(html`<p>${inner}${[html`<i>1</i>`, '<2>', 3]}${undefined}${null}${false}</p>`.toString()).toBe(
      '<p><code>a&amp;b</code><i>1</i>&lt;2&gt;3</p>',
    );
    expect(html`${true} ${0}`.toString()).toBe('true 0');
  });

  it('never lets a plain string through as markup, whatever it holds', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 4 }), (values) => {
        const out = html`<td>${values[0]}</td><td title="${values[1]}">${values}</td>`.toString();
        // The template's own four tags and one quoted attribute, and not one more.
        expect(out.match(/</g)).toHaveLength(4);
        expect(out.match(/>/g)).toHaveLength(4);
        expect(out.match(/"/g)).toHaveLength(2);
        expect(out).not.toContain("'");
      }),
    );
  });

  it('joinHtml escapes each value and puts the separator between', () => {
    expect(joinHtml(['<a>', html`<b>ok</b>`, 7], ', ').toString()).toBe('&lt;a&gt;, <b>ok</b>, 7');
    expect(joinHtml([], '\n').toString()).toBe('');
  });
});
