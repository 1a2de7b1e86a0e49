import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, httpRequest, infraLikeConfig, lines, pairs, rawExchange, startGateway, startUpstream } from './helpers.js';

afterEach(cleanup);

describe('request headers as the upstream sees them', () => {
  it('sends the proxy_set_header list first, then the client headers in order (infra config)', async () => {
    const up = await startUpstream();
    const { port } = await startGateway(infraLikeConfig(), { 'app:3000': up.port });
    const response = await rawExchange(
      port,
      'GET /chat/x?y=1&z HTTP/1.1\r\n' +
        'Host: Example.COM:8080\r\n' +
        'X-Custom: a\r\n' +
        'X-Forwarded-For: 10.0.0.1\r\n' +
        'Accept: */*\r\n' +
        'TE: trailers\r\n' +
        'Keep-Alive: 300\r\n' +
        'X-Real-IP: 6.6.6.6\r\n' +
        'x_ignored: yes\r\n' +
        'accept: second\r\n' +
        'Connection: close\r\n\r\n',
    );
    expect(response).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    const [seen] = up.requests;
    expect(seen?.method).toBe('GET');
    expect(seen?.url).toBe('/chat/x?y=1&z');
    expect(seen?.httpVersion).toBe('1.1');
    expect(pairs(seen?.rawHeaders ?? [])).toEqual([
      ['Host', 'example.com'],
      ['X-Real-IP', '127.0.0.1'],
      ['X-Forwarded-For', '10.0.0.1, 127.0.0.1'],
      // Upgrade and Connection evaluate to "" for a plain request: not sent.
      ['X-Custom', 'a'],
      ['Accept', '*/*'],
      ['accept', 'second'],
    ]);
  });

  it('appends the client address when there is no X-Forwarded-For', async () => {
    const up = await startUpstream();
    const { port } = await startGateway(infraLikeConfig(), { 'app:3000': up.port });
    await httpRequest(port, '/');
    const headers = pairs(up.requests[0]?.rawHeaders ?? []);
    expect(headers).toContainEqual(['X-Forwarded-For', '127.0.0.1']);
    expect(headers).toContainEqual(['Host', '127.0.0.1']);
    expect(headers.map(([n]) => n.toLowerCase())).not.toContain('connection');
  });

  it("uses nginx's defaults without proxy_set_header: Host $proxy_host, Connection close, HTTP/1.0", async () => {
    const up = await startUpstream();
    const { port } = await startGateway(
      lines('events {}', 'http { server { listen 80; location / { proxy_pass http://backend:9000; } } }'),
      { 'backend:9000': up.port },
    );
    await httpRequest(port, '/p', { headers: { Upgrade: 'websocket', Expect: '', 'X-Keep': 'me' } });
    const [seen] = up.requests;
    expect(seen?.httpVersion).toBe('1.0');
    expect(pairs(seen?.rawHeaders ?? [])).toEqual([
      ['Host', 'backend:9000'],
      ['Connection', 'close'],
      ['X-Keep', 'me'],
    ]);
  });

  it('inherits proxy_set_header from http/server unless the location sets its own', async () => {
    const up = await startUpstream();
    const { port } = await startGateway(
      lines(
        'events {}',
        'http {',
        '  proxy_set_header X-From http;',
        '  server {',
        '    listen 80;',
        '    location /inherits { proxy_pass http://app:1; }',
        '    location /own { proxy_pass http://app:1; proxy_set_header X-Own yes; proxy_set_header Accept-Encoding ""; }',
        '  }',
        '}',
      ),
      { 'app:1': up.port },
    );
    await httpRequest(port, '/inherits', { headers: { 'Accept-Encoding': 'gzip' } });
    await httpRequest(port, '/own', { headers: { 'Accept-Encoding': 'gzip', 'X-From': 'client' } });
    const [inherits, own] = up.requests.map((r) => pairs(r.rawHeaders));
    expect(inherits?.slice(0, 3)).toEqual([
      ['X-From', 'http'],
      ['Host', 'app:1'],
      ['Connection', 'close'],
    ]);
    expect(inherits).toContainEqual(['Accept-Encoding', 'gzip']);
    // The location's own list replaces the inherited one; an empty value removes the header.
    expect(own?.slice(0, 3)).toEqual([
      ['X-Own', 'yes'],
      ['Host', 'app:1'],
      ['Connection', 'close'],
    ]);
    expect(own).toContainEqual(['X-From', 'client']);
    expect(own?.map(([n]) => n)).not.toContain('Accept-Encoding');
  });
});

