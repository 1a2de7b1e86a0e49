// CPU profiles of the gateway under the echo and HTTP workloads (node --cpu-prof), and the
// functions that take the most self time, so whoever optimises the gateway knows where time goes.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '@chat/devstack';
import { startProfiledGateway, type Environment } from './environment.js';
import { runGenerator } from './generator-host.js';
import type { EchoResult } from './generators/echo.js';
import type { Settings } from './settings.js';
import { runWrk } from './workloads/http.js';

export interface HotFunction {
  function: string;
  /** file:line, relative to the repository when it is in it. */
  location: string;
  selfMs: number;
  /** Share of the non-idle samples. */
  selfPercent: number;
}

export interface ProfileSummary {
  workload: string;
  /** Relative to the repository. */
  file: string;
  /** Share of samples in the gateway's own code, in Node's internals (`node:`), in dependencies, GC and native. */
  breakdown: Record<string, number>;
  top: HotFunction[];
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

function category(url: string, fn: string): string {
  if (url.includes('/packages/gateway/')) return 'gateway code';
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/node_modules/')) return 'dependencies';
  if (fn === '(garbage collector)') return 'GC';
  return 'native / other';
}

/** Self time per function, idle excluded. */
export function summariseProfile(file: string, workload: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const self = new Map<string, { fn: string; location: string; us: number; category: string }>();
  const breakdown: Record<string, number> = {};
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id);
    const us = profile.timeDeltas[i] ?? 0;
    if (!frame || frame.functionName === '(idle)') return;
    const url = frame.url.replace(/^file:\/\//, '');
    const location = url ? `${url.startsWith(repoRoot) ? path.relative(repoRoot, url) : url}:${frame.lineNumber + 1}` : '';
    const fn = frame.functionName || '(anonymous)';
    const key = `${fn} ${location}`;
    const entry = self.get(key) ?? { fn, location, us: 0, category: category(url, fn) };
    entry.us += us;
    self.set(key, entry);
    breakdown[entry.category] = (breakdown[entry.category] ?? 0) + us;
    total += us;
  });
  const percent = (us: number) => (total ? (us / total) * 100 : 0);
  return {
    workload,
    file: path.relative(repoRoot, file),
    breakdown: Object.fromEntries(Object.entries(breakdown).map(([k, us]) => [k, percent(us)]).sort((a, b) => Number(b[1]) - Number(a[1]))),
    top: [...self.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({ function: e.fn, location: e.location, selfMs: e.us / 1000, selfPercent: percent(e.us) })),
  };
}

/** Profiles a separate gateway (not the measured one: profiling slows it) under echo and under HTTP. */
export async function profileGateway(env: Environment, settings: Settings, wrk: string | null, dir: string, log: (line: string) => void): Promise<ProfileSummary[]> {
  mkdirSync(dir, { recursive: true });
  const summaries: ProfileSummary[] = [];
  const echoConnections = Math.max(...settings.echo.connections);
  const runs: { workload: string; name: string; drive: (port: number, pid: number) => Promise<void> }[] = [
    {
      workload: `WebSocket echo, ${echoConnections.toLocaleString('en-US')} connections`,
      name: 'gateway-echo.cpuprofile',
      drive: async (port, pid) => {
        await runGenerator<EchoResult>(
          'echo',
          { target: { port, path: '/echo' }, connections: echoConnections, warmupMs: 200, durationMs: settings.profile.durationMs },
          { proxy: () => [pid], backend: () => [] },
          { timeoutMs: 90_000 + settings.profile.durationMs },
        );
      },
    },
  ];
  if (wrk) {
    runs.push({
      workload: `HTTP keepalive GET, ${settings.http.connections} connections`,
      name: 'gateway-http.cpuprofile',
      drive: async (port) => {
        await runWrk(wrk, `http://127.0.0.1:${port}/`, settings.http.connections, Math.max(1, Math.round(settings.profile.durationMs / 1000)));
      },
    });
  }
  for (const run of runs) {
    const file = path.join(dir, run.name);
    rmSync(file, { force: true });
    const gateway = await startProfiledGateway(env.configFile, dir, run.name);
    try {
      await run.drive(gateway.port, gateway.child.pid!);
    } finally {
      await gateway.stop(15_000);
    }
    if (!existsSync(file)) {
      log(`  profile: the gateway wrote no ${run.name} (it must exit normally on SIGTERM for --cpu-prof)`);
      continue;
    }
    summaries.push(summariseProfile(file, run.workload));
    log(`  profile: ${path.relative(repoRoot, file)}`);
  }
  return summaries;
}
