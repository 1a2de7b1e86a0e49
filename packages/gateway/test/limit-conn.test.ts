import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { LimitZone } from '../src/config/limit-directives.js';
import { limitConnections, LimitConnZoneState } from '../src/limits/limit-conn.js';
import { requestVariables } from '../src/variables.js';
import { cleanup, configErrorOf, httpRequest, limitsConfig as config, limitsOf, onCleanup, startGateway, startUpstream } from './helpers.js';

afterEach(cleanup);


const errorOf = (text: string): string => configErrorOf(text).message;


const at = (line: number) => ` in /etc/chat-gateway/nginx.conf:${line}`;
const zone = 'limit_conn_zone $http_x_key zone=c:32k;';

describe('limit_conn configuration', () => {
  it.each([
    ['limit_conn_zone $binary_remote_addr zone=c:32k x;', `invalid number of arguments in "limit_conn_zone" directive${at(3)}`],
    ['limit_conn_zone $binary_remote_addr c:32k;', `invalid parameter "c:32k"${at(3)}`],
    ['limit_conn_zone $binary_remote_addr zone=c:8k;', `zone "zone=c:8k" is too small${at(3)}`],
    [`${zone} limit_conn c 0;`, `invalid number of connections "0"${at(3)}`],
    [`${zone} limit_conn c x;`, `invalid number of connections "x"${at(3)}`],
    [`${zone} limit_conn c 65536;`, `connection limit must be less 65536${at(3)}`],
    [`${zone} limit_conn c 1; limit_conn c 2;`, `"limit_conn" directive is duplicate${at(3)}`],
    ['limit_conn c 1;', 'zero size shared memory zone "c"'],
    [`${zone} limit_conn_status 399;`, `value must be between 400 and 599${at(3)}`],
    [`${zone} limit_conn_log_level crit;`, `invalid value "crit"${at(3)}`],
    [`${zone} limit_conn_dry_run on; limit_conn_dry_run off;`, `"limit_conn_dry_run" directive is duplicate${at(3)}`],
    [`${zone} limit_conn_zone $binary_remote_addr zone=c:32k;`, `limit_conn_zone "c" is already bound to key "$http_x_key"${at(3)}`],
  ])('refuses %s', (directives, message) => {
    expect(errorOf(config([directives]))).toBe(message);
  });

  it('accepts a zone named before it is declared, and inherits like nginx', () => {
    const limits = limitsOf(['limit_conn c 10;', zone, 'limit_conn_status 429;'], ['limit_conn_log_level info;']);
    expect(limits.conn).toMatchObject({ rules: [{ conn: 10, zone: { name: 'c', size: 32768 } }], status: 429, logLevel: 'info', dryRun: false });
    expect(limits.req.rules).toEqual([]);
  });
});

