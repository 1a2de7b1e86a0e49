import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import type { Reply } from '../scenario.js';
import { header, type NormalizedResponse, type NormalizedUpstreamRequest } from '../normalize.js';
import { conf, request, statuses, type Group, type Scenario } from '../scenario.js';

/**
 * Features the gateway is gaining: location modifiers and nesting, proxy_pass with a URI part
 * or variables, regex maps, more variables, return, add_header, include, server_name,
 * proxy_hide_header/proxy_pass_header, proxy_redirect with a replacement, stub_status, logs,
 * worker_processes and signals. Until the gateway accepts a config, its `-t` must refuse it
 * explicitly; the scenarios run on nginx all the same.
 */

const up = (o: { upstream?: unknown }) => o.upstream as NormalizedUpstreamRequest[];
const res = (o: { client: unknown }) => o.client as NormalizedResponse;
const list = (o: { client: unknown }) => o.client as NormalizedResponse[];
const targets = (o: { upstream?: unknown }) => up(o).map((r) => `${r.instance} ${r.line}`);

function feature(name: string, needs: string[], http: string, scenarios: Scenario[], upstreams = 2, files?: Record<string, string>): Group {
  return {
    name,
    feature: 'newer features',
    needs,
    files,
    upstreams: Array.from({ length: upstreams }, () => 'server' as const),
    config: conf(`
  upstream a { server {{UPSTREAM_0}}; }
  upstream b { server {{UPSTREAM_1}}; }
${http}
`),
    scenarios,
  };
}

