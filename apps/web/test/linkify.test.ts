import { describe, expect, it } from 'vitest';
import { linkify, safeHref } from '../lib/linkify';

describe('linkify', () => {
  it('leaves text without links as one text part, markup included', () => {
    expect(linkify('<b>bold</b> <img src=x onerror=alert(1)>')).toEqual([{ kind: 'text', text: '<b>bold</b> <img src=x onerror=alert(1)>' }]);
  });

  it('splits out http and https links, the link text being the URL itself', () => {
    expect(linkify('see https://example.com/a?b=1&c=2 and http://x.org')).toEqual([
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://example.com/a?b=1&c=2', href: 'https://example.com/a?b=1&c=2' },
      { kind: 'text', text: ' and ' },
      { kind: 'link', text: 'http://x.org', href: 'http://x.org/' },
    ]);
  });

  it('keeps trailing punctuation and unbalanced brackets out of the link', () => {
    expect(linkify('(see https://en.wikipedia.org/wiki/Foo_(bar)).')).toEqual([
      { kind: 'text', text: '(see ' },
      { kind: 'link', text: 'https://en.wikipedia.org/wiki/Foo_(bar)', href: 'https://en.wikipedia.org/wiki/Foo_(bar)' },
      { kind: 'text', text: ').' },
    ]);
    expect(linkify('go to https://a.io, now!').map((part) => part.text)).toEqual(['go to ', 'https://a.io', ', now!']);
  });

  it('never links other schemes', () => {
    for (const text of ['javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'JaVaScRiPt:alert(1)', 'ftp://x.org', 'https://']) {
      expect(linkify(text).every((part) => part.kind === 'text')).toBe(true);
    }
  });

  it('does not start a link inside a word, nor let quotes or angle brackets into it', () => {
    expect(linkify('xhttps://evil.com').every((part) => part.kind === 'text')).toBe(true);
    expect(linkify('"https://a.io/x"<b>')).toEqual([
      { kind: 'text', text: '"' },
      { kind: 'link', text: 'https://a.io/x', href: 'https://a.io/x' },
      { kind: 'text', text: '"<b>' },
    ]);
  });

  it('keeps every character: the parts join back into the text', () => {
    const text = 'a https://a.io/(x) b http://b.io. c https://c.io?q=(1)]';
    expect(linkify(text).map((part) => part.text).join('')).toBe(text);
  });
});

describe('safeHref', () => {
  it('accepts only http and https', () => {
    expect(safeHref('HTTPS://Example.com/path')).toBe('https://example.com/path');
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref('not a url')).toBeNull();
  });
});
