import { expect } from 'vitest';
import type { NormalizedResponse, NormalizedUpstreamRequest } from '../normalize.js';
import { chunked, conf, filler, request, type Group } from '../scenario.js';
import { echo, type Behaviour } from '../upstreams.js';

/** Request and response bodies: large, chunked both ways, close-delimited, limits, 100-continue. */
const config = conf(`
  upstream app { server {{UPSTREAM_0}}; keepalive 4; }
  server {
    listen {{LISTEN}};
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location /v10/ { proxy_pass http://app; }
  }
`);

const up = (o: { upstream?: unknown }) => o.upstream as NormalizedUpstreamRequest[];
const res = (o: { client: unknown }) => o.client as NormalizedResponse;
const big = (n: number): Behaviour => () => ({ kind: 'respond', headers: [['Content-Type', 'application/octet-stream']], body: filler(n) });

export const bodyGroups: Group[] = [
  {
    name: 'bodies',
    feature: 'bodies',
    config,
    upstreams: ['server'],
    scenarios: [
      {
        name: 'a 700 KiB request body with Content-Length, echoed back',
        run: async (cx) => {
          cx.behave(0, echo);
          return cx.send(request('/upload', { method: 'PUT', body: filler(700 * 1024) }));
        },
        expectNginx: (o) => expect(up(o)[0]?.body).toMatch(/^<716800 bytes/),
      },
      {
        name: 'a 4 MiB response with Content-Length',
        run: async (cx) => {
          cx.behave(0, big(4 * 1024 * 1024));
          return cx.send(request('/download'));
        },
        expectNginx: (o) => expect(res(o).framing).toBe('length'),
      },
      {
        name: 'a 1 MiB chunked response stays chunked for an HTTP/1.1 client',
        run: async (cx) => {
          cx.behave(0, () => ({ kind: 'respond', headers: [['Content-Type', 'text/plain']], body: filler(1024 * 1024), chunked: true, chunkSize: 4096 }));
          return cx.send(request('/stream'));
        },
        expectNginx: (o) => expect(res(o).framing).toBe('chunked'),
      },
      {
        name: 'a chunked response to an HTTP/1.0 client is delimited by the close',
        run: async (cx) => {
          cx.behave(0, () => ({ kind: 'respond', body: filler(50_000), chunked: true, chunkSize: 777 }));
          return cx.send(request('/old', { version: '1.0' }));
        },
        expectNginx: (o) => expect(res(o).framing).toBe('close'),
      },
      {
        name: 'a close-delimited upstream response',
        run: async (cx) => {
          cx.behave(0, () => ({ kind: 'respond', body: filler(100_000), closeDelimited: true }));
          return [await cx.send(request('/eof')), await cx.send(request('/eof', { version: '1.0' }))];
        },
      },
      {
        name: 'a chunked request body to an HTTP/1.0 upstream is sent with Content-Length',
        run: async (cx) => {
          cx.behave(0, echo);
          const body = filler(300_000);
          return cx.send(request('/v10/up', { method: 'POST', headers: [['Transfer-Encoding', 'chunked']], body: chunked(body, 10_000) }));
        },
        expectNginx: (o) => expect(up(o)[0]?.framing).toBe('length'),
      },
      {
        name: 'a chunked request body to an HTTP/1.1 upstream',
        run: async (cx) => {
          cx.behave(0, echo);
          return cx.send(request('/up', { method: 'POST', headers: [['Transfer-Encoding', 'chunked']], body: chunked(filler(200_000), 8192) }));
        },
        difference: {
          documented: 'Chunked bodies go chunked to HTTP/1.1 upstreams',
          check: (nginx, gateway) => {
            // nginx buffers the body and sends it with a Content-Length; the gateway streams it chunked.
            expect(up(nginx)[0]?.framing).toBe('length');
            expect(up(nginx)[0]?.headers).toContain('Content-Length: 200000');
            expect(up(gateway)[0]?.framing).toBe('chunked');
            expect(up(gateway)[0]?.headers).toContain('Transfer-Encoding: chunked');
            expect(up(gateway)[0]?.body).toBe(up(nginx)[0]?.body);
            const strip = (r: NormalizedResponse) => ({ ...r, body: r.body, headers: r.headers.filter(([n]) => n !== 'x-request-framing') });
            expect(strip(res(gateway))).toEqual(strip(res(nginx)));
          },
        },
      },
      {
        name: 'a declared body over client_max_body_size (1 MiB) is a 413',
        run: async (cx) => cx.send(request('/huge', { method: 'POST', headers: [['Content-Length', String(2 * 1024 * 1024)]] })),
        expectNginx: (o) => expect(res(o).status).toBe(413),
      },
      {
        name: 'a chunked body growing over 1 MiB is a 413',
        run: async (cx) => {
          cx.behave(0, echo);
          const conn = await cx.open();
          conn.write(request('/v10/huge', { method: 'POST', headers: [['Transfer-Encoding', 'chunked']] }));
          conn.write(chunked(filler(1100 * 1024), 64 * 1024).replace(/0\r\n\r\n$/, ''));
          const r = cx.normalize(await conn.readOutcome());
          conn.destroy();
          return r;
        },
        expectNginx: (o) => expect(res(o).status).toBe(413),
      },
      {
        name: 'Expect: 100-continue gets the interim response, then the body is forwarded',
        run: async (cx) => {
          cx.behave(0, echo);
          const conn = await cx.open();
          conn.write(request('/v10/continue', { method: 'POST', headers: [['Expect', '100-continue'], ['Content-Length', '11']] }));
          const interim = cx.normalize(await conn.readResponse());
          conn.write('hello world');
          const final = cx.normalize(await conn.readResponse());
          conn.destroy();
          return { interim, final };
        },
        expectNginx: (o) => expect((o.client as { interim: NormalizedResponse }).interim.status).toBe(100),
      },
      {
        name: 'Content-Length: 0 and HEAD of a large response',
        run: async (cx) => {
          cx.behave(0, (r, c) => (r.method === 'HEAD' ? big(3_000_000)(r, c) : echo(r, c)));
          return [
            await cx.send(request('/empty', { method: 'POST', body: '' })),
            await cx.send(request('/large', { method: 'HEAD' }), { head: true }),
          ];
        },
      },
    ],
  },
];