export const featureGroups: Group[] = [
  feature(
    'location modifiers',
    ['location =', 'location ^~', 'location ~', 'location ~*'],
    `  server {
    listen {{LISTEN}};
    location / { proxy_pass http://a; }
    location = /exact { proxy_pass http://b; }
    location ^~ /images/ { proxy_pass http://b; }
    location ~ \\.(png|jpg)$ { proxy_pass http://a; proxy_set_header X-Ext $1; }
    location ~* ^/CaSe/ { proxy_pass http://b; }
  }`,
    [
      {
        name: '=, ^~, ~ and ~*: nginx\'s order of precedence',
        run: async (cx) => {
          const out: Reply[] = [];
          for (const t of ['/exact', '/exact/more', '/images/x.png', '/other/x.png', '/case/y', '/CASE/y.JPG']) out.push(await cx.send(request(t)));
          return out;
        },
        expectNginx: (o) => expect(list(o).map((r) => header(r, 'x-upstream'))).toEqual(['u1', 'u0', 'u1', 'u0', 'u1', 'u1']),
      },
    ],
  ),
  feature(
    'regex location with captures',
    ['location ~'],
    `  server {
    listen {{LISTEN}};
    location ~ ^/users/(?<user>[a-z]+)/posts/(\\d+)$ {
      proxy_pass http://a;
      proxy_set_header X-User $user;
      proxy_set_header X-Post $2;
    }
  }`,
    [
      {
        name: 'named and numbered captures of a regex location in proxy_set_header',
        run: async (cx) => [await cx.send(request('/users/ann/posts/42')), await cx.send(request('/users/Ann/posts/42'))],
        expectNginx: (o) => {
          expect(up(o)[0]?.headers).toEqual(expect.arrayContaining(['X-User: ann', 'X-Post: 42']));
          expect(list(o)[1]?.status).toBe(404);
        },
      },
    ],
  ),
  feature(
    'nested locations',
    ['location /api/v1/'],
    `  server {
    listen {{LISTEN}};
    location /api/ {
      proxy_pass http://a;
      location /api/v1/ { proxy_pass http://b; }
    }
  }`,
    [
      {
        name: 'a nested prefix location wins inside its parent',
        run: async (cx) => [await cx.send(request('/api/v1/x')), await cx.send(request('/api/v2/x'))],
        expectNginx: (o) => expect(list(o).map((r) => header(r, 'x-upstream'))).toEqual(['u1', 'u0']),
      },
    ],
  ),
  feature(
    'proxy_pass with a URI part',
    ['proxy_pass http://a/'],
    `  server {
    listen {{LISTEN}};
    location /api/ { proxy_pass http://a/v1/; }
    location /root/ { proxy_pass http://a/; }
    location /x { proxy_pass http://a/y; }
  }`,
    [
      {
        name: 'the location prefix is replaced by the URI part',
        run: async (cx) => {
          for (const t of ['/api/users?id=1', '/api/a%20b/c', '/root/deep/path', '/x/z', '/xyz']) await cx.send(request(t));
          return null;
        },
        expectNginx: (o) => expect(targets(o)).toEqual(['u0 GET /v1/users?id=1 HTTP/1.0', 'u0 GET /v1/a%20b/c HTTP/1.0', 'u0 GET /deep/path HTTP/1.0', 'u0 GET /y/z HTTP/1.0', 'u0 GET /yyz HTTP/1.0']),
      },
    ],
  ),
  feature(
    'map with regex captures',
    ['~^'],
    `  map $http_x_path $route {
    default                          none;
    ~^/u/(?<name>[a-z]+)/(\\d+)$       "user:$name:$2";
    ~*^/ADMIN                        admin;
  }
  server {
    listen {{LISTEN}};
    location / { proxy_pass http://a; proxy_set_header X-Route $route; }
  }`,
    [
      {
        name: 'regex map keys with named and numbered captures, case-insensitive ~*',
        run: async (cx) => {
          for (const p of ['/u/bob/7', '/admin/x', '/u/BOB/7', '/nothing']) await cx.send(request('/m', { headers: [['X-Path', p]] }));
          return null;
        },
        expectNginx: (o) =>
          expect(up(o).map((r) => r.headers.find((h) => h.startsWith('X-Route')))).toEqual(['X-Route: user:bob:7', 'X-Route: admin', 'X-Route: none', 'X-Route: none']),
      },
    ],
  ),
  feature(
    'proxy_pass with variables',
    ['proxy_pass http://$'],
    `  map $http_x_pool $pool { default a; blue b; }
  server {
    listen {{LISTEN}};
    location / { proxy_pass http://$pool; }
  }`,
    [
      {
        name: 'proxy_pass http://$pool picks the upstream per request',
        run: async (cx) => [await cx.send(request('/p')), await cx.send(request('/p', { headers: [['X-Pool', 'blue']] }))],
        expectNginx: (o) => expect(list(o).map((r) => header(r, 'x-upstream'))).toEqual(['u0', 'u1']),
      },
    ],
  ),
  feature(
    'more variables',
    ['$'],
    `  server {
    listen {{LISTEN}};
    location / {
      proxy_pass http://a;
      proxy_set_header X-Request-Uri $request_uri;
      proxy_set_header X-Uri $uri;
      proxy_set_header X-Args $args;
      proxy_set_header X-Arg-A $arg_a;
      proxy_set_header X-Is-Args $is_args;
      proxy_set_header X-Cookie-Sid $cookie_sid;
      proxy_set_header X-Scheme $scheme;
      proxy_set_header X-Method $request_method;
      proxy_set_header X-Protocol $server_protocol;
      proxy_set_header X-Request $request;
      proxy_set_header X-Server-Port $server_port;
      proxy_set_header X-Server-Addr $server_addr;
      proxy_set_header X-Content-Length $content_length;
      proxy_set_header X-Content-Type $content_type;
      proxy_set_header X-Proxy-Port $proxy_port;
      proxy_set_header X-Document-Uri $document_uri;
    }
  }`,
    [
      {
        name: 'request, URI, argument, cookie and connection variables',
        run: async (cx) =>
          cx.send(
            request('/a/./b/%7Euser?a=1&B=2&a=3', {
              method: 'POST',
              body: 'x=1',
              headers: [['Cookie', 'x=0; sid=abc; y=1'], ['Content-Type', 'application/x-www-form-urlencoded']],
            }),
          ),
        expectNginx: (o) =>
          expect(up(o)[0]?.headers).toEqual(
            expect.arrayContaining(['X-Request-Uri: /a/./b/%7Euser?a=1&B=2&a=3', 'X-Uri: /a/b/~user', 'X-Arg-A: 1', 'X-Cookie-Sid: abc', 'X-Server-Port: {PORT}']),
          ),
      },
    ],
  ),
  feature(
    'return',
    ['return'],
    `  server {
    listen {{LISTEN}};
    location / { proxy_pass http://a; }
    location /gone { return 410; }
    location /moved { return 301 /new$is_args$args; }
    location /text { return 200 "hello $host\\n"; }
    location /away { return https://elsewhere.example/; }
  }`,
    [
      {
        name: 'return with a code, a redirect, a text and a bare URL',
        upstream: 'none',
        run: async (cx) => {
          const out: Reply[] = [];
          for (const t of ['/gone', '/moved?x=1', '/text', '/away']) out.push(await cx.send(request(t)));
          return out;
        },
        expectNginx: (o) => expect(list(o).map((r) => r.status)).toEqual([410, 301, 200, 302]),
      },
    ],
  ),
  feature(
    'add_header',
    ['add_header'],
    `  add_header X-Frame-Options DENY;
  server {
    listen {{LISTEN}};
    location / { proxy_pass http://a; }
    location /own/ { proxy_pass http://a; add_header X-Own $host; add_header X-Always yes always; }
  }`,
    [
      {
        name: 'add_header: inherited, replaced, and "always" for errors',
        run: async (cx) => {
          const out = [await cx.send(request('/')), await cx.send(request('/own/'))];
          cx.behave(0, () => ({ kind: 'respond', status: 500, body: 'err' }));
          out.push(await cx.send(request('/own/err')));
          return out;
        },
        expectNginx: (o) => {
          expect(header(list(o)[0] as NormalizedResponse, 'x-frame-options')).toBe('DENY');
          expect(header(list(o)[1] as NormalizedResponse, 'x-frame-options')).toBeUndefined();
          expect(header(list(o)[2] as NormalizedResponse, 'x-own')).toBeUndefined();
          expect(header(list(o)[2] as NormalizedResponse, 'x-always')).toBe('yes');
        },
      },
    ],
  ),
  feature(
    'include',
    ['include'],
    `  include upstream-c.conf;
  server {
    listen {{LISTEN}};
    location / { proxy_pass http://c; include headers.conf; }
  }`,
    [
      {
        name: 'include files relative to the configuration',
        run: async (cx) => cx.send(request('/inc')),
        expectNginx: (o) => expect(up(o)[0]?.headers).toContain('X-Included: yes'),
      },
    ],
    2,
    { 'upstream-c.conf': 'upstream c { server {{UPSTREAM_1}}; }\n', 'headers.conf': 'proxy_set_header X-Included yes;\n' },
  ),
  feature(
    'server_name',
    ['server_name'],
    `  server {
    listen {{LISTEN}};
    server_name a.example;
    location / { proxy_pass http://a; proxy_set_header X-Host $host; }
  }
  server {
    listen {{LISTEN}} default_server;
    server_name b.example *.wild.example;
    location / { proxy_pass http://b; proxy_set_header X-Host $host; }
  }`,
    [
      {
        name: 'server_name picks the virtual server; unknown names go to default_server',
        run: async (cx) => {
          const out: Reply[] = [];
          for (const h of ['a.example', 'A.Example:1', 'b.example', 'x.wild.example', 'other.example']) out.push(await cx.send(request('/', { host: h })));
          out.push(await cx.send('GET / HTTP/1.0\r\n\r\n'));
          return out.map((r) => (r === 'closed' ? r : header(r, 'x-upstream')));
        },
        expectNginx: (o) => expect(o.client).toEqual(['u0', 'u0', 'u1', 'u1', 'u1', 'u1']),
      },
    ],
  ),
  feature(
    'proxy_hide_header and proxy_pass_header',
    ['proxy_hide_header', 'proxy_pass_header'],
    `  server {
    listen {{LISTEN}};
    location / { proxy_pass http://a; proxy_hide_header X-Secret; proxy_pass_header X-Pad; }
  }`,
    [
      {
        name: 'hide an upstream header, pass one hidden by default',
        run: async (cx) => {
          cx.behave(0, () => ({ kind: 'respond', headers: [['X-Secret', 's'], ['X-Pad', 'p'], ['X-Kept', 'k']], body: 'b' }));
          return cx.send(request('/'));
        },
        expectNginx: (o) => {
          expect(header(res(o), 'x-secret')).toBeUndefined();
          expect(header(res(o), 'x-pad')).toBe('p');
        },
      },
    ],
  ),
  feature(
    'proxy_redirect with a replacement',
    ['proxy_redirect http'],
    `  server {
    listen {{LISTEN}};
    location / { proxy_pass http://a; proxy_redirect http://backend.internal/ /public/; }
  }`,
    [
      {
        name: 'proxy_redirect REDIRECT REPLACEMENT',
        run: async (cx) => {
          cx.behave(0, () => ({ kind: 'respond', status: 302, headers: [['Location', 'http://backend.internal/x?y=1']], body: '' }));
          return cx.send(request('/r'));
        },
        expectNginx: (o) => expect(header(res(o), 'location')).toBe('http://test.example:{PORT}/public/x?y=1'),
      },
    ],
  ),
  feature(
    'stub_status',
    ['stub_status'],
    `  server {
    listen {{LISTEN}};
    location / { proxy_pass http://a; }
    location = /status { stub_status; }
  }`,
    [
      {
        name: 'stub_status reports the connection and request counters',
        upstream: 'none',
        run: async (cx) => {
          const r = await cx.send(request('/status'));
          if (r === 'closed') return r;
          return { ...r, body: r.body.replace(/\d+/g, 'N') };
        },
        expectNginx: (o) => expect(res(o).body).toBe('Active connections: N \nserver accepts handled requests\n N N N \nReading: N Writing: N Waiting: N \n'),
      },
    ],
  ),
  feature(
    'access_log',
    ['access_log'],
    `  access_log off;
  server {
    listen {{LISTEN}};
    location / { proxy_pass http://a; }
  }`,
    [{ name: 'access_log off: traffic is unaffected', run: async (cx) => cx.send(request('/logged')) }],
  ),
  {
    name: 'worker_processes 2 and signals',
    feature: 'processes',
    upstreams: ['server', 'server'],
    config: `worker_processes 2;\nevents { worker_connections 1024; }\nhttp {\n  upstream a { server {{UPSTREAM_0}}; server {{UPSTREAM_1}}; }\n  server {\n    listen {{LISTEN}};\n    location / { proxy_pass http://a; }\n  }\n}\n`,
    scenarios: [
      {
        name: 'two workers: one client connection is served by one worker (round robin within it)',
        upstream: 'picks',
        run: async (cx) => statuses(await cx.sequence(10, (i) => request(`/w/${i}`))),
        expectNginx: (o) => expect(o.upstream).toBe('u0 u1 u0 u1 u0 u1 u0 u1 u0 u1'),
      },
      {
        name: 'SIGHUP reloads and keeps serving',
        upstream: 'none',
        run: async (cx) => {
          cx.signal('SIGHUP');
          await sleep(700);
          const out: (Reply | 'refused')[] = [];
          for (let i = 0; i < 3; i++) out.push(await cx.send(request(`/after-hup/${i}`)).catch(() => 'refused' as const));
          return out.map((r) => (typeof r === 'string' ? r : r.status));
        },
        expectNginx: (o) => expect(o.client).toEqual([200, 200, 200]),
      },
    ],
  },
];
