import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { RawConnection } from './differential/client.js';
import { cleanup, lines, onCleanup, pairs, startGateway, startUpstream } from './helpers.js';
import { WS_HANDSHAKE_HEADERS, WS_KEY, wsAccept } from './ws-keys.js';

/**
 * Only WebSocket is ever tunnelled: another Upgrade (h2c) is a plain request, a malformed
 * handshake is refused before anything is forwarded, and a 101 opens the tunnel only with the
 * Sec-WebSocket-Accept that answers the client's key. The same policy is infra/nginx.conf's.
 */

afterEach(cleanup);

const INFRA = fileURLToPath(new URL('../../../infra/nginx.conf', import.meta.url));

/** The seed recipe, which forwards any Upgrade the client sends: the gateway must still not tunnel it. */
const seedConfig = lines(
  'events {}',
  'http {',
  '  map $http_upgrade $connection_upgrade { default upgrade; \'\' close; }',
  '  server {',
  '    location / {',
  '      proxy_pass http://app:1;',
  '      proxy_http_version 1.1;',
  '      proxy_set_header Upgrade $http_upgrade;',
  '      proxy_set_header Connection $connection_upgrade;',
  '    }',
  '    location /ret { return 200 "answered"; }',
  '  }',
  '}',
);

/**
 * A raw upstream that switches protocols whenever asked (like an h2c- or WebSocket-capable
 * server), with `accept` deciding its Sec-WebSocket-Accept, and echoes afterwards; requests
 * without Upgrade get a plain 200. Records every request head.
 */
async function switchingUpstream(accept: (key: string) => string[] = (key) => [`Sec-WebSocket-Accept: ${wsAccept(key)}`]) {
  const heads: string[] = [];
  const sockets = new Set<Socket>();
  let closed = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => {
      closed++;
      sockets.delete(socket);
    });
    let buffered = '';
    const onData = (c: Buffer) => {
      buffered += c.toString('latin1');
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffered.slice(0, end + 4);
      heads.push(head);
      const upgrade = /^upgrade:\s*(\S+)/im.exec(head)?.[1];
      if (!upgrade) {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain');
        buffered = buffered.slice(end + 4);
        return;
      }
      socket.off('data', onData);
      const key = /^sec-websocket-key:\s*(\S+)/im.exec(head)?.[1] ?? '';
      socket.write(['HTTP/1.1 101 Switching Protocols', `Upgrade: ${upgrade}`, 'Connection: Upgrade', ...accept(key), '', ''].join('\r\n'));
      socket.pipe(socket);
    };
    socket.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { port: (server.address() as AddressInfo).port, heads, closed: () => closed };
}

async function open(port: number): Promise<RawConnection> {
  const conn = await RawConnection.open(port);
  onCleanup(() => conn.destroy());
  return conn;
}

const header = (r: { headers: [string, string][] }, name: string) => r.headers.find(([n]) => n.toLowerCase() === name)?.[1];

