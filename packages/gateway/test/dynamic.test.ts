import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, httpRequest, lines, startGateway, startUpstream } from './helpers.js';

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
