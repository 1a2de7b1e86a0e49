import { createWriteStream, type WriteStream } from 'node:fs';
import type { AccessLogConfig, LogEscape } from './config/types.js';
import type { LogLevel } from './runtime.js';
import { evaluate, type GetterWrapper, type RequestVariables, type VariableGetter } from './variables.js';

/**
 * access_log / log_format / error_log: log lines as nginx writes them, appended through one
 * buffered stream per file.
 */

/** nginx's predefined format. */
export const COMBINED =
  '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';

/** Variables nginx reports as "not found" when they have no value: a log line shows `-`. */
const MAY_BE_MISSING = /^(?:http_|cookie_|arg_|sent_http_|upstream_)|^(?:remote_user|content_length|content_type)$/;

const hex = (code: number): string => code.toString(16).toUpperCase().padStart(2, '0');

function needsEscape(value: string, json: boolean): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x22 || c === 0x5c || c < 0x20 || (!json && c >= 0x7f)) return true;
  }
  return false;
}

/** ngx_http_log_escape (escape=default): `"`, `\`, controls and bytes >= 0x7f as `\xHH`. */
function escapeDefault(value: string): string {
  if (!needsEscape(value, false)) return value;
  let out = '';
  for (const ch of value) {
    const code = ch.charCodeAt(0);
    out += ch === '"' || ch === '\\' || code < 0x20 || code >= 0x7f ? `\\x${hex(code)}` : ch;
  }
  return out;
}

/** ngx_escape_json (escape=json). */
function escapeJson(value: string): string {
  if (!needsEscape(value, true)) return value;
  let out = '';
  for (const ch of value) {
    const code = ch.charCodeAt(0);
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (code < 0x20) out += `\\u00${hex(code)}`;
    else out += ch;
  }
  return out;
}

/** The getter wrapper of a log format: escaping, and `-` for a missing value (not with json). */
export function logWrapper(escape: LogEscape): GetterWrapper {
  const esc = escape === 'json' ? escapeJson : escape === 'none' ? null : escapeDefault;
  return (name, getter): VariableGetter => {
    const dash = escape !== 'json' && MAY_BE_MISSING.test(name);
    return (r) => {
      const value = getter(r);
      if (value === '') return dash ? '-' : '';
      return esc ? esc(value) : value;
    };
  };
}

/** Open log files, shared by every access_log naming the same path. */
export class LogFiles {
  private readonly streams = new Map<string, WriteStream | NodeJS.WriteStream>();

  get(path: string): WriteStream | NodeJS.WriteStream {
    let stream = this.streams.get(path);
    if (!stream) {
      if (path === 'stderr' || path === '/dev/stderr') stream = process.stderr;
      else if (path === '/dev/stdout') stream = process.stdout;
      else {
        const file = createWriteStream(path, { flags: 'a', encoding: 'latin1' });
        file.on('error', () => {});
        stream = file;
      }
      this.streams.set(path, stream);
    }
    return stream;
  }

  private closed = false;

  /** Writes the access log lines of a finished request. */
  access(logs: readonly AccessLogConfig[], vars: RequestVariables): void {
    if (this.closed) return;
    for (const log of logs) {
      if (log.condition) {
        const v = evaluate(log.condition, vars);
        if (v === '' || v === '0') continue;
      }
      this.get(log.path).write(Buffer.from(`${evaluate(log.format.template, vars)}\n`, 'latin1'));
    }
  }

  async close(): Promise<void> {
    // Connections destroyed just before close() log their last lines in their 'close' events,
    // which run before the next turn of the event loop; after that, the files are shut.
    await new Promise((resolve) => setImmediate(resolve));
    this.closed = true;
    const files = [...this.streams.values()].filter((s): s is WriteStream => s !== process.stderr && s !== process.stdout);
    this.streams.clear();
    await Promise.all(files.map((f) => new Promise<void>((resolve) => f.end(resolve))));
  }
}

const SEVERITY: Record<string, number> = { emerg: 0, alert: 1, crit: 2, error: 3, warn: 4, notice: 5, info: 6, debug: 7 };

export const ERROR_LOG_LEVELS = Object.keys(SEVERITY);

const pad = (n: number) => String(n).padStart(2, '0');

/** nginx's error log line: `2026/11/23 20:24:12 [error] 123#0: message`. */
export function errorLogLine(level: string, message: string, d: Date = new Date()): string {
  const date = `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return `${date} [${level}] ${process.pid}#0: ${message}\n`;
}

/** True when a message of `level` is written to an error_log of `threshold`. */
export function logs(threshold: string, level: LogLevel | string): boolean {
  return (SEVERITY[level] ?? 3) <= (SEVERITY[threshold] ?? 3);
}
