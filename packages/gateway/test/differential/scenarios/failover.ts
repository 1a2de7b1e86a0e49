import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import type { NormalizedResponse } from '../normalize.js';
import { conf, request, statuses, tally, type Group, type RunContext } from '../scenario.js';
import { closeAfterRequest, ok, status, type UpstreamKind } from '../upstreams.js';

/**
 * Failures and retries: proxy_next_upstream (default `error timeout`, and configured),
 * max_fails/fail_timeout (default 1/10s, and configured), backup, down, max_conns. Each group
 * is a fresh pair of processes, since failure marks last for fail_timeout.
 */

function pool(servers: string, location = '', upstreams: UpstreamKind[] = ['server', 'server', 'server'], extra = ''): Pick<Group, 'config' | 'upstreams'> {
  return {
    upstreams,
    config: conf(`
  upstream pool {
${servers}
${extra}
  }
  server {
    listen {{LISTEN}};
    location / { proxy_pass http://pool; ${location} }
  }
`),
  };
}

const s = (n: number, params = '') => `    server {{UPSTREAM_${n}}}${params ? ` ${params}` : ''};`;
const gets = (n: number) => async (cx: RunContext) => statuses(await cx.sequence(n, (i) => request(`/r/${i}`)));
const picks = (o: { upstream?: unknown }) => String(o.upstream);

