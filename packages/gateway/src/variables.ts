import { hostname } from 'node:os';
import { configError, type SourceLocation } from './config/errors.js';
import { binaryAddr, parseInet4, parseInet6 } from './config/inet.js';

/**
 * nginx variables: the per-request inputs they read, "complex values" (text with `$var` and
 * `${var}` in it), and the registry that resolves names once, at configuration time, so that
 * a request only runs precompiled getters.
 */

/** Everything a variable may read, captured when a request arrives and filled in as it goes. */
export interface RequestVariables {
  /** The client's headers as Node's `rawHeaders` (name, value, name, value, ...). */
  readonly rawHeaders: readonly string[];
  /**
   * `$remote_addr` and `$remote_port`: the peer's (an IPv4-mapped `::ffff:` prefix stripped),
   * or what a trusted proxy reported (realip; the port is then empty unless it sent one).
   */
  remoteAddress: string;
  remotePort: string;
  /** The TCP peer whatever realip did: `$realip_remote_addr`, `$realip_remote_port`. */
  readonly peerAddress: string;
  readonly peerPort: string;
  /** `$host`: request-line host, else Host header without port, lowercased, else server name. */
  host: string;
  /** `$proxy_host`: the upstream group name, or `host:port` of proxy_pass (`:80` omitted). */
  proxyHost: string;
  /** `$request_method`. */
  readonly method: string;
  /** `$request_uri`: the request target as the client sent it (origin form). */
  readonly requestUri: string;
  /** `$uri`: the decoded, normalized path. */
  uri: string;
  /** `$args`: the query string, without `?`. */
  readonly args: string;
  /** `$server_protocol` without the `HTTP/` prefix, e.g. `1.1`. */
  readonly httpVersion: string;
  /**
   * The accepting socket, for `$server_addr` and `$server_port`: read only when a variable
   * asks, since it costs a getsockname() per connection (nginx reads it lazily too).
   */
  readonly local: { readonly localAddress?: string; readonly localPort?: number } | null;
  /** `$server_name`: the first name of the server block that answers. */
  serverName: string;
  /** `$connection` and `$connection_requests`. */
  readonly connection: string;
  readonly connectionRequests: string;
  /** When the request arrived (Date.now()), for `$request_time`. */
  readonly startMs: number;
  /** Per-request results of cacheable variables (maps); null while one is being computed. */
  readonly cache: (string | null | undefined)[];
  /** The captures of the last successful regex match (`$1`..`$9`), as RegExp.exec returns them. */
  captures: readonly (string | undefined)[] | null;
  /** Values of named captures, by the slot the registry gave their name. */
  readonly named: (string | undefined)[];
  /** Response side: `$status`, `$upstream_addr`, `$upstream_status`, `$body_bytes_sent`. */
  status: number;
  upstreamAddr: string;
  upstreamStatus: string;
  upstreamResponseTime: string;
  upstreamConnectTime: string;
  bodyBytesSent: number;
  /** The response headers sent (name, value, ...), for `$sent_http_NAME`. */
  sentHeaders: readonly string[];
}

/** A RequestVariables with neutral values, for requests made up outside a connection and tests. */
export function requestVariables(init: Partial<RequestVariables> = {}): RequestVariables {
  // Every field in one literal, so that all requests' variables share one shape.
  return {
    rawHeaders: init.rawHeaders ?? [],
    remoteAddress: init.remoteAddress ?? '',
    remotePort: init.remotePort ?? '',
    peerAddress: init.peerAddress ?? init.remoteAddress ?? '',
    peerPort: init.peerPort ?? init.remotePort ?? '',
    host: init.host ?? '',
    proxyHost: init.proxyHost ?? '',
    method: init.method ?? 'GET',
    requestUri: init.requestUri ?? '/',
    uri: init.uri ?? '/',
    args: init.args ?? '',
    httpVersion: init.httpVersion ?? '1.1',
    local: init.local ?? null,
    serverName: init.serverName ?? '',
    connection: init.connection ?? '0',
    connectionRequests: init.connectionRequests ?? '1',
    startMs: init.startMs ?? Date.now(),
    cache: init.cache ?? [],
    captures: init.captures ?? null,
    named: init.named ?? [],
    status: init.status ?? 0,
    upstreamAddr: init.upstreamAddr ?? '',
    upstreamStatus: init.upstreamStatus ?? '',
    upstreamResponseTime: init.upstreamResponseTime ?? '',
    upstreamConnectTime: init.upstreamConnectTime ?? '',
    bodyBytesSent: init.bodyBytesSent ?? 0,
    sentHeaders: init.sentHeaders ?? [],
  };
}