describe('request bodies', () => {
  it('streams a Content-Length body', async () => {
    const up = await startUpstream((_req, res, body) => res.end(`got ${body.length}`));
    const { port } = await startGateway(infraLikeConfig(), { 'app:3000': up.port });
    const body = 'x'.repeat(300_000);
    const res = await httpRequest(port, '/upload', { method: 'POST', body, headers: { 'Content-Type': 'text/plain' } });
    expect(res.body).toBe('got 300000');
    const headers = pairs(up.requests[0]?.rawHeaders ?? []);
    expect(headers).toContainEqual(['Content-Length', '300000']);
    expect(up.requests[0]?.body).toBe(body);
  });

  it('forwards a chunked body chunked to HTTP/1.1 and with a length to HTTP/1.0', async () => {
    const up = await startUpstream((_req, res, body) => res.end(body));
    const { port } = await startGateway(
      lines(
        'events {}',
        'http { server { listen 80;',
        '  location /v11 { proxy_pass http://app:1; proxy_http_version 1.1; }',
        '  location /v10 { proxy_pass http://app:1; }',
        '} }',
      ),
      { 'app:1': up.port },
    );
    const r11 = await httpRequest(port, '/v11', { method: 'POST', body: ['abc', 'de'] });
    const r10 = await httpRequest(port, '/v10', { method: 'POST', body: ['abc', 'de'] });
    expect([r11.body, r10.body]).toEqual(['abcde', 'abcde']);
    expect(up.requests.map((r) => [r.httpVersion, r.body])).toEqual([
      ['1.1', 'abcde'],
      ['1.0', 'abcde'],
    ]);
    expect(pairs(up.requests[0]?.rawHeaders ?? [])).toContainEqual(['Transfer-Encoding', 'chunked']);
    expect(pairs(up.requests[1]?.rawHeaders ?? [])).toContainEqual(['Content-Length', '5']);
  });

  it('answers 413 to a body over 1 MiB, like nginx client_max_body_size', async () => {
    const up = await startUpstream();
    const { port } = await startGateway(infraLikeConfig(), { 'app:3000': up.port });
    const res = await httpRequest(port, '/', { method: 'POST', body: Buffer.alloc(1024 * 1024 + 1) });
    expect(res.status).toBe(413);
    expect(up.requests).toHaveLength(0);
  });
});

describe('responses', () => {
  it('relays status and headers minus hop-by-hop and hidden ones, with our Server and Date', async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(201, 'Made', [
        'Server', 'upstream/1',
        'Date', 'Thu, 01 Jan 1970 00:00:00 GMT',
        'X-Pad', 'avoid browser bug',
        'X-Accel-Redirect', '/internal',
        'Keep-Alive', 'timeout=5',
        'Set-Cookie', 'a=1',
        'X-App', 'kept',
        'Set-Cookie', 'b=2',
        'Content-Type', 'text/plain',
      ]);
      res.end('created');
    });
    const { port } = await startGateway(infraLikeConfig(), { 'app:3000': up.port });
    const res = await httpRequest(port, '/');
    expect(res.status).toBe(201);
    expect(res.body).toBe('created');
    const headers = pairs(res.rawHeaders);
    expect(headers[0]).toEqual(['Server', 'chat-gateway']);
    expect(headers[1]?.[0]).toBe('Date');
    expect(headers[1]?.[1]).not.toBe('Thu, 01 Jan 1970 00:00:00 GMT');
    const names = headers.map(([n]) => n);
    expect(names).not.toContain('X-Pad');
    expect(names).not.toContain('X-Accel-Redirect');
    expect(names).not.toContain('Keep-Alive');
    expect(headers.filter(([n]) => n === 'Set-Cookie').map(([, v]) => v)).toEqual(['a=1', 'b=2']);
    expect(headers).toContainEqual(['X-App', 'kept']);
    // The upstream's chunked body is re-framed by the gateway for the client.
    expect(headers).toContainEqual(['Transfer-Encoding', 'chunked']);
  });

  it('rewrites Location for proxy_redirect default', async () => {
    const up = await startUpstream((req, res) => {
      res.writeHead(302, { Location: req.url === '/in' ? 'http://backend:9000/next' : 'http://elsewhere/x' });
      res.end();
    });
    const { port } = await startGateway(
      lines('events {}', 'http { server { listen 80; location / { proxy_pass http://backend:9000; } } }'),
      { 'backend:9000': up.port },
    );
    expect((await httpRequest(port, '/in', { headers: { Host: 'site.test' } })).headers.location).toBe(`http://site.test:${port}/next`);
    expect((await httpRequest(port, '/out')).headers.location).toBe('http://elsewhere/x');
  });

  it('answers 404 without a matching location, 400 for a path above the root', async () => {
    const up = await startUpstream();
    const { port } = await startGateway(
      lines('events {}', 'http { server { listen 80; location /only/ { proxy_pass http://app:1; } } }'),
      { 'app:1': up.port },
    );
    const missing = await httpRequest(port, '/other');
    expect(missing.status).toBe(404);
    expect(missing.body).toContain('<center><h1>404 Not Found</h1></center>');
    expect(await rawExchange(port, 'GET /only/../../x HTTP/1.1\r\nHost: h\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(up.requests).toHaveLength(0);
  });

  it('redirects /prefix to /prefix/ for a proxied location ending in a slash', async () => {
    const up = await startUpstream();
    const { port } = await startGateway(
      lines('events {}', 'http { server { listen 80; location /socket.io/ { proxy_pass http://app:1; } } }'),
      { 'app:1': up.port },
    );
    const res = await httpRequest(port, '/socket.io?EIO=4', { headers: { Host: 'chat.test' } });
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe(`http://chat.test:${port}/socket.io/?EIO=4`);
    expect((await httpRequest(port, '/socket.io/?EIO=4')).status).toBe(200);
  });

  it('routes by longest prefix', async () => {
    const a = await startUpstream((_req, res) => res.end('a'));
    const b = await startUpstream((_req, res) => res.end('b'));
    const { port } = await startGateway(
      lines(
        'events {}',
        'http { server { listen 80;',
        '  location / { proxy_pass http://a:1; }',
        '  location /socket.io/ { proxy_pass http://b:1; }',
        '} }',
      ),
      { 'a:1': a.port, 'b:1': b.port },
    );
    expect((await httpRequest(port, '/socket.io/x')).body).toBe('b');
    expect((await httpRequest(port, '/socket.iox')).body).toBe('a');
    expect((await httpRequest(port, '/%73ocket.io/')).body).toBe('b');
    expect(b.requests[1]?.url).toBe('/%73ocket.io/');
  });
});