describe('limit_conn counting (ngx_http_limit_conn_module)', () => {
  function counter(http: string[], location: string[] = []) {
    const limits = limitsOf(http, location);
    const states = new Map<LimitZone, LimitConnZoneState>();
    const stateOf = (z: LimitZone) => {
      let state = states.get(z);
      if (!state) states.set(z, (state = new LimitConnZoneState(z.size)));
      return state;
    };
    const logs: string[] = [];
    const enter = (key: string) => limitConnections(limits.conn, stateOf, requestVariables({ rawHeaders: key ? ['X-Key', key] : [] }), (level, m) => logs.push(`[${level}] ${m}`));
    return { enter, logs, stateOf, limits };
  }

  it('counts requests in progress per key, and forgets a key at zero', () => {
    const { enter, logs, stateOf, limits } = counter([zone, 'limit_conn c 2;']);
    const [a, b] = [enter('a'), enter('a')];
    expect([a.status, b.status, enter('a').status, enter('b').status]).toEqual(['PASSED', 'PASSED', 'REJECTED', 'PASSED']);
    expect(logs).toEqual(['[error] limiting connections by zone "c"']);
    a.release();
    a.release();
    expect(enter('a').status).toBe('PASSED');
    const state = stateOf(limits.conn.rules[0]?.zone as LimitZone);
    expect(state.keys).toBe(2);
  });

  it('does not count an empty key', () => {
    const { enter } = counter([zone, 'limit_conn c 1;']);
    expect([enter('').status, enter('').status]).toEqual([null, null]);
  });

  it('gives back what earlier limits counted when a later one refuses; dry run lets the request go uncounted', () => {
    const http = [zone, 'limit_conn_zone $http_x_key zone=d:32k;'];
    const { enter, stateOf, limits } = counter([...http, 'limit_conn c 5;', 'limit_conn d 1;']);
    expect(enter('k').status).toBe('PASSED');
    expect(enter('k').status).toBe('REJECTED');
    const [c, d] = limits.conn.rules.map((r) => stateOf(r.zone));
    c?.release('k');
    expect(c?.keys).toBe(0);
    expect(d?.keys).toBe(1);

    const dry = counter([zone, 'limit_conn c 1;', 'limit_conn_dry_run on;']);
    expect([dry.enter('k').status, dry.enter('k').status, dry.enter('k').status]).toEqual(['PASSED', 'REJECTED_DRY_RUN', 'REJECTED_DRY_RUN']);
    expect(dry.logs).toEqual(['[error] limiting connections, dry run, by zone "c"', '[error] limiting connections, dry run, by zone "c"']);
  });

  it('refuses a new key when the zone is full (nothing can be evicted while counted)', () => {
    const state = new LimitConnZoneState(32 * 1024);
    // A 4-byte key costs 64 bytes: 512 fit in 32 KiB.
    for (let i = 0; i < 512; i++) expect(state.acquire(`k${String(i).padStart(3, '0')}`, 1)).toBe('ok');
    expect(state.acquire('more', 1)).toBe('full');
    state.release('k000');
    expect(state.acquire('more', 1)).toBe('ok');
  });
});

describe('limit_conn through the gateway', () => {
  it('refuses a request beyond the limit while another is in progress, and counts it until its response ends', async () => {
    const held: ServerResponse[] = [];
    const up = await startUpstream((_req, res) => held.push(res));
    const logs: string[] = [];
    const { port } = await startGateway(config(['limit_conn_zone $binary_remote_addr zone=addr:32k;'], ['limit_conn addr 1;']), { 'app:3000': up.port }, {
      log: (level, message) => logs.push(`[${level}] ${message}`),
    });
    const first = httpRequest(port, '/slow');
    while (held.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const refused = await httpRequest(port, '/second');
    expect(refused.status).toBe(503);
    expect(logs).toEqual([expect.stringMatching(/^\[error\] limiting connections by zone "addr", client: 127\.0\.0\.1, server: , request: "GET \/second HTTP\/1\.1"/)]);
    held[0]?.end('done');
    expect((await first).body).toBe('done');
    const after = httpRequest(port, '/third');
    while (held.length === 1) await new Promise((resolve) => setTimeout(resolve, 5));
    held[1]?.end('third');
    expect((await after).status).toBe(200);
  });

  it('counts a WebSocket for the whole life of its tunnel', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    onCleanup(async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise((resolve) => wss.close(resolve));
    });
    const text = config(['limit_conn_zone $binary_remote_addr zone=addr:32k;'], ['limit_conn addr 1;', 'limit_conn_status 429;', 'proxy_http_version 1.1;', 'proxy_set_header Upgrade $http_upgrade;', 'proxy_set_header Connection upgrade;']);
    const { port } = await startGateway(text, { 'app:3000': (wss.address() as AddressInfo).port });
    const open = (): WebSocket => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      ws.on('error', () => {});
      onCleanup(() => ws.terminate());
      return ws;
    };
    const tunnel = open();
    await once(tunnel, 'open');
    const second = open();
    const [, response] = (await once(second, 'unexpected-response')) as [unknown, { statusCode: number }];
    expect(response.statusCode).toBe(429);
    tunnel.close();
    await once(tunnel, 'close');
    // The count drops when the gateway has seen the tunnel close.
    let third = open();
    for (let tries = 0; tries < 50; tries++) {
      const outcome = await Promise.race([once(third, 'open').then(() => 'open'), once(third, 'unexpected-response').then(() => 'refused')]);
      if (outcome === 'open') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
      third = open();
    }
    expect(third.readyState).toBe(WebSocket.OPEN);
  });
});
