import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ABORT_KINDS, EXPECTED_OUTCOME } from './clients.js';
import { limitsFor, medianSample, settle, table, type Limits, type Row } from './figures.js';
import { startSoakGateway, type Sample, type SoakGateway } from './gateway-process.js';
import { abortedExchanges, holdConnections, webSocketCycles } from './scenarios.js';
import { startEchoBackend, startMisbehavingUpstream, type SoakUpstream } from './upstreams.js';

/**
 * Leak and soak: the built gateway, as its own process, in front of a WebSocket echo backend
 * and a misbehaving HTTP upstream. After each scenario its descriptors, sockets and collected
 * heap must be back within 5% of a baseline taken after a warm-up. `npm test` runs the bounded
 * sizes; `npm run soak` (SOAK=full) the issue's: 10,000 cycles, 2,000 aborted exchanges and
 * 5,000 connections held for two minutes.
 */

const FULL = process.env.SOAK === 'full';
const SIZE = FULL
  ? { cycles: 10_000, aborts: 2_000, held: 5_000, holdMs: 120_000, pingEveryMs: 10_000, warmUpCycles: 2_000, timeoutMs: 900_000 }
  : { cycles: 1_000, aborts: 900, held: 500, holdMs: 10_000, pingEveryMs: 2_000, warmUpCycles: 1_000, timeoutMs: 60_000 };

// Pings keep a held tunnel alive: without them it would hit proxy_read_timeout mid-hold.
const CONFIG = `
worker_processes 1;
events { worker_connections ${SIZE.held * 2 + 1024}; }
http {
    map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
    access_log {{DIR}}/access.log;
    upstream echo { server echo:3000; }
    # max_fails=0: the broken answers must not take the only server out of rotation.
    # A short keepalive_timeout empties the pool between scenarios, so counts compare.
    upstream misbehaving { server misbehaving:3000 max_fails=0; keepalive 16; keepalive_timeout 300ms; }
    server {
        listen 8080;
        location /ws/ {
            proxy_pass http://echo;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout ${SIZE.pingEveryMs * 3}ms;
        }
        location / {
            proxy_pass http://misbehaving;
            proxy_http_version 1.1;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 200ms;
        }
    }
}
`;

/** Each held connection is two descriptors in the gateway and two in this process (client, echo). */
function checkOpenFileLimit(): void {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const soft = Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1] ?? Infinity);
  const needed = SIZE.held * 2 + 1_000;
  if (soft < needed) throw new Error(`the soak holds ${SIZE.held} connections and needs "ulimit -n" of at least ${needed} (it is ${soft})`);
}

let echo: SoakUpstream;
let misbehaving: SoakUpstream;
let gateway: SoakGateway;
let base: Sample;
let limits: Limits;
const rows: Row[] = [];

/** Both upstreams have seen every gateway connection close (pool included). */
const upstreamsIdle = () => echo.open() === 0 && misbehaving.open() === 0;

/** Settles, samples, records the row and checks the 5% rule. */
async function afterScenario(row: Omit<Row, 'after'>): Promise<void> {
  await settle(gateway, limits, upstreamsIdle);
  const after = await medianSample(gateway);
  rows.push({ ...row, after });
  const context = `${row.scenario}: baseline ${JSON.stringify(base)}, after ${JSON.stringify(after)}\n${gateway.output().split('\n').slice(-10).join('\n')}`;
  expect({ echo: echo.open(), misbehaving: misbehaving.open() }, context).toEqual({ echo: 0, misbehaving: 0 });
  expect(Math.abs(after.fds - base.fds), context).toBeLessThanOrEqual(limits.fds - base.fds);
  expect(Math.abs(after.sockets - base.sockets), context).toBeLessThanOrEqual(limits.sockets - base.sockets);
  expect(after.heapUsed, context).toBeLessThanOrEqual(limits.heapUsed);
  expect(after.handles, context).toBeLessThanOrEqual(limits.handles);
  expect(after.listeners, context).toBeLessThanOrEqual(limits.listeners);
}

