import { pino } from 'pino';
import type { Config } from './config.js';

export type Logger = pino.Logger;

export function createLogger(config: Pick<Config, 'LOG_LEVEL' | 'INSTANCE_ID'>): Logger {
  return pino({ level: config.LOG_LEVEL, base: { instance: config.INSTANCE_ID } });
}
