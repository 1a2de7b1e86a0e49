import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { LimitZone } from '../src/config/limit-directives.js';
import { loadConfig } from '../src/index.js';
import { limitRequests, LimitReqZoneState, type LimitReqResult } from '../src/limits/limit-req.js';
import { LimitZones, limitZonesOf } from '../src/limits/zones.js';
import { evaluate, requestVariables, type Template } from '../src/variables.js';
import { cleanup, configErrorOf, httpRequest, limitsConfig as config, limitsOf, lines, onCleanup, startGateway, startUpstream } from './helpers.js';

afterEach(cleanup);


const errorOf = (text: string): string => configErrorOf(text).message;


/** Runs a location's limit_req on fresh zone states; `at(ms, key)` sends one request at a time. */
function bucket(http: string[], location: string[]) {
  const limits = limitsOf(http, location);
  const states = new Map<LimitZone, LimitReqZoneState>();
  const stateOf = (zone: LimitZone) => {
    let state = states.get(zone);
    if (!state) states.set(zone, (state = new LimitReqZoneState(zone.rate, zone.size)));
    return state;
  };
  const logs: string[] = [];
  const at = (ms: number, headers: string[] = ['X-Key', 'k']): LimitReqResult =>
    limitRequests(limits.req, stateOf, requestVariables({ rawHeaders: headers }), 1_000_000 + ms, (level, message) => logs.push(`[${level}] ${message}`));
  return { at, logs, stateOf, limits };
}

const at = (line: number) => ` in /etc/chat-gateway/nginx.conf:${line}`;

describe('limit_req configuration', () => {
  it.each([
    ['limit_req_zone $binary_remote_addr zone=a:1g rate=1r/s;', `invalid zone size "zone=a:1g"${at(3)}`],
    ['limit_req_zone $binary_remote_addr zone=a:16k rate=1r/s;', `zone "zone=a:16k" is too small${at(3)}`],
    ['limit_req_zone $binary_remote_addr zone=a:32k rate=1r/s sync;', `invalid number of arguments in "limit_req_zone" directive${at(3)}`],
    ['limit_req_zone $binary_remote_addr zone=a:32k rate=0r/s;', `invalid rate "rate=0r/s"${at(3)}`],
    ['limit_req_zone $binary_remote_addr zone=a:32k rate=1R/s;', `invalid rate "rate=1R/s"${at(3)}`],
    ['limit_req_zone $binary_remote_addr zone=a rate=1r/s;', `invalid zone size "zone=a"${at(3)}`],
    ['limit_req_zone $binary_remote_addr zone=:32k rate=1r/s;', `"limit_req_zone" must have "zone" parameter${at(3)}`],
    ['limit_req_zone $binary_remote_addr zone=a:32k foo=1;', `invalid parameter "foo=1"${at(3)}`],
    ['limit_req_zone $binary_remote_addr zone=a:32k rate=1r/s; limit_req_zone $binary_remote_addr zone=a:32k rate=2r/s;', `limit_req_zone "a" is already bound to key "$binary_remote_addr"${at(3)}`],
    ['limit_req_zone $binary_remote_addr zone=a:32k rate=1r/s; limit_req_zone $binary_remote_addr zone=a:64k rate=1r/s;', `the size 65536 of shared memory zone "a" conflicts with already declared size 32768${at(3)}`],
    ['limit_req_zone $binary_remote_addr zone=a:32k rate=1r/s; limit_conn a 1;', `the shared memory zone "a" is already declared for a different use${at(3)}`],
    ['limit_req zone=b;', 'zero size shared memory zone "b"'],
    ['limit_req_zone $binary_remote_addr zone=a:32k rate=1r/s; limit_req zone=a burst=0;', `invalid burst value "burst=0"${at(3)}`],
    ['limit_req_zone $binary_remote_addr zone=a:32k rate=1r/s; limit_req zone=a delay=x;', `invalid delay value "delay=x"${at(3)}`],
    ['limit_req_zone $binary_remote_addr zone=a:32k rate=1r/s; limit_req zone=a foo;', `invalid parameter "foo"${at(3)}`],
    ['limit_req_zone $binary_remote_addr zone=a:32k rate=1r/s; limit_req burst=3;', `"limit_req" must have "zone" parameter${at(3)}`],
    ['limit_req_zone $binary_remote_addr zone=a:32k rate=1r/s; limit_req zone=a; limit_req zone=a;', `"limit_req" directive is duplicate${at(3)}`],
    ['limit_req_status 600;', `value must be between 400 and 599${at(3)}`],
    ['limit_req_status abc;', `"limit_req_status" directive invalid number${at(3)}`],
    ['limit_req_status 429; limit_req_status 430;', `"limit_req_status" directive is duplicate${at(3)}`],
    ['limit_req_log_level debug;', `invalid value "debug"${at(3)}`],
    ['limit_req_dry_run maybe;', `invalid value "maybe" in "limit_req_dry_run" directive, it must be "on" or "off"${at(3)}`],
    ['limit_req_zone $nope zone=a:32k rate=1r/s;', `unknown "nope" variable${at(3)}`],
  ])('refuses %s', (directives, message) => {
    expect(errorOf(config([directives]))).toBe(message);
  });

  it('keeps nginx\'s integer rate, sizes, defaults and inheritance', () => {
    const limits = limitsOf(
      [
        'limit_req_zone $http_x_key zone=perm:32K rate=1r/m;',
        'limit_req_zone $http_x_key zone=persec:1m rate=5;',
        'limit_req zone=perm;',
        'limit_req_log_level WARN;',
      ],
      ['limit_req zone=persec burst=3 delay=2;'],
    );
    const [rule] = limits.req.rules;
    expect(rule).toMatchObject({ burst: 3000, delay: 2000, zone: { name: 'persec', size: 1024 * 1024, rate: 5000 } });
    expect(limits.req).toMatchObject({ status: 503, logLevel: 'warn', dryRun: false });
    expect(limits.conn.rules).toEqual([]);
    const inherited = limitsOf(['limit_req_zone $http_x_key zone=perm:32768 rate=1r/m;', 'limit_req zone=perm nodelay;', 'limit_req_status 429;']);
    expect(inherited.req.rules[0]).toMatchObject({ burst: 0, delay: Number.POSITIVE_INFINITY, zone: { rate: 16, size: 32768 } });
    expect(inherited.req.status).toBe(429);
  });
});

