import { expect } from 'vitest';
import { conf, request, statuses, tally, type Group, type Scenario } from '../scenario.js';

/**
 * Balancing: the exact sequence of upstream picks over 1000 requests, for every method. The
 * requests go one after the other on keep-alive client connections, so nothing overlaps and
 * the sequence is deterministic in both engines.
 */

const N = 1000;

function upstreamConfig(body: string): string {
  return conf(`
  upstream pool {
${body}
  }
  server {
    listen {{LISTEN}};
    location / { proxy_pass http://pool; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
`);
}

const thousand = (targets: (i: number) => string = (i) => `/item/${i}`): Scenario['run'] => async (cx) => statuses(await cx.sequence(N, (i) => request(targets(i))));

function balanceGroup(name: string, body: string, needs: string[] | undefined, expected: (counts: Record<string, number>, picks: string) => void, upstreams = 3): Group {
  return {
    name,
    feature: 'balancing',
    config: upstreamConfig(body),
    upstreams: Array.from({ length: upstreams }, () => 'server' as const),
    needs,
    scenarios: [
      {
        name: `${name}: ${N} requests`,
        upstream: 'picks',
        run: thousand(name.startsWith('hash') ? (i) => `/item/${i % 37}?q=${i % 5}` : undefined),
        expectNginx: (o) => {
          expect(o.client).toBe(`200 x ${N}`);
          expected(tally(o.upstream), String(o.upstream));
        },
      },
    ],
  };
}

const servers = (...params: string[]) => params.map((p, i) => `    server {{UPSTREAM_${i}}}${p ? ` ${p}` : ''};`).join('\n');

export const balancingGroups: Group[] = [
  balanceGroup('round robin', servers('', '', ''), undefined, (c, picks) => {
    expect(c).toEqual({ u0: 334, u1: 333, u2: 333 });
    expect(picks.startsWith('u0 u1 u2 u0 u1 u2')).toBe(true);
  }),
  balanceGroup('weighted round robin 5:1:1', servers('weight=5', '', ''), undefined, (c, picks) => {
    expect(c.u0).toBeGreaterThan(700);
    expect(picks.startsWith('u0 u0 u1 u0 u2 u0 u0')).toBe(true);
  }),
  balanceGroup('weighted round robin 3:2 with keepalive', `${servers('weight=3', 'weight=2')}\n    keepalive 2;`, undefined, (c) => expect(c).toEqual({ u0: 600, u1: 400 }), 2),
  balanceGroup('least_conn', `    least_conn;\n${servers('', 'weight=2', '')}`, ['least_conn'], (c) => expect(c.u1).toBe(500)),
  balanceGroup('ip_hash', `    ip_hash;\n${servers('', '', '')}`, ['ip_hash'], (c) => expect(Object.keys(c)).toHaveLength(1)),
  balanceGroup('hash $request_uri', `    hash $request_uri;\n${servers('', '', '')}`, ['hash'], (c) => expect(Object.keys(c).length).toBeGreaterThan(1)),
  balanceGroup('hash $request_uri consistent', `    hash $request_uri consistent;\n${servers('', '', '')}`, ['hash'], (c) => expect(Object.keys(c).length).toBeGreaterThan(1)),
];
