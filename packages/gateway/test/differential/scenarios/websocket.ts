import { expect } from 'vitest';
import type { NormalizedResponse } from '../normalize.js';
import { conf, filler, request, tunnelAttempt, type Group, type RunContext } from '../scenario.js';
import { WS_HANDSHAKE } from '../../ws-keys.js';
import { wsUpgrade } from './infra.js';

/** WebSocket / Upgrade tunnels beyond infra/nginx.conf's recipe. */
const config = conf(`
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  upstream app { server {{UPSTREAM_0}}; }
  server {
    listen {{LISTEN}};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
    }
    location /always-upgrade/ {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection upgrade;
    }
    location /plain/ { proxy_pass http://app; }
  }
`);

const ws = (target: string, connection = 'Upgrade') =>
  request(target, { headers: WS_HANDSHAKE.map(([n, v]) => (n === 'Connection' ? [n, connection] : [n, v])) });

async function handshake(cx: RunContext, target: string, first?: string) {
  const conn = await cx.open();
  conn.write(ws(target) + (first ?? ''));
  const head = cx.normalize(await conn.readResponse());
  return { conn, head };
}

export const websocketGroups: Group[] = [
  {
    name: 'websocket tunnels',
    feature: 'websocket',
    config,
    upstreams: ['server'],
    scenarios: [
      {
        name: 'bytes sent right behind the upgrade request reach the upstream',
        run: async (cx) => {
          cx.behave(0, wsUpgrade);
          const { conn, head } = await handshake(cx, '/ws', 'early-bytes');
          const echoed = (await conn.readBytes(11)).toString('latin1');
          conn.destroy();
          return { head, echoed };
        },
        expectNginx: (o) => expect(o.client).toMatchObject({ echoed: 'early-bytes' }),
      },
      {
        name: '256 KiB each way through the tunnel',
        run: async (cx) => {
          cx.behave(0, wsUpgrade);
          const { conn, head } = await handshake(cx, '/ws');
          const payload = filler(256 * 1024, 'websocket-payload-');
          conn.write(payload);
          const back = (await conn.readBytes(payload.length)).toString('latin1');
          conn.destroy();
          return { head, same: back === payload, tunnelBytes: cx.upstreams.tunnelBytes.get('u0') };
        },
        expectNginx: (o) => expect(o.client).toMatchObject({ same: true, tunnelBytes: 256 * 1024 }),
      },
      {
        name: 'the upstream closing the tunnel closes the client side',
        run: async (cx) => {
          cx.behave(0, () => ({ kind: 'upgrade', greeting: 'bye', closeAfterGreeting: true }));
          const { conn, head } = await handshake(cx, '/ws');
          const greeting = (await conn.readBytes(3)).toString('latin1');
          const closed = (await conn.waitClosed(3_000)) !== null;
          conn.destroy();
          return { head, greeting, closed };
        },
        expectNginx: (o) => expect(o.client).toMatchObject({ greeting: 'bye', closed: true }),
      },
      {
        name: 'the client closing the tunnel closes the upstream side',
        run: async (cx) => {
          cx.behave(0, wsUpgrade);
          const { conn, head } = await handshake(cx, '/ws');
          conn.end();
          const closed = (await conn.waitClosed(3_000)) !== null;
          conn.destroy();
          return { head, closed };
        },
        expectNginx: (o) => expect(o.client).toMatchObject({ closed: true }),
      },
      {
        name: 'a request without Upgrade gets Connection: close from the map, not a tunnel',
        run: async (cx) => cx.send(request('/no-upgrade')),
        expectNginx: (o) => expect(JSON.stringify(o.upstream)).toContain('Connection: close'),
      },
      {
        name: 'Upgrade with "Connection: keep-alive": forwarded as an upgrade by the config',
        run: async (cx) => {
          cx.behave(0, wsUpgrade);
          return tunnelAttempt(cx, ws('/always-upgrade/x', 'keep-alive'));
        },
        expectNginx: (o) => expect(o.client).toMatchObject({ response: { status: 101 }, echoed: 'ping' }),
        difference: {
          documented: 'Only requests Node flags as upgrades (`Upgrade` and `Connection: upgrade`) are tunnelled.',
          check: (nginx, gateway) => {
            expect(nginx.client).toMatchObject({ response: { status: 101 }, echoed: 'ping' });
            expect(gateway.client).toMatchObject({ response: { status: 502 }, echoed: null });
            // The upstream saw the same request from both.
            expect(gateway.upstream).toEqual(nginx.upstream);
          },
        },
      },
      {
        name: 'an upgrade request to a location that does not forward Upgrade',
        run: async (cx) => {
          const conn = await cx.open();
          conn.write(ws('/plain/x'));
          const response = cx.normalize(await conn.readOutcome());
          const closed = (await conn.waitClosed(1_000)) !== null;
          conn.destroy();
          return { response, closed };
        },
        expectNginx: (o) => expect(o.client).toMatchObject({ response: { status: 200 }, closed: false }),
        difference: {
          documented: 'A non-101 answer to an upgrade request closes the client connection after relaying it.',
          check: (nginx, gateway) => {
            const n = nginx.client as { response: NormalizedResponse; closed: boolean };
            const g = gateway.client as { response: NormalizedResponse; closed: boolean };
            expect({ ...g.response, framing: null }).toEqual({ ...n.response, framing: null });
            expect(gateway.upstream).toEqual(nginx.upstream);
            expect([n.closed, g.closed]).toEqual([false, true]);
          },
        },
      },
    ],
  },
];