/** `$remote_addr`: the client's address, without the `::ffff:` of an IPv4-mapped one. */
export function clientAddress(remoteAddress: string | undefined): string {
  const address = remoteAddress ?? '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}

export type VariableGetter = (r: RequestVariables) => string;

/** A compiled "complex value". `constant` is set when the text holds no variable at all. */
export interface Template {
  readonly source: string;
  readonly constant: string | null;
  /** Literal text and variable getters, filled in once every variable is known. */
  readonly parts: (string | VariableGetter)[];
}

export function evaluate(t: Template, r: RequestVariables): string {
  if (t.constant !== null) return t.constant;
  let out = '';
  for (const part of t.parts) out += typeof part === 'string' ? part : part(r);
  return out;
}

/** ASCII-only lowercasing, as nginx's ngx_strlow (JS's toLowerCase would touch latin1 bytes). */
export function asciiLower(s: string): string {
  let upper = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // toLowerCase() would also fold non-ASCII letters (the Kelvin sign becomes "k").
    if (c > 127) return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
    if (c >= 65 && c <= 90) upper = true;
  }
  return upper ? s.toLowerCase() : s;
}

/**
 * Values of the client headers whose name, lowercased with `-` turned into `_`, is `name`;
 * several are joined with ", " ("; " for Cookie), as nginx 1.23+ does. Headers nginx ignores
 * (names with characters other than letters, digits and `-`) are invisible here too.
 */
export function headerValue(rawHeaders: readonly string[], varName: string): string | undefined {
  let out: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length !== varName.length || !isValidClientHeaderName(name)) continue;
    if (asciiLower(name).replaceAll('-', '_') !== varName) continue;
    const value = rawHeaders[i + 1] as string;
    out = out === undefined ? value : `${out}${varName === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out;
}

/** nginx (ignore_invalid_headers on, underscores_in_headers off) drops other header names. */
export function isValidClientHeaderName(name: string): boolean {
  return /^[A-Za-z0-9-]+$/.test(name);
}

/**
 * ngx_http_arg(): the first `name=value` pair of the query string whose name matches
 * case-insensitively; the value is returned raw (not decoded). A name without `=` never matches.
 */
export function argValue(args: string, name: string): string | undefined {
  if (args.length === 0) return undefined;
  let start = 0;
  while (start <= args.length) {
    let end = args.indexOf('&', start);
    if (end < 0) end = args.length;
    if (end - start > name.length && args[start + name.length] === '=' && asciiLower(args.slice(start, start + name.length)) === name) {
      return args.slice(start + name.length + 1, end);
    }
    start = end + 1;
  }
  return undefined;
}

/** ngx_http_parse_multi_header_lines() over the Cookie headers: `$cookie_NAME`. */
export function cookieValue(rawHeaders: readonly string[], name: string): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const header = rawHeaders[i] as string;
    if (header.length !== 6 || asciiLower(header) !== 'cookie') continue;
    const v = rawHeaders[i + 1] as string;
    if (name.length > v.length) continue;
    let p = 0;
    while (p < v.length) {
      if (asciiLower(v.slice(p, p + name.length)) === name) {
        let q = p + name.length;
        while (q < v.length && v[q] === ' ') q++;
        if (q < v.length && v[q] === '=') {
          q++;
          while (q < v.length && v[q] === ' ') q++;
          let last = v.indexOf(';', q);
          if (last < 0) last = v.length;
          return v.slice(q, last);
        }
        p = q;
      }
      while (p < v.length) {
        const ch = v[p++];
        if (ch === ';' || ch === ',') break;
      }
      while (p < v.length && v[p] === ' ') p++;
    }
  }
  return undefined;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

function offset(d: Date, colon: boolean): string {
  const off = -d.getTimezoneOffset();
  const abs = Math.abs(off);
  return `${off < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}${colon ? ':' : ''}${pad(abs % 60)}`;
}

/** `$time_local`: `23/Nov/2026:20:24:12 +0000`. */
export function timeLocal(d: Date = new Date()): string {
  return `${pad(d.getDate())}/${MONTHS[d.getMonth()] as string}/${d.getFullYear()}:${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${offset(d, false)}`;
}

/** `$time_iso8601`: `2026-11-23T20:24:12+00:00`. */
export function timeIso8601(d: Date = new Date()): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${offset(d, true)}`;
}