describe('upgrades other than WebSocket are plain requests', () => {
  it('forwards an h2c GET as a plain request under infra/nginx.conf: no Upgrade upstream, closed after the response', async () => {
    const up = await startUpstream((_req, res) => res.end('web'));
    const { port } = await startGateway(readFileSync(INFRA, 'utf8'), { 'chat-1:3000': up.port, 'chat-2:3000': up.port, 'chat-3:3000': up.port, 'web:3000': up.port });
    const conn = await open(port);
    conn.write('GET /page HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n');
    const r = await conn.readResponse();
    expect([r.status, r.body.toString(), header(r, 'connection')]).toEqual([200, 'web', 'close']);
    expect(await conn.waitClosed(5000)).not.toBeNull();
    const sent = pairs(up.requests[0]?.rawHeaders ?? []).map(([n]) => n.toLowerCase());
    expect(sent).not.toContain('upgrade');
    expect(sent).not.toContain('connection');
  });

  it('forwards the body of an h2c request, Content-Length or chunked', async () => {
    const up = await startUpstream((_req, res, body) => res.end(`body=${body}`));
    const { port } = await startGateway(seedConfig.replace('default upgrade;', "default '';"), { 'app:1': up.port });
    for (const framing of ['Content-Length: 5\r\n\r\nhello', 'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n']) {
      const conn = await open(port);
      conn.write(`POST /p HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n${framing}`);
      const r = await conn.readResponse();
      expect([r.status, r.body.toString()]).toEqual([200, 'body=hello']);
      expect(await conn.waitClosed(5000)).not.toBeNull();
    }
    expect(up.requests.map((q) => q.body)).toEqual(['hello', 'hello']);
  });

  it('answers only the h2c request when more are pipelined behind it, then closes', async () => {
    const up = await startUpstream();
    const { port } = await startGateway(seedConfig.replace('default upgrade;', "default '';"), { 'app:1': up.port });
    const conn = await open(port);
    conn.write('GET /a HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await conn.readResponse()).status).toBe(200);
    expect(await conn.waitClosed(5000)).not.toBeNull();
    expect(up.requests.map((q) => q.url)).toEqual(['/a']);
  });

  it('never tunnels h2c, even when the configuration forwards it and the upstream switches: 502', async () => {
    const up = await switchingUpstream();
    const { port } = await startGateway(seedConfig, { 'app:1': up.port });
    const conn = await open(port);
    conn.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n');
    const r = await conn.readResponse();
    expect([r.status, header(r, 'connection')]).toEqual([502, 'close']);
    expect(await conn.waitClosed(5000)).not.toBeNull();
    for (let i = 0; i < 100 && up.closed() === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(up.closed()).toBe(1);
  });
});

describe('WebSocket handshakes', () => {
  const handshake = (extra = '', method = 'GET') => `${method} /ws HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
  const upgrade = 'Upgrade: websocket\r\nConnection: Upgrade\r\n';

  it.each([
    ['without Sec-WebSocket-Key', handshake(`${upgrade}Sec-WebSocket-Version: 13\r\n`)],
    ['with a key that is not 16 bytes of base64', handshake(`${upgrade}Sec-WebSocket-Key: abc\r\nSec-WebSocket-Version: 13\r\n`)],
    ['without Sec-WebSocket-Version', handshake(`${upgrade}Sec-WebSocket-Key: ${WS_KEY}\r\n`)],
    ['with version 8', handshake(`${upgrade}Sec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 8\r\n`)],
    ['as a POST', handshake(WS_HANDSHAKE_HEADERS, 'POST')],
    ['with a body', handshake(`${WS_HANDSHAKE_HEADERS}Content-Length: 4\r\n`) + 'abcd'],
  ])('refuses a handshake %s with 400, forwarding nothing', async (_name, bytes) => {
    const up = await switchingUpstream();
    const { port } = await startGateway(seedConfig, { 'app:1': up.port });
    const conn = await open(port);
    conn.write(bytes);
    const r = await conn.readResponse();
    expect([r.status, header(r, 'connection')]).toEqual([400, 'close']);
    expect(await conn.waitClosed(5000)).not.toBeNull();
    expect(up.heads).toEqual([]);
  });

  it('lets a location answer a handshake it does not proxy', async () => {
    const { port } = await startGateway(seedConfig, { 'app:1': 1 });
    const conn = await open(port);
    conn.write(`GET /ret HTTP/1.1\r\nHost: x\r\n${upgrade}\r\n`);
    const r = await conn.readResponse();
    expect([r.status, r.body.toString()]).toEqual([200, 'answered']);
  });

  it.each([
    ['no Sec-WebSocket-Accept', () => []],
    ['a wrong Sec-WebSocket-Accept', () => ['Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=']],
    ['two Sec-WebSocket-Accept headers', (key: string) => [`Sec-WebSocket-Accept: ${wsAccept(key)}`, `Sec-WebSocket-Accept: ${wsAccept(key)}`]],
  ])('answers 502 and closes both sides when the 101 carries %s', async (_name, accept) => {
    const up = await switchingUpstream(accept);
    const { port } = await startGateway(seedConfig, { 'app:1': up.port });
    const conn = await open(port);
    // A key other than RFC 6455's example, whose accept value the "wrong" case uses.
    conn.write(handshake(WS_HANDSHAKE_HEADERS.replace(WS_KEY, 'AQIDBAUGBwgJCgsMDQ4PEA==')));
    const r = await conn.readResponse();
    expect([r.status, header(r, 'connection')]).toEqual([502, 'close']);
    expect(await conn.waitClosed(5000)).not.toBeNull();
    for (let i = 0; i < 100 && up.closed() === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(up.closed()).toBe(1);
  });

  it('tunnels once the 101 carries the matching accept, whatever the case of "websocket"', async () => {
    const up = await switchingUpstream();
    const { port } = await startGateway(seedConfig, { 'app:1': up.port });
    const conn = await open(port);
    conn.write(handshake(WS_HANDSHAKE_HEADERS.replace('Upgrade: websocket', 'Upgrade: WebSocket')));
    const r = await conn.readResponse();
    expect([r.status, header(r, 'sec-websocket-accept')]).toEqual([101, wsAccept(WS_KEY)]);
    conn.write('ping');
    expect((await conn.readBytes(4)).toString()).toBe('ping');
  });
});
