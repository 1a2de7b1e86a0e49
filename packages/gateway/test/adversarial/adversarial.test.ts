import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawConnection } from '../differential/client.js';
import {
  freePort,
  packageDir,
  removeWorkDir,
  renderConfig,
  startGateway,
  startNginx,
  testGatewayConfig,
  writeConfig,
  type Engine,
} from '../differential/harness.js';
import { cases, type AdversarialCase, type Forwarded } from './cases.js';
import { caseGroups } from './groups.js';
import { healthy, OWN_PREFIX, outcome } from './traffic.js';
import { ok, startRecordingUpstreams, type RecordingUpstreams, type SeenRequest } from './upstream.js';

/**
 * The adversarial suite: every hostile request goes to real nginx and to the gateway on the
 * same configuration. For each engine it asserts the outcome, what reached the upstream, and
 * that the engine is still alive and serving afterwards. nginx must behave as the case says
 * (so both engines being wrong cannot pass); the gateway must match nginx or produce the
 * documented better outcome. A table of all outcomes is printed at the end.
 */

interface Row {
  readonly name: string;
  readonly group: string;
  readonly category: string;
  nginx: string;
  gateway: string;
  /** Request heads each engine let through to the upstream: `nginx/gateway`. */
  upstream: string;
  verdict: string;
}

const rows: Row[] = [];
const readme = readFileSync(path.join(packageDir, 'README.md'), 'utf8');

interface Observed {
  readonly outcome: string;
  /** Request heads the upstream saw, the suite's own probes left out. */
  readonly seen: SeenRequest[];
  readonly alive: boolean;
}

/** Runs one case on one engine, then checks that the engine still serves a plain request. */
async function observe(c: AdversarialCase, engine: Engine, upstreams: RecordingUpstreams): Promise<Observed> {
  upstreams.reset();
  upstreams.behave(c.upstream ?? ok);
  const cx = { port: engine.port, upstreams, open: () => RawConnection.open(engine.port) };
  const text = c.run ? await c.run(cx) : await outcome(engine.port, c.send ?? '', c.responses);
  // Let an upstream request still in flight (a late or smuggled one) land before counting.
  await sleep(50);
  const seen = upstreams.seen.filter((r) => !r.target.startsWith(OWN_PREFIX));
  if (process.env.ADV_DEBUG) console.log(`${c.name} on ${engine.name}: ${text}\n${seen.map(describeSeen).join('\n')}`);
  upstreams.reset();
  const alive = engine.process.child.exitCode === null && engine.process.child.signalCode === null && (await healthy(engine.port));
  upstreams.reset();
  return { outcome: text, seen, alive };
}

/** One upstream head for ADV_DEBUG: line, header count, completeness, the first headers. */
function describeSeen(r: SeenRequest): string {
  const headers = r.headers.slice(0, 12).map(([n, v]) => `    ${n}: ${v.slice(0, 80)}`);
  const more = r.headers.length > 12 ? [`    ... ${r.headers.length - 12} more`] : [];
  const state = r.complete ? `complete, body ${r.body.length} bytes` : 'incomplete';
  return [`  ${r.method} ${r.target} ${r.version} (${r.headers.length} headers, ${state})`, ...headers, ...more].join('\n');
}

/** What must hold for either engine, whatever the outcome. */
function checkUpstream(c: AdversarialCase, engineName: string, o: Observed, forwarded: Forwarded): void {
  const lines = o.seen.map((r) => `${r.method} ${r.target}`);
  expect(lines.filter((l) => /smuggled/i.test(l)), `${engineName}: a smuggled request reached the upstream`).toEqual([]);
  const [min, max] = typeof forwarded === 'number' ? [forwarded, forwarded] : [forwarded.min, forwarded.max];
  expect(lines.length >= min && lines.length <= max, `${engineName}: the upstream saw ${JSON.stringify(lines)}, expected ${min}..${max} heads`).toBe(true);
  // The case's own look at the forwarded request, when there is one (a stricter engine may send none).
  if (o.seen.length > 0) c.check?.(o.seen);
}

