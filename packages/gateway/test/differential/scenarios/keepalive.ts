import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import type { Reply } from '../scenario.js';
import { conf, request, statuses, type Group, type RunContext } from '../scenario.js';
import type { Behaviour } from '../upstreams.js';

/** Upstream keepalive: how many TCP connections the upstream sees for many requests. */

function group(name: string, upstreamExtra: string, location: string, scenarios: Group['scenarios'], needs?: string[]): Group {
  return {
    name,
    feature: 'keepalive',
    upstreams: ['server'],
    needs,
    config: conf(`
  upstream app {
    server {{UPSTREAM_0}};
    ${upstreamExtra}
  }
  server {
    listen {{LISTEN}};
    location / { proxy_pass http://app; ${location} }
  }
`),
    scenarios,
  };
}

const KEEP = 'proxy_http_version 1.1; proxy_set_header Connection "";';
/** Each request on its own client connection (with Connection: close from the client). */
const separate = (n: number, gapMs = 0) => async (cx: RunContext) => {
  const out: Reply[] = [];
  for (let i = 0; i < n; i++) {
    out.push(await cx.send(request(`/k/${i}`, { headers: [['Connection', 'close']] })));
    if (gapMs) await sleep(gapMs);
  }
  return statuses(out);
};
const conns = (n: number) => (o: { connections?: Record<string, number> }) => expect(o.connections).toEqual({ u0: n });

export const keepaliveGroups: Group[] = [
  group('keepalive 8', 'keepalive 8;', KEEP, [
    { name: 'keepalive reuse: 20 requests (20 client connections) over 1 upstream connection', connections: true, run: separate(20), expectNginx: conns(1) },
    {
      name: 'keepalive reuse with the client keeping its connection too',
      connections: true,
      run: async (cx) => statuses(await cx.sequence(20, (i) => request(`/s/${i}`))),
      expectNginx: conns(0),
    },
    {
      name: 'an upstream answering Connection: close is not reused',
      connections: true,
      run: async (cx) => {
        cx.behave(0, ((r) => ({ kind: 'respond', body: r.target, close: true })) as Behaviour);
        return separate(5)(cx);
      },
      // The first request still uses the connection kept by the previous scenario.
      expectNginx: conns(4),
    },
    {
      name: 'an idle upstream connection closed by the upstream is replaced without an error',
      connections: true,
      run: async (cx) => {
        cx.behave(0, ((r) => ({ kind: 'respond', body: r.target, lingerCloseMs: 50 })) as Behaviour);
        return separate(4, 300)(cx);
      },
      expectNginx: (o) => {
        expect(o.client).toBe('200 x 4');
        expect(o.connections).toEqual({ u0: 4 });
      },
    },
  ]),
  group('no keepalive directive', '', KEEP, [
    { name: 'without keepalive every request opens a connection', connections: true, run: separate(10), expectNginx: conns(10) },
  ]),
  group('keepalive with HTTP/1.0', 'keepalive 8;', '', [
    { name: 'keepalive with proxy_http_version 1.0 (Connection: close) does not reuse', connections: true, run: separate(10), expectNginx: conns(10) },
  ]),
  group('keepalive_requests', 'keepalive 8; keepalive_requests 5;', KEEP, [
    { name: 'keepalive_requests 5 rotates the connection every 5 requests', connections: true, run: separate(20), expectNginx: conns(4) },
  ], ['keepalive_requests']),
  group('keepalive_timeout', 'keepalive 8; keepalive_timeout 1s;', KEEP, [
    {
      name: 'keepalive_timeout 1s closes idle upstream connections',
      connections: true,
      run: async (cx) => {
        const a = await separate(3)(cx);
        await sleep(1_500);
        return [a, await separate(3)(cx)];
      },
      expectNginx: conns(2),
    },
  ], ['keepalive_timeout']),
];
