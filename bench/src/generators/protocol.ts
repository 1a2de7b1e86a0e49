// Messages between the runner and a load generator child process (over the fork IPC channel).

export type GeneratorMessage =
  /** The measured window starts/ends now: the runner samples CPU of every process at these moments. */
  | { type: 'phase'; phase: 'measure-start' | 'measure-end'; label?: string }
  /** A named point the runner waits for (e.g. `opened` in the idle workload). */
  | { type: 'event'; name: string; data?: unknown }
  | { type: 'result'; result: unknown }
  | { type: 'error'; message: string };

/** What the runner may tell a generator (e.g. `verify` in the idle workload). */
export interface RunnerCommand {
  type: 'command';
  name: string;
}