/** nginx's `%T.%03M`: seconds with milliseconds. */
export function seconds(ms: number): string {
  const v = Math.max(0, Math.floor(ms));
  return `${Math.floor(v / 1000)}.${pad(v % 1000, 3)}`;
}

const HOSTNAME = hostname();

/** The address as 4 or 16 bytes (latin1 characters); other peers (unix sockets) as text, like nginx. */
function binaryRemoteAddr(address: string): string {
  const bytes = parseInet4(address) ?? parseInet6(address);
  return bytes ? binaryAddr(bytes) : address;
}

const BUILTINS: Record<string, VariableGetter> = {
  host: (r) => r.host,
  remote_addr: (r) => r.remoteAddress,
  remote_port: (r) => r.remotePort,
  binary_remote_addr: (r) => binaryRemoteAddr(r.remoteAddress),
  realip_remote_addr: (r) => r.peerAddress,
  realip_remote_port: (r) => r.peerPort,
  proxy_host: (r) => r.proxyHost,
  proxy_port: (r) => {
    const at = r.proxyHost.lastIndexOf(':');
    return at > r.proxyHost.lastIndexOf(']') && at >= 0 ? r.proxyHost.slice(at + 1) : '80';
  },
  proxy_add_x_forwarded_for: (r) => {
    const xff = headerValue(r.rawHeaders, 'x_forwarded_for');
    return xff === undefined ? r.remoteAddress : `${xff}, ${r.remoteAddress}`;
  },
  request_method: (r) => r.method,
  request_uri: (r) => r.requestUri,
  uri: (r) => r.uri,
  document_uri: (r) => r.uri,
  args: (r) => r.args,
  query_string: (r) => r.args,
  is_args: (r) => (r.args.length > 0 ? '?' : ''),
  request: (r) => `${r.method} ${r.requestUri} HTTP/${r.httpVersion}`,
  scheme: () => 'http',
  https: () => '',
  server_protocol: (r) => `HTTP/${r.httpVersion}`,
  server_addr: (r) => clientAddress(r.local?.localAddress),
  server_port: (r) => String(r.local?.localPort ?? ''),
  server_name: (r) => r.serverName,
  hostname: () => HOSTNAME,
  pid: () => String(process.pid),
  connection: (r) => r.connection,
  connection_requests: (r) => r.connectionRequests,
  content_length: (r) => headerValue(r.rawHeaders, 'content_length') ?? '',
  content_type: (r) => headerValue(r.rawHeaders, 'content_type') ?? '',
  cookie: (r) => headerValue(r.rawHeaders, 'cookie') ?? '',
  msec: () => (Date.now() / 1000).toFixed(3),
  time_local: () => timeLocal(),
  time_iso8601: () => timeIso8601(),
  request_time: (r) => seconds(Date.now() - r.startMs),
  remote_user: () => '',
  status: (r) => (r.status === 0 ? '000' : pad(r.status, 3)),
  body_bytes_sent: (r) => String(r.bodyBytesSent),
  upstream_addr: (r) => r.upstreamAddr,
  upstream_status: (r) => r.upstreamStatus,
  upstream_response_time: (r) => r.upstreamResponseTime,
  upstream_connect_time: (r) => r.upstreamConnectTime,
};


/** A regular expression compiled once at configuration time, with its named captures' slots. */
export interface CompiledRegex {
  readonly source: string;
  readonly re: RegExp;
  readonly names: readonly (readonly [name: string, slot: number])[];
}

/**
 * ngx_http_regex_exec(): on a match, the request's captures (`$1`...) and named captures are
 * set; on a miss nothing changes.
 */
export function execRegex(c: CompiledRegex, subject: string, r: RequestVariables): boolean {
  const m = c.re.exec(subject);
  if (m === null) return false;
  r.captures = m;
  if (c.names.length > 0) {
    const groups = m.groups ?? {};
    for (const [name, slot] of c.names) r.named[slot] = groups[name];
  }
  return true;
}

/** A map entry whose key is a regular expression (`~` or `~*`). */
export interface MapRegexEntry {
  readonly regex: CompiledRegex;
  readonly value: Template;
}