for (const group of caseGroups) {
  const mine = cases.filter((c) => c.group === group.name);
  describe(`adversarial: ${group.name}`, () => {
    let upstreams: RecordingUpstreams;
    let nginx: Engine;
    let gateway: Engine | undefined;
    let refusal = '';

    beforeAll(async () => {
      upstreams = await startRecordingUpstreams(group.upstreams);
      const [nginxPort, gatewayPort] = [await freePort(), await freePort()];
      const name = `adversarial-${group.name}`;
      const nginxFile = writeConfig(name, 'nginx', renderConfig(group.config, `127.0.0.1:${nginxPort}`, upstreams.addresses));
      const gatewayFile = writeConfig(name, 'gateway', renderConfig(group.config, `127.0.0.1:${gatewayPort}`, upstreams.addresses));
      nginx = await startNginx(nginxFile, nginxPort);
      const test = testGatewayConfig(gatewayFile);
      if (test.code !== 0) {
        refusal = (test.stderr.trim().split('\n')[0] ?? 'chat-gateway -t failed').replace(/ in \S+:(\d+)$/, ' (line $1)');
        return;
      }
      gateway = await startGateway(gatewayFile, gatewayPort);
    }, 60_000);

    afterAll(async () => {
      await gateway?.stop();
      await nginx?.stop();
      await upstreams?.close();
    });

    for (const c of mine) {
      it(c.name, async () => {
        const row: Row = { name: c.name, group: group.name, category: c.category, nginx: '', gateway: 'config refused', upstream: '', verdict: 'FAIL' };
        rows.push(row);
        // Both engines run before anything is asserted, so that the table shows both outcomes.
        const fromNginx = await observe(c, nginx, upstreams);
        row.nginx = fromNginx.outcome;
        const fromGateway = gateway ? await observe(c, gateway, upstreams) : null;
        if (fromGateway) row.gateway = fromGateway.outcome;
        row.upstream = `${fromNginx.seen.length}/${fromGateway ? fromGateway.seen.length : '-'}`;
        try {
          expect(fromNginx.alive, 'nginx still serves a plain request').toBe(true);
          expect(fromNginx.outcome, "nginx's outcome").toBe(c.nginx);
          checkUpstream(c, 'nginx', fromNginx, c.forwarded);
          if (!fromGateway) throw new Error(`the gateway refuses this group's configuration: ${refusal}`);
          expect(fromGateway.alive, 'the gateway is still alive and serves a plain request').toBe(true);
          // A documented outcome counts when the gateway produced it; nginx's counts unless it is unsafe.
          const documented = c.gateway && fromGateway.outcome === c.gateway.outcome ? c.gateway : undefined;
          if (documented) expect(readme, 'a documented outcome must be quoted from the README').toContain(documented.documented);
          else if (c.gateway?.kind === 'required') expect(fromGateway.outcome, "the gateway's outcome (nginx's is unsafe here)").toBe(c.gateway.outcome);
          else expect(fromGateway.outcome, "the gateway's outcome (nginx's)").toBe(c.nginx);
          checkUpstream(c, 'gateway', fromGateway, documented?.forwarded ?? c.forwarded);
          row.verdict = documented ? `documented ${documented.kind === 'difference' ? 'difference' : 'better'}` : 'same as nginx';
        } catch (err) {
          row.verdict = `FAIL: ${((err as Error).message.split('\n')[0] ?? '').replace(' // Object.is equality', '')}`;
          throw err;
        }
      }, 90_000);
    }
  });
}

afterAll(() => {
  removeWorkDir();
  const pass = rows.filter((r) => !r.verdict.startsWith('FAIL')).length;
  const widths = [
    Math.max(4, ...rows.map((r) => r.name.length + r.group.length + 3)),
    Math.max(5, ...rows.map((r) => r.nginx.length)),
    Math.max(7, ...rows.map((r) => r.gateway.length)),
  ] as const;
  const line = (a: string, b: string, c: string, d: string, e: string) =>
    `  ${a.padEnd(widths[0])} | ${b.padEnd(widths[1])} | ${c.padEnd(widths[2])} | ${d.padEnd(8)} | ${e}`;
  const out = [
    '',
    `adversarial: ${pass}/${rows.length} hostile requests handled as nginx or better (upstream: request heads nginx/gateway let through)`,
    line('case', 'nginx', 'gateway', 'upstream', 'verdict'),
    `  ${'-'.repeat(widths[0])}-+-${'-'.repeat(widths[1])}-+-${'-'.repeat(widths[2])}-+----------+--------`,
  ];
  for (const r of rows) out.push(line(`[${r.group}] ${r.name}`, r.nginx, r.gateway, r.upstream, r.verdict));
  out.push('', '  by category:');
  for (const category of [...new Set(rows.map((r) => r.category))]) {
    const mine = rows.filter((r) => r.category === category);
    out.push(`  ${category.padEnd(14)} ${mine.filter((r) => !r.verdict.startsWith('FAIL')).length}/${mine.length}`);
  }
  console.log(out.join('\n'));
});
