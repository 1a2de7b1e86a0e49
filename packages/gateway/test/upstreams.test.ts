import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, closedPort, onCleanup, httpRequest, infraLikeConfig, lines, startGateway, startUpstream } from './helpers.js';

afterEach(cleanup);

/** An `upstream pool` of the given `server` lines behind `location /`, plus `extra` location lines. */
function poolConfig(servers: string[], upstreamExtra: string[] = [], locationExtra: string[] = []): string {
  return lines(
    'events {}',
    'http {',
    '  upstream pool {',
    ...servers.map((s) => `    server ${s};`),
    ...upstreamExtra,
    '  }',
    '  server {',
    '    listen 80;',
    '    location / {',
    '      proxy_pass http://pool;',
    '      proxy_http_version 1.1;',
    ...locationExtra,
    '    }',
    '  }',
    '}',
  );
}

async function named(n: number) {
  return Promise.all(Array.from({ length: n }, (_, i) => startUpstream((_req, res) => res.end(String(i + 1)))));
}

async function bodies(port: number, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await httpRequest(port, `/r${i}`)).body);
  return out;
}

describe('load balancing', () => {
  it('round-robins over three servers in order', async () => {
    const [a, b, c] = await named(3);
    const { port } = await startGateway(poolConfig(['s1:3000', 's2:3000', 's3:3000']), {
      's1:3000': a?.port ?? 0,
      's2:3000': b?.port ?? 0,
      's3:3000': c?.port ?? 0,
    });
    expect(await bodies(port, 7)).toEqual(['1', '2', '3', '1', '2', '3', '1']);
  });

  it('honours weights with smooth weighted round robin', async () => {
    const [a, b, c] = await named(3);
    const { port } = await startGateway(poolConfig(['s1:3000 weight=2', 's2:3000', 's3:3000']), {
      's1:3000': a?.port ?? 0,
      's2:3000': b?.port ?? 0,
      's3:3000': c?.port ?? 0,
    });
    expect(await bodies(port, 8)).toEqual(['1', '2', '3', '1', '1', '2', '3', '1']);
  });

  it('tries the next server when one refuses connections, and then avoids it', async () => {
    const [a, b] = await named(2);
    const dead = await closedPort();
    const { port } = await startGateway(poolConfig(['s1:3000', 'dead:3000', 's2:3000']), {
      's1:3000': a?.port ?? 0,
      'dead:3000': dead,
      's2:3000': b?.port ?? 0,
    });
    // nginx's order: the failed server is skipped for 10 s and its turn goes to the next one.
    expect(await bodies(port, 6)).toEqual(['1', '2', '2', '1', '2', '1']);
  });
});

