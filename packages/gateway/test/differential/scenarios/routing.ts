import { expect } from 'vitest';
import { header, type NormalizedResponse } from '../normalize.js';
import { conf, filler, request, type Group } from '../scenario.js';

/** Location matching, the auto-redirect, request validation and `$host`. */
const config = conf(`
  upstream app { server {{UPSTREAM_0}}; }
  upstream api { server {{UPSTREAM_1}}; }
  server {
    listen {{LISTEN}};
    proxy_set_header X-Host $host;
    location / { proxy_pass http://app; }
    location /api/ { proxy_pass http://api; }
    location /api/v2 { proxy_pass http://app; }
    location /static/ { }
  }
  server {
    listen {{LISTEN}};
    location / { proxy_pass http://api; }
  }
`);

const status = (r: unknown) => (r as NormalizedResponse).status;

export const routingGroups: Group[] = [
  {
    name: 'prefix locations',
    feature: 'routing',
    config,
    upstreams: ['server', 'server'],
    scenarios: [
      {
        name: 'the longest matching prefix wins',
        run: async (cx) => [
          await cx.send(request('/api/users')),
          await cx.send(request('/api/v2/users')),
          await cx.send(request('/apix')),
          await cx.send(request('/api/v2')),
        ],
        expectNginx: (o) => expect((o.client as NormalizedResponse[]).map((r) => header(r, 'x-upstream'))).toEqual(['u1', 'u0', 'u0', 'u0']),
      },
      {
        name: '/api gets a 301 to /api/ keeping the query',
        run: async (cx) => [await cx.send(request('/api?x=1&y=2')), await cx.send(request('/api', { method: 'HEAD' }), { head: true })],
        expectNginx: (o) => expect(header((o.client as NormalizedResponse[])[0] as NormalizedResponse, 'location')).toBe('http://test.example:{PORT}/api/?x=1&y=2'),
      },
      {
        name: 'a location without proxy_pass gives 404',
        run: async (cx) => cx.send(request('/static/missing.txt')),
        expectNginx: (o) => expect(status(o.client)).toBe(404),
      },
      {
        name: 'dot segments are resolved for matching; the target goes upstream unchanged',
        run: async (cx) => [await cx.send(request('/x/../api/users?q=1')), await cx.send(request('/a//b/./c'))],
        expectNginx: (o) => expect(JSON.stringify(o.upstream)).toContain('GET /x/../api/users?q=1 HTTP/1.0'),
      },
      {
        name: 'percent-encoded paths are decoded for matching',
        run: async (cx) => cx.send(request('/%61pi/%75sers%20list')),
        expectNginx: (o) => expect(header(o.client as NormalizedResponse, 'x-upstream')).toBe('u1'),
      },
      {
        name: '.. above the root is a 400',
        run: async (cx) => cx.send(request('/../etc/passwd')),
        expectNginx: (o) => expect(status(o.client)).toBe(400),
      },
      {
        name: 'absolute-form request target sets $host',
        run: async (cx) => cx.send(request('http://Other.Example:8080/api/x', { host: 'test.example' })),
        expectNginx: (o) => expect(JSON.stringify(o.upstream)).toContain('X-Host: other.example'),
      },
      {
        name: 'Host with port and capitals: $host is lowercased without the port',
        run: async (cx) => cx.send(request('/h', { host: 'Test.EXAMPLE.:1234' })),
        expectNginx: (o) => expect(JSON.stringify(o.upstream)).toContain('X-Host: test.example"'),
      },
      {
        name: 'duplicate Host is a 400',
        run: async (cx) => cx.send(request('/h', { headers: [['Host', 'again.example']] })),
        expectNginx: (o) => expect(status(o.client)).toBe(400),
      },
      {
        name: 'invalid Host is a 400',
        run: async (cx) => cx.send(request('/h', { host: 'bad/host' })),
        expectNginx: (o) => expect(status(o.client)).toBe(400),
      },
      {
        name: 'HTTP/1.1 without Host is a 400',
        run: async (cx) => cx.send(request('/h', { host: null })),
        expectNginx: (o) => expect(status(o.client)).toBe(400),
      },
      {
        name: 'the first server of the address answers (no server_name)',
        run: async (cx) => cx.send(request('/who', { host: 'anything.example' })),
        expectNginx: (o) => expect(header(o.client as NormalizedResponse, 'x-upstream')).toBe('u0'),
      },
      {
        name: 'a method outside Node\'s list',
        run: async (cx) => cx.send(request('/m', { method: 'FROB' })),
        expectNginx: (o) => expect(status(o.client)).toBe(200),
        difference: {
          documented: "Node's method list",
          check: (nginx, gateway) => {
            expect(status(nginx.client)).toBe(200);
            expect(status(gateway.client)).toBe(400);
            expect(gateway.upstream).toEqual([]);
          },
        },
      },
      {
        name: 'a 10 KiB header line (over the default 8 KiB large buffer)',
        run: async (cx) => cx.send(request('/big', { headers: [['X-Big', filler(10 * 1024)]] })),
        expectNginx: (o) => {
          expect(status(o.client)).toBe(400);
          expect(o.upstream).toEqual([]);
        },
      },
    ],
  },
];
