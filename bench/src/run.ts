// `npm run bench`: starts every process itself, interleaves the front doors over each workload,
// repeats each measurement, profiles the gateway, and writes bench/results/{latest|quick}.*.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { paths, repoRoot } from '@chat/devstack';
import { parseCli, usage, UsageError, type CliOptions } from './cli.js';
import { gatewayStatus, startEnvironment, type Door, type DoorName, type Environment } from './environment.js';
import { describeMachine } from './machine.js';
import { profileGateway } from './profile.js';
import { judgeTargets, summariseWorkload, type Results, type WorkloadResult } from './results.js';
import { resultsDir, updateReadme, writeReports } from './report/write.js';
import { resultsTable, verdictList } from './report/markdown.js';
import { fullSettings, quickSettings, type Settings } from './settings.js';
import { ensureWrk } from './tools.js';
import { chatWorkload } from './workloads/chat.js';
import { echoWorkload } from './workloads/echo.js';
import { handshakeWorkload } from './workloads/handshake.js';
import { httpWorkload } from './workloads/http.js';
import { idleWorkload } from './workloads/idle.js';
import type { Measurement, Workload } from './workloads/types.js';

const log = (line: string) => console.log(line);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function fdLimits(): { soft: number; hard: number } {
  const [soft, hard] = spawnSync('sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')
    .map((v) => (v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v)));
  return { soft: soft ?? 1024, hard: hard ?? 1024 };
}

/**
 * Ten thousand proxied WebSockets need 20,000+ descriptors in the proxy. Every process we start
 * inherits our limit, so raise it once here: re-run ourselves under `ulimit -n` (the hard limit,
 * at most 65,536). Returns false when this process handed over to the re-run.
 */
async function raiseFdLimit(): Promise<boolean> {
  const { soft, hard } = fdLimits();
  const wanted = Math.min(hard, 65_536);
  if (soft >= wanted || process.env.BENCH_FD_LIMIT_RAISED) return true;
  const child = spawn(
    'sh',
    ['-c', `ulimit -n ${wanted} && exec "$0" "$@"`, process.execPath, ...process.execArgv, process.argv[1]!, ...process.argv.slice(2)],
    { stdio: 'inherit', env: { ...process.env, BENCH_FD_LIMIT_RAISED: '1' } },
  );
  // Ctrl-C reaches the child too (same process group); it cleans up and exits, then so do we.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  const code = await new Promise<number>((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 128 : 1))));
  process.exitCode = code;
  return false;
}

function buildWorkloads(options: CliOptions, settings: Settings, idleConnections: number, wrk: string | null): Workload[] {
  const all: Workload[] = [];
  for (const kind of options.workloads) {
    if (kind === 'echo') all.push(...settings.echo.connections.map(echoWorkload));
    if (kind === 'http') all.push(httpWorkload(wrk!));
    if (kind === 'handshake') all.push(handshakeWorkload);
    if (kind === 'idle') all.push(idleWorkload(idleConnections));
    if (kind === 'chat') {
      const { clients, rooms, rates, p99LimitMs } = settings.chat;
      all.push(chatWorkload(clients, rooms, rates[0]!, p99LimitMs));
    }
  }
  return all;
}

/** The doors rotated by `repeat`, so no door always goes first (or always follows the same one). */
const rotate = <T>(items: readonly T[], by: number) => items.map((_, i) => items[(i + by) % items.length]!);

function oneLine(door: Door, m: Measurement): string {
  const values = Object.entries(m.values)
    .map(([k, v]) => `${k.split('.').at(-1)} ${Number.isFinite(v) ? Math.round(v * 100) / 100 : 'lost'}`)
    .join(', ');
  const c = m.cpu;
  const cpu = c ? ` | cpu gen ${c.generator.toFixed(0)}% proxy ${c.proxy.toFixed(0)}% backend ${c.backend.toFixed(0)}% machine ${c.machine.toFixed(0)}%` : '';
  return `    ${door.name.padEnd(7)} ${values}${cpu}${m.notes.length ? ` | ${m.notes.join('; ')}` : ''}`;
}

