import { configError } from './errors.js';
import type { Directive } from './parser.js';
import { parseInteger } from './units.js';

/**
 * nginx's generic value parsers (ngx_conf_set_flag_slot, _num_slot, _enum_slot and
 * ngx_parse_size), with their exact messages, for directives whose value is one such slot.
 */

export const duplicate = (d: Directive) => configError(`"${d.name}" directive is duplicate`, d);

/** `on` / `off`, case-insensitively. */
export function flagValue(d: Directive, current: boolean | undefined): boolean {
  if (current !== undefined) throw duplicate(d);
  const value = (d.args[0] as string).toLowerCase();
  if (value !== 'on' && value !== 'off') {
    throw configError(`invalid value "${d.args[0] as string}" in "${d.name}" directive, it must be "on" or "off"`, d);
  }
  return value === 'on';
}

/** A number within `low..high` (ngx_conf_check_num_bounds). */
export function boundedNumber(d: Directive, current: number | undefined, low: number, high: number): number {
  if (current !== undefined) throw duplicate(d);
  const n = parseInteger(d.args[0] as string);
  if (n === null) throw configError(`"${d.name}" directive invalid number`, d);
  if (n < low || n > high) throw configError(`value must be between ${low} and ${high}`, d);
  return n;
}

/** One of `values`, matched case-insensitively; returned as listed. */
export function enumValue<T extends string>(d: Directive, current: T | undefined, values: readonly T[]): T {
  if (current !== undefined) throw duplicate(d);
  const text = (d.args[0] as string).toLowerCase();
  const found = values.find((v) => v === text);
  if (found === undefined) throw configError(`invalid value "${d.args[0] as string}"`, d);
  return found;
}

/** ngx_parse_size(): bytes, or `k`/`K`, `m`/`M` units (nginx 1.22 has no `g`); null when invalid. */
export function parseSize(text: string): number | null {
  const unit = text.at(-1)?.toLowerCase();
  const scale = unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : 1;
  const n = parseInteger(scale === 1 ? text : text.slice(0, -1));
  if (n === null || !Number.isSafeInteger(n * scale)) return null;
  return n * scale;
}
