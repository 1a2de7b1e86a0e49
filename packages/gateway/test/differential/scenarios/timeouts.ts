import { expect } from 'vitest';
import type { NormalizedResponse } from '../normalize.js';
import { conf, request, type Group, type RunContext } from '../scenario.js';
import { silent, type UpstreamKind } from '../upstreams.js';
import { WS_HANDSHAKE } from '../../ws-keys.js';
import { wsUpgrade } from './infra.js';

/**
 * Timeouts, with generous bounds: an outcome only records whether it came "after about the
 * timeout" (between 0.7 and 6 times 1 s), never the exact time.
 */

function timed<T>(work: () => Promise<T>): Promise<{ result: T; afterTimeout: boolean }> {
  const start = Date.now();
  return work().then((result) => {
    const ms = Date.now() - start;
    return { result, afterTimeout: ms >= 700 && ms < 6_000 };
  });
}

function group(name: string, upstreams: UpstreamKind[], location: string, scenarios: Group['scenarios'], needs?: string[]): Group {
  const servers = upstreams.map((_, i) => `    server {{UPSTREAM_${i}}};`).join('\n');
  return {
    name,
    feature: 'timeouts',
    upstreams,
    needs,
    config: conf(`
  upstream pool {
${servers}
  }
  server {
    listen {{LISTEN}};
    location / { proxy_pass http://pool; proxy_read_timeout 1s; ${location} }
  }
`),
    scenarios,
  };
}

const status = (r: unknown) => (r as NormalizedResponse | 'closed') === 'closed' ? 'closed' : (r as NormalizedResponse).status;
const upgrade = (cx: RunContext) =>
  cx.open().then(async (conn) => {
    conn.write(request('/ws', { headers: WS_HANDSHAKE }));
    const head = cx.normalize(await conn.readResponse());
    return { conn, head };
  });
const tunnelConfig = 'proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade";';

export const timeoutGroups: Group[] = [
  group('read timeout, one server', ['server'], '', [
    {
      name: 'an upstream that never answers: 504 after proxy_read_timeout',
      run: async (cx) => {
        cx.behave(0, silent);
        return timed(() => cx.send(request('/slow')));
      },
      expectNginx: (o) => expect(o.client).toMatchObject({ afterTimeout: true, result: { status: 504 } }),
    },
    {
      name: 'a slow upstream within proxy_read_timeout',
      run: async (cx) => {
        cx.behave(0, (r) => ({ kind: 'respond', body: `late ${r.target}`, delayMs: 300 }));
        return cx.send(request('/late'));
      },
      expectNginx: (o) => expect(status(o.client)).toBe(200),
    },
    {
      name: 'the upstream stalls after the head: the client connection is cut',
      run: async (cx) => {
        cx.behave(0, () => ({ kind: 'raw', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b' }));
        const conn = await cx.open();
        conn.write(request('/stall'));
        const outcome = await timed(async () => (await conn.waitClosed(6_000)) !== null);
        const got = conn.takeBuffered().toString('latin1');
        conn.destroy();
        return { ...outcome, head: /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n/.test(got), partialBody: got.endsWith('\r\n\r\nonly ten b') };
      },
      expectNginx: (o) => expect(o.client).toMatchObject({ result: true, afterTimeout: true, head: true }),
      difference: {
        documented: 'Responses are streamed with backpressure, like `proxy_buffering off`.',
        check: (nginx, gateway) => {
          // Both relay the head and cut the connection after proxy_read_timeout; nginx still
          // holds the partial body in its buffer, the gateway has already streamed it.
          expect(nginx.client).toEqual({ result: true, afterTimeout: true, head: true, partialBody: false });
          expect(gateway.client).toEqual({ result: true, afterTimeout: true, head: true, partialBody: true });
          expect(gateway.upstream).toEqual(nginx.upstream);
        },
      },
    },
    {
      name: 'the upstream closes right after the head: the head is relayed, then the connection is cut',
      run: async (cx) => {
        cx.behave(0, () => ({ kind: 'raw', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n', close: true }));
        const conn = await cx.open();
        conn.write(request('/cut'));
        const closed = (await conn.waitClosed(6_000)) !== null;
        const got = conn.takeBuffered().toString('latin1');
        conn.destroy();
        return { closed, head: /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n$/.test(got) };
      },
      expectNginx: (o) => expect(o.client).toEqual({ closed: true, head: true }),
    },
  ]),
  group('read timeout, next upstream', ['server', 'server'], '', [
    {
      name: 'a GET timing out on one server is retried on the next (proxy_next_upstream timeout)',
      upstream: 'picks',
      run: async (cx) => {
        cx.behave(0, silent);
        return timed(() => cx.send(request('/t')));
      },
      expectNginx: (o) => {
        expect(o.client).toMatchObject({ afterTimeout: true, result: { status: 200 } });
        expect(o.upstream).toBe('u0 u1');
      },
    },
  ]),
  group('read timeout, POST', ['server', 'server'], '', [
    {
      name: 'a POST timing out is not retried: 504',
      upstream: 'picks',
      run: async (cx) => {
        cx.behave(0, silent);
        return timed(() => cx.send(request('/t', { method: 'POST', body: 'x=1' })));
      },
      expectNginx: (o) => {
        expect(o.client).toMatchObject({ afterTimeout: true, result: { status: 504 } });
        expect(o.upstream).toBe('u0');
      },
    },
  ]),
  group('tunnel timeout', ['server'], tunnelConfig, [
    {
      name: 'an idle WebSocket tunnel is closed after proxy_read_timeout',
      run: async (cx) => {
        cx.behave(0, wsUpgrade);
        const { conn, head } = await upgrade(cx);
        const closed = await timed(async () => (await conn.waitClosed(6_000)) !== null);
        conn.destroy();
        return { head, closed };
      },
      expectNginx: (o) => expect(o.client).toMatchObject({ closed: { result: true, afterTimeout: true } }),
    },
    {
      name: 'traffic keeps a tunnel open past proxy_read_timeout',
      run: async (cx) => {
        cx.behave(0, wsUpgrade);
        const { conn, head } = await upgrade(cx);
        const echoes: string[] = [];
        for (let i = 0; i < 5; i++) {
          await new Promise((r) => setTimeout(r, 400));
          conn.write(`tick${i}`);
          echoes.push((await conn.readBytes(5)).toString('latin1'));
        }
        const closed = await timed(async () => (await conn.waitClosed(6_000)) !== null);
        conn.destroy();
        return { head, echoes, closed };
      },
      expectNginx: (o) => expect(o.client).toMatchObject({ echoes: ['tick0', 'tick1', 'tick2', 'tick3', 'tick4'], closed: { result: true } }),
    },
  ]),
  group(
    'connect and send timeouts',
    ['server'],
    'proxy_connect_timeout 2s; proxy_send_timeout 2s;',
    [{ name: 'proxy_connect_timeout and proxy_send_timeout are accepted; a normal request passes', run: async (cx) => cx.send(request('/ok')) }],
    ['proxy_connect_timeout', 'proxy_send_timeout'],
  ),
];