describe('limit_req arithmetic (ngx_http_limit_req_module)', () => {
  const zone = (rate: string) => [`limit_req_zone $http_x_key zone=z:32k rate=${rate};`];

  it('lets `burst` requests above the rate through and refuses the next, without counting it', () => {
    const { at: send, logs } = bucket(zone('1r/s'), ['limit_req zone=z burst=2 nodelay;']);
    expect([0, 0, 0, 0].map((ms) => send(ms).status)).toEqual(['PASSED', 'PASSED', 'PASSED', 'REJECTED']);
    // 500 ms drained half a request: excess 2.5 is still over the burst.
    expect(send(500).status).toBe('REJECTED');
    expect(send(1000).status).toBe('PASSED');
    expect(logs).toEqual(['[error] limiting requests, excess: 3.000 by zone "z"', '[error] limiting requests, excess: 2.500 by zone "z"']);
  });

  it('drains 1r/m at nginx\'s integer 16 per second: a request 60 s later is still over burst 0', () => {
    const { at: send } = bucket(zone('1r/m'), ['limit_req zone=z;']);
    expect(send(0).status).toBe('PASSED');
    expect(send(60_000).status).toBe('REJECTED');
    expect(send(62_500).status).toBe('PASSED');
  });

  it('delays what is above `delay` until it would have drained, and logs a level lower', () => {
    const { at: send, logs } = bucket([...zone('10r/s'), 'limit_req_log_level notice;'], ['limit_req zone=z burst=5 delay=2;']);
    expect([0, 0, 0].map((ms) => send(ms))).toEqual([
      { status: 'PASSED', delayMs: 0 },
      { status: 'PASSED', delayMs: 0 },
      { status: 'PASSED', delayMs: 0 },
    ]);
    expect(send(0)).toEqual({ status: 'DELAYED', delayMs: 100 });
    expect(send(0)).toEqual({ status: 'DELAYED', delayMs: 200 });
    expect(logs).toEqual(['[info] delaying request, excess: 3.000, by zone "z"', '[info] delaying request, excess: 4.000, by zone "z"']);
  });

  it('does not count a request whose key is empty', () => {
    const { at: send } = bucket(zone('1r/m'), ['limit_req zone=z;']);
    for (let i = 0; i < 5; i++) expect(send(0, []).status).toBeNull();
    expect(send(0).status).toBe('PASSED');
  });

  it('with several limits the longest delay wins', () => {
    const http = ['limit_req_zone $http_x_key zone=a:32k rate=10r/s;', 'limit_req_zone $http_x_key zone=b:32k rate=2r/s;'];
    const both = bucket(http, ['limit_req zone=a burst=5;', 'limit_req zone=b burst=5;']);
    expect(both.at(0)).toEqual({ status: 'PASSED', delayMs: 0 });
    // Excess 1: a (10 r/s) asks for 100 ms, b (2 r/s) for 500 ms.
    expect(both.at(0)).toEqual({ status: 'DELAYED', delayMs: 500 });
    expect(both.logs).toEqual(['[warn] delaying request, excess: 1.000, by zone "b"']);
  });

  it('with several limits a refusal by a later one is counted by none', () => {
    const http = ['limit_req_zone $http_x_key zone=a:32k rate=10r/s;', 'limit_req_zone $http_x_key zone=b:32k rate=1r/m;'];
    const both = bucket(http, ['limit_req zone=a burst=2 nodelay;', 'limit_req zone=b burst=1 nodelay;']);
    expect([0, 0, 0].map((ms) => both.at(ms).status)).toEqual(['PASSED', 'PASSED', 'REJECTED']);
    // a counted two requests (excess 1): one more fits its burst of 2, the next does not.
    const onlyA = { ...both.limits.req, rules: both.limits.req.rules.slice(0, 1) };
    const send = () => limitRequests(onlyA, both.stateOf, requestVariables({ rawHeaders: ['X-Key', 'k'] }), 1_000_000, () => {}).status;
    expect([send(), send()]).toEqual(['PASSED', 'REJECTED']);
  });

  it('dry run: logs and lets everything through', () => {
    const { at: send, logs } = bucket([...zone('1r/m'), 'limit_req_dry_run on;'], ['limit_req zone=z;']);
    expect([0, 0].map((ms) => send(ms))).toEqual([
      { status: 'PASSED', delayMs: 0 },
      { status: 'REJECTED_DRY_RUN', delayMs: 0 },
    ]);
    expect(logs).toEqual(['[error] limiting requests, dry run, excess: 1.000 by zone "z"']);
  });

  it('drops the least recently used key when the zone is full, and idle drained keys on the way', () => {
    const state = new LimitReqZoneState(1000, 32 * 1024);
    // A 4-byte key costs 128 bytes: 256 fit in 32 KiB.
    for (let i = 0; i < 300; i++) state.lookup(`k${String(i).padStart(2, '0')}`, 0, true, 0);
    expect(state.keys).toBe(256);
    // k00 was dropped: it starts afresh instead of being over the burst.
    expect(state.lookup('k00', 0, true, 0).rc).toBe('ok');
    expect(state.lookup('k299', 0, true, 0).rc).toBe('busy');
    // A minute later, each new key first removes up to two drained ones.
    state.lookup('new', 0, true, 61_000);
    expect(state.keys).toBe(255);
  });
});

