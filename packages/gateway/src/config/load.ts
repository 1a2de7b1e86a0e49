import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { compileConfig } from './compile.js';
import { ConfigError } from './errors.js';
import { parseConfig } from './parser.js';
import type { GatewayConfig } from './types.js';

/**
 * Reads, parses and compiles a configuration file. Throws ConfigError, whose message reads
 * like nginx's `[emerg]` text. Host names are not resolved here (see createGateway).
 */
export function loadConfig(file: string): GatewayConfig {
  const path = resolve(file);
  let text: string;
  try {
    // latin1: one char per byte, so header values written in the file reach the wire unchanged.
    text = readFileSync(path, 'latin1');
  } catch (err) {
    const reason = err instanceof Error ? err.message.split(', ')[0] : String(err);
    throw new ConfigError(`open() "${path}" failed (${reason})`, path, 0);
  }
  return compileConfig(parseConfig(text, path), path);
}

/** Compiles configuration text that did not come from disk (tests, embedding). */
export function parseConfigText(text: string, file = resolve('nginx.conf')): GatewayConfig {
  return compileConfig(parseConfig(text, file), file);
}