export const failoverGroups: Group[] = [
  {
    name: 'refused connection: next upstream',
    feature: 'failover',
    ...pool([s(0), s(1), s(2)].join('\n'), '', ['refused', 'server', 'server']),
    scenarios: [
      {
        name: 'a refused server is skipped (proxy_next_upstream error), then avoided for fail_timeout',
        upstream: 'picks',
        run: gets(12),
        expectNginx: (o) => {
          expect(o.client).toBe('200 x 12');
          expect(tally(o.upstream)).toEqual({ u1: 6, u2: 6 });
        },
      },
    ],
  },
  {
    name: 'all servers refused',
    feature: 'failover',
    ...pool([s(0), s(1)].join('\n'), '', ['refused', 'refused']),
    scenarios: [{ name: 'every server refused: 502, and again on the next requests', run: gets(3), expectNginx: (o) => expect(o.client).toBe('502 x 3') }],
  },
  {
    name: 'one refused server',
    feature: 'failover',
    upstreams: ['refused'],
    config: conf(`server { listen {{LISTEN}}; location / { proxy_pass http://{{UPSTREAM_0}}; } }`),
    scenarios: [{ name: 'a single refused server: 502 each time (max_fails ignored)', run: gets(3), expectNginx: (o) => expect(o.client).toBe('502 x 3') }],
  },
  {
    name: 'upstream closes: GET retried, then server skipped',
    feature: 'failover',
    ...pool([s(0), s(1)].join('\n'), '', ['server', 'server']),
    scenarios: [
      {
        name: 'a GET whose upstream closes without answering is retried; max_fails=1 trips it for 10 s',
        upstream: 'picks',
        run: async (cx) => {
          cx.behave(0, closeAfterRequest);
          return gets(6)(cx);
        },
        expectNginx: (o) => {
          expect(o.client).toBe('200 x 6');
          expect(picks(o)).toBe('u0 u1 u1 u1 u1 u1 u1');
        },
      },
    ],
  },
  {
    name: 'POST not retried',
    feature: 'failover',
    ...pool([s(0), s(1)].join('\n'), '', ['server', 'server']),
    scenarios: [
      {
        name: 'a POST whose upstream closes after receiving it is not retried: 502',
        upstream: 'picks',
        run: async (cx) => {
          cx.behave(0, closeAfterRequest);
          return cx.send(request('/order', { method: 'POST', body: 'item=1' }));
        },
        expectNginx: (o) => {
          expect((o.client as NormalizedResponse).status).toBe(502);
          expect(picks(o)).toBe('u0');
        },
      },
    ],
  },
  {
    name: 'PUT with a body retried',
    feature: 'failover',
    ...pool([s(0), s(1)].join('\n'), '', ['server', 'server']),
    scenarios: [
      {
        name: 'a PUT with a body whose upstream closes',
        upstream: 'picks',
        run: async (cx) => {
          cx.behave(0, closeAfterRequest);
          return cx.send(request('/doc', { method: 'PUT', body: 'content' }));
        },
        expectNginx: (o) => expect(picks(o)).toBe('u0 u1'),
        difference: {
          documented: 'no retry is possible once body bytes left',
          check: (nginx, gateway) => {
            expect((nginx.client as NormalizedResponse).status).toBe(200);
            expect(picks(nginx)).toBe('u0 u1');
            expect((gateway.client as NormalizedResponse).status).toBe(502);
            expect(picks(gateway)).toBe('u0');
          },
        },
      },
    ],
  },
  {
    name: '502 from upstream without http_502',
    feature: 'failover',
    ...pool([s(0), s(1)].join('\n'), '', ['server', 'server']),
    scenarios: [
      {
        name: 'a 502 answered by an upstream is relayed, not retried, not a failure',
        upstream: 'picks',
        run: async (cx) => {
          cx.behave(0, status(502, [['Content-Type', 'text/plain']]));
          return cx.sequence(4, (i) => request(`/r/${i}`));
        },
        expectNginx: (o) => expect(picks(o)).toBe('u0 u1 u0 u1'),
      },
    ],
  },
  {
    name: 'proxy_next_upstream http_502',
    feature: 'failover',
    needs: ['proxy_next_upstream'],
    ...pool([s(0), s(1)].join('\n'), 'proxy_next_upstream error timeout http_502;', ['server', 'server']),
    scenarios: [
      {
        name: 'proxy_next_upstream http_502: a 502 from the upstream is retried on the next server',
        upstream: 'picks',
        run: async (cx) => {
          cx.behave(0, status(502));
          return gets(4)(cx);
        },
        expectNginx: (o) => {
          expect(o.client).toBe('200 x 4');
          expect(picks(o)).toBe('u0 u1 u1 u1 u1');
        },
      },
    ],
  },
  {
    name: 'proxy_next_upstream off',
    feature: 'failover',
    needs: ['proxy_next_upstream'],
    ...pool([s(0), s(1)].join('\n'), 'proxy_next_upstream off;', ['refused', 'server']),
    scenarios: [{ name: 'proxy_next_upstream off: a refused connection is a 502', upstream: 'picks', run: gets(3), expectNginx: (o) => expect(o.client).toBe('502, 200 x 2') }],
  },
  {
    name: 'proxy_next_upstream_tries',
    feature: 'failover',
    needs: ['proxy_next_upstream_tries'],
    ...pool([s(0), s(1), s(2)].join('\n'), 'proxy_next_upstream_tries 2;', ['refused', 'refused', 'server']),
    scenarios: [{ name: 'proxy_next_upstream_tries 2 stops after two refused servers', upstream: 'picks', run: gets(3), expectNginx: (o) => expect(String(o.client)).toMatch(/^502/) }],
  },
  {
    name: 'max_fails and fail_timeout',
    feature: 'failover',
    needs: ['max_fails=', 'fail_timeout='],
    ...pool([s(0, 'max_fails=2 fail_timeout=1s'), s(1)].join('\n'), '', ['server', 'server']),
    scenarios: [
      {
        name: 'max_fails=2 trips after two failures and fail_timeout=1s brings the server back',
        upstream: 'picks',
        run: async (cx) => {
          cx.behave(0, closeAfterRequest);
          const first = await gets(6)(cx);
          // nginx counts fail_timeout in whole seconds of its cached clock: wait past 2 s so
          // that "more than 1 s" holds whatever the alignment.
          await sleep(2_300);
          cx.behave(0, ok);
          const second = await gets(6)(cx);
          return { first, second };
        },
        expectNginx: (o) => {
          // Two failures of u0 (each retried on u1), then u0 is left alone until fail_timeout.
          const p = picks(o).split(' ');
          expect(p.slice(0, 8).filter((x) => x === 'u0').length).toBe(2);
          expect(p.slice(-6).filter((x) => x === 'u0').length).toBeGreaterThan(0);
          expect(o.client).toEqual({ first: '200 x 6', second: '200 x 6' });
        },
      },
    ],
  },
  {
    name: 'backup',
    feature: 'failover',
    needs: ['backup'],
    ...pool([s(0), s(1, 'backup')].join('\n'), '', ['server', 'server']),
    scenarios: [
      { name: 'a backup server is idle while the primary works', upstream: 'picks', run: gets(5), expectNginx: (o) => expect(picks(o)).toBe('u0 u0 u0 u0 u0') },
      {
        name: 'backup takes over when the primary fails',
        upstream: 'picks',
        run: async (cx) => {
          cx.behave(0, closeAfterRequest);
          return gets(4)(cx);
        },
        expectNginx: (o) => {
          expect(o.client).toBe('200 x 4');
          expect(picks(o)).toBe('u0 u1 u1 u1 u1');
        },
      },
    ],
  },
  {
    name: 'down',
    feature: 'failover',
    needs: ['down'],
    ...pool([s(0, 'down'), s(1), s(2)].join('\n')),
    scenarios: [{ name: 'a server marked down gets nothing', upstream: 'picks', run: gets(6), expectNginx: (o) => expect(picks(o)).toBe('u1 u2 u1 u2 u1 u2') }],
  },
  {
    name: 'max_conns',
    feature: 'failover',
    needs: ['max_conns='],
    ...pool([s(0, 'weight=100 max_conns=1'), s(1)].join('\n'), '', ['server', 'server']),
    scenarios: [
      {
        name: 'max_conns=1: concurrent requests overflow to the other server',
        upstream: 'picks',
        run: async (cx) => {
          cx.behave(0, (r) => ({ ...(ok(r, { count: 0 }) as object), kind: 'respond', delayMs: 1_000 }));
          const pending = [];
          for (let i = 0; i < 3; i++) {
            pending.push(cx.send(request(`/c/${i}`)));
            await sleep(100);
          }
          return statuses(await Promise.all(pending));
        },
        expectNginx: (o) => expect(picks(o)).toBe('u0 u1 u1'),
      },
    ],
  },
];
