// The results of a run: every metric per door (median and spread over the repeats), the
// gateway/nginx ratios, the targets' verdicts and the load check.
import type { DoorName } from './environment.js';
import type { CpuWindow } from './generator-host.js';
import type { Machine } from './machine.js';
import type { ProfileSummary } from './profile.js';
import type { Settings } from './settings.js';
import { spread, type Spread } from './stats.js';
import type { Measurement, MetricDef, Workload } from './workloads/types.js';

export interface MetricResult extends MetricDef {
  byDoor: Partial<Record<DoorName, Spread>>;
  /** gateway median / nginx median; null when either is missing. */
  ratio: number | null;
}

export interface LoadCheck {
  door: DoorName;
  /** Medians over the repeats, % of one core. */
  generator: number;
  proxy: number;
  backend: number;
  /** Everything else running on the machine meanwhile (a shared box is noisy). */
  others: number;
  /** The generator used ≥ 90% of a core: it, not the door, may have set the pace. */
  generatorBound: boolean;
}

export interface WorkloadResult {
  id: string;
  title: string;
  metrics: MetricResult[];
  load: LoadCheck[];
  notes: string[];
}

export interface TargetResult {
  description: string;
  metric: string;
  ratio: number | null;
  comparison: '>=' | '<=';
  threshold: number;
  verdict: 'pass' | 'fail' | 'n/a';
}

export interface Results {
  date: string;
  mode: 'full' | 'quick';
  durationSeconds: number;
  machine: Machine;
  doors: DoorName[];
  config: { source: string; extras: string[]; rejected: { directive: string; reason: string }[]; workerConnections: number };
  settings: Settings;
  workloads: WorkloadResult[];
  targets: TargetResult[];
  profiles: ProfileSummary[];
  notes: string[];
}

/** The targets of the issue, as ratios gateway/nginx measured in the same run. */
function targetDefs(workloads: WorkloadResult[]): Omit<TargetResult, 'ratio' | 'verdict'>[] {
  const defs: Omit<TargetResult, 'ratio' | 'verdict'>[] = [];
  for (const w of workloads) {
    if (!w.id.startsWith('echo-')) continue;
    const n = Number(w.id.slice('echo-'.length)).toLocaleString('en-US');
    defs.push({ description: `WebSocket echo throughput, ${n} conns`, metric: `${w.id}.rate`, comparison: '>=', threshold: 0.9 });
    defs.push({ description: `WebSocket echo RTT p99, ${n} conns`, metric: `${w.id}.p99`, comparison: '<=', threshold: 1.3 });
  }
  defs.push({ description: 'HTTP keepalive requests/s', metric: 'http.rate', comparison: '>=', threshold: 0.7 });
  defs.push({ description: 'WebSocket handshakes/s', metric: 'handshake.rate', comparison: '>=', threshold: 0.8 });
  defs.push({ description: 'Memory per idle connection', metric: 'idle.kib', comparison: '<=', threshold: 2 });
  return defs;
}

export function summariseWorkload(workload: Workload, doors: DoorName[], runs: Map<DoorName, Measurement[]>): WorkloadResult {
  const metrics = workload.metrics.map((def): MetricResult => {
    const byDoor: Partial<Record<DoorName, Spread>> = {};
    for (const door of doors) {
      if (def.doors && !def.doors.includes(door)) continue;
      const values = (runs.get(door) ?? []).map((m) => m.values[def.id] ?? Number.NaN);
      if (values.length) byDoor[door] = spread(values);
    }
    const g = byDoor.gateway?.median;
    const n = byDoor.nginx?.median;
    const ratio = g !== undefined && n !== undefined && Number.isFinite(g) && Number.isFinite(n) && n !== 0 ? g / n : null;
    return { ...def, byDoor, ratio };
  });
  const load: LoadCheck[] = [];
  const notes: string[] = [];
  for (const door of doors) {
    const measured = runs.get(door) ?? [];
    const windows = measured.map((m) => m.cpu).filter((c): c is CpuWindow => c !== null);
    if (windows.length) {
      const median = (pick: (w: CpuWindow) => number) => spread(windows.map(pick)).median;
      load.push({
        door,
        generator: median((w) => w.generator),
        proxy: median((w) => w.proxy),
        backend: median((w) => w.backend),
        others: Math.max(0, median((w) => w.machine - w.generator - w.proxy - w.backend)),
        generatorBound: median((w) => w.generator) >= 90,
      });
    }
    measured.forEach((m, i) => m.notes.forEach((note) => notes.push(`${door}, run ${i + 1}: ${note}`)));
  }
  return { id: workload.id, title: workload.title, metrics, load, notes };
}

export function judgeTargets(workloads: WorkloadResult[]): TargetResult[] {
  const metrics = new Map(workloads.flatMap((w) => w.metrics.map((m) => [m.id, m] as const)));
  return targetDefs(workloads)
    .filter((t) => metrics.has(t.metric))
    .map((t) => {
      const ratio = metrics.get(t.metric)!.ratio;
      const verdict = ratio === null ? 'n/a' : (t.comparison === '>=' ? ratio >= t.threshold : ratio <= t.threshold) ? 'pass' : 'fail';
      return { ...t, ratio, verdict };
    });
}

/** A number for people: thousands separators, fewer decimals as it grows. */
export function formatNumber(value: number | undefined | null): string {
  if (value === undefined || value === null || Number.isNaN(value)) return '—';
  if (!Number.isFinite(value)) return '∞';
  const digits = Number.isInteger(value) || Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatRatio(ratio: number | null): string {
  return ratio === null ? '—' : `${ratio.toFixed(2)}×`;
}
