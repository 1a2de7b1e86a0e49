import { readFileSync } from 'node:fs';
import path from 'node:path';
import { substituteAddresses } from '@chat/devstack';
import { expect } from 'vitest';
import { packageDir } from '../harness.js';
import { header } from '../normalize.js';
import { request, statuses, type Group, type Scenario } from '../scenario.js';
import { echo, status, type Behaviour } from '../upstreams.js';

/**
 * infra/nginx.conf itself, with only its addresses replaced (as devstack's startNginx does):
 * chat-1..3 are upstreams 0..2, web is upstream 3 — and `worker_processes 1`: each worker (nginx's
 * or the gateway's cluster worker) keeps its own round-robin position and keepalive cache, and
 * which worker accepts a connection is a race, so upstream picks are only comparable with one.
 */
const infraText = readFileSync(path.join(packageDir, '../../infra/nginx.conf'), 'utf8');
const template = substituteAddresses(
  infraText,
  { 'chat-1:3000': '{{UPSTREAM_0}}', 'chat-2:3000': '{{UPSTREAM_1}}', 'chat-3:3000': '{{UPSTREAM_2}}', 'web:3000': '{{UPSTREAM_3}}' },
  '{{LISTEN}}',
).replace(/^worker_processes\s+\w+;/m, 'worker_processes 1;');

