import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RawConnection } from './differential/client.js';
import { cleanup, lines, onCleanup, startGateway } from './helpers.js';

/**
 * Requests that must never reach an upstream: ambiguous framing (request smuggling material),
 * malformed heads and bodies. Each is answered with nginx's status and the connection closed,
 * and a raw upstream records every byte it receives, so "never forwarded" is checked exactly.
 */

afterEach(cleanup);

interface RawUpstream {
  readonly port: number;
  /** Everything received, per connection. */
  readonly received: string[];
  /** Connections the upstream saw closed by the gateway. */
  closed: number;
}

/** An upstream that records raw bytes and answers each request head with a small 200. */
async function rawUpstream(): Promise<RawUpstream> {
  const up: { port: number; received: string[]; closed: number } = { port: 0, received: [], closed: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    const index = up.received.push('') - 1;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => {
      up.closed++;
      sockets.delete(socket);
    });
    socket.on('data', (c: Buffer) => {
      up.received[index] += c.toString('latin1');
      if ((up.received[index] as string).endsWith('0\r\n\r\n') || /Content-Length: 0\r\n\r\n$|^GET [^]*\r\n\r\n$/.test(up.received[index] as string)) {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  up.port = (server.address() as AddressInfo).port;
  return up;
}

async function setup() {
  const up = await rawUpstream();
  const { port } = await startGateway(
    lines('events {}', 'http {', '  server { location / { proxy_pass http://app:1; proxy_http_version 1.1; } }', '}'),
    { 'app:1': up.port },
  );
  return { port, up };
}

async function send(port: number, bytes: string): Promise<{ status: number | 'closed'; closed: boolean }> {
  const conn = await RawConnection.open(port);
  onCleanup(() => conn.destroy());
  conn.write(bytes);
  const r = await conn.readOutcome();
  const closed = (await conn.waitClosed(5000)) !== null;
  return { status: r === 'closed' ? 'closed' : r.status, closed };
}

const post = (headers: string, body = '') => `POST /x HTTP/1.1\r\nHost: x\r\n${headers}\r\n${body}`;

describe('hostile requests are refused before anything is forwarded', () => {
  it.each([
    ['Content-Length and Transfer-Encoding together', post('Content-Length: 3\r\nTransfer-Encoding: chunked\r\n', '3\r\nabc\r\n0\r\n\r\n'), 400],
    ['two equal Content-Lengths', post('Content-Length: 3\r\nContent-Length: 3\r\n', 'abc'), 400],
    ['two different Content-Lengths', post('Content-Length: 3\r\nContent-Length: 4\r\n', 'abcd'), 400],
    ['a Content-Length list', post('Content-Length: 3, 3\r\n', 'abc'), 400],
    ['a Content-Length with a letter', post('Content-Length: 3x\r\n', 'abc'), 400],
    ['a negative Content-Length', post('Content-Length: -3\r\n', 'abc'), 400],
    ['a signed Content-Length', post('Content-Length: +3\r\n', 'abc'), 400],
    ['an overflowing Content-Length', post('Content-Length: 99999999999999999999999\r\n', 'abc'), 400],
    ['a chunk size that is not hex', post('Transfer-Encoding: chunked\r\n', 'zz\r\nabc\r\n0\r\n\r\n'), 400],
    ['a chunk size with 0x', post('Transfer-Encoding: chunked\r\n', '0x3\r\nabc\r\n0\r\n\r\n'), 400],
    ['an overflowing chunk size', post('Transfer-Encoding: chunked\r\n', 'fffffffffffffffff1\r\nabc\r\n0\r\n\r\n'), 400],
    ['chunk data longer than its size', post('Transfer-Encoding: chunked\r\n', '3\r\nabcX\r\n0\r\n\r\n'), 400],
    ['Transfer-Encoding in HTTP/1.0', 'POST /x HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', 400],
    ['a Transfer-Encoding other than chunked', post('Transfer-Encoding: gzip\r\n', 'abc'), 501],
    ['chunked not last', post('Transfer-Encoding: chunked, gzip\r\n', '3\r\nabc\r\n0\r\n\r\n'), 501],
    ['chunked after another coding', post('Transfer-Encoding: identity, chunked\r\n', '3\r\nabc\r\n0\r\n\r\n'), 501],
    ['an unknown Transfer-Encoding next to Content-Length', post('Content-Length: 3\r\nTransfer-Encoding: xchunked\r\n', 'abc'), 501],
    ['a tab before chunked, next to Content-Length', post('Content-Length: 3\r\nTransfer-Encoding: \tchunked\r\n', 'abc'), 501],
    ['two Transfer-Encoding: chunked headers', post('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', '3\r\nabc\r\n0\r\n\r\n'), 400],
    ['TRACE', 'TRACE /x HTTP/1.1\r\nHost: x\r\n\r\n', 405],
    ['bare LF line ends', 'GET /x HTTP/1.1\nHost: x\n\n', 400],
    ['a bare CR in a header value', 'GET /x HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n', 400],
    ['a bare CR ending a line', 'GET /x HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n', 400],
    ['obs-fold', 'GET /x HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n', 400],
    ['a space before the colon', 'GET /x HTTP/1.1\r\nHost: x\r\nX-A : a\r\n\r\n', 400],
    ['a header name with "@"', 'GET /x HTTP/1.1\r\nHost: x\r\nX@A: a\r\n\r\n', 400],
    ['a header name with a control character', 'GET /x HTTP/1.1\r\nHost: x\r\nX\x01A: a\r\n\r\n', 400],
    ['an empty header name', 'GET /x HTTP/1.1\r\nHost: x\r\n: a\r\n\r\n', 400],
    ['a header line without colon', 'GET /x HTTP/1.1\r\nHost: x\r\nX-A a\r\n\r\n', 400],
    ['NUL in a header value', 'GET /x HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n', 400],
    ['NUL in a header name', 'GET /x HTTP/1.1\r\nHost: x\r\nX\x00A: a\r\n\r\n', 400],
    ['NUL in the target', 'GET /x\x00y HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['DEL in a header value', 'GET /x HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n', 400],
    ['HTTP/2.0 in the request line', 'GET /x HTTP/2.0\r\nHost: x\r\n\r\n', 505],
    ['HTTP/3.0 in the request line', 'GET /x HTTP/3.0\r\nHost: x\r\n\r\n', 505],
    ['HTTP/1.2 in the request line', 'GET /x HTTP/1.2\r\nHost: x\r\n\r\n', 400],
  ])('%s', async (_name, bytes, status) => {
    const { port, up } = await setup();
    expect(await send(port, bytes)).toEqual({ status, closed: true });
    expect(up.received.join('')).toBe('');
  });

  it('answers a bad request pipelined behind a good one after the good one, then closes', async () => {
    const { port, up } = await setup();
    const conn = await RawConnection.open(port);
    onCleanup(() => conn.destroy());
    conn.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n' + post('Content-Length: 1\r\nContent-Length: 2\r\n', 'ab'));
    expect((await conn.readResponse()).status).toBe(200);
    expect((await conn.readResponse()).status).toBe(400);
    expect(await conn.waitClosed(5000)).not.toBeNull();
    expect(up.received.join('')).toMatch(/^GET \/first HTTP\/1\.1\r\n[^]*\r\n\r\n$/);
  });

  it('cuts both sides when a body turns bad after part of it was streamed; that upstream connection is not reused', async () => {
    const { port, up } = await setup();
    const conn = await RawConnection.open(port);
    onCleanup(() => conn.destroy());
    conn.write(post('Transfer-Encoding: chunked\r\n', '3\r\nabc\r\n'));
    for (let i = 0; i < 100 && !up.received[0]?.includes('abc'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(up.received[0]).toContain('3\r\nabc\r\n');
    conn.write('zz\r\n');
    const r = await conn.readOutcome();
    expect(r === 'closed' ? r : r.status).toBe(400);
    expect(await conn.waitClosed(5000)).not.toBeNull();
    for (let i = 0; i < 100 && up.closed === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(up.closed).toBe(1);
    expect(up.received[0]).not.toContain('zz');
  });
});