describe(`leak and soak (${FULL ? 'full' : 'bounded'}: ${SIZE.cycles} cycles, ${SIZE.aborts} aborts, ${SIZE.held} held for ${SIZE.holdMs / 1000} s)`, () => {
  beforeAll(async () => {
    checkOpenFileLimit();
    echo = await startEchoBackend();
    misbehaving = await startMisbehavingUpstream();
    gateway = await startSoakGateway(CONFIG, { 'echo:3000': echo.port, 'misbehaving:3000': misbehaving.port });
    // Warm-up: every path, many times, so that optimised code, inline caches and lazily created
    // objects (the access log stream, timer lists) are already part of the baseline.
    await webSocketCycles(gateway.port, SIZE.warmUpCycles);
    await abortedExchanges(gateway.port, ABORT_KINDS.length * 50);
    // Caches and tables sized by the peak number of connections (Node keeps up to 1,000 freed
    // request parsers; hash tables keyed by connection keep their grown capacity) reach their
    // size during the warm-up too.
    await holdConnections(gateway.port, SIZE.held, 0, SIZE.pingEveryMs, async () => {});
    const deadline = Date.now() + 20_000;
    while (!upstreamsIdle() && Date.now() < deadline) await sleep(100);
    base = await medianSample(gateway);
    limits = limitsFor(base);
  }, SIZE.timeoutMs);

  afterAll(async () => {
    await gateway?.stop();
    await echo?.close();
    await misbehaving?.close();
    if (base) console.log(`\nsoak figures (${FULL ? 'SOAK=full' : 'bounded'}), gateway process:\n${table(base, rows)}\n`);
  });

  it(`${SIZE.cycles} WebSocket connect/message/disconnect cycles leave nothing behind`, async () => {
    const started = Date.now();
    const seen = await webSocketCycles(gateway.port, SIZE.cycles);
    const quarter = SIZE.cycles / 4;
    // A close handshake relayed both ways ends with 1000; a vanished peer with 1006.
    expect(seen).toEqual({
      'client-close': { 1000: quarter },
      'client-reset': { 1006: quarter },
      'upstream-close': { 1000: quarter },
      'upstream-reset': { 1006: quarter },
    });
    await afterScenario({ scenario: 'WebSocket cycles', work: `${SIZE.cycles} cycles`, seconds: (Date.now() - started) / 1000, failures: '0' });
  }, SIZE.timeoutMs);

  it(`${SIZE.aborts} aborted upstream exchanges leave nothing behind`, async () => {
    const started = Date.now();
    const seen = await abortedExchanges(gateway.port, SIZE.aborts);
    const expected: Record<string, Record<string, number>> = { ok: { 'status 200': Math.ceil(SIZE.aborts / ABORT_KINDS.length) } };
    ABORT_KINDS.forEach((kind, i) => {
      expected[kind] = { [EXPECTED_OUTCOME[kind]]: Math.floor(SIZE.aborts / ABORT_KINDS.length) + (i < SIZE.aborts % ABORT_KINDS.length ? 1 : 0) };
    });
    expect(seen).toEqual(expected);
    await afterScenario({ scenario: 'aborted exchanges', work: `${SIZE.aborts} aborts`, seconds: (Date.now() - started) / 1000, failures: '0' });
  }, SIZE.timeoutMs);

  it(`${SIZE.held} concurrent WebSocket connections held for ${SIZE.holdMs / 1000} s: none dropped`, async () => {
    const started = Date.now();
    let during: Sample | undefined;
    const held = await holdConnections(gateway.port, SIZE.held, SIZE.holdMs, SIZE.pingEveryMs, async () => {
      during = await medianSample(gateway, 3);
    });
    expect(held).toMatchObject({ opened: SIZE.held, dropped: 0, missedPongs: 0, echoedAtEnd: SIZE.held });
    // Two descriptors per held connection (client side, upstream side).
    expect(during?.sockets).toBeGreaterThanOrEqual(base.sockets + SIZE.held * 2);
    await afterScenario({
      scenario: 'held connections',
      work: `${SIZE.held} held ${SIZE.holdMs / 1000} s, ${held.pingRounds} ping rounds`,
      seconds: (Date.now() - started) / 1000,
      failures: `${held.dropped} dropped, ${held.missedPongs} missed pongs`,
      during,
    });
  }, SIZE.timeoutMs + SIZE.holdMs);
});
