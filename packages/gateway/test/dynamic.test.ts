import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, closedPort, httpRequest, lines, onCleanup, startGateway, startUpstream } from './helpers.js';
import { WS_HANDSHAKE_HEADERS, wsSwitch } from './ws-keys.js';

afterEach(cleanup);

/** The chat's sticky routing: `$arg_sid` picks an instance's own upstream, else the pool. */
const sticky = (extra: string[] = []) =>
  lines(
    'events {}',
    'http {',
    '  map $arg_sid $chat_upstream {',
    '    default chat;',
    '    "~^chat-1\\." chat_1;',
    '    "~^chat-2\\." chat_2;',
    '    "~^ip-(?<port>\\d+)$" 127.0.0.1:$port;',
    '    "~^name$" somewhere.example;',
    '    "~^bad$" ftp://x;',
    '  }',
    '  upstream chat { server chat-1:3000; server chat-2:3000; }',
    '  upstream chat_1 { server chat-1:3000; }',
    '  upstream chat_2 { server chat-2:3000; }',
    '  server {',
    '    listen 80;',
    ...extra,
    '    location / {',
    '      proxy_pass http://$chat_upstream;',
    '      proxy_set_header X-Host $host;',
    '      proxy_set_header X-Proxy-Host $proxy_host;',
    '    }',
    '    location /fixed-uri/ { proxy_pass http://$chat_upstream/rewritten?q=1; }',
    '  }',
    '}',
  );

describe('proxy_pass with variables', () => {
  it('routes by the evaluated upstream name (sticky sessions)', async () => {
    const one = await startUpstream((_req, res) => res.end('1'));
    const two = await startUpstream((_req, res) => res.end('2'));
    const logs: string[] = [];
    const { port } = await startGateway(sticky(), { 'chat-1:3000': one.port, 'chat-2:3000': two.port }, {
      log: (_level, message) => logs.push(message),
    });
    for (let i = 0; i < 4; i++) expect((await httpRequest(port, '/socket.io/?sid=chat-2.abc&EIO=4')).body).toBe('2');
    for (let i = 0; i < 4; i++) expect((await httpRequest(port, '/socket.io/?sid=chat-1.abc')).body).toBe('1');
    // Without a sid the default group balances across both.
    const spread = [];
    for (let i = 0; i < 4; i++) spread.push((await httpRequest(port, '/socket.io/?EIO=4')).body);
    expect(spread.sort()).toEqual(['1', '1', '2', '2']);
    // The target is the client's, unchanged; $proxy_host is the evaluated host.
    const last = two.requests[3];
    expect(last?.url).toBe('/socket.io/?sid=chat-2.abc&EIO=4');
    expect(one.requests[0]?.rawHeaders).toContain('chat_1');
    expect(logs).toEqual([]);
  });

  it('connects to an IP address directly and answers 502 for a name that needs a resolver', async () => {
    const up = await startUpstream((req, res) => res.end(`direct ${req.headers['x-proxy-host']}`));
    const logs: string[] = [];
    const { port } = await startGateway(sticky(), { 'chat-1:3000': up.port, 'chat-2:3000': up.port }, {
      log: (_level, message) => logs.push(message),
    });
    expect((await httpRequest(port, `/?sid=ip-${up.port}`)).body).toBe(`direct 127.0.0.1:${up.port}`);
    const res = await httpRequest(port, '/?sid=name');
    expect(res.status).toBe(502);
    expect(logs.join('\n')).toContain('no resolver defined to resolve somewhere.example');
    expect((await httpRequest(port, '/?sid=bad')).status).toBe(500);
    expect(logs.join('\n')).toContain('invalid port in upstream "ftp://x"');
  });

  it('sends a URI part as is, replacing the request URI', async () => {
    const up = await startUpstream();
    const { port } = await startGateway(sticky(), { 'chat-1:3000': up.port, 'chat-2:3000': up.port });
    expect((await httpRequest(port, '/fixed-uri/x?sid=chat-1.a')).status).toBe(200);
    expect(up.requests.at(-1)?.url).toBe('/rewritten?q=1');
  });
});

describe('WebSocket through proxy_pass with variables', () => {
  it('tunnels an upgrade to the sticky instance and retries the handshake on the next server when one is dead', async () => {
    const echo = createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', (head: Buffer) => {
        socket.write(wsSwitch(head.toString('latin1')));
        socket.pipe(socket);
      });
    });
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    onCleanup(() => new Promise<void>((r) => echo.close(() => r())));
    const echoPort = (echo.address() as { port: number }).port;
    const dead = await closedPort();
    // chat-1 is dead: the pool's handshake must go to chat-2; the sticky chat-2 sid too.
    const { port } = await startGateway(sticky(['    proxy_http_version 1.1;']), { 'chat-1:3000': dead, 'chat-2:3000': echoPort });
    for (const target of ['/socket.io/?EIO=4&transport=websocket', '/socket.io/?sid=chat-2.x&transport=websocket']) {
      const socket = connect(port, '127.0.0.1');
      onCleanup(() => {
        socket.destroy();
      });
      socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n${WS_HANDSHAKE_HEADERS}\r\n`);
      let got = '';
      socket.on('data', (c: Buffer) => {
        got += c.toString('latin1');
        if (got.includes('\r\n\r\n') && !got.includes('ping')) socket.write('ping');
      });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no echo: ${JSON.stringify(got)}`)), 3000);
        socket.on('data', () => {
          if (got.endsWith('ping')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      expect(got.startsWith('HTTP/1.1 101 Switching Protocols\r\n')).toBe(true);
    }
  });
});
