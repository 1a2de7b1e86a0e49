// The runner side of a load generator: fork it, sample CPU of every relevant process over each
// measured window the generator announces, and collect its result.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GeneratorMessage, RunnerCommand } from './generators/protocol.js';
import { CpuMeter, machineBusySeconds } from './procstat.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Processes whose CPU is sampled over a window, besides the generator itself. */
export interface Observed {
  proxy: () => readonly number[];
  backend: () => readonly number[];
}

export interface CpuWindow {
  label?: string;
  /** % of one core over the measured window. */
  generator: number;
  proxy: number;
  backend: number;
  /** The whole machine, so that load from other processes on a shared box is visible. */
  machine: number;
}

export interface GeneratorRun<R> {
  result: R;
  windows: CpuWindow[];
}

export interface GeneratorHooks {
  /** Named events from the generator; the hook may answer with commands. */
  onEvent?: (name: string, data: unknown, tell: (command: string) => void) => void | Promise<void>;
  timeoutMs: number;
}

/** Runs `generators/<name>.js` with `params` in its own process; rejects on its error or on timeout. */
export function runGenerator<R>(name: string, params: unknown, observed: Observed, hooks: GeneratorHooks): Promise<GeneratorRun<R>> {
  const child: ChildProcess = fork(path.join(here, 'generators', `${name}.js`), [JSON.stringify(params)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pid = child.pid!;
  const windows: CpuWindow[] = [];
  let meters: Record<'generator' | 'proxy' | 'backend' | 'machine', CpuMeter> | null = null;

  return new Promise<GeneratorRun<R>>((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | null, result?: R) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (error) reject(error);
      else resolve({ result: result!, windows });
    };
    const timer = setTimeout(() => finish(new Error(`generator ${name} timed out after ${hooks.timeoutMs} ms`)), hooks.timeoutMs);
    const tell = (command: string) => child.send({ type: 'command', name: command } satisfies RunnerCommand);

    child.on('message', (message: GeneratorMessage) => {
      if (message.type === 'phase' && message.phase === 'measure-start') {
        meters = {
          generator: CpuMeter.of(() => [pid]),
          proxy: CpuMeter.of(observed.proxy),
          backend: CpuMeter.of(observed.backend),
          machine: new CpuMeter(machineBusySeconds),
        };
      } else if (message.type === 'phase' && message.phase === 'measure-end' && meters) {
        windows.push({
          label: message.label,
          generator: meters.generator.percent(),
          proxy: meters.proxy.percent(),
          backend: meters.backend.percent(),
          machine: meters.machine.percent(),
        });
        meters = null;
      } else if (message.type === 'event') {
        Promise.resolve(hooks.onEvent?.(message.name, message.data, tell)).catch((error: Error) => finish(error));
      } else if (message.type === 'result') {
        finish(null, message.result as R);
      } else if (message.type === 'error') {
        finish(new Error(`generator ${name} failed: ${message.message}`));
      }
    });
    // 'close', not 'exit': it comes after the IPC channel has delivered everything.
    child.on('close', (code, signal) => finish(new Error(`generator ${name} exited (code ${code}, signal ${signal}) without a result`)));
    child.on('error', (error) => finish(error));
  });
}