/** A WebSocket server: 101 with the accept for the client's key (see upstreams.ts), then echo. */
export const wsUpgrade: Behaviour = () => ({ kind: 'upgrade', headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade']] });

const upgradeRequest = (target: string, extra: [string, string][] = []) =>
  request(target, {
    headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['Sec-WebSocket-Version', '13'], ...extra],
  });

const scenarios: Scenario[] = [
  {
    name: 'GET / goes to web with the infra headers',
    run: async (cx) => cx.send(request('/index.html?x=1', { headers: [['User-Agent', 'diff/1'], ['Accept', '*/*']] })),
    expectNginx: (o) => expect(JSON.stringify(o.upstream)).toContain('X-Forwarded-For: 127.0.0.1'),
  },
  {
    name: 'HTTP/1.0 request without Host: no Host upstream ($host is empty)',
    run: async (cx) => cx.send('GET /about HTTP/1.0\r\nUser-Agent: old\r\n\r\n'),
    expectNginx: (o) => expect(JSON.stringify(o.upstream)).not.toContain('Host:'),
  },
  {
    name: 'duplicated X-Forwarded-For is joined, then the client address appended',
    run: async (cx) =>
      cx.send(request('/', { headers: [['X-Forwarded-For', '10.0.0.1'], ['X-Forwarded-For', '10.0.0.2, 10.0.0.3']] })),
    expectNginx: (o) => expect(JSON.stringify(o.upstream)).toContain('X-Forwarded-For: 10.0.0.1, 10.0.0.2, 10.0.0.3, 127.0.0.1'),
  },
  {
    name: 'Socket.IO polling is balanced round robin over chat-1..3, on kept-alive connections',
    upstream: 'full',
    connections: true,
    run: async (cx) => statuses(await cx.sequence(30, (i) => request(`/socket.io/?EIO=4&transport=polling&i=${i}`))),
    expectNginx: (o) => expect(o.connections).toEqual({ u0: 1, u1: 1, u2: 1, u3: 0 }),
  },
  {
    name: 'Socket.IO polling with a session id sticks to the instance named in it',
    upstream: 'picks',
    run: async (cx) =>
      statuses(
        await cx.sequence(9, (i) => request(`/socket.io/?EIO=4&transport=polling&sid=${['chat-2.abc', 'chat-3.def', 'chat-9.zzz'][i % 3]}`)),
      ),
    // chat-2 and chat-3 sids are pinned; an unknown instance falls back to the balanced pool.
    expectNginx: (o) => expect(String(o.upstream).split(' ').filter((_, i) => i % 3 !== 2)).toEqual(['u1', 'u2', 'u1', 'u2', 'u1', 'u2']),
  },
  {
    name: 'WebSocket upgrade on /socket.io/ tunnels both ways (echo)',
    run: async (cx) => {
      cx.behave(0, wsUpgrade);
      cx.behave(1, wsUpgrade);
      cx.behave(2, wsUpgrade);
      const conn = await cx.open();
      conn.write(upgradeRequest('/socket.io/?EIO=4&transport=websocket'));
      const head = cx.normalize(await conn.readResponse());
      conn.write('hello through the tunnel');
      const echoed = (await conn.readBytes(24)).toString('latin1');
      conn.end();
      const closedAfter = await conn.waitClosed(5_000);
      return { head, echoed, closed: closedAfter !== null };
    },
    expectNginx: (o) => expect((o.client as { head: { status: number } }).head.status).toBe(101),
  },
  {
    name: 'WebSocket upgrade on / (the web app, next dev reload)',
    run: async (cx) => {
      cx.behave(3, () => ({ kind: 'upgrade', greeting: 'hi!' }));
      const conn = await cx.open();
      conn.write(upgradeRequest('/_next/webpack-hmr'));
      const head = cx.normalize(await conn.readResponse());
      const greeting = (await conn.readBytes(3)).toString('latin1');
      conn.write('ping');
      const echoed = (await conn.readBytes(4)).toString('latin1');
      conn.destroy();
      return { head, greeting, echoed };
    },
  },
  {
    name: 'upgrade refused by the upstream (403) is relayed',
    run: async (cx) => {
      cx.behave(3, status(403, [['Content-Type', 'text/plain']]));
      const conn = await cx.open();
      conn.write(upgradeRequest('/ws'));
      const response = cx.normalize(await conn.readOutcome());
      const closed = (await conn.waitClosed(1_500)) !== null;
      conn.destroy();
      return { response, closed };
    },
    expectNginx: (o) => expect((o.client as { closed: boolean }).closed).toBe(false),
    difference: {
      documented: 'A non-101 answer to an upgrade request closes the client connection after relaying it.',
      check: (nginx, gateway) => {
        const n = nginx.client as { response: { framing: string; headers: [string, string][] }; closed: boolean };
        const g = gateway.client as { response: { framing: string; headers: [string, string][] }; closed: boolean };
        // Same status, headers and body; the upstream saw the same request.
        expect({ ...g.response, framing: null }).toEqual({ ...n.response, framing: null });
        expect(gateway.upstream).toEqual(nginx.upstream);
        // nginx keeps the client connection; the gateway closes it.
        expect(n.closed).toBe(false);
        expect(g.closed).toBe(true);
      },
    },
  },
  {
    name: 'client header case, order and values pass through; invalid names are dropped',
    run: async (cx) =>
      cx.send(
        request('/p', {
          headers: [['x-lower', 'a'], ['X-MiXeD', 'b'], ['X_Under', 'dropped'], ['Accept-Language', 'fr'], ['x-lower', 'again']],
        }),
      ),
    expectNginx: (o) => expect(JSON.stringify(o.upstream)).not.toContain('X_Under'),
  },
  {
    name: 'HEAD request',
    run: async (cx) => cx.send(request('/head', { method: 'HEAD' }), { head: true }),
  },
  {
    name: 'POST with a body to /socket.io/',
    run: async (cx) => {
      for (const i of [0, 1, 2]) cx.behave(i, echo);
      return cx.send(request('/socket.io/?EIO=4&transport=polling', { method: 'POST', body: '40{"token":"x"}', headers: [['Content-Type', 'text/plain;charset=UTF-8']] }));
    },
  },
  {
    name: 'upstream error statuses pass through unchanged (500, 503)',
    run: async (cx) => {
      cx.behave(3, (req, c) => status(c.count === 1 ? 500 : 503, [['Retry-After', '5']])(req, c));
      return [await cx.send(request('/a')), await cx.send(request('/b'))];
    },
  },
];

export const infraGroups: Group[] = [
  {
    name: 'infra/nginx.conf',
    feature: 'infra/nginx.conf',
    config: template,
    upstreams: ['server', 'server', 'server', 'server'],
    needs: ['~^chat', 'proxy_pass http://$'],
    scenarios,
  },
];
export { header };