/** A `map $src $dst { ... }` block: exact keys (lowercased), regexes in order, and a default. */
export interface MapDefinition {
  source: Template;
  readonly entries: Map<string, Template>;
  readonly regexes: MapRegexEntry[];
  fallback: Template | null;
}

type Piece = string | { readonly variable: string } | { readonly capture: number };
/** Wraps a variable's getter (log formats: escaping and "-" for missing values). */
export type GetterWrapper = (name: string, getter: VariableGetter) => VariableGetter;

interface Pending {
  readonly wrap?: GetterWrapper;
  readonly pieces: Piece[];
  readonly at: SourceLocation;
  readonly target: { parts: (string | VariableGetter)[] };
}

/**
 * The variables of one `http` block. Values are parsed right away (so syntax errors name the
 * directive's line) but resolved in finalize(), because a value may use a map defined
 * further down the file, as nginx allows.
 */
export class VariableRegistry {
  private readonly maps = new Map<string, MapDefinition>();
  private readonly captureSlots = new Map<string, number>();
  private readonly pending: Pending[] = [];
  private slots = 0;

  /** Compiles `source` as a complex value; variable names are resolved by finalize(). */
  template(source: string, at: SourceLocation, wrap?: GetterWrapper): Template {
    if (!source.includes('$')) return { source, constant: source, parts: [source] };
    const pieces = parsePieces(source, at);
    const template: Template = { source, constant: null, parts: [] };
    this.pending.push({ pieces, at, target: template, wrap });
    return template;
  }