async function main(): Promise<number> {
  let options: CliOptions | 'help';
  try {
    options = parseCli(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`bench: ${error.message}\n\n${usage}`);
    return 1;
  }
  if (options === 'help') {
    console.log(usage);
    return 0;
  }
  if (!(await raiseFdLimit())) return process.exitCode as number;

  const started = Date.now();
  const settings: Settings = { ...(options.quick ? quickSettings : fullSettings) };
  if (options.repeats) settings.repeats = options.repeats;
  const notes: string[] = [];

  if (!existsSync(paths.chatServer)) throw new Error(`${path.relative(repoRoot, paths.chatServer)} is not built: run \`npm run build\` first`);
  const gateway = gatewayStatus();
  let doors: DoorName[] = options.doors;
  if (doors.includes('gateway') && !gateway.available) {
    doors = doors.filter((d) => d !== 'gateway');
    notes.push('The gateway is not built yet (packages/gateway/dist/cli.js is missing): only direct and nginx were measured.');
  }
  if (gateway.available && gateway.warning && doors.includes('gateway')) notes.push(gateway.warning);
  for (const note of notes) log(`bench: ${note}`);
  const wrk = options.workloads.includes('http') ? ensureWrk(log) : null;

  // A proxied WebSocket takes two descriptors in the proxy; keep some for listeners, logs and upstream keepalive.
  const fd = fdLimits();
  const idleCapacity = Math.floor((fd.soft - 200) / 2 / 100) * 100;
  const idleConnections = Math.min(settings.idle.connections, idleCapacity);
  if (idleConnections < settings.idle.connections && options.workloads.includes('idle')) {
    notes.push(
      `Idle workload: ${idleConnections.toLocaleString('en-US')} connections instead of ${settings.idle.connections.toLocaleString('en-US')}: ` +
        `the open-file limit here is ${fd.soft} (hard ${fd.hard}, not raisable without CAP_SYS_RESOURCE), and a proxy needs two descriptors per connection.`,
    );
  }
  notes.push(
    'The open-file limit is raised for the whole process tree (ulimit -n in the runner, inherited by nginx and the gateway), so the config carries no worker_rlimit_nofile.',
  );
  const machine = describeMachine(wrk, fd.soft);
  log(`bench: ${options.quick ? 'quick' : 'full'} run; doors ${doors.join(', ')}; ${settings.repeats} repeat(s); ${machine.nproc} × ${machine.cpu}, Node ${machine.node}, nginx ${machine.nginx}`);

  let env: Environment | null = null;
  const stop = async () => {
    const e = env;
    env = null;
    await e?.stop();
  };
  const onSignal = () => {
    log('bench: interrupted; stopping every process');
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // Two connections per proxied WebSocket, then twice that: nginx needs connection slots beyond its
    // descriptors (with 20,000 it reported "worker_connections are not enough" at 18,764 descriptors).
    // The descriptor limit stays the real cap.
    const workerConnections = 2 * (2 * idleConnections) + 1_024;
    env = await startEnvironment({ doors, workerConnections, echo: options.verbose ? log : () => undefined });
    if (env.configRejected.length) {
      for (const r of env.configRejected) notes.push(`Left out of the bench config because the gateway rejects it: \`${r.directive}\` (${r.reason}).`);
    }
    if (doors.includes('nginx') && !env.configExtras.includes('access_log off;')) {
      notes.push('nginx writes an access log line per request (the gateway rejects `access_log off`), which costs it some HTTP throughput.');
    }
    log(`bench: config ${env.configFile}${env.configExtras.length ? ` (+ ${env.configExtras.join(' ')})` : ''}`);

    const workloads = buildWorkloads(options, settings, idleConnections, wrk);
    const ctx = { env, settings, log };
    const results: WorkloadResult[] = [];
    let failures = 0;
    for (const workload of workloads) {
      log(`\n${workload.title}`);
      const runs = new Map<DoorName, Measurement[]>(env.doors.map((d) => [d.name, []]));
      for (let repeat = 0; repeat < settings.repeats; repeat++) {
        for (const door of rotate(env.doors, repeat)) {
          let measurement: Measurement;
          try {
            measurement = await workload.measure(door, ctx);
          } catch (error) {
            failures++;
            measurement = { values: {}, cpu: null, notes: [`failed: ${(error as Error).message.split('\n')[0]}`] };
            // A crashed proxy would fail every later measurement too.
            await door.restart().catch((e: Error) => log(`    ${door.name}: restart failed: ${e.message}`));
          }
          runs.get(door.name)!.push(measurement);
          log(oneLine(door, measurement));
          await sleep(settings.pauseMs);
        }
      }
      results.push(summariseWorkload(workload, doors, runs));
    }

    let profiles: Results['profiles'] = [];
    if (options.profile && doors.includes('gateway') && options.workloads.some((w) => w === 'echo' || w === 'http')) {
      log('\nProfiling the gateway (node --cpu-prof)');
      profiles = await profileGateway(env, settings, wrk, path.join(resultsDir, 'profiles'), log).catch((error: Error) => {
        notes.push(`Profiling failed: ${error.message.split('\n')[0]}`);
        return [];
      });
    }

    const report: Results = {
      date: new Date(started).toISOString(),
      mode: options.quick ? 'quick' : 'full',
      durationSeconds: (Date.now() - started) / 1000,
      machine,
      doors,
      config: { source: 'infra/nginx.conf', extras: env.configExtras, rejected: env.configRejected, workerConnections },
      settings,
      workloads: results,
      targets: judgeTargets(results),
      profiles,
      notes,
    };
    const files = writeReports(report, options.quick ? 'quick' : 'latest');
    if (!options.quick && options.readme) files.push(updateReadme(report));

    log(`\n${resultsTable(report)}\n\n${verdictList(report)}\n`);
    for (const p of profiles) {
      log(`gateway profile, ${p.workload}: ${p.top.slice(0, 5).map((f) => `${f.function} ${f.selfPercent.toFixed(1)}%`).join(', ')}`);
    }
    const bound = results.flatMap((w) => w.load.filter((l) => l.generatorBound).map((l) => `${w.title} (${l.door})`));
    if (bound.length) log(`load check: the generator used ≥ 90% of a core in: ${bound.join('; ')}`);
    log(`\nbench: wrote ${files.map((f) => path.relative(repoRoot, f)).join(', ')} in ${Math.round(report.durationSeconds)} s`);
    // Numbers never fail the run (CI smoke); a measurement that could not run at all does.
    if (failures) log(`bench: ${failures} measurement(s) failed; see the notes`);
    return failures ? 1 : 0;
  } finally {
    await stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
