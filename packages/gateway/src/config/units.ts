/**
 * nginx's number and time syntaxes (ngx_atoi, ngx_parse_time), so that a value is accepted or
 * rejected by both engines alike.
 */

/** ngx_atoi: decimal digits only, no sign, no spaces; null when invalid or beyond 2^53. */
export function parseInteger(text: string): number | null {
  if (!/^[0-9]+$/.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}

const UNIT_SECONDS: Record<string, number> = {
  y: 365 * 24 * 60 * 60,
  M: 30 * 24 * 60 * 60,
  w: 7 * 24 * 60 * 60,
  d: 24 * 60 * 60,
  h: 60 * 60,
  m: 60,
  s: 1,
};

// Units must appear from the most to the least significant, each at most once.
const UNIT_ORDER = ['y', 'M', 'w', 'd', 'h', 'm', 's', 'ms', ' '];

/**
 * ngx_parse_time(value, is_sec=0): a time in milliseconds such as `75s`, `1m`, `500ms`,
 * `1h 30m` or a bare number of seconds. Years and months are not allowed in millisecond
 * times, exactly as in nginx. Returns null when nginx would say "invalid value".
 */
export function parseMilliseconds(text: string): number | null {
  return parseTime(text, false);
}

/**
 * ngx_parse_time(value, is_sec=1): a time in whole seconds (`10s`, `1m`, `1y`), as used by
 * `fail_timeout=`. `ms` is not allowed. Returns seconds, or null when invalid.
 */
export function parseSeconds(text: string): number | null {
  const ms = parseTime(text, true);
  return ms === null ? null : ms / 1000;
}

function parseTime(text: string, isSec: boolean): number | null {
  let total = 0;
  let value = 0;
  let valid = false;
  // Index into UNIT_ORDER of the last unit seen; for milliseconds, months and years are "used".
  let step = isSec ? -1 : UNIT_ORDER.indexOf('M');
  let i = 0;

  while (i < text.length) {
    const ch = text[i] as string;
    if (ch >= '0' && ch <= '9') {
      value = value * 10 + Number(ch);
      if (!Number.isSafeInteger(value)) return null;
      valid = true;
      i++;
      continue;
    }
    i++;
    let unit = ch;
    if (ch === 'm' && text[i] === 's') {
      if (isSec) return null;
      unit = 'ms';
      i++;
    }
    const order = UNIT_ORDER.indexOf(unit);
    // A space directly after a number means "seconds, and nothing may follow".
    if (order < 0 || order <= step || (unit === ' ' && step >= UNIT_ORDER.indexOf('s'))) return null;
    step = order;
    const scale = unit === 'ms' ? 1 : unit === ' ' ? 1000 : (UNIT_SECONDS[unit] as number) * 1000;
    total += value * scale;
    if (!Number.isSafeInteger(total)) return null;
    value = 0;
    while (text[i] === ' ') i++;
  }

  if (!valid) return null;
  total += value * 1000;
  return Number.isSafeInteger(total) ? total : null;
}