  /** True when `source` has variables (nginx's ngx_http_script_variables_count). */
  static hasVariables(source: string): boolean {
    for (let i = 0; i < source.length - 1; i++) {
      if (source[i] === '$' && /[A-Za-z0-9_{]/.test(source[i + 1] as string)) return true;
    }
    return false;
  }

  /** Declares `$name` as a map result; nginx lets a later map replace an earlier one. */
  defineMap(name: string, at: SourceLocation): MapDefinition {
    const key = asciiLower(name);
    if (key in BUILTINS) throw configError(`the duplicate "${name}" variable`, at);
    const def: MapDefinition = {
      source: { source: '', constant: '', parts: [] },
      entries: new Map(),
      regexes: [],
      fallback: null,
    };
    this.maps.set(key, def);
    return def;
  }

  /**
   * ngx_http_regex_compile(): compiles a PCRE-style pattern (translated to JavaScript) and
   * declares its named captures as variables. Errors read like nginx's pcre2_compile ones.
   */
  regex(pattern: string, caseless: boolean, at: SourceLocation): CompiledRegex {
    let re: RegExp;
    try {
      re = new RegExp(pcreToJs(pattern), caseless ? 'i' : '');
    } catch (err) {
      const why = (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /, '');
      throw configError(`pcre2_compile() failed: ${why} in "${pattern}"`, at);
    }
    const names: [string, number][] = [];
    for (const m of pattern.matchAll(/\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/g)) {
      const name = m[1] as string;
      const key = asciiLower(name);
      if (key in BUILTINS) throw configError(`the duplicate "${name}" variable`, at);
      let slot = this.captureSlots.get(key);
      if (slot === undefined) {
        slot = this.captureSlots.size;
        this.captureSlots.set(key, slot);
      }
      names.push([name, slot]);
    }
    return { source: pattern, re, names };
  }

  /** Resolves every variable used so far; throws `unknown "x" variable` for the first unknown. */
  finalize(): void {
    const getters = new Map<string, VariableGetter>();
    for (const [name, def] of this.maps) getters.set(name, mapGetter(def, this.slots++));
    for (const [name, slot] of this.captureSlots) {
      if (!getters.has(name)) getters.set(name, (r) => r.named[slot] ?? '');
    }
    for (const { pieces, at, target, wrap } of this.pending) {
      target.parts = pieces.map((piece) => {
        if (typeof piece === 'string') return piece;
        if ('capture' in piece) {
          const n = piece.capture;
          const capture: VariableGetter = (r) => r.captures?.[n] ?? '';
          return wrap ? wrap(String(n), capture) : capture;
        }
        const getter = this.resolve(piece.variable, getters);
        if (!getter) throw configError(`unknown "${piece.variable}" variable`, at);
        return wrap ? wrap(asciiLower(piece.variable), getter) : getter;
      });
    }
    this.pending.length = 0;
  }

  private resolve(name: string, maps: Map<string, VariableGetter>): VariableGetter | undefined {
    const key = asciiLower(name);
    const exact = maps.get(key) ?? BUILTINS[key];
    if (exact) return exact;
    if (key.startsWith('http_')) {
      const header = key.slice('http_'.length);
      return (r) => headerValue(r.rawHeaders, header) ?? '';
    }
    if (key.startsWith('arg_')) {
      const arg = key.slice('arg_'.length);
      return (r) => argValue(r.args, arg) ?? '';
    }
    if (key.startsWith('sent_http_')) {
      const header = key.slice('sent_http_'.length);
      return (r) => headerValue(r.sentHeaders, header) ?? '';
    }
    if (key.startsWith('cookie_')) {
      const cookie = key.slice('cookie_'.length);
      return (r) => cookieValue(r.rawHeaders, cookie) ?? '';
    }
    return undefined;
  }
}

function mapGetter(def: MapDefinition, slot: number): VariableGetter {
  const regexes = def.regexes;
  return (r) => {
    const cached = r.cache[slot];
    if (typeof cached === 'string') return cached;
    if (cached === null) throw new Error('cycle while evaluating a map variable');
    r.cache[slot] = null;
    const source = evaluate(def.source, r);
    // ngx_http_map_find(): exact strings first, then regexes in order (never for ""), then default.
    let match = def.entries.get(asciiLower(source));
    if (match === undefined && source.length > 0) {
      for (const entry of regexes) {
        if (execRegex(entry.regex, source, r)) {
          match = entry.value;
          break;
        }
      }
    }
    match ??= def.fallback ?? undefined;
    const value = match ? evaluate(match, r) : '';
    r.cache[slot] = value;
    return value;
  };
}

/**
 * PCRE syntax nginx users write, turned into the JavaScript equivalent: `(?P<name>` named
 * groups, `\A`, `\z`, `\Z`, and `$` (which in PCRE also matches before a final newline).
 * A `]` right after `[` or `[^` is a literal in PCRE but closes an empty class in JavaScript.
 */
export function pcreToJs(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '\\') {
      const next = pattern[i + 1];
      i++;
      if (next === undefined) {
        out += '\\';
        continue;
      }
      if (!inClass && next === 'A') out += '^';
      else if (!inClass && next === 'z') out += '$';
      else if (!inClass && next === 'Z') out += '(?=\\n?$)';
      else out += `\\${next}`;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      out += ch;
      continue;
    }
    if (ch === '[') {
      inClass = true;
      out += ch;
      if (pattern[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (pattern[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (ch === '(' && pattern.startsWith('?P<', i + 1)) {
      out += '(?<';
      i += 3;
      continue;
    }
    if (ch === '(' && pattern.startsWith('?P=', i + 1)) {
      const close = pattern.indexOf(')', i);
      if (close > 0) {
        out += `\\k<${pattern.slice(i + 4, close)}>`;
        i = close;
        continue;
      }
    }
    if (ch === '$') {
      out += '(?=\\n?$)';
      continue;
    }
    out += ch;
  }
  return out;
}

const isNameChar = (ch: string): boolean => /[A-Za-z0-9_]/.test(ch);

/** ngx_http_script_compile's scanner: literal runs, `$name`, `${name}` and `$1`..`$9`. */
function parsePieces(source: string, at: SourceLocation): Piece[] {
  const pieces: Piece[] = [];
  let literal = '';
  let i = 0;
  while (i < source.length) {
    const ch = source[i] as string;
    if (ch !== '$') {
      literal += ch;
      i++;
      continue;
    }
    if (literal) pieces.push(literal);
    literal = '';
    if (++i === source.length) throw configError('invalid variable name', at);
    const first = source[i] as string;
    if (first >= '1' && first <= '9') {
      pieces.push({ capture: Number(first) });
      i++;
      continue;
    }
    let bracket = first === '{';
    if (bracket && ++i === source.length) throw configError('invalid variable name', at);
    const start = i;
    let end = i;
    while (i < source.length) {
      const c = source[i] as string;
      if (c === '}' && bracket) {
        end = i;
        i++;
        bracket = false;
        break;
      }
      if (!isNameChar(c)) break;
      i++;
      end = i;
    }
    const name = source.slice(start, end);
    if (bracket) throw configError(`the closing bracket in "${name}" variable is missing`, at);
    if (name.length === 0) throw configError('invalid variable name', at);
    pieces.push({ variable: name });
  }
  if (literal) pieces.push(literal);
  return pieces;
}
