import { configError, type SourceLocation } from './config/errors.js';

/**
 * nginx variables: the per-request inputs they read, "complex values" (text with `$var` and
 * `${var}` in it), and the registry that resolves names once, at configuration time, so that
 * a request only runs precompiled getters.
 */

/** Everything a variable may read, captured when a request arrives. */
export interface RequestVariables {
  /** The client's headers as Node's `rawHeaders` (name, value, name, value, ...). */
  readonly rawHeaders: readonly string[];
  /** Client address, an IPv4-mapped `::ffff:` prefix already stripped. */
  readonly remoteAddress: string;
  readonly remotePort: string;
  /** `$host`: request-line host, else Host header without port, lowercased, else server name. */
  readonly host: string;
  /** `$proxy_host`: the upstream group name, or `host:port` of proxy_pass (`:80` omitted). */
  readonly proxyHost: string;
  /** Per-request results of cacheable variables (maps); null while one is being computed. */
  readonly cache: (string | null | undefined)[];
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
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s;
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

const BUILTINS: Record<string, VariableGetter> = {
  host: (r) => r.host,
  remote_addr: (r) => r.remoteAddress,
  remote_port: (r) => r.remotePort,
  proxy_host: (r) => r.proxyHost,
  proxy_add_x_forwarded_for: (r) => {
    const xff = headerValue(r.rawHeaders, 'x_forwarded_for');
    return xff === undefined ? r.remoteAddress : `${xff}, ${r.remoteAddress}`;
  },
};

/** A `map $src $dst { ... }` block: exact keys (lowercased) and a default. */
export interface MapDefinition {
  source: Template;
  readonly entries: Map<string, Template>;
  fallback: Template | null;
}

type Piece = string | { readonly variable: string } | { readonly capture: number };
interface Pending {
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
  private readonly pending: Pending[] = [];
  private slots = 0;

  /** Compiles `source` as a complex value; variable names are resolved by finalize(). */
  template(source: string, at: SourceLocation): Template {
    if (!source.includes('$')) return { source, constant: source, parts: [source] };
    const pieces = parsePieces(source, at);
    const template: Template = { source, constant: null, parts: [] };
    this.pending.push({ pieces, at, target: template });
    return template;
  }

  /** Declares `$name` as a map result; nginx lets a later map replace an earlier one. */
  defineMap(name: string, at: SourceLocation): MapDefinition {
    const key = asciiLower(name);
    if (key in BUILTINS) throw configError(`the duplicate "${name}" variable`, at);
    const def: MapDefinition = {
      source: { source: '', constant: '', parts: [] },
      entries: new Map(),
      fallback: null,
    };
    this.maps.set(key, def);
    return def;
  }

  /** Resolves every variable used so far; throws `unknown "x" variable` for the first unknown. */
  finalize(): void {
    const getters = new Map<string, VariableGetter>();
    for (const [name, def] of this.maps) getters.set(name, mapGetter(def, this.slots++));
    for (const { pieces, at, target } of this.pending) {
      target.parts = pieces.map((piece) => {
        if (typeof piece === 'string') return piece;
        // No regex support yet, so `$1`..`$9` captures are always empty, as nginx's would be.
        if ('capture' in piece) return '';
        const getter = this.resolve(piece.variable, getters);
        if (!getter) throw configError(`unknown "${piece.variable}" variable`, at);
        return getter;
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
    return undefined;
  }
}

function mapGetter(def: MapDefinition, slot: number): VariableGetter {
  return (r) => {
    const cached = r.cache[slot];
    if (typeof cached === 'string') return cached;
    if (cached === null) throw new Error('cycle while evaluating a map variable');
    r.cache[slot] = null;
    const match = def.entries.get(asciiLower(evaluate(def.source, r))) ?? def.fallback;
    const value = match ? evaluate(match, r) : '';
    r.cache[slot] = value;
    return value;
  };
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
