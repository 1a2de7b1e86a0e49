// WebSocket echo load: every connection keeps exactly one message in flight (closed loop), so
// throughput = connections / round-trip time, and the round trips are the latency samples.
import { percentiles } from '../stats.js';
import { measureWindow, runGenerator, sleep } from './harness.js';
import { openMany, textFrame, type WsTarget } from './raw-ws.js';

export interface EchoParams {
  target: WsTarget;
  connections: number;
  warmupMs: number;
  durationMs: number;
}

export interface EchoResult {
  connections: number;
  failedToOpen: number;
  messages: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Connections that closed during the run: a proxy that drops tunnels shows here. */
  droppedDuringRun: number;
}

const MAX_SAMPLES = 5_000_000; // bounds memory on very fast runs

runGenerator<EchoParams>(async ({ target, connections, warmupMs, durationMs }) => {
  const { sockets, failed, firstError } = await openMany(target, connections, 100, 30_000);
  if (sockets.length === 0) throw new Error(`no connection opened: ${firstError}`);

  const message = textFrame('echo-0123456789abcdef0123456789');
  const samples: number[] = [];
  let measuring = false;
  let running = true;
  let messages = 0;
  let dropped = 0;

  for (const ws of sockets) {
    let sentAt = 0;
    ws.onMessage = () => {
      const now = performance.now();
      if (measuring) {
        messages++;
        if (samples.length < MAX_SAMPLES) samples.push(now - sentAt);
      }
      if (!running) return;
      sentAt = now;
      ws.send(message);
    };
    ws.onClose = () => {
      if (running) dropped++;
    };
    sentAt = performance.now();
    ws.send(message);
  }

  const elapsed = await measureWindow(warmupMs, durationMs, (on) => (measuring = on));
  running = false;

  await sleep(100); // let the last echoes land before closing
  for (const ws of sockets) ws.destroy();
  const [p50, p99] = percentiles(samples, [50, 99]);
  return {
    connections: sockets.length,
    failedToOpen: failed,
    messages,
    perSecond: messages / elapsed,
    p50Ms: p50!,
    p99Ms: p99!,
    droppedDuringRun: dropped,
  } satisfies EchoResult;
});
