import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, httpRequest, lines, pairs, startGateway, startUpstream } from './helpers.js';

afterEach(cleanup);

describe('response header directives', () => {
  it('applies add_header with nginx inheritance and the always flag', async () => {
    const up = await startUpstream((req, res) => {
      res.statusCode = req.url === '/missing' ? 404 : 200;
      res.end('x');
    });
    const { port } = await startGateway(
      lines(
        'events {}',
        'http {',
        '  add_header X-Http http;',
        '  server {',
        '    add_header X-Server server;',
        '    add_header X-Status $status always;',
        '    add_header X-Empty "";',
        '    location / { proxy_pass http://app:1; }',
        '    location /own { proxy_pass http://app:1; add_header X-Own own; }',
        '    location /ret { return 200 ok; }',
        '  }',
        '}',
      ),
      { 'app:1': up.port },
    );
    const root = await httpRequest(port, '/');
    expect(pairs(root.rawHeaders).filter(([n]) => n !== 'Transfer-Encoding').slice(-2)).toEqual([
      ['X-Server', 'server'],
      ['X-Status', '200'],
    ]);
    expect(root.headers['x-http']).toBeUndefined();
    expect(root.headers['x-empty']).toBeUndefined();
    const own = await httpRequest(port, '/own');
    expect([own.headers['x-own'], own.headers['x-server']]).toEqual(['own', undefined]);
    const missing = await httpRequest(port, '/missing');
    expect([missing.status, missing.headers['x-server'], missing.headers['x-status']]).toEqual([404, undefined, '404']);
    expect((await httpRequest(port, '/ret')).headers['x-server']).toBe('server');
  });

  it('hides and passes upstream headers', async () => {
    const up = await startUpstream((_req, res) => {
      res.setHeader('Server', 'upstream/1');
      res.setHeader('X-Secret', 's');
      res.setHeader('X-Accel-Buffering', 'no');
      res.setHeader('X-Kept', 'k');
      res.end('x');
    });
    const { port } = await startGateway(
      lines(
        'events {}',
        'http {',
        '  proxy_hide_header X-Secret;',
        '  server {',
        '    location / { proxy_pass http://app:1; }',
        '    location /pass { proxy_pass http://app:1; proxy_pass_header Server; proxy_pass_header X-Accel-Buffering; }',
        '  }',
        '}',
      ),
      { 'app:1': up.port },
    );
    const plain = await httpRequest(port, '/');
    expect([plain.headers.server, plain.headers['x-secret'], plain.headers['x-accel-buffering'], plain.headers['x-kept']]).toEqual([
      'chat-gateway', undefined, undefined, 'k',
    ]);
    const passed = await httpRequest(port, '/pass');
    expect([passed.headers.server, passed.headers['x-secret'], passed.headers['x-accel-buffering']]).toEqual(['upstream/1', undefined, 'no']);
    expect(pairs(passed.rawHeaders)[0]).toEqual(['Server', 'upstream/1']);
  });

  it('rewrites Location and Refresh with proxy_redirect rules, default included', async () => {
    const up = await startUpstream((req, res) => {
      const target = new URL(req.url ?? '/', 'http://x').searchParams.get('to') ?? '/';
      res.setHeader('Location', target);
      res.setHeader('Refresh', `5; url=${target}`);
      res.statusCode = 302;
      res.end();
    });
    const { port } = await startGateway(
      lines(
        'events {}',
        'http {',
        '  server {',
        '    location /api/ { proxy_pass http://app:1/v2/; }',
        '    location /custom/ {',
        '      proxy_pass http://app:1;',
        '      proxy_redirect http://internal/ /ext/;',
        '      proxy_redirect ~^http://(\\w+)\\.svc/(.*)$ https://$1.example/$2;',
        '    }',
        '    location /off/ { proxy_pass http://app:1; proxy_redirect off; }',
        '  }',
        '}',
      ),
      { 'app:1': up.port },
    );
    const at = async (path: string) => {
      const res = await httpRequest(port, path);
      return [res.headers.location, res.headers.refresh];
    };
    expect(await at('/api/x?to=http://app:1/v2/users')).toEqual([`http://127.0.0.1:${port}/api/users`, '5; url=/api/users']);
    expect(await at('/api/x?to=http://other/v2/users')).toEqual(['http://other/v2/users', '5; url=http://other/v2/users']);
    expect(await at('/custom/x?to=http://internal/a')).toEqual([`http://127.0.0.1:${port}/ext/a`, '5; url=/ext/a']);
    expect(await at('/custom/x?to=http://chat.svc/room/1')).toEqual(['https://chat.example/room/1', '5; url=https://chat.example/room/1']);
    expect(await at('/off/x?to=http://app:1/a')).toEqual(['http://app:1/a', '5; url=http://app:1/a']);
  });
});
