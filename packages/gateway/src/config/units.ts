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
  let total = 0;
  let value = 0;
  let valid = false;
  // Index into UNIT_ORDER of the last unit seen; months and years are already "used".
  let step = UNIT_ORDER.indexOf('M');
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
