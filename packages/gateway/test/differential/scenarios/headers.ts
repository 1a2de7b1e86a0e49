import { expect } from 'vitest';
import type { Reply } from '../scenario.js';
import { header, type NormalizedResponse, type NormalizedUpstreamRequest } from '../normalize.js';
import { conf, request, type Group } from '../scenario.js';
import type { Behaviour } from '../upstreams.js';

/** proxy_set_header (inheritance, empty values, variables), maps, response header rules. */
const config = conf(`
  map $http_x_mode $mode {
    default  other;
    fast     F;
    \\default escaped;
    ''       none;
  }
  map $http_x_empty $mapped_empty { x ""; }
  map $mode $chained { F "fast:$http_x_mode"; default "not-fast"; }
  upstream app { server {{UPSTREAM_0}}; }
  proxy_set_header X-Http-Level http;
  server {
    listen {{LISTEN}};
    proxy_set_header X-Server-Level server;
    location / { proxy_pass http://app; }
    location /own/ {
      proxy_pass http://app;
      proxy_set_header X-Own own;
      proxy_set_header Accept-Encoding "";
      proxy_set_header X-Two "$remote_addr|$proxy_host";
    }
    location /map/ {
      proxy_pass http://app;
      proxy_set_header X-Mode $mode;
      proxy_set_header X-Empty $mapped_empty;
      proxy_set_header X-Chained $chained;
    }
    location /v11/ { proxy_pass http://app; proxy_http_version 1.1; }
    location /direct/ { proxy_pass http://{{UPSTREAM_0}}; }
    location /dup/ {
      proxy_pass http://app;
      proxy_set_header X-Dup $http_x_dup;
      proxy_set_header X-Cookie $http_cookie;
      proxy_set_header X-Xff $http_x_forwarded_for;
    }
    location /host/ {
      proxy_pass http://app;
      proxy_set_header Host $host;
      proxy_set_header Connection "";
      proxy_set_header X-Remote $remote_addr;
    }
    location /redir/ { proxy_pass http://app; }
    location /redir-off/ { proxy_pass http://app; proxy_redirect off; }
  }
`);

const up = (o: { upstream?: unknown }) => o.upstream as NormalizedUpstreamRequest[];
const respondWith =
  (status: number, headers: [string, string][], body = 'x', reason?: string): Behaviour =>
  () => ({ kind: 'respond', status, headers, body, reason });

