// WebSocket handshake load: `concurrency` loops of connect, one echo, closing handshake.
import { percentiles } from '../stats.js';
import { measureWindow, runGenerator, sleep } from './harness.js';
import { RawWs, textFrame, type WsTarget } from './raw-ws.js';

export interface HandshakeParams {
  target: WsTarget;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

export interface HandshakeResult {
  cycles: number;
  perSecond: number;
  /** Time from connect() to the 101 response. */
  p50Ms: number;
  p99Ms: number;
  errors: number;
  firstError: string | null;
}

runGenerator<HandshakeParams>(async ({ target, concurrency, warmupMs, durationMs }) => {
  const message = textFrame('hello');
  const handshakeMs: number[] = [];
  let measuring = false;
  let running = true;
  let cycles = 0;
  let errors = 0;
  let firstError: string | null = null;

  const cycle = async () => {
    const t0 = performance.now();
    const ws = await RawWs.connect(target, 10_000);
    const t1 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no echo within 10 s')), 10_000);
      ws.onMessage = () => {
        clearTimeout(timer);
        resolve();
      };
      ws.onClose = () => reject(new Error('closed before the echo'));
      ws.send(message);
    }).finally(() => (ws.onClose = () => undefined));
    await ws.close();
    return t1 - t0;
  };

  const loop = async () => {
    while (running) {
      try {
        const ms = await cycle();
        // Throughput counts the cycles that complete inside the window.
        if (measuring) {
          cycles++;
          handshakeMs.push(ms);
        }
      } catch (error) {
        errors++;
        firstError ??= (error as Error).message;
        await sleep(10); // don't spin on a refusing front door
      }
    }
  };

  const loops = Array.from({ length: concurrency }, loop);
  const elapsed = await measureWindow(warmupMs, durationMs, (on) => (measuring = on));
  running = false;
  await Promise.race([Promise.all(loops), sleep(15_000)]);

  const [p50, p99] = percentiles(handshakeMs, [50, 99]);
  return { cycles, perSecond: cycles / elapsed, p50Ms: p50!, p99Ms: p99!, errors, firstError } satisfies HandshakeResult;
});
