import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  /** The last lines the process printed, for error messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL now (a crash, for failover tests). */
  kill(): Promise<void>;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Copy each output line to this sink, prefixed with the process name (the demo uses it). */
  echo?: (line: string) => void;
}

const running = new Set<ChildProcess>();
// Never leave a process behind, even when a test run dies half-way.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function spawnManaged(name: string, command: string, args: string[], options: SpawnOptions = {}): ManagedProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = once(child, 'exit').finally(() => running.delete(child));
  child.on('error', () => running.delete(child));

  const lines: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      lines.push(line);
      if (lines.length > 200) lines.shift();
      options.echo?.(`[${name}] ${line}`);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  const signal = async (sig: NodeJS.Signals, graceMs: number) => {
    if (hasExited()) return;
    child.kill(sig);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited.catch(() => undefined);
    clearTimeout(timer);
  };

  return {
    name,
    child,
    output: () => lines.join('\n'),
    stop: (graceMs = 5_000) => signal('SIGTERM', graceMs),
    kill: () => signal('SIGKILL', 0),
  };
}

/** Fails fast with the process's own output if it exits before it is ready. */
export async function untilReady(proc: ManagedProcess, ready: Promise<void>): Promise<void> {
  const exited = once(proc.child, 'exit').then(([code, signal]) => {
    throw new Error(`${proc.name} exited (code ${code}, signal ${signal}) before it was ready:\n${proc.output()}`);
  });
  try {
    await Promise.race([ready, exited]);
  } catch (error) {
    await proc.stop();
    if (error instanceof Error && !error.message.includes(proc.output())) {
      error.message += `\n--- ${proc.name} output ---\n${proc.output()}`;
    }
    throw error;
  } finally {
    exited.catch(() => undefined);
  }
}
