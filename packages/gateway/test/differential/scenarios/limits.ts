import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { substituteAddresses } from '@chat/devstack';
import { expect } from 'vitest';
import { packageDir } from '../harness.js';
import type { NormalizedResponse, NormalizedUpstreamRequest } from '../normalize.js';
import { conf, request, type Group, type Reply, type RunContext, type Scenario } from '../scenario.js';
import { wsUpgrade } from './infra.js';

/**
 * Front-door limits against nginx: realip (which peer may report the client address, and how
 * X-Forwarded-For is walked), limit_req (burst, nodelay, delay, status, several limits, dry
 * run) and limit_conn (plain requests and WebSocket tunnels), then infra/nginx.conf's own
 * handshake limit. Keys come from a request header where the address does not matter, so that
 * each scenario has buckets of its own; rates of 1r/m make only the burst count.
 */

const headers = (o: { upstream?: unknown }) => (o.upstream as NormalizedUpstreamRequest[]).map((r) => r.headers.filter((h) => h.startsWith('X-Seen')));
const statusOf = (r: Reply) => (r === 'closed' ? 'closed' : r.status);

/** A WebSocket handshake to `target` with extra headers. */
const upgradeRequest = (target: string, extra: [string, string][] = []) =>
  request(target, {
    headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['Sec-WebSocket-Version', '13'], ...extra],
  });

/** What realip made of the address, as the upstream sees it. */
const seen = `
      proxy_pass http://a;
      proxy_set_header X-Seen-Addr $remote_addr;
      proxy_set_header X-Seen-Forwarded $proxy_add_x_forwarded_for;
      proxy_set_header X-Seen-Peer $realip_remote_addr;`;

const realipConfig = conf(`
  upstream a { server {{UPSTREAM_0}}; }
  set_real_ip_from 127.0.0.1;
  set_real_ip_from 10.0.0.0/8;
  server {
    listen {{LISTEN}};
    location /x-real-ip {${seen}
    }
    location /xff { real_ip_header X-Forwarded-For;${seen}
    }
    location /xff-recursive { real_ip_header X-Forwarded-For; real_ip_recursive on;${seen}
    }
    location /custom { real_ip_header X-Client; real_ip_recursive on;${seen}
      proxy_set_header X-Seen-Port $remote_port;
    }
    location /untrusted { set_real_ip_from 192.0.2.0/24; real_ip_header X-Forwarded-For;${seen}
    }
    location /returned { real_ip_header X-Forwarded-For; return 200 "$remote_addr"; }
  }
`);

/** One GET per header set, on the same location. */
function probe(target: string, sets: [string, string][][]): Scenario['run'] {
  return async (cx) => {
    const out: Reply[] = [];
    for (const h of sets) out.push(await cx.send(request(target, { headers: h })));
    return out.map(statusOf);
  };
}

