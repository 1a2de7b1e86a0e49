import { runGenerator } from '../generator-host.js';
import type { EchoResult } from '../generators/echo.js';
import { observe, type Workload } from './types.js';

/** Workload 1: WebSocket echo through the door, closed loop, at `connections` connections. */
export function echoWorkload(connections: number): Workload {
  const id = `echo-${connections}`;
  const label = `WS echo, ${connections.toLocaleString('en-US')} conns`;
  return {
    id,
    kind: 'echo',
    title: `WebSocket echo at ${connections.toLocaleString('en-US')} connections`,
    metrics: [
      { id: `${id}.rate`, label: `${label}: throughput`, unit: 'msg/s', better: 'higher' },
      { id: `${id}.p50`, label: `${label}: RTT p50`, unit: 'ms', better: 'lower' },
      { id: `${id}.p99`, label: `${label}: RTT p99`, unit: 'ms', better: 'lower' },
    ],
    async measure(door, { env, settings }) {
      const { warmupMs, durationMs } = settings.echo;
      const { result, windows } = await runGenerator<EchoResult>(
        'echo',
        { target: { port: door.port, path: '/echo' }, connections, warmupMs, durationMs },
        observe(door, env, 'echo'),
        { timeoutMs: 90_000 + warmupMs + durationMs },
      );
      const notes: string[] = [];
      if (result.failedToOpen) notes.push(`${result.failedToOpen} of ${connections} connections failed to open`);
      if (result.droppedDuringRun) notes.push(`${result.droppedDuringRun} connections dropped during the run`);
      return {
        values: { [`${id}.rate`]: result.perSecond, [`${id}.p50`]: result.p50Ms, [`${id}.p99`]: result.p99Ms },
        cpu: windows.at(-1) ?? null,
        notes,
      };
    },
  };
}
