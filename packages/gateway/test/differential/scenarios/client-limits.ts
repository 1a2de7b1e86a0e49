import { connect } from 'node:net';
import { expect } from 'vitest';
import type { NormalizedResponse } from '../normalize.js';
import { chunked, conf, filler, request, type Group, type RunContext } from '../scenario.js';
import { echo } from '../upstreams.js';

/**
 * client_header_timeout, client_body_timeout, send_timeout, keepalive_timeout,
 * client_max_body_size, client_header_buffer_size and large_client_header_buffers, small enough
 * to be hit cheaply. The upstream speaks HTTP/1.0 (nginx's default), so both engines read a
 * chunked body in full before contacting it: what the upstream sees is comparable exactly.
 * Timeouts are 1 s; an outcome records only whether it came after about that long (between
 * 0.7 and 6 s), never the exact time.
 */

const config = conf(`
  client_header_timeout 1s;
  client_body_timeout 1s;
  send_timeout 1s;
  keepalive_timeout 1s;
  client_max_body_size 1k;
  client_header_buffer_size 1k;
  large_client_header_buffers 2 1k;
  upstream app { server {{UPSTREAM_0}}; }
  server {
    listen {{LISTEN}};
    location / { proxy_pass http://app; }
    location /unlimited/ { client_max_body_size 0; proxy_pass http://app; }
    location /closing/ { keepalive_timeout 0; proxy_pass http://app; }
  }
`);

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; afterTimeout: boolean }> {
  const start = Date.now();
  const result = await work();
  const ms = Date.now() - start;
  return { result, afterTimeout: ms >= 700 && ms < 6_000 };
}

/** Writes `bytes`, then reports whether the engine closed the connection after about 1 s, and what it sent. */
async function droppedAfterTimeout(cx: RunContext, bytes: string) {
  const conn = await cx.open();
  if (bytes) conn.write(bytes);
  const closed = await timed(async () => (await conn.waitClosed(6_000)) !== null);
  const sent = conn.takeBuffered().length;
  conn.destroy();
  return { closed, sent };
}

/** One request's response, and whether the engine then closed the connection (within `ms`). */
async function responseAndClose(cx: RunContext, bytes: string, ms = 1_500) {
  const conn = await cx.open();
  conn.write(bytes);
  const response = cx.normalize(await conn.readOutcome());
  const closed = (await conn.waitClosed(ms)) !== null;
  conn.destroy();
  return { response, closed };
}

const status = (o: { client: unknown }) => (o.client as NormalizedResponse).status;
const x = (n: number) => filler(n, 'x');
const get = (target: string, headers: [string, string][] = []) => request(target, { headers });