describe('upstream keepalive', () => {
  it('reuses one upstream connection for sequential requests when Connection is mapped to ""', async () => {
    const up = await startUpstream();
    const { port } = await startGateway(infraLikeConfig(), { 'app:3000': up.port });
    for (let i = 0; i < 20; i++) expect((await httpRequest(port, `/k${i}`)).status).toBe(200);
    expect(up.requests).toHaveLength(20);
    expect(up.connections()).toBe(1);
    expect(new Set(up.requests.map((r) => r.remotePort)).size).toBe(1);
  });

  it('opens a connection per request when the request says Connection: close', async () => {
    const up = await startUpstream();
    const { port } = await startGateway(poolConfig(['app:3000'], ['    keepalive 8;'], ['      proxy_set_header Connection close;']), {
      'app:3000': up.port,
    });
    for (let i = 0; i < 20; i++) await httpRequest(port, '/');
    expect(up.connections()).toBe(20);
  });

  it('does not keep connections without a keepalive directive, or after HTTP/1.0, or after Connection: close', async () => {
    const up = await startUpstream((req, res) => {
      if (req.url === '/close') res.setHeader('Connection', 'close');
      res.end('x');
    });
    const noPool = await startGateway(poolConfig(['app:3000'], [], ['      proxy_set_header Connection "";']), { 'app:3000': up.port });
    for (let i = 0; i < 3; i++) await httpRequest(noPool.port, '/');
    expect(up.connections()).toBe(3);

    const v10 = await startGateway(
      lines('events {}', 'http { upstream u { server app:3000; keepalive 4; } server { listen 80; location / { proxy_pass http://u; proxy_set_header Connection ""; } } }'),
      { 'app:3000': up.port },
    );
    for (let i = 0; i < 3; i++) await httpRequest(v10.port, '/');
    expect(up.connections()).toBe(6);

    const closing = await startGateway(poolConfig(['app:3000'], ['    keepalive 8;'], ['      proxy_set_header Connection "";']), {
      'app:3000': up.port,
    });
    for (let i = 0; i < 3; i++) await httpRequest(closing.port, '/close');
    expect(up.connections()).toBe(9);
  });

  it('replaces a pooled connection that the upstream closed while idle', async () => {
    const up = await startUpstream();
    const { port } = await startGateway(infraLikeConfig(), { 'app:3000': up.port });
    expect((await httpRequest(port, '/1')).status).toBe(200);
    up.dropConnections();
    await new Promise((r) => setTimeout(r, 100));
    expect((await httpRequest(port, '/2')).status).toBe(200);
    expect(up.connections()).toBe(2);
  });

  it('retries a request whose pooled connection turns out to be dead, without counting a try', async () => {
    // An upstream that drops a connection when a second request arrives on it: the race of an
    // upstream closing an idle keepalive connection just as the gateway reuses it.
    let connections = 0;
    const server = createNetServer((socket) => {
      connections++;
      let served = 0;
      socket.on('data', () => {
        if (served++ === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else socket.destroy();
      });
      socket.on('error', () => {});
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    onCleanup(() => new Promise<void>((r) => server.close(() => r())));
    const { port } = await startGateway(infraLikeConfig(), { 'app:3000': (server.address() as AddressInfo).port });
    for (let i = 0; i < 3; i++) expect((await httpRequest(port, '/')).body).toBe('ok');
    expect(connections).toBe(3);
  });
});

describe('upstream failures', () => {
  it('answers 502 Bad Gateway when the upstream refuses the connection', async () => {
    const { port } = await startGateway(infraLikeConfig(), { 'app:3000': await closedPort() });
    const res = await httpRequest(port, '/');
    expect(res.status).toBe(502);
    expect(res.body).toBe(
      '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>chat-gateway</center>\r\n</body>\r\n</html>\r\n',
    );
    expect(res.headers['content-type']).toBe('text/html');
    expect(res.headers.server).toBe('chat-gateway');
  });

  it('answers 504 Gateway Time-out when the upstream never answers within proxy_read_timeout', async () => {
    const up = await startUpstream(() => {
      /* never respond */
    });
    const { port } = await startGateway(infraLikeConfig('      proxy_read_timeout 300ms;'), { 'app:3000': up.port });
    const started = Date.now();
    const res = await httpRequest(port, '/');
    expect(res.status).toBe(504);
    expect(res.body).toContain('504 Gateway Time-out');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('answers 502 when the upstream sends garbage or closes before answering', async () => {
    const up = await startUpstream((req, res) => {
      if (req.url === '/garbage') res.socket?.end('NOT HTTP\r\n\r\n');
      else res.socket?.destroy();
    });
    const { port } = await startGateway(infraLikeConfig(), { 'app:3000': up.port });
    expect((await httpRequest(port, '/garbage')).status).toBe(502);
    expect((await httpRequest(port, '/drop')).status).toBe(502);
  });
});

describe('upstream keepalive limits', () => {
  it('closes a cached connection after keepalive_requests and after keepalive_timeout', async () => {
    const up = await startUpstream();
    const { port } = await startGateway(
      poolConfig(['app:3000'], ['    keepalive 4;', '    keepalive_requests 3;', '    keepalive_timeout 150ms;'], ['      proxy_set_header Connection "";']),
      { 'app:3000': up.port },
    );
    for (let i = 0; i < 6; i++) await httpRequest(port, `/r${i}`);
    expect(up.connections()).toBe(2);
    await new Promise((r) => setTimeout(r, 300));
    await httpRequest(port, '/later');
    expect(up.connections()).toBe(3);
  });
});
