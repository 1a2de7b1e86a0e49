import { spawn } from 'node:child_process';
import { CpuMeter, machineBusySeconds } from '../procstat.js';
import { observe, type Workload } from './types.js';

export interface WrkResult {
  perSecond: number;
  p99Ms: number;
  errors: number;
  /** wrk's own CPU (user + system), % of one core. */
  cpuPercent: number;
}

const toMs = (value: string, unit: string) => Number(value) * ({ us: 0.001, ms: 1, s: 1000 }[unit] ?? Number.NaN);

/** Runs wrk under `sh` so that `times` can report wrk's exact CPU use once it has exited. */
export function runWrk(wrk: string, url: string, connections: number, seconds: number): Promise<WrkResult> {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '5s', url];
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', '"$0" "$@"; status=$?; times; exit $status', wrk, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const rate = /Requests\/sec:\s+([\d.]+)/.exec(out);
      const p99 = /^\s+99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out);
      // `times` prints the shell's own times, then its children's: "0m1.234s 0m0.567s".
      const childTimes = [...(out.trim().split('\n').at(-1) ?? '').matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
      if (code !== 0 || !rate || !p99) return reject(new Error(`wrk failed (exit ${code}):\n${out}`));
      const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
      const errors = (socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0) + Number(non2xx?.[1] ?? 0);
      resolve({
        perSecond: Number(rate[1]),
        p99Ms: toMs(p99[1]!, p99[2]!),
        errors,
        cpuPercent: childTimes.length === 2 ? ((childTimes[0]! + childTimes[1]!) / seconds) * 100 : Number.NaN,
      });
    });
  });
}

/** Workload 2: HTTP/1.1 keepalive GETs of a small body (`location /` -> upstream web -> the backend). */
export function httpWorkload(wrk: string): Workload {
  return {
    id: 'http',
    kind: 'http',
    title: 'HTTP keepalive GET, small body (wrk)',
    metrics: [
      { id: 'http.rate', label: 'HTTP keepalive GET: throughput', unit: 'req/s', better: 'higher' },
      { id: 'http.p99', label: 'HTTP keepalive GET: latency p99', unit: 'ms', better: 'lower' },
    ],
    async measure(door, { env, settings }) {
      const { connections, warmupSeconds, durationSeconds } = settings.http;
      const url = `http://127.0.0.1:${door.port}/`;
      await runWrk(wrk, url, connections, warmupSeconds);
      const observed = observe(door, env, 'echo');
      const proxy = CpuMeter.of(observed.proxy);
      const backend = CpuMeter.of(observed.backend);
      const machine = new CpuMeter(machineBusySeconds);
      const result = await runWrk(wrk, url, connections, durationSeconds);
      const cpu = { generator: result.cpuPercent, proxy: proxy.percent(), backend: backend.percent(), machine: machine.percent() };
      return {
        values: { 'http.rate': result.perSecond, 'http.p99': result.p99Ms },
        cpu,
        notes: result.errors ? [`${result.errors} errors (socket errors or non-2xx responses)`] : [],
      };
    },
  };
}