const realipScenarios: Scenario[] = [
  {
    name: 'X-Real-IP from a trusted peer (the first line; garbage leaves the peer)',
    run: probe('/x-real-ip', [[['X-Real-IP', '203.0.113.9']], [['X-Real-IP', '203.0.113.9'], ['X-Real-IP', '198.51.100.1']], [['X-Real-IP', 'garbage']], [['X-Real-IP', '2001:DB8::7']]]),
    expectNginx: (o) => expect(headers(o).map((h) => h[0])).toEqual(['X-Seen-Addr: 203.0.113.9', 'X-Seen-Addr: 203.0.113.9', 'X-Seen-Addr: 127.0.0.1', 'X-Seen-Addr: 2001:db8::7']),
  },
  {
    name: 'X-Forwarded-For without recursion: the rightmost address, of the last line',
    run: probe('/xff', [[['X-Forwarded-For', '6.6.6.6, 203.0.113.9, 10.0.0.5']], [['X-Forwarded-For', '203.0.113.9'], ['X-Forwarded-For', '198.51.100.1 ,, ']]]),
    expectNginx: (o) => expect(headers(o).map((h) => h[0])).toEqual(['X-Seen-Addr: 10.0.0.5', 'X-Seen-Addr: 198.51.100.1']),
  },
  {
    name: 'X-Forwarded-For recursive: past trusted hops, across lines, stopping at garbage',
    run: probe('/xff-recursive', [
      [['X-Forwarded-For', '6.6.6.6, 203.0.113.9, 10.0.0.5,10.1.1.1']],
      [['X-Forwarded-For', '6.6.6.6, 203.0.113.9'], ['X-Forwarded-For', '10.0.0.5']],
      [['X-Forwarded-For', '10.9.9.9, 10.0.0.5']],
      [['X-Forwarded-For', 'unknown, 10.0.0.5']],
      // A separator before the first address stays in its token, which then does not parse.
      [['X-Forwarded-For', ',203.0.113.9']],
      [['X-Forwarded-For', '203.0.113.9:8080, [2001:db8::1]:443']],
    ]),
    expectNginx: (o) =>
      expect(headers(o).map((h) => h[0])).toEqual([
        'X-Seen-Addr: 203.0.113.9',
        'X-Seen-Addr: 203.0.113.9',
        'X-Seen-Addr: 10.9.9.9',
        'X-Seen-Addr: 10.0.0.5',
        'X-Seen-Addr: 127.0.0.1',
        'X-Seen-Addr: 2001:db8::1',
      ]),
  },
  {
    name: 'server-level X-Real-IP runs first: a location\'s X-Forwarded-For is then not consulted',
    run: probe('/xff', [[['X-Real-IP', '203.0.113.9'], ['X-Forwarded-For', '198.51.100.1']]]),
    expectNginx: (o) => expect(headers(o)[0]?.[0]).toBe('X-Seen-Addr: 203.0.113.9'),
  },
  {
    name: 'a custom header with an address and port sets $remote_port',
    run: probe('/custom', [[['X-Client', '[2001:DB8:0:0::1]:8443']], [['X-Client', '203.0.113.9, 10.0.0.5']]]),
    expectNginx: (o) => expect(headers(o)[0]).toEqual(expect.arrayContaining(['X-Seen-Addr: 2001:db8::1', 'X-Seen-Port: 8443'])),
  },
  {
    name: 'a location\'s own set_real_ip_from replaces the inherited list: 127.0.0.1 is no longer trusted',
    run: probe('/untrusted', [[['X-Forwarded-For', '203.0.113.9']]]),
    expectNginx: (o) => expect(headers(o)[0]?.[0]).toBe('X-Seen-Addr: 127.0.0.1'),
  },
  {
    name: '`return` runs before a location\'s realip',
    run: async (cx) => cx.send(request('/returned', { headers: [['X-Forwarded-For', '203.0.113.9']] })),
    expectNginx: (o) => expect((o.client as NormalizedResponse).body).toBe('127.0.0.1'),
  },
];

const limitReqConfig = conf(`
  upstream a { server {{UPSTREAM_0}}; }
  limit_req_zone $http_x_key zone=burst:32k rate=1r/m;
  limit_req_zone $http_x_key zone=strict:32k rate=1r/m;
  limit_req_zone $http_x_key zone=loose:32k rate=1r/m;
  limit_req_zone $http_x_key zone=paced:32k rate=2r/s;
  limit_req_zone $http_x_key zone=dry:32k rate=1r/m;
  server {
    listen {{LISTEN}};
    location /burst { limit_req zone=burst burst=3 nodelay; limit_req_status 429; proxy_pass http://a; }
    location /strict { limit_req zone=strict; proxy_pass http://a; }
    location /both { limit_req zone=loose burst=5 nodelay; limit_req zone=strict nodelay; proxy_pass http://a; }
    location /loose { limit_req zone=loose burst=1 nodelay; proxy_pass http://a; }
    location /paced { limit_req zone=paced burst=1; proxy_pass http://a; }
    location /dry { limit_req zone=dry; limit_req_dry_run on; proxy_pass http://a; }
    location /returned { limit_req zone=strict; return 204; }
    location /ws {
      limit_req zone=burst nodelay;
      proxy_pass http://a;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection upgrade;
    }
  }
`);

/** `n` requests one after the other, each on its own connection, with key `key`. */
async function burst(cx: RunContext, target: string, key: string | null, n: number): Promise<(number | string)[]> {
  const out: (number | string)[] = [];
  for (let i = 0; i < n; i++) out.push(statusOf(await cx.send(request(`${target}?i=${i}`, { headers: key === null ? [] : [['X-Key', key]] }))));
  return out;
}

