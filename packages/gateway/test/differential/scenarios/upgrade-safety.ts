import { readFileSync } from 'node:fs';
import path from 'node:path';
import { substituteAddresses } from '@chat/devstack';
import { expect } from 'vitest';
import { WS_HANDSHAKE } from '../../ws-keys.js';
import { packageDir } from '../harness.js';
import type { NormalizedResponse } from '../normalize.js';
import { request, tunnelAttempt, type Group, type RunContext } from '../scenario.js';
import { echo, type Behaviour } from '../upstreams.js';

/**
 * Which upgrades become tunnels, on infra/nginx.conf (its maps forward `Upgrade` only for
 * websocket). Both engines then treat `Upgrade: h2c` as a plain request; what nginx still
 * tunnels (a handshake without a key, a 101 with the wrong accept) the gateway refuses, as its
 * README documents. chat-1..3 are upstreams 0..2, web is upstream 3.
 */
const template = substituteAddresses(
  readFileSync(path.join(packageDir, '../../infra/nginx.conf'), 'utf8'),
  { 'chat-1:3000': '{{UPSTREAM_0}}', 'chat-2:3000': '{{UPSTREAM_1}}', 'chat-3:3000': '{{UPSTREAM_2}}', 'web:3000': '{{UPSTREAM_3}}' },
  '{{LISTEN}}',
).replace(/^worker_processes\s+\w+;/m, 'worker_processes 1;');

const WEB = 3;
const DECLINED = 'A request with another `Upgrade` (`h2c`, ...) is a plain request whose connection is closed after the response.';
const HANDSHAKE_ONLY = 'Only WebSocket is tunnelled, and only for a well-formed handshake';

/** A response, then whether the engine closed the connection within 1.5 s. */
async function answer(cx: RunContext, bytes: string) {
  const conn = await cx.open();
  conn.write(bytes);
  const response = cx.normalize(await conn.readOutcome());
  const closed = (await conn.waitClosed(1_500)) !== null;
  conn.destroy();
  return { response, closed };
}

type Answer = { response: NormalizedResponse; closed: boolean };

/** The same response and the same upstream request; nginx keeps the connection, the gateway closes it. */
function closedAfterPlainResponse(nginx: { client: unknown; upstream?: unknown }, gateway: { client: unknown; upstream?: unknown }) {
  const n = nginx.client as Answer;
  const g = gateway.client as Answer;
  expect({ ...g.response, framing: null }).toEqual({ ...n.response, framing: null });
  expect(gateway.upstream).toEqual(nginx.upstream);
  expect([n.closed, g.closed]).toEqual([false, true]);
}

const h2c: [string, string][] = [['Upgrade', 'h2c'], ['Connection', 'Upgrade, HTTP2-Settings'], ['HTTP2-Settings', 'AAMAAABkAAQCAAAAAAIAAAAA']];
const wrongAccept: Behaviour = () => ({ kind: 'upgrade', headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Accept', 'bm90IHRoZSByaWdodCBvbmU=']] });
const tunnelling: Behaviour = () => ({ kind: 'upgrade', headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade']] });

export const upgradeSafetyGroups: Group[] = [
  {
    name: 'upgrade safety on infra/nginx.conf',
    feature: 'websocket',
    config: template,
    upstreams: ['server', 'server', 'server', 'server'],
    scenarios: [
      {
        name: 'Upgrade: h2c is forwarded as a plain request, without Upgrade or Connection',
        run: (cx) => answer(cx, request('/page', { headers: h2c })),
        expectNginx: (o) => {
          expect((o.client as Answer).response.status).toBe(200);
          expect(JSON.stringify(o.upstream)).not.toMatch(/Upgrade:|Connection: upgrade/i);
        },
        difference: { documented: DECLINED, check: closedAfterPlainResponse },
      },
      {
        name: 'Upgrade: h2c on a POST: the body is forwarded as for any request',
        run: (cx) => {
          cx.behave(WEB, echo);
          return answer(cx, request('/form', { method: 'POST', headers: h2c, body: 'a=1&b=2' }));
        },
        expectNginx: (o) => expect((o.client as Answer).response).toMatchObject({ status: 200, body: 'a=1&b=2' }),
        difference: { documented: DECLINED, check: closedAfterPlainResponse },
      },
      {
        name: 'Upgrade: WebSocket in another case is a WebSocket handshake: tunnelled',
        run: (cx) => {
          cx.behave(WEB, tunnelling);
          const headers = WS_HANDSHAKE.map(([n, v]): [string, string] => (n === 'Upgrade' ? [n, 'WebSocket'] : [n, v]));
          return tunnelAttempt(cx, request('/hmr', { headers }));
        },
        expectNginx: (o) => expect(o.client).toMatchObject({ response: { status: 101 }, echoed: 'ping' }),
      },
      {
        name: 'a WebSocket handshake without Sec-WebSocket-Key',
        run: (cx) => {
          cx.behave(WEB, tunnelling);
          return tunnelAttempt(cx, request('/hmr', { headers: WS_HANDSHAKE.filter(([n]) => n !== 'Sec-WebSocket-Key') }));
        },
        expectNginx: (o) => expect(o.client).toMatchObject({ response: { status: 101 }, echoed: 'ping' }),
        difference: {
          documented: HANDSHAKE_ONLY,
          check: (nginx, gateway) => {
            expect(nginx.client).toMatchObject({ response: { status: 101 }, echoed: 'ping' });
            expect(gateway.client).toMatchObject({ response: { status: 400 }, echoed: null });
            expect(gateway.upstream).toEqual([]);
          },
        },
      },
      {
        name: 'a 101 whose Sec-WebSocket-Accept does not answer the key',
        run: (cx) => {
          cx.behave(WEB, wrongAccept);
          return tunnelAttempt(cx, request('/hmr', { headers: WS_HANDSHAKE }));
        },
        expectNginx: (o) => expect(o.client).toMatchObject({ response: { status: 101 }, echoed: 'ping' }),
        difference: {
          documented: HANDSHAKE_ONLY,
          check: (nginx, gateway) => {
            expect(nginx.client).toMatchObject({ response: { status: 101 }, echoed: 'ping' });
            expect(gateway.client).toMatchObject({ response: { status: 502 }, echoed: null });
            expect(gateway.upstream).toEqual(nginx.upstream);
          },
        },
      },
    ],
  },
];