describe("infra/nginx.conf's handshake key", () => {
  const infra = loadConfig(fileURLToPath(new URL('../../../infra/nginx.conf', import.meta.url)));
  const socketIo = infra.servers[0]?.locations.find((l) => l.prefix === '/socket.io/');
  const key = socketIo?.limits?.req.rules[0]?.zone.key as Template;
  const keyFor = (args: string) => evaluate(key, requestVariables({ remoteAddress: '192.0.2.1', args }));

  it('counts a request that starts an Engine.IO session, by client address', () => {
    expect(socketIo?.limits?.req.rules[0]?.zone.name).toBe('chat_handshakes');
    for (const args of ['EIO=4&transport=polling&t=PxYz1', 'EIO=4&transport=websocket', 'token=a&EIO=4&transport=polling']) {
      expect(keyFor(args)).toBe('\xc0\x00\x02\x01');
    }
  });

  it('exempts the requests of a session, wherever the sid is, and nothing engine.io would read as "no session"', () => {
    for (const args of ['EIO=4&transport=polling&sid=chat-1.AbC_d-e&t=PxYz1', 'EIO=4&transport=websocket&sid=chat-3.x', 'sid=chat-2.x&EIO=4&sidx=1']) {
      expect(keyFor(args)).toBe('');
    }
    // Empty, upper case, a later empty or percent-encoded `sid`, no `=`, an encoded value.
    for (const args of ['EIO=4&sid=', 'EIO=4&SID=chat-1.x', 'sid=chat-1.x&sid=', 'sid=chat-1.x&s%69d=', 'sid=chat-1.x&sid', 'sid&EIO=4', 'sid=chat-1.a%20b']) {
      expect(keyFor(args), args).toBe('\xc0\x00\x02\x01');
    }
  });
});