export const headerGroups: Group[] = [
  {
    name: 'request and response headers',
    feature: 'headers',
    config,
    upstreams: ['server'],
    scenarios: [
      {
        name: 'a level with proxy_set_header replaces the inherited list',
        run: async (cx) => [await cx.send(request('/')), await cx.send(request('/own/', { headers: [['Accept-Encoding', 'gzip']] }))],
        expectNginx: (o) => {
          expect(up(o)[0]?.headers).toContain('X-Server-Level: server');
          expect(up(o)[0]?.headers).not.toContain('X-Http-Level: http');
          expect(up(o)[1]?.headers).not.toContain('X-Server-Level: server');
        },
      },
      {
        name: 'defaults with proxy_http_version 1.0: Host $proxy_host, Connection close; TE, Keep-Alive, Upgrade dropped',
        run: async (cx) =>
          cx.send(request('/plain', { headers: [['TE', 'trailers'], ['Keep-Alive', '300'], ['Upgrade', 'h2c'], ['Connection', 'keep-alive, TE'], ['X-After', '1']] })),
        expectNginx: (o) => expect(up(o)[0]?.headers.slice(0, 3)).toEqual(['X-Server-Level: server', 'Host: app', 'Connection: close']),
      },
      {
        name: 'map: exact keys, case-insensitive, escaped \\default, empty key, chained maps',
        run: async (cx) => {
          const out: Reply[] = [];
          for (const mode of ['fast', 'FAST', 'default', '', 'slow', null]) {
            out.push(await cx.send(request('/map/', { headers: mode === null ? [] : [['X-Mode', mode], ['X-Empty', 'y']] })));
          }
          return out.map((r) => (r === 'closed' ? r : r.status));
        },
        expectNginx: (o) => {
          const modes = up(o).map((r) => r.headers.find((h) => h.startsWith('X-Mode:')));
          expect(modes).toEqual(['X-Mode: F', 'X-Mode: F', 'X-Mode: escaped', 'X-Mode: none', 'X-Mode: other', 'X-Mode: none']);
          expect(JSON.stringify(o.upstream)).not.toContain('X-Empty: ');
        },
      },
      {
        name: 'proxy_http_version 1.1 without keepalive still sends Connection: close',
        run: async (cx) => cx.send(request('/v11/x')),
        expectNginx: (o) => expect(up(o)[0]?.line).toBe('GET /v11/x HTTP/1.1'),
      },
      {
        name: 'proxy_pass to an address: Host is host:port',
        run: async (cx) => cx.send(request('/direct/x')),
        expectNginx: (o) => expect(up(o)[0]?.headers.find((h) => h.startsWith('Host:'))).toMatch(/^Host: 127\.0\.0\.1:\d+$/),
      },
      {
        name: 'two Cookie headers: $http_cookie joins them with "; "',
        run: async (cx) => cx.send(request('/dup/c', { headers: [['Cookie', 'a=1'], ['Cookie', 'b=2']] })),
        expectNginx: (o) => expect(up(o)[0]?.headers).toContain('X-Cookie: a=1; b=2'),
      },
      {
        name: 'two X-Forwarded-For headers: $http_x_forwarded_for joins them',
        run: async (cx) => cx.send(request('/dup/x', { headers: [['X-Forwarded-For', '1.1.1.1'], ['X-Forwarded-For', '2.2.2.2']] })),
      },
      {
        name: 'two X-Dup headers: $http_x_dup',
        run: async (cx) => cx.send(request('/dup/d', { headers: [['X-Dup', 'one'], ['X-Dup', 'two']] })),
        difference: {
          documented: 'Several headers are joined with `, ` (`; ` for Cookie), as in nginx 1.23+.',
          check: (nginx, gateway) => {
            // nginx 1.22 (the one installed) returns the first header only; 1.23+ joins them.
            expect(up(nginx)[0]?.headers).toContain('X-Dup: one');
            expect(up(gateway)[0]?.headers).toContain('X-Dup: one, two');
            expect(gateway.client).toEqual(nginx.client);
          },
        },
      },
      {
        name: 'Host $host, Connection "" and $remote_addr',
        run: async (cx) => cx.send(request('/host/', { host: 'Mixed.Example:99', headers: [['Connection', 'close']] })),
        expectNginx: (o) => expect(up(o)[0]?.headers.slice(0, 2)).toEqual(['Host: mixed.example', 'X-Remote: 127.0.0.1']),
      },
      {
        name: 'response: hop-by-hop and hidden headers removed, repeated Set-Cookie kept in order',
        run: async (cx) => {
          cx.behave(
            0,
            respondWith(200, [
              ['Server', 'upstream/1.0'],
              ['Date', 'Mon, 01 Jan 2001 00:00:00 GMT'],
              ['Set-Cookie', 'a=1; Path=/'],
              ['X-Pad', 'avoid browser bug'],
              ['Keep-Alive', 'timeout=5'],
              ['X-Accel-Buffering', 'no'],
              ['X-Accel-Expires', '10'],
              ['Set-Cookie', 'b=2; Path=/'],
              ['Content-Type', 'text/html; charset=utf-8'],
              ['Cache-Control', 'no-store'],
              ['Link', '</style.css>; rel=preload'],
            ]),
          );
          return cx.send(request('/resp'));
        },
        expectNginx: (o) => expect(header(o.client as NormalizedResponse, 'x-pad')).toBeUndefined(),
      },
      {
        name: 'response: an X-Accel-* header nginx does not know',
        run: async (cx) => {
          cx.behave(0, respondWith(200, [['X-Accel-Custom', 'kept by nginx'], ['X-Other', 'o']]));
          return cx.send(request('/accel'));
        },
        difference: {
          documented: '`X-Accel-*` headers are hidden and never interpreted',
          check: (nginx, gateway) => {
            expect(header(nginx.client as NormalizedResponse, 'x-accel-custom')).toBe('kept by nginx');
            expect(header(gateway.client as NormalizedResponse, 'x-accel-custom')).toBeUndefined();
            const { headers: nh, ...nrest } = nginx.client as NormalizedResponse;
            const { headers: gh, ...grest } = gateway.client as NormalizedResponse;
            expect(gh).toEqual(nh.filter(([n]) => n !== 'x-accel-custom'));
            expect(grest).toEqual(nrest);
          },
        },
      },
      {
        name: 'proxy_redirect default rewrites Location and Refresh naming the upstream',
        run: async (cx) => {
          const out: Reply[] = [];
          for (const [location, refresh] of [
            ['http://app/next?x=1', '5; url=http://app/r'],
            ['/relative', '0;URL=http://app/'],
            ['http://elsewhere/x', '3'],
          ] as const) {
            cx.behave(0, respondWith(302, [['Location', location], ['Refresh', refresh]]));
            out.push(await cx.send(request('/redir/a', { host: 'client.example:8443' })));
          }
          return out;
        },
        expectNginx: (o) => expect(header((o.client as NormalizedResponse[])[0] as NormalizedResponse, 'location')).toBe('http://client.example:{PORT}/next?x=1'),
      },
      {
        name: 'proxy_redirect off leaves Location alone',
        run: async (cx) => {
          cx.behave(0, respondWith(301, [['Location', 'http://app/next']]));
          return cx.send(request('/redir-off/a'));
        },
      },
      {
        name: 'statuses without a body (204, 304) and a custom reason phrase',
        run: async (cx) => {
          cx.behave(0, (_r, c) =>
            c.count === 1
              ? { kind: 'respond', status: 204, body: '' }
              : c.count === 2
                ? { kind: 'raw', bytes: 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n' }
                : { kind: 'respond', status: 299, reason: 'Quite Fine', body: 'odd' },
          );
          return [await cx.send(request('/204')), await cx.send(request('/304')), await cx.send(request('/299'))];
        },
      },
    ],
  },
];
