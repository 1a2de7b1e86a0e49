import { runGenerator } from '../generator-host.js';
import type { HandshakeResult } from '../generators/handshake.js';
import { observe, type Workload } from './types.js';

/** Workload 3: WebSocket handshakes per second (connect, one echo, close) and handshake latency. */
export const handshakeWorkload: Workload = {
  id: 'handshake',
  kind: 'handshake',
  title: 'WebSocket handshakes (connect, one echo, close)',
  metrics: [
    { id: 'handshake.rate', label: 'WS handshakes: throughput', unit: '/s', better: 'higher' },
    { id: 'handshake.p99', label: 'WS handshakes: time to 101, p99', unit: 'ms', better: 'lower' },
  ],
  async measure(door, { env, settings }) {
    const { concurrency, warmupMs, durationMs } = settings.handshake;
    const { result, windows } = await runGenerator<HandshakeResult>(
      'handshake',
      { target: { port: door.port, path: '/echo' }, concurrency, warmupMs, durationMs },
      observe(door, env, 'echo'),
      { timeoutMs: 60_000 + warmupMs + durationMs },
    );
    const notes = result.errors ? [`${result.errors} failed cycles (first: ${result.firstError})`] : [];
    return {
      values: { 'handshake.rate': result.perSecond, 'handshake.p99': result.p99Ms },
      cpu: windows.at(-1) ?? null,
      notes,
    };
  },
};
