import { asciiLower } from './variables.js';

/**
 * Request-target handling as nginx does it: location matching uses the decoded, normalized
 * path, while the upstream receives the target exactly as the client sent it.
 */

export interface RequestTarget {
  /** Host from an absolute-form target (`GET http://host/path`), else null. */
  readonly host: string | null;
  /** Origin-form target (path and query) to forward upstream. */
  readonly target: string;
}

/** Splits Node's `req.url`; null for forms nginx rejects with 400 (`*`, authority-form). */
export function splitRequestTarget(url: string): RequestTarget | null {
  if (url.startsWith('/')) return { host: null, target: url };
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)(.*)$/.exec(url);
  if (!m) return null;
  const host = m[1] as string;
  // nginx's request-line parser takes only a name or an [IPv6] literal and a port here: user
  // info (`user@host`) and other characters are a 400, even though a Host header may have them.
  if (!/^(?:[A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]*\])(?::[0-9]*)?$/.test(host)) return null;
  const rest = m[2] as string;
  return { host, target: rest.startsWith('/') ? rest : `/${rest}` };
}

const hexValue = (ch: string | undefined): number => (ch !== undefined && /^[0-9A-Fa-f]$/.test(ch) ? parseInt(ch, 16) : -1);

/**
 * The path nginx matches locations against: query and fragment cut, `%XX` decoded (into a
 * latin1 string, one char per byte), `//` merged, `.` and `..` segments resolved. Null when
 * nginx answers 400: a bad escape, an encoded NUL, or `..` above the root.
 */
export function normalizePath(target: string): string | null {
  let end = target.length;
  for (const sep of ['?', '#']) {
    const at = target.indexOf(sep);
    if (at >= 0 && at < end) end = at;
  }
  const raw = target.slice(0, end);
  if (!/%|\/\/|\/\./.test(raw)) return raw;

  let decoded = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i] as string;
    if (ch !== '%') {
      decoded += ch;
      continue;
    }
    const hi = hexValue(raw[i + 1]);
    const lo = hexValue(raw[i + 2]);
    if (hi < 0 || lo < 0) return null;
    const code = hi * 16 + lo;
    if (code === 0) return null;
    decoded += String.fromCharCode(code);
    i += 2;
  }

  const segments = decoded.split('/');
  const kept: string[] = [];
  let trailingSlash = false;
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i] as string;
    const last = i === segments.length - 1;
    if (seg === '' || seg === '.') {
      trailingSlash = last;
      continue;
    }
    if (seg === '..') {
      if (kept.length === 0) return null;
      kept.pop();
      trailingSlash = last;
      continue;
    }
    kept.push(seg);
    trailingSlash = false;
  }
  return `/${kept.join('/')}${trailingSlash && kept.length > 0 ? '/' : ''}`;
}

/**
 * ngx_http_validate_host(): the host part of a Host header or absolute URI, lowercased,
 * without port and trailing dot. Null when nginx answers 400 ("client sent invalid host").
 */
export function validateHost(value: string): string | null {
  let dotPos = -2;
  let hostLen = value.length;
  let state: 'usual' | 'literal' | 'rest' = 'usual';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    const code = ch.charCodeAt(0);
    switch (ch) {
      case '.':
        if (dotPos === i - 1) return null;
        dotPos = i;
        break;
      case ':':
        if (state === 'usual') {
          hostLen = i;
          state = 'rest';
        }
        break;
      case '[':
        if (i === 0) state = 'literal';
        break;
      case ']':
        if (state === 'literal') {
          hostLen = i + 1;
          state = 'rest';
        }
        break;
      default:
        if (ch === '/' || code <= 0x20 || code === 0x7f) return null;
    }
  }
  if (dotPos === hostLen - 1) hostLen--;
  if (hostLen <= 0) return null;
  return asciiLower(value.slice(0, hostLen));
}

/** ngx_escape_uri(NGX_ESCAPE_URI): space, `#`, `%`, `?`, controls and non-ASCII bytes. */
export function escapeUri(s: string): string {
  let out = '';
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    const escape = code <= 0x20 || code >= 0x7f || ch === '#' || ch === '%' || ch === '?';
    out += escape ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : ch;
  }
  return out;
}
