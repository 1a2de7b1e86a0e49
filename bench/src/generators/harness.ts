// The child-process side of a load generator: parameters in, phases and one result out.
import type { GeneratorMessage, RunnerCommand } from './protocol.js';

function send(message: GeneratorMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

export function phase(name: 'measure-start' | 'measure-end', label?: string): void {
  void send({ type: 'phase', phase: name, label });
}

/**
 * Warms up, then holds the measured window open for `durationMs`, telling the runner when it opens
 * and closes (it samples CPU then); `setMeasuring` gates the caller's sample collection.
 * Returns the window's length in seconds.
 */
export async function measureWindow(warmupMs: number, durationMs: number, setMeasuring: (on: boolean) => void): Promise<number> {
  await sleep(warmupMs);
  phase('measure-start');
  setMeasuring(true);
  const start = performance.now();
  await sleep(durationMs);
  setMeasuring(false);
  const elapsed = (performance.now() - start) / 1000;
  phase('measure-end');
  return elapsed;
}

export function event(name: string, data?: unknown): void {
  void send({ type: 'event', name, data });
}

/** Resolves when the runner sends the named command. */
export function command(name: string): Promise<void> {
  return new Promise((resolve) => {
    const listener = (message: RunnerCommand) => {
      if (message?.type !== 'command' || message.name !== name) return;
      process.off('message', listener);
      resolve();
    };
    process.on('message', listener);
  });
}

/** Runs a generator: reads its JSON parameters from argv, reports its result or its error, exits. */
export function runGenerator<P>(main: (params: P) => Promise<unknown>): void {
  const params = JSON.parse(process.argv[2] ?? '{}') as P;
  main(params).then(
    async (result) => {
      await send({ type: 'result', result });
      process.exit(0);
    },
    async (error: unknown) => {
      await send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      process.exit(1);
    },
  );
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
