import { setTimeout as sleep } from 'node:timers/promises';
import type { Sample, SoakGateway } from './gateway-process.js';

/** Baselines, settling, the 5% rule and the printed table. */

export const TOLERANCE = 0.05;
/**
 * Absolute slack on counts, on top of 5%: a bare gateway holds about 20 descriptors, where 5%
 * rounds down to a single one. A leak grows with the traffic: a path that leaks on every
 * exchange of its kind leaves 100 descriptors behind in the bounded run (each kind of abort
 * runs 100 times) and 222 in the full one, so a slack of 2 cannot hide it.
 */
export const SLACK = 2;

export type Limits = Omit<Sample, 'rss'>;

/** The most each measure may reach after a scenario: 5% over the baseline, plus SLACK for counts. */
export function limitsFor(base: Sample): Limits {
  const count = (n: number) => Math.floor(n * (1 + TOLERANCE)) + SLACK;
  return {
    fds: count(base.fds),
    sockets: count(base.sockets),
    handles: count(base.handles),
    listeners: count(base.listeners),
    heapUsed: Math.floor(base.heapUsed * (1 + TOLERANCE)),
  };
}

/**
 * Waits until the gateway's descriptors are back within `limits` and `alsoDone()` holds (closing connections and the
 * upstream keepalive timeout take a moment), or `timeoutMs` has passed: a liveness bound; the
 * caller's assertions then tell a leak.
 */
export async function settle(gateway: SoakGateway, limits: Limits, alsoDone: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { fds, sockets } = gateway.descriptors();
    if (fds <= limits.fds && sockets <= limits.sockets && alsoDone()) return;
    await sleep(100);
  }
}

/** The median of `n` collected samples, field by field (a single GC'd heap reading is noisy). */
export async function medianSample(gateway: SoakGateway, n = 5): Promise<Sample> {
  const samples: Sample[] = [];
  for (let i = 0; i < n; i++) {
    samples.push(await gateway.sample());
    await sleep(50);
  }
  const median = (key: keyof Sample) => {
    const sorted = samples.map((s) => s[key]).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] as number;
  };
  return {
    fds: median('fds'),
    sockets: median('sockets'),
    heapUsed: median('heapUsed'),
    rss: median('rss'),
    handles: median('handles'),
    listeners: median('listeners'),
  };
}

export interface Row {
  readonly scenario: string;
  readonly work: string;
  readonly seconds: number;
  readonly after: Sample;
  /** Failures the scenario itself counts (drops, wrong outcomes). */
  readonly failures: string;
  /** A sample taken in the middle of the scenario (connections held), if any. */
  readonly during?: Sample;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;
const pct = (after: number, base: number) => `${after >= base ? '+' : ''}${(((after - base) / base) * 100).toFixed(1)}%`;

/** The figure table: baseline, then each scenario's settled sample against it. */
export function table(base: Sample, rows: readonly Row[]): string {
  const header = ['scenario', 'work', 'time', 'fds', 'sockets', 'heap after GC', 'heap Δ', 'handles', 'listeners', 'failures'];
  const lines: string[][] = [
    ['baseline', 'warm-up', '', `${base.fds}`, `${base.sockets}`, mb(base.heapUsed), '', `${base.handles}`, `${base.listeners}`, ''],
  ];
  for (const r of rows) {
    if (r.during) {
      const d = r.during;
      lines.push([`${r.scenario} (held)`, '', '', `${d.fds}`, `${d.sockets}`, mb(d.heapUsed), pct(d.heapUsed, base.heapUsed), `${d.handles}`, `${d.listeners}`, '']);
    }
    const a = r.after;
    lines.push([r.scenario, r.work, `${r.seconds.toFixed(1)} s`, `${a.fds}`, `${a.sockets}`, mb(a.heapUsed), pct(a.heapUsed, base.heapUsed), `${a.handles}`, `${a.listeners}`, r.failures]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const row = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  return [row(header), row(widths.map((w) => '-'.repeat(w))), ...lines.map(row)].join('\n');
}