const limitReqScenarios: Scenario[] = [
  {
    name: 'burst=3 nodelay: four pass, then limit_req_status 429 (the upstream sees only those that passed)',
    run: (cx) => burst(cx, '/burst', 'b1', 6),
    expectNginx: (o) => expect(o.client).toEqual([200, 200, 200, 200, 429, 429]),
  },
  {
    name: 'no burst: the second request is refused with the default 503 page',
    run: async (cx) => {
      const statuses = await burst(cx, '/strict', 's1', 2);
      const page = await cx.send(request('/strict', { headers: [['X-Key', 's1']] }));
      return { statuses, page };
    },
    expectNginx: (o) => expect((o.client as { statuses: unknown }).statuses).toEqual([200, 503]),
  },
  {
    name: 'an empty key is never counted',
    run: (cx) => burst(cx, '/strict', null, 4),
    expectNginx: (o) => expect(o.client).toEqual([200, 200, 200, 200]),
  },
  {
    name: 'two limits: the stricter refuses, and the refused request counts in neither',
    run: async (cx) => {
      const both = await burst(cx, '/both', 'm1', 3);
      // `loose` counted only the first request: one more fits a burst of 1, the next does not.
      const loose = await burst(cx, '/loose', 'm1', 2);
      return { both, loose };
    },
    expectNginx: (o) => expect(o.client).toEqual({ both: [200, 503, 503], loose: [200, 503] }),
  },
  {
    name: 'without nodelay: within the burst a request waits, beyond it is refused at once',
    upstream: 'none',
    run: async (cx) => {
      const started = Date.now();
      const timed = async (i: number) => {
        const r = await cx.send(request(`/paced?i=${i}`, { headers: [['X-Key', 'p1']] }));
        return { status: statusOf(r), ms: Date.now() - started };
      };
      const results = await Promise.all([0, 1, 2, 3].map(timed));
      const passed = results.filter((r) => r.status === 200);
      // Excess 1 at 2 r/s waits about 500 ms; generous bounds, only the shape is compared.
      return {
        statuses: results.map((r) => r.status).sort(),
        oneWaited: passed.some((r) => r.ms >= 350),
        refusalsQuick: results.filter((r) => r.status === 503).every((r) => r.ms < 350),
      };
    },
    expectNginx: (o) => expect(o.client).toEqual({ statuses: [200, 200, 503, 503], oneWaited: true, refusalsQuick: true }),
  },
  {
    name: 'dry run: nothing is refused',
    run: (cx) => burst(cx, '/dry', 'd1', 3),
    expectNginx: (o) => expect(o.client).toEqual([200, 200, 200]),
  },
  {
    name: '`return` is answered before limit_req',
    run: (cx) => burst(cx, '/returned', 'r1', 3),
    expectNginx: (o) => expect(o.client).toEqual([204, 204, 204]),
  },
  {
    name: 'a WebSocket handshake beyond the limit is refused (status only: the gateway then closes)',
    upstream: 'none',
    run: async (cx) => {
      cx.behave(0, wsUpgrade);
      const out: (number | string)[] = [];
      for (let i = 0; i < 2; i++) {
        const conn = await cx.open();
        conn.write(upgradeRequest('/ws', [['X-Key', 'w1']]));
        out.push(statusOf(cx.normalize(await conn.readOutcome())));
        conn.destroy();
      }
      return out;
    },
    expectNginx: (o) => expect(o.client).toEqual([101, 503]),
  },
];

const limitConnConfig = conf(`
  upstream a { server {{UPSTREAM_0}}; }
  limit_conn_zone $http_x_key zone=per:32k;
  server {
    listen {{LISTEN}};
    location /one { limit_conn per 1; proxy_pass http://a; }
    location /ws {
      limit_conn per 1;
      limit_conn_status 429;
      proxy_pass http://a;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection upgrade;
    }
  }
`);

/** Retries `send` (a liveness bound, not a timing assertion) until it gets `want`; the last status. */
async function eventually(send: () => Promise<number | string>, want: number): Promise<number | string> {
  let got = await send();
  for (let tries = 0; got !== want && tries < 100; tries++) {
    await sleep(20);
    got = await send();
  }
  return got;
}

const limitConnScenarios: Scenario[] = [
  {
    name: 'a second request with the same key while one is in progress gets 503; once it ended, another passes',
    upstream: 'none',
    run: async (cx) => {
      cx.behave(0, () => ({ kind: 'respond', delayMs: 400, body: 'slow' }));
      const first = cx.send(request('/one', { headers: [['X-Key', 'c1']] }));
      while (cx.upstreams.requests.length === 0) await sleep(5);
      const second = statusOf(await cx.send(request('/one', { headers: [['X-Key', 'c1']] })));
      const other = statusOf(await cx.send(request('/one', { headers: [['X-Key', 'c2']] })));
      const firstStatus = statusOf(await first);
      cx.behave(0, () => ({ kind: 'respond', body: 'quick' }));
      const after = await eventually(async () => statusOf(await cx.send(request('/one', { headers: [['X-Key', 'c1']] }))), 200);
      return { firstStatus, second, other, after };
    },
    expectNginx: (o) => expect(o.client).toEqual({ firstStatus: 200, second: 503, other: 200, after: 200 }),
  },
  {
    name: 'a WebSocket counts until its tunnel closes (limit_conn_status 429)',
    upstream: 'none',
    run: async (cx) => {
      cx.behave(0, wsUpgrade);
      const handshake = async () => {
        const conn = await cx.open();
        conn.write(upgradeRequest('/ws', [['X-Key', 'w1']]));
        return { conn, status: statusOf(cx.normalize(await conn.readOutcome())) };
      };
      const tunnel = await handshake();
      const refused = await handshake();
      refused.conn.destroy();
      tunnel.conn.destroy();
      const after = await eventually(async () => {
        const next = await handshake();
        next.conn.destroy();
        return next.status;
      }, 101);
      return { tunnel: tunnel.status, refused: refused.status, after };
    },
    expectNginx: (o) => expect(o.client).toEqual({ tunnel: 101, refused: 429, after: 101 }),
  },
];

