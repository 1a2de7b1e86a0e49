import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/index.js';
import type { LogLevel } from '../src/runtime.js';
import { RawConnection } from './differential/client.js';
import { cleanup, FILE, httpRequest, lines, onCleanup, startGateway, startUpstream, type Upstream, configErrorOf } from './helpers.js';

/**
 * client_header_timeout, client_header_buffer_size, large_client_header_buffers,
 * client_max_body_size, client_body_timeout, send_timeout and keepalive_timeout: how they
 * compile (nginx's syntax, defaults, inheritance, messages) and what they do to real clients.
 * Timeouts are short; every time bound is a generous liveness bound.
 */

afterEach(cleanup);
const dir = mkdtempSync(join(tmpdir(), 'gateway-client-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const http = (...body: string[]) => lines('events {}', 'http {', ...body, '}');

const errorOf = (text: string): string => configErrorOf(text).message;

describe('client limits: configuration', () => {
  it("has nginx's defaults", () => {
    const config = parseConfigText(http('  server { location / { proxy_pass http://a:1; } }'), FILE);
    const server = config.servers[0];
    expect(server?.client).toEqual({
      maxBodySize: 1024 * 1024,
      bodyTimeoutMs: 60_000,
      sendTimeoutMs: 60_000,
      keepaliveTimeoutMs: 75_000,
      headerTimeoutMs: 60_000,
      headerBufferSize: 1024,
      largeBuffers: { count: 4, size: 8192 },
      maxHeaders: 1000,
    });
    expect(server?.locations[0]?.proxy?.client).toEqual({ maxBodySize: 1024 * 1024, bodyTimeoutMs: 60_000, sendTimeoutMs: 60_000, keepaliveTimeoutMs: 75_000 });
  });

  it('inherits each setting on its own, innermost level first', () => {
    const config = parseConfigText(
      http(
        '  client_max_body_size 2m; client_body_timeout 5s; client_header_timeout 7s; large_client_header_buffers 2 1k;',
        '  server {',
        '    client_max_body_size 1k; keepalive_timeout 0; client_header_buffer_size 2k;',
        '    location / { proxy_pass http://a:1; }',
        '    location /up/ { client_max_body_size 0; send_timeout 500ms; keepalive_timeout 1m; proxy_pass http://a:1; }',
        '  }',
      ),
      FILE,
    );
    const server = config.servers[0];
    expect(server?.client).toMatchObject({ maxBodySize: 1024, bodyTimeoutMs: 5000, keepaliveTimeoutMs: 0, headerTimeoutMs: 7000, headerBufferSize: 2048, largeBuffers: { count: 2, size: 1024 } });
    expect(server?.locations[0]?.proxy?.client).toEqual({ maxBodySize: 1024, bodyTimeoutMs: 5000, sendTimeoutMs: 60_000, keepaliveTimeoutMs: 0 });
    expect(server?.locations[1]?.proxy?.client).toEqual({ maxBodySize: 0, bodyTimeoutMs: 5000, sendTimeoutMs: 500, keepaliveTimeoutMs: 60_000 });
  });

  it('reads sizes as nginx does: k, m, g for client_max_body_size up to 2^63-1; k, m for buffers', () => {
    const size = (value: string) => parseConfigText(http(`  client_max_body_size ${value};`, '  server {}'), FILE).servers[0]?.client.maxBodySize;
    expect([size('10'), size('1K'), size('3m'), size('1g')]).toEqual([10, 1024, 3 * 1024 * 1024, 1024 ** 3]);
    expect(size('9223372036854775807')).toBeGreaterThan(Number.MAX_SAFE_INTEGER);
    const server = parseConfigText(http('  large_client_header_buffers 8 16k;', '  server { max_headers 0; }'), FILE).servers[0];
    expect([server?.client.largeBuffers, server?.client.maxHeaders]).toEqual([{ count: 8, size: 16 * 1024 }, 0]);
  });

  it("keeps keepalive_timeout's upstream meaning inside upstream blocks", () => {
    const config = parseConfigText(http('  keepalive_timeout 10s;', '  upstream u { server a:1; keepalive 2; keepalive_timeout 5s; }', '  server {}'), FILE);
    expect(config.upstreams[0]?.keepaliveTimeoutMs).toBe(5000);
    expect(config.servers[0]?.client.keepaliveTimeoutMs).toBe(10_000);
  });

  const F = FILE;
  it.each([
    ['an invalid body size', http('  client_max_body_size 10x;'), `"client_max_body_size" directive invalid value in ${F}:3`],
    ['a body size past 2^63-1', http('  client_max_body_size 9223372036854775808;'), `"client_max_body_size" directive invalid value in ${F}:3`],
    ['a body size of "k"', http('  client_max_body_size k;'), `"client_max_body_size" directive invalid value in ${F}:3`],
    ['a duplicate body size', http('  client_max_body_size 1m;', '  client_max_body_size 2m;'), `"client_max_body_size" directive is duplicate in ${F}:4`],
    ['no buffers', http('  large_client_header_buffers 0 8k;'), `"large_client_header_buffers" directive invalid value in ${F}:3`],
    ['empty buffers', http('  large_client_header_buffers 4 0;'), `"large_client_header_buffers" directive invalid value in ${F}:3`],
    ['buffers in g', http('  large_client_header_buffers 4 1g;'), `"large_client_header_buffers" directive invalid value in ${F}:3`],
    ['one buffer argument', http('  large_client_header_buffers 4;'), `invalid number of arguments in "large_client_header_buffers" directive in ${F}:3`],
    ['a buffer size in g', http('  client_header_buffer_size 1g;'), `"client_header_buffer_size" directive invalid value in ${F}:3`],
    ['an invalid time', http('  client_header_timeout 1x;'), `"client_header_timeout" directive invalid value in ${F}:3`],
    ['a duplicate time', http('  send_timeout 1s;', '  send_timeout 2s;'), `"send_timeout" directive is duplicate in ${F}:4`],
    ['an invalid body timeout', http('  server { location / { client_body_timeout 1y; } }'), `"client_body_timeout" directive invalid value in ${F}:3`],
    ['client_header_timeout in a location', http('  server { location / { client_header_timeout 1s; } }'), `"client_header_timeout" directive is not allowed here in ${F}:3`],
    ['header buffers in a location', http('  server { location / { large_client_header_buffers 4 8k; } }'), `"large_client_header_buffers" directive is not allowed here in ${F}:3`],
    ['an invalid keepalive header timeout', http('  keepalive_timeout 10s 5ms;'), `"keepalive_timeout" directive invalid value in ${F}:3`],
    ['an invalid max_headers', http('  max_headers x;'), `"max_headers" directive invalid number in ${F}:3`],
    ['max_headers in a location', http('  server { location / { max_headers 10; } }'), `"max_headers" directive is not allowed here in ${F}:3`],
    ['keepalive header_timeout', http('  keepalive_timeout 10s 5s;'), `the "header_timeout" parameter of "keepalive_timeout" is not supported by chat-gateway yet in ${F}:3`],
    ['three keepalive arguments', http('  keepalive_timeout 1 2 3;'), `invalid number of arguments in "keepalive_timeout" directive in ${F}:3`],
  ])('reports %s', (_name, text, message) => {
    expect(errorOf(text)).toBe(message);
  });
});

/** A gateway with `directives` at http level in front of one recording upstream, as `app`. */
async function gatewayWith(directives: string, locations = '', options: { log?: (level: LogLevel, message: string) => void } = {}) {
  const up = await startUpstream((req, res, body) => res.end(`got ${req.method} ${req.url} ${body.length}`));
  const { port, gateway } = await startGateway(
    http(directives, '  server {', `    location / { proxy_pass http://app:1; }`, locations, '  }'),
    { 'app:1': up.port },
    options,
  );
  return { port, gateway, up };
}

async function open(port: number): Promise<RawConnection> {
  const conn = await RawConnection.open(port);
  onCleanup(() => conn.destroy());
  return conn;
}

/** The file's text once it has some (access log lines are written when the request's connection closes). */
async function fileText(path: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const text = existsSync(path) ? readFileSync(path, 'latin1') : '';
    if (text) return text;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${path} stayed empty`);
}

const get = (target: string, extra = '') => `GET ${target} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
const header = (r: { headers: [string, string][] }, name: string) => r.headers.find(([n]) => n.toLowerCase() === name)?.[1];
const x = (n: number) => 'x'.repeat(n);

describe('client limits: request heads', () => {
  it('answers 414 to a request line longer than a large buffer, and forwards one that fits', async () => {
    const { port, up } = await gatewayWith('  large_client_header_buffers 2 1k;');
    // "GET /xxx HTTP/1.1" plus CRLF: 1024 bytes fit a 1k buffer, 1025 do not.
    const ok = await open(port);
    ok.write(get(`/${x(1008)}`));
    expect((await ok.readResponse()).status).toBe(200);
    const tooLong = await open(port);
    tooLong.write(get(`/${x(1009)}`));
    const refused = await tooLong.readResponse();
    expect([refused.status, refused.reason, header(refused, 'connection')]).toEqual([414, 'Request-URI Too Large', 'close']);
    expect(refused.body.toString()).toContain('<title>414 Request-URI Too Large</title>');
    expect(await tooLong.waitClosed(5000)).not.toBeNull();
    expect(up.requests.map((r) => r.url.length)).toEqual([1009]);
  });

  it('answers 400 "Request Header Or Cookie Too Large" to a header line longer than a large buffer', async () => {
    const { port, up } = await gatewayWith('  large_client_header_buffers 2 1k;');
    const ok = await open(port);
    // "X-A: " + value + CRLF: 1024 bytes fit, 1025 do not.
    ok.write(get('/', `X-A: ${x(1017)}\r\n`));
    expect((await ok.readResponse()).status).toBe(200);
    const tooLong = await open(port);
    tooLong.write(get('/', `X-A: ${x(1018)}\r\n`));
    const refused = await tooLong.readResponse();
    expect([refused.status, refused.reason, header(refused, 'connection')]).toEqual([400, 'Bad Request', 'close']);
    expect(refused.body.toString()).toBe(
      '<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n<body>\r\n' +
        '<center><h1>400 Bad Request</h1></center>\r\n<center>Request Header Or Cookie Too Large</center>\r\n' +
        '<hr><center>chat-gateway</center>\r\n</body>\r\n</html>\r\n',
    );
    expect(await tooLong.waitClosed(5000)).not.toBeNull();
    expect(up.requests).toHaveLength(1);
  });

  it('counts the buffers a head needs, the first one being client_header_buffer_size', async () => {
    const headers = (n: number) => Array.from({ length: n }, (_, i) => `X-${i}: ${x(594)}\r\n`).join('');
    const small = await gatewayWith('  large_client_header_buffers 2 1k;');
    const status = async (port: number, n: number) => {
      const conn = await open(port);
      conn.write(get('/', headers(n)));
      return (await conn.readResponse()).status;
    };
    // 600-byte lines: one fits beside the request line in the first 1k buffer, one per large buffer.
    expect([await status(small.port, 3), await status(small.port, 4)]).toEqual([200, 400]);
    const big = await gatewayWith('  client_header_buffer_size 4k; large_client_header_buffers 2 1k;');
    expect(await status(big.port, 6)).toBe(200);
  });

  it('refuses more header lines than max_headers (1000 by default) with 400', async () => {
    const { port, up } = await gatewayWith('');
    const status = async (n: number) => {
      const conn = await open(port);
      conn.write(get('/', 'A: b\r\n'.repeat(n)));
      const r = await conn.readResponse();
      return [r.status, r.body.toString().includes('Request Header Or Cookie Too Large')];
    };
    // Host is one of them.
    expect(await status(999)).toEqual([200, false]);
    expect(await status(1000)).toEqual([400, true]);
    expect(up.requests).toHaveLength(1);
  });

  it('forwards thousands of small headers where max_headers allows them', async () => {
    // A raw upstream: Node's own server would keep only about a thousand of them.
    let head = '';
    const up = createServer((socket: Socket) => {
      socket.on('data', (c: Buffer) => {
        head += c.toString('latin1');
        if (head.endsWith('\r\n\r\n')) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
      });
    });
    up.listen(0, '127.0.0.1');
    await once(up, 'listening');
    onCleanup(() => new Promise<void>((r) => up.close(() => r())));
    const { port } = await startGateway(http('  max_headers 5000;', '  server { location / { proxy_pass http://app:1; } }'), { 'app:1': (up.address() as AddressInfo).port });
    const many = Array.from({ length: 3000 }, (_, i) => `X-${i}: v\r\n`).join('');
    const conn = await open(port);
    conn.write(get('/', many));
    expect((await conn.readResponse()).status).toBe(200);
    expect(head.split('\r\n').filter((l) => l.startsWith('X-'))).toHaveLength(3000);
  });

  it('refuses a head past every buffer at once (414 in the request line, 400 after it)', async () => {
    const { port, up } = await gatewayWith('  large_client_header_buffers 2 1k;');
    const line = await open(port);
    line.write(get(`/${x(8000)}`));
    expect((await line.readResponse()).status).toBe(414);
    const head = await open(port);
    head.write(get('/', `X-A: ${x(8000)}\r\n`));
    const r = await head.readResponse();
    expect([r.status, r.body.toString().includes('Request Header Or Cookie Too Large')]).toEqual([400, true]);
    expect(up.requests).toHaveLength(0);
  });

  it('omits the page for HEAD, and refuses WebSocket handshakes the same way', async () => {
    const { port } = await gatewayWith('  large_client_header_buffers 1 1k;');
    const head = await open(port);
    head.write(`HEAD /${x(1100)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const r = await head.readResponse({ head: true });
    expect([r.status, r.body.length, Number(header(r, 'content-length')) > 0]).toEqual([414, 0, true]);
    const ws = await open(port);
    ws.write(get(`/${x(1100)}`, 'Upgrade: websocket\r\nConnection: Upgrade\r\n'));
    expect((await ws.readResponse()).status).toBe(414);
    expect(await ws.waitClosed(5000)).not.toBeNull();
  });

  it('uses the head limits of the default server of each address, and of the new configuration after a reload', async () => {
    const up = await startUpstream();
    const config = (size: string) =>
      http(`  large_client_header_buffers 1 ${size};`, '  server { location / { proxy_pass http://app:1; } }');
    const { port, gateway } = await startGateway(config('1k'), { 'app:1': up.port });
    const status = async () => {
      const conn = await open(port);
      conn.write(get('/', `X-A: ${x(1500)}\r\n`));
      return (await conn.readResponse()).status;
    };
    expect(await status()).toBe(400);
    await gateway.reload(parseConfigText(config('4k'), FILE));
    expect(await status()).toBe(200);
  });

  it('closes a connection whose head does not arrive within client_header_timeout, without a response', async () => {
    const { port, up } = await gatewayWith('  client_header_timeout 300ms;');
    const silent = await open(port);
    const partial = await open(port);
    partial.write('GET / HTTP/1.1\r\nHost: x\r\n');
    expect(await silent.waitClosed(5000)).not.toBeNull();
    expect(await partial.waitClosed(5000)).not.toBeNull();
    expect([silent.takeBuffered().length, partial.takeBuffered().length]).toEqual([0, 0]);
    expect(up.requests).toHaveLength(0);
  });
});

describe('client limits: request bodies', () => {
  it('answers 413 to a Content-Length over client_max_body_size, and to a chunked body growing past it', async () => {
    const { port, up } = await gatewayWith('  client_max_body_size 10;');
    const declared = await open(port);
    declared.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n');
    const r = await declared.readResponse();
    expect([r.status, header(r, 'connection')]).toEqual([413, 'close']);
    const chunked = await open(port);
    chunked.write('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n6\r\n012345\r\n0\r\n\r\n');
    expect((await chunked.readResponse()).status).toBe(413);
    const fits = await open(port);
    fits.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789');
    expect((await fits.readResponse()).body.toString()).toBe('got POST / 10');
    expect(up.requests.map((q) => q.body)).toEqual(['0123456789']);
  });

  it('takes any body where client_max_body_size is 0', async () => {
    const { port } = await gatewayWith('  client_max_body_size 10;', '    location /any/ { client_max_body_size 0; proxy_pass http://app:1; }');
    const body = x(2 * 1024 * 1024);
    const res = await httpRequest(port, '/any/', { method: 'POST', body });
    expect([res.status, res.body]).toEqual([200, `got POST /any/ ${body.length}`]);
  });

  it('ends a request whose body stops for client_body_timeout: no response, the connection closed, 408 logged', async () => {
    const log = join(dir, 'body-timeout.log');
    const messages: string[] = [];
    const { port } = await gatewayWith(`  client_body_timeout 300ms; log_format s '$status'; access_log ${log} s;`, '', {
      log: (level, message) => messages.push(`${level} ${message}`),
    });
    const conn = await open(port);
    conn.write('POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234');
    expect(await conn.waitClosed(5000)).not.toBeNull();
    expect(conn.takeBuffered().length).toBe(0);
    expect(messages.some((m) => m.startsWith('info client timed out while reading client request body'))).toBe(true);
    expect(await fileText(log)).toBe('408\n');
  });

  it('keeps a body that arrives slowly but steadily', async () => {
    const { port } = await gatewayWith('  client_body_timeout 400ms;');
    const conn = await open(port);
    conn.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n');
    for (const piece of ['ab', 'cd', 'ef']) {
      await new Promise((r) => setTimeout(r, 150));
      conn.write(piece);
    }
    expect((await conn.readResponse()).body.toString()).toBe('got POST / 6');
  });

  it('does not count time in which the upstream is not taking the body', async () => {
    // An upstream that reads nothing of the body for a while: the gateway stops reading too.
    const up = await startUpstream((_req, res, body) => res.end(`len ${body.length}`));
    up.server.on('request', (req) => {
      req.pause();
      setTimeout(() => req.resume(), 800);
    });
    const { port } = await startGateway(http('  client_body_timeout 300ms; client_max_body_size 0;', '  server { location / { proxy_pass http://app:1; } }'), {
      'app:1': up.port,
    });
    const body = x(32 * 1024 * 1024);
    const res = await httpRequest(port, '/', { method: 'POST', body });
    expect(res.body).toBe(`len ${body.length}`);
  });
});

describe('client limits: keep-alive and sending', () => {
  it('closes an idle connection after keepalive_timeout, and keeps it until then', async () => {
    const { port } = await gatewayWith('  keepalive_timeout 400ms;');
    const conn = await open(port);
    conn.write(get('/a'));
    expect(header(await conn.readResponse(), 'connection')).toBe('keep-alive');
    conn.write(get('/b'));
    expect((await conn.readResponse()).body.toString()).toBe('got GET /b 0');
    expect(await conn.waitClosed(5000)).not.toBeNull();
  });

  it("uses the answering location's keepalive_timeout; 0 closes after the response", async () => {
    const { port } = await gatewayWith(
      '',
      '    location /short/ { keepalive_timeout 300ms; proxy_pass http://app:1; }\n    location /none/ { keepalive_timeout 0; proxy_pass http://app:1; }',
    );
    const none = await open(port);
    none.write(get('/none/'));
    expect(header(await none.readResponse(), 'connection')).toBe('close');
    expect(await none.waitClosed(5000)).not.toBeNull();
    const short = await open(port);
    short.write(get('/short/'));
    expect(header(await short.readResponse(), 'connection')).toBe('keep-alive');
    expect(await short.waitClosed(5000)).not.toBeNull();
    // The default (75 s) keeps a connection open well past the short one's timeout.
    const long = await open(port);
    long.write(get('/'));
    await long.readResponse();
    expect(await long.waitClosed(1500)).toBeNull();
  });

  it('disconnects a client that takes nothing of the response for send_timeout', async () => {
    const size = 16 * 1024 * 1024;
    const big = x(size);
    const up: Upstream = await startUpstream((_req, res) => res.end(big));
    const { port } = await startGateway(http('  send_timeout 300ms;', '  server { location / { proxy_pass http://app:1; } }'), { 'app:1': up.port });
    const socket = connect(port, '127.0.0.1');
    onCleanup(() => {
      socket.destroy();
    });
    socket.pause();
    socket.write(get('/big'));
    let closed = false;
    socket.on('close', () => (closed = true));
    // Not reading for far longer than send_timeout, then reading what is left.
    await new Promise((r) => setTimeout(r, 2000));
    let received = 0;
    socket.on('data', (c: Buffer) => (received += c.length));
    socket.on('error', () => {});
    socket.resume();
    for (let i = 0; i < 100 && !closed; i++) await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(true);
    expect(received).toBeLessThan(size);
  });
});