describe('zone state across reloads', () => {
  const zoneOf = (zoneLine: string) => limitsOf([zoneLine, 'limit_req zone=z;']).req.rules[0]?.zone as LimitZone;

  it('keeps a zone while its name, size and key stay (the rate may change), and starts afresh otherwise', () => {
    const zones = new LimitZones();
    const before = zones.req(zoneOf('limit_req_zone $http_x_key zone=z:32k rate=1r/s;'));
    const reloaded = zones.req(zoneOf('limit_req_zone $http_x_key zone=z:32k rate=5r/s;'));
    expect(reloaded).toBe(before);
    expect(reloaded.rate).toBe(5000);
    expect(zones.req(zoneOf('limit_req_zone $http_x_key zone=z:64k rate=5r/s;'))).not.toBe(before);
    expect(zones.req(zoneOf('limit_req_zone $binary_remote_addr zone=z:64k rate=5r/s;'))).not.toBe(before);
    expect(limitZonesOf({})).not.toBe(limitZonesOf({}));
  });
});

describe('limit_req through the gateway', () => {
  it('refuses the request after the burst with limit_req_status and logs it, on plain and upgrade requests', async () => {
    const up = await startUpstream();
    const logs: string[] = [];
    const { port } = await startGateway(
      config(['limit_req_zone $binary_remote_addr zone=one:32k rate=1r/m;'], ['limit_req zone=one burst=2 nodelay;', 'limit_req_status 429;']),
      { 'app:3000': up.port },
      { log: (level, message) => logs.push(`[${level}] ${message}`) },
    );
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await httpRequest(port, `/x?i=${i}`)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(up.requests).toHaveLength(3);
    expect(logs.at(-1)).toMatch(/^\[error\] limiting requests, excess: (?:2\.9\d\d|3\.000) by zone "one", client: 127\.0\.0\.1, server: , request: "GET \/x\?i=3 HTTP\/1\.1", host: "127\.0\.0\.1:\d+"$/);

    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    ws.on('error', () => {});
    onCleanup(() => ws.terminate());
    const [, response] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
    expect(response.statusCode).toBe(429);
  });

  it('holds a delayed request, then proxies it', async () => {
    const up = await startUpstream();
    const logs: string[] = [];
    const { port } = await startGateway(config(['limit_req_zone $binary_remote_addr zone=one:32k rate=1r/s;'], ['limit_req zone=one burst=5;']), { 'app:3000': up.port }, {
      log: (level, message) => logs.push(`[${level}] ${message}`),
    });
    expect((await httpRequest(port)).status).toBe(200);
    const started = Date.now();
    expect((await httpRequest(port)).status).toBe(200);
    // Excess about 1 at 1 r/s waits about a second (a generous lower bound: timers never fire early).
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(logs.find((l) => l.includes('delaying request'))).toMatch(/^\[warn\] delaying request, excess: (?:0\.\d{3}|1\.000), by zone "one", client: 127\.0\.0\.1/);
  });

  it('applies server-level limits to unmatched paths, but never to `return`', async () => {
    const text = lines(
      'events {}',
      'http {',
      '  limit_req_zone $binary_remote_addr zone=one:32k rate=1r/m;',
      '  server {',
      '    listen 80;',
      '    limit_req zone=one;',
      '    location /app { proxy_pass http://app:3000; }',
      '    location /fixed { return 204; }',
      '  }',
      '}',
    );
    const up = await startUpstream();
    const { port } = await startGateway(text, { 'app:3000': up.port });
    const statuses: number[] = [];
    for (const path of ['/fixed', '/fixed', '/none', '/none', '/app', '/fixed']) statuses.push((await httpRequest(port, path)).status);
    expect(statuses).toEqual([204, 204, 404, 503, 503, 204]);
  });
});
