import type { Socket } from 'node:net';
import type { LogFiles } from './logging.js';
import type { Stats } from './stats.js';

export type LogLevel = 'emerg' | 'alert' | 'error' | 'warn' | 'notice' | 'info';
export type Logger = (level: LogLevel, message: string) => void;

/** What the proxy needs from the running gateway. */
export interface GatewayRuntime {
  readonly log: Logger;
  readonly stats: Stats;
  readonly logFiles: LogFiles;
  /** Registers an upstream socket so that closing the gateway can destroy it. */
  track(socket: Socket): void;
}

/**
 * A configured time as a Node timer delay: nginx treats 0 as "expire at once" where Node's
 * socket.setTimeout(0) would disable the timer, and Node cannot wait longer than 2^31-1 ms.
 */
export function timerDelay(ms: number): number {
  return Math.min(Math.max(ms, 1), 2_147_483_647);
}