export const clientLimitGroups: Group[] = [
  {
    name: 'client limits',
    feature: 'client limits',
    config,
    upstreams: ['server'],
    needs: ['client_header_timeout', 'client_body_timeout', 'send_timeout', 'keepalive_timeout', 'client_max_body_size', 'client_header_buffer_size', 'large_client_header_buffers'],
    scenarios: [
      {
        name: 'a connection that sends nothing is closed after client_header_timeout, without a response',
        run: (cx) => droppedAfterTimeout(cx, ''),
        expectNginx: (o) => expect(o.client).toEqual({ closed: { result: true, afterTimeout: true }, sent: 0 }),
      },
      {
        name: 'a head that stops arriving is closed after client_header_timeout, without a response',
        run: (cx) => droppedAfterTimeout(cx, 'GET /slow-head HTTP/1.1\r\nHost: test.example\r\n'),
        expectNginx: (o) => {
          expect(o.client).toEqual({ closed: { result: true, afterTimeout: true }, sent: 0 });
          expect(o.upstream).toEqual([]);
        },
      },
      {
        name: 'a body that stops arriving is closed after client_body_timeout, without a response',
        run: (cx) => droppedAfterTimeout(cx, request('/slow-body', { method: 'POST', headers: [['Transfer-Encoding', 'chunked']] }) + '5\r\nhello\r\n'),
        expectNginx: (o) => {
          expect(o.client).toEqual({ closed: { result: true, afterTimeout: true }, sent: 0 });
          expect(o.upstream).toEqual([]);
        },
      },
      {
        name: 'a Content-Length over client_max_body_size is a 413',
        run: (cx) => cx.send(request('/big', { method: 'POST', headers: [['Content-Length', '1025']] })),
        expectNginx: (o) => {
          expect(status(o)).toBe(413);
          expect(o.upstream).toEqual([]);
        },
      },
      {
        name: 'a chunked body growing past client_max_body_size is a 413',
        run: (cx) => cx.send(request('/big', { method: 'POST', headers: [['Transfer-Encoding', 'chunked']], body: chunked(x(1500), 500) })),
        expectNginx: (o) => {
          expect(status(o)).toBe(413);
          expect(o.upstream).toEqual([]);
        },
      },
      {
        name: 'a body of exactly client_max_body_size is forwarded',
        run: (cx) => {
          cx.behave(0, echo);
          return cx.send(request('/fits', { method: 'POST', body: x(1024) }));
        },
        expectNginx: (o) => expect(status(o)).toBe(200),
      },
      {
        name: 'client_max_body_size 0 takes any body',
        run: (cx) => {
          cx.behave(0, echo);
          return cx.send(request('/unlimited/', { method: 'POST', body: x(64 * 1024) }));
        },
        expectNginx: (o) => expect(status(o)).toBe(200),
      },
      {
        name: 'a request line of 1024 bytes fits a 1k buffer; 1025 bytes are a 414',
        run: async (cx) => [await cx.send(get(`/${x(1008)}`)), await cx.send(get(`/${x(1009)}`))],
        expectNginx: (o) => expect((o.client as NormalizedResponse[]).map((r) => r.status)).toEqual([200, 414]),
      },
      {
        name: 'a header line of 1024 bytes fits; 1025 bytes are a 400 "Request Header Or Cookie Too Large"',
        run: async (cx) => [await cx.send(get('/h', [['X-A', x(1017)]])), await cx.send(get('/h', [['X-A', x(1018)]]))],
        expectNginx: (o) => {
          const [fits, refused] = o.client as NormalizedResponse[];
          expect([fits?.status, refused?.status]).toEqual([200, 400]);
          expect(refused?.body).toContain('Request Header Or Cookie Too Large');
        },
      },
      {
        name: 'a head needing more large buffers than there are is a 400',
        run: async (cx) => {
          const headers = (n: number): [string, string][] => Array.from({ length: n }, (_, i) => [`X-${i}`, x(594)]);
          return [await cx.send(get('/h', headers(3))), await cx.send(get('/h', headers(4)))];
        },
        expectNginx: (o) => expect((o.client as NormalizedResponse[]).map((r) => r.status)).toEqual([200, 400]),
      },
      {
        name: 'an idle connection is closed after keepalive_timeout',
        run: async (cx) => {
          const conn = await cx.open();
          conn.write(get('/idle'));
          const response = cx.normalize(await conn.readResponse());
          const closed = await timed(async () => (await conn.waitClosed(6_000)) !== null);
          conn.destroy();
          return { response, closed };
        },
        expectNginx: (o) => expect(o.client).toMatchObject({ response: { status: 200 }, closed: { result: true, afterTimeout: true } }),
      },
      {
        name: 'keepalive_timeout 0 closes the connection after the response',
        run: (cx) => responseAndClose(cx, get('/closing/x')),
        expectNginx: (o) => expect(o.client).toMatchObject({ response: { status: 200 }, closed: true }),
      },
      {
        name: 'a client that stops reading is disconnected after send_timeout',
        run: async (cx) => {
          const size = 8 * 1024 * 1024;
          cx.behave(0, () => ({ kind: 'respond', body: x(size) }));
          // A client that reads nothing for 3 s, then everything that is left.
          const socket = connect(cx.port, '127.0.0.1');
          socket.on('error', () => {});
          socket.pause();
          socket.write(get('/large'));
          let received = 0;
          let closed = false;
          socket.on('close', () => (closed = true));
          await new Promise((r) => setTimeout(r, 3_000));
          socket.on('data', (c: Buffer) => (received += c.length));
          socket.resume();
          for (let i = 0; i < 100 && !closed; i++) await new Promise((r) => setTimeout(r, 50));
          socket.destroy();
          return { closed, complete: received > size };
        },
        expectNginx: (o) => expect(o.client).toEqual({ closed: true, complete: false }),
      },
    ],
  },
];
