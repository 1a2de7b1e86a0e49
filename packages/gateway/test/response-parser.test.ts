import { describe, expect, it } from 'vitest';
import { ResponseParser, UpstreamProtocolError, type ResponseHead } from '../src/http1/response-parser.js';

/** Feeds `parts` (split anywhere) and records what the parser reported. */
function parse(parts: string[], headRequest = false, end = false) {
  const heads: ResponseHead[] = [];
  let body = '';
  let complete: boolean | null = null;
  const parser = new ResponseParser(
    {
      onHead: (h) => heads.push(h),
      onBody: (c) => (body += c.toString('latin1')),
      onComplete: (extra) => (complete = extra),
    },
    headRequest,
  );
  for (const p of parts) parser.push(Buffer.from(p, 'latin1'));
  if (end) parser.end();
  return { heads, body, complete: complete as boolean | null, parser };
}

/** Every way of cutting `text` in two. */
const splits = (text: string) => Array.from({ length: text.length + 1 }, (_, i) => [text.slice(0, i), text.slice(i)]);

describe('upstream response parser', () => {
  it('reads a Content-Length body however the bytes are split', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b c  \r\n\r\nhello';
    for (const parts of splits(text)) {
      const r = parse(parts);
      expect(r.heads[0]).toMatchObject({ statusCode: 200, statusMessage: 'OK', minorVersion: 1, rawHeaders: ['Content-Length', '5', 'X-A', 'b c'] });
      expect(r.body).toBe('hello');
      expect(r.complete).toBe(false);
    }
  });

  it('decodes chunked bodies and drops trailers', () => {
    const text = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n';
    for (const parts of splits(text)) {
      const r = parse(parts);
      expect(r.body).toBe('hello world');
      expect(r.complete).toBe(false);
    }
  });

  it('reads until close without a length, and knows the connection cannot be reused', () => {
    const r = parse(['HTTP/1.0 200 OK\r\n\r\nabc', 'def'], false, true);
    expect(r.body).toBe('abcdef');
    expect(r.complete).toBe(false);
    expect(r.heads[0]).toMatchObject({ connectionClose: true, closeDelimited: true });
  });

  it('has no body for HEAD, 204 and 304, and flags extra bytes', () => {
    expect(parse(['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'], true).complete).toBe(false);
    expect(parse(['HTTP/1.1 204 No Content\r\n\r\n']).complete).toBe(false);
    expect(parse(['HTTP/1.1 304 Not Modified\r\n\r\nX']).complete).toBe(true);
  });

  it('skips 1xx interim responses but stops at 101', () => {
    const r = parse(['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx']);
    expect(r.heads.map((h) => h.statusCode)).toEqual([200]);
    const u = parse(['HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi']);
    expect(u.heads.map((h) => h.statusCode)).toEqual([101]);
    expect(u.parser.upgradeLeftover.toString('latin1')).toBe('\x81\x02hi');
  });

  it('detects Connection: close and accepts bare LF line endings', () => {
    const r = parse(['HTTP/1.1 200 OK\nConnection: keep-alive, Close\nContent-Length: 0\n\n']);
    expect(r.heads[0]?.connectionClose).toBe(true);
    expect(r.complete).toBe(false);
  });

  it.each([
    ['garbage', 'FOO\r\n\r\n'],
    ['a bad header line', 'HTTP/1.1 200 OK\r\nno colon\r\n\r\n'],
    ['both lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['two lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n'],
    ['an unknown transfer coding', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n'],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    ['a too big head', `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(5000)}\r\n\r\n`],
  ])('rejects %s', (_name, text) => {
    expect(() => parse([text])).toThrow(UpstreamProtocolError);
  });

  it('reports a response cut short', () => {
    expect(() => parse(['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab'], false, true)).toThrow('prematurely closed');
    expect(() => parse(['HTTP/1.1 200'], false, true)).toThrow('while reading response header');
  });
});
