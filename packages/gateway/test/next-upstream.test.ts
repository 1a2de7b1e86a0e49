import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, closedPort, httpRequest, lines, startGateway, startUpstream } from './helpers.js';

afterEach(cleanup);

function poolConfig(servers: string[], locationExtra: string[] = []): string {
  return lines(
    'events {}',
    'http {',
    '  upstream pool {',
    ...servers.map((s) => `    server ${s};`),
    '  }',
    '  server {',
    '    listen 80;',
    '    location / {',
    '      proxy_pass http://pool;',
    '      proxy_set_header X-Up $upstream_addr;',
    ...locationExtra,
    '    }',
    '  }',
    '}',
  );
}

/** An upstream answering `status` with body `name`. */
const answering = (name: string, status = 200) =>
  startUpstream((_req, res) => {
    res.statusCode = status;
    res.end(name);
  });

describe('proxy_next_upstream', () => {
  it('passes an upstream 502 through by default, and retries it with http_502', async () => {
    const bad = await answering('bad', 502);
    const good = await answering('good');
    const map = { 'bad:1': bad.port, 'good:1': good.port };
    const plain = await startGateway(poolConfig(['bad:1', 'good:1']), map);
    const first = await httpRequest(plain.port, '/');
    expect([first.status, first.body]).toEqual([502, 'bad']);

    const retrying = await startGateway(poolConfig(['bad:1', 'good:1'], ['      proxy_next_upstream error timeout http_502;']), map);
    const res = await httpRequest(retrying.port, '/');
    expect([res.status, res.body]).toEqual([200, 'good']);
    // The failed server is now skipped for fail_timeout.
    expect((await httpRequest(retrying.port, '/')).body).toBe('good');
    expect(bad.requests).toHaveLength(2);
  });

  it('relays the last answer when every server gives a retryable status', async () => {
    const a = await answering('a', 503);
    const b = await answering('b', 503);
    const { port } = await startGateway(poolConfig(['a:1', 'b:1'], ['      proxy_next_upstream http_503;']), { 'a:1': a.port, 'b:1': b.port });
    const res = await httpRequest(port, '/');
    expect([res.status, res.body]).toEqual([503, 'b']);
  });

  it('does not retry a POST that was sent, unless non_idempotent', async () => {
    const bad = await answering('bad', 500);
    const good = await answering('good');
    const map = { 'bad:1': bad.port, 'good:1': good.port };
    const strict = await startGateway(poolConfig(['bad:1', 'good:1'], ['      proxy_next_upstream http_500;']), map);
    expect((await httpRequest(strict.port, '/', { method: 'POST' })).status).toBe(500);
    const lenient = await startGateway(poolConfig(['bad:1', 'good:1'], ['      proxy_next_upstream http_500 non_idempotent;']), map);
    expect((await httpRequest(lenient.port, '/', { method: 'POST' })).body).toBe('good');
  });

  it('retries a POST whose connection was refused (nothing was sent)', async () => {
    const good = await answering('good');
    const { port } = await startGateway(poolConfig(['dead:1', 'good:1']), { 'dead:1': await closedPort(), 'good:1': good.port });
    expect((await httpRequest(port, '/', { method: 'POST', body: '' })).body).toBe('good');
  });

  it('stops at proxy_next_upstream off and proxy_next_upstream_tries', async () => {
    const dead = await closedPort();
    const good = await answering('good');
    const map = { 'd1:1': dead, 'd2:1': dead, 'good:1': good.port };
    const off = await startGateway(poolConfig(['d1:1', 'good:1'], ['      proxy_next_upstream off;']), map);
    expect((await httpRequest(off.port, '/')).status).toBe(502);
    const tries = await startGateway(poolConfig(['d1:1', 'd2:1', 'good:1'], ['      proxy_next_upstream_tries 2;']), map);
    expect((await httpRequest(tries.port, '/')).status).toBe(502);
  });

  it('answers 504 after a read timeout and tries the next server', async () => {
    const slow = await startUpstream(() => {
      /* never answers */
    });
    const good = await answering('good');
    const map = { 'slow:1': slow.port, 'good:1': good.port };
    const { port } = await startGateway(poolConfig(['slow:1', 'good:1'], ['      proxy_read_timeout 200ms;']), map);
    const res = await httpRequest(port, '/');
    expect([res.status, res.body]).toEqual([200, 'good']);
    const only = await startGateway(poolConfig(['slow:1'], ['      proxy_read_timeout 200ms;']), map);
    expect((await httpRequest(only.port, '/')).status).toBe(504);
  });

  it('builds the request once: $upstream_addr is still empty in proxy_set_header, as in nginx', async () => {
    const dead = await closedPort();
    const good = await answering('good');
    const { port } = await startGateway(poolConfig(['dead:1', 'good:1']), { 'dead:1': dead, 'good:1': good.port });
    expect((await httpRequest(port, '/')).body).toBe('good');
    expect(good.requests[0]?.rawHeaders).not.toContain('X-Up');
  });
});

describe('upstream server parameters', () => {
  it('uses backup servers only when the primaries are unavailable, and never down ones', async () => {
    const a = await answering('a');
    const down = await answering('down');
    const backup = await answering('backup');
    const dead = await closedPort();
    const map = { 'a:1': a.port, 'down:1': down.port, 'backup:1': backup.port, 'dead:1': dead };
    const healthy = await startGateway(poolConfig(['a:1', 'down:1 down', 'backup:1 backup']), map);
    for (let i = 0; i < 4; i++) expect((await httpRequest(healthy.port, '/')).body).toBe('a');
    const failing = await startGateway(poolConfig(['dead:1 max_fails=1 fail_timeout=30s', 'down:1 down', 'backup:1 backup']), map);
    for (let i = 0; i < 3; i++) expect((await httpRequest(failing.port, '/')).body).toBe('backup');
    expect(down.requests).toHaveLength(0);
  });

  it('skips a server for fail_timeout after max_fails failures, then tries it again', async () => {
    let failing = true;
    const flaky = await startUpstream((_req, res) => {
      res.statusCode = failing ? 502 : 200;
      res.end('flaky');
    });
    const good = await answering('good');
    const { port } = await startGateway(
      poolConfig(['flaky:1 max_fails=2 fail_timeout=1s', 'good:1'], ['      proxy_next_upstream error http_502;']),
      { 'flaky:1': flaky.port, 'good:1': good.port },
    );
    for (let i = 0; i < 6; i++) expect((await httpRequest(port, '/')).body).toBe('good');
    expect(flaky.requests).toHaveLength(2);
    failing = false;
    await new Promise((r) => setTimeout(r, 2100));
    const bodies = [];
    for (let i = 0; i < 4; i++) bodies.push((await httpRequest(port, '/')).body);
    expect(bodies).toContain('flaky');
  });
});