/**
 * infra/nginx.conf with its addresses replaced and one worker, as in ./infra.ts: chat-1..3 are
 * upstreams 0..2, web is upstream 3.
 */
const infraTemplate = substituteAddresses(
  readFileSync(path.join(packageDir, '../../infra/nginx.conf'), 'utf8'),
  { 'chat-1:3000': '{{UPSTREAM_0}}', 'chat-2:3000': '{{UPSTREAM_1}}', 'chat-3:3000': '{{UPSTREAM_2}}', 'web:3000': '{{UPSTREAM_3}}' },
  '{{LISTEN}}',
).replace(/^worker_processes\s+\w+;/m, 'worker_processes 1;');

/** infra/nginx.conf's handshake burst (`limit_req zone=chat_handshakes burst=N`). */
const handshakeBurst = Number(/limit_req\s+zone=chat_handshakes\s+burst=(\d+)/.exec(infraTemplate)?.[1]);

const handshakeScenario: Scenario = {
  name: 'a burst of Socket.IO handshakes from one address gets 429 beyond the burst; requests of a session, and the web app, do not',
  upstream: 'none',
  run: async (cx) => {
    const polling = (query: string) => request(`/socket.io/?EIO=4&transport=polling${query}`);
    const statuses = (await cx.sequence(handshakeBurst + 100, (i) => polling(`&t=h${i}`))).map(statusOf);
    const sessionRequests = (await cx.sequence(5, (i) => polling(`&sid=chat-2.AbC_d-${i}&t=s${i}`))).map(statusOf);
    const webApp = (await cx.sequence(5, (i) => request(`/page-${i}`))).map(statusOf);
    // The bucket is now full and drains one request per 100 ms (10 r/s): of five quick
    // requests, at most one can pass.
    const limited = async (query: string) => (await cx.sequence(5, () => polling(query))).filter((r) => statusOf(r) === 429).length >= 4;
    const stillLimited = await limited('');
    // Forms engine.io reads as "no session" must not slip past the limit.
    const sidForms = {
      empty: await limited('&sid='),
      upperCase: await limited('&SID=chat-1.x'),
      lastOneEmpty: await limited('&sid=chat-1.x&sid='),
      encodedName: await limited('&sid=chat-1.x&s%69d='),
    };
    for (const i of [0, 1, 2, 3]) cx.behave(i, wsUpgrade);
    const upgrade = async (query: string) => {
      const conn = await cx.open();
      conn.write(upgradeRequest(`/socket.io/?EIO=4&transport=websocket${query}`));
      const status = statusOf(cx.normalize(await conn.readOutcome()));
      conn.destroy();
      return status;
    };
    const sessionUpgrade = await upgrade('&sid=chat-1.AbC_d-1');
    const handshakeUpgrades: (number | string)[] = [];
    for (let i = 0; i < 5; i++) handshakeUpgrades.push(await upgrade(''));
    return {
      firstBurstAllPassed: statuses.slice(0, handshakeBurst + 1).every((s) => s === 200),
      manyRefused: statuses.filter((s) => s === 429).length >= 40,
      sessionRequests,
      webApp,
      stillLimited,
      sidForms,
      sessionUpgrade,
      handshakeUpgradesLimited: handshakeUpgrades.filter((s) => s === 429).length >= 4,
    };
  },
  expectNginx: (o) =>
    expect(o.client).toEqual({
      firstBurstAllPassed: true,
      manyRefused: true,
      sessionRequests: [200, 200, 200, 200, 200],
      webApp: [200, 200, 200, 200, 200],
      stillLimited: true,
      sidForms: { empty: true, upperCase: true, lastOneEmpty: true, encodedName: true },
      sessionUpgrade: 101,
      handshakeUpgradesLimited: true,
    }),
};

export const limitGroups: Group[] = [
  { name: 'realip', feature: 'front-door limits', config: realipConfig, upstreams: ['server'], scenarios: realipScenarios },
  { name: 'limit_req', feature: 'front-door limits', config: limitReqConfig, upstreams: ['server'], scenarios: limitReqScenarios },
  { name: 'limit_conn', feature: 'front-door limits', config: limitConnConfig, upstreams: ['server'], scenarios: limitConnScenarios },
  {
    name: 'infra/nginx.conf handshake limit',
    feature: 'infra/nginx.conf',
    config: infraTemplate,
    upstreams: ['server', 'server', 'server', 'server'],
    scenarios: [handshakeScenario],
  },
];
