import type { Template } from '../variables.js';
import type { DirectiveSpec, Placement } from './directives.js';
import { ConfigError, configError, type SourceLocation } from './errors.js';
import type { Directive } from './parser.js';
import type { HttpScope, LocationScope, ProxyDraft, ServerScope } from './scopes.js';
import { boundedNumber, duplicate, enumValue, flagValue, parseSize } from './slots.js';
import { parseInteger } from './units.js';

/**
 * The directives of ngx_http_limit_req_module and ngx_http_limit_conn_module, with nginx
 * 1.22's syntax and messages: zones at http level, limits and their status, log level and
 * dry run at http, server and location level.
 */

export type LimitKind = 'limit_req' | 'limit_conn';
export type LimitLogLevel = 'info' | 'notice' | 'warn' | 'error';
const LOG_LEVELS: readonly LimitLogLevel[] = ['info', 'notice', 'warn', 'error'];

/** A `limit_req_zone` / `limit_conn_zone`; nginx's shared memory zone, by name. */
export interface LimitZone extends SourceLocation {
  readonly kind: LimitKind;
  readonly name: string;
  /** Bytes; 0 while the zone is only referenced ("zero size shared memory zone"). */
  size: number;
  key: Template | null;
  /** limit_req: requests per second times 1000, an integer as in nginx (`1r/m` is 16). */
  rate: number;
}

export interface LimitReqRule {
  readonly zone: LimitZone;
  /** In milli-requests, as nginx keeps them: `burst=5` is 5000. */
  readonly burst: number;
  /** Excess (milli-requests) served without delay: `delay=N` times 1000; Infinity for `nodelay`. */
  readonly delay: number;
}

export interface LimitConnRule {
  readonly zone: LimitZone;
  readonly conn: number;
}

export interface LimitSettings<Rule> {
  readonly rules: readonly Rule[];
  readonly status: number;
  readonly logLevel: LimitLogLevel;
  readonly dryRun: boolean;
}

export interface LimitsConfig {
  readonly req: LimitSettings<LimitReqRule>;
  readonly conn: LimitSettings<LimitConnRule>;
}

/** One level's settings; an undefined field inherits (a level with any limit_req replaces the list). */
export interface LimitsDraft {
  req?: LimitReqRule[];
  reqStatus?: number;
  reqLogLevel?: LimitLogLevel;
  reqDryRun?: boolean;
  conn?: LimitConnRule[];
  connStatus?: number;
  connLogLevel?: LimitLogLevel;
  connDryRun?: boolean;
}

// nginx requires 8 pages (ngx_pagesize is 4 KiB on x86-64 Linux).
const MIN_ZONE_SIZE = 8 * 4096;

type Level = HttpScope | ServerScope | LocationScope;

function httpOf(scope: Level): HttpScope {
  if ('variables' in scope) return scope;
  if ('http' in scope) return scope.http;
  return scope.server.http;
}

function atEveryLevel(args: readonly [number, number], apply: (d: Directive, draft: LimitsDraft, http: HttpScope) => void): DirectiveSpec {
  const placement: Placement<Level> = { block: false, args, handle: (d, scope) => apply(d, (scope.proxy.limits ??= {}), httpOf(scope)) };
  return { http: placement, server: placement, location: placement };
}

/** ngx_shared_memory_add(): one namespace for every zone; a kind and a size per name. */
function declareZone(http: HttpScope, kind: LimitKind, name: string, size: number, d: Directive): LimitZone {
  const zones = (http.limitZones ??= new Map());
  const zone = zones.get(name);
  if (!zone) {
    const created: LimitZone = { kind, name, size, key: null, rate: 0, file: d.file, line: d.line };
    zones.set(name, created);
    return created;
  }
  if (zone.kind !== kind) throw configError(`the shared memory zone "${name}" is already declared for a different use`, d);
  if (zone.size === 0) zone.size = size;
  if (size && size !== zone.size) {
    throw configError(`the size ${size} of shared memory zone "${name}" conflicts with already declared size ${zone.size}`, d);
  }
  return zone;
}

/** `zone=NAME:SIZE` of a *_zone directive. */
function zoneParameter(value: string, d: Directive): { name: string; size: number } {
  const colon = value.indexOf(':');
  if (colon < 0) throw configError(`invalid zone size "${value}"`, d);
  const size = parseSize(value.slice(colon + 1));
  if (size === null) throw configError(`invalid zone size "${value}"`, d);
  if (size < MIN_ZONE_SIZE) throw configError(`zone "${value}" is too small`, d);
  return { name: value.slice('zone='.length, colon), size };
}

/** The zone's key and, for limit_req, its rate; a zone is bound to one key. */
function bindZone(http: HttpScope, kind: LimitKind, zone: { name: string; size: number }, key: Template, d: Directive): LimitZone {
  if (!zone.name) throw configError(`"${d.name}" must have "zone" parameter`, d);
  const declared = declareZone(http, kind, zone.name, zone.size, d);
  if (declared.key) throw configError(`${d.name} "${zone.name}" is already bound to key "${declared.key.source}"`, d);
  declared.key = key;
  return declared;
}

/** `limit_req_zone KEY zone=NAME:SIZE rate=Nr/s|Nr/m` (exactly three arguments: no `sync`). */
function limitReqZone(d: Directive, http: HttpScope): void {
  const key = http.variables.template(d.args[0] as string, d);
  let zone = { name: '', size: 0 };
  let rate = 1;
  let scale = 1;
  for (const value of d.args.slice(1)) {
    if (value.startsWith('zone=')) {
      zone = zoneParameter(value, d);
      continue;
    }
    if (value.startsWith('rate=')) {
      scale = value.endsWith('r/m') ? 60 : 1;
      const n = parseInteger(value.slice('rate='.length, value.endsWith('r/s') || value.endsWith('r/m') ? -3 : undefined));
      if (n === null || n === 0) throw configError(`invalid rate "${value}"`, d);
      rate = n;
      continue;
    }
    throw configError(`invalid parameter "${value}"`, d);
  }
  bindZone(http, 'limit_req', zone, key, d).rate = Math.floor((rate * 1000) / scale);
}

/** `limit_conn_zone KEY zone=NAME:SIZE`. */
function limitConnZone(d: Directive, http: HttpScope): void {
  const key = http.variables.template(d.args[0] as string, d);
  let zone = { name: '', size: 0 };
  for (const value of d.args.slice(1)) {
    if (!value.startsWith('zone=')) throw configError(`invalid parameter "${value}"`, d);
    zone = zoneParameter(value, d);
  }
  bindZone(http, 'limit_conn', zone, key, d);
}

/** A positive `NAME=N`, or nginx's "invalid NAME value". */
function positive(value: string, name: string, d: Directive): number {
  const n = parseInteger(value.slice(name.length + 1));
  if (n === null || n === 0) throw configError(`invalid ${name} value "${value}"`, d);
  return n;
}

/** `limit_req zone=NAME [burst=N] [nodelay | delay=N]`. */
const limitReq = atEveryLevel([1, 3], (d, draft, http) => {
  let zone: LimitZone | null = null;
  let burst = 0;
  let delay = 0;
  for (const value of d.args) {
    if (value.startsWith('zone=')) zone = declareZone(http, 'limit_req', value.slice('zone='.length), 0, d);
    else if (value.startsWith('burst=')) burst = positive(value, 'burst', d);
    else if (value.startsWith('delay=')) delay = positive(value, 'delay', d);
    else if (value === 'nodelay') delay = Number.POSITIVE_INFINITY;
    else throw configError(`invalid parameter "${value}"`, d);
  }
  if (!zone) throw configError('"limit_req" must have "zone" parameter', d);
  const rules = (draft.req ??= []);
  if (rules.some((r) => r.zone === zone)) throw duplicate(d);
  rules.push({ zone, burst: burst * 1000, delay: delay * 1000 });
});

/** `limit_conn ZONE N`. */
const limitConn = atEveryLevel([2, 2], (d, draft, http) => {
  const zone = declareZone(http, 'limit_conn', d.args[0] as string, 0, d);
  const rules = (draft.conn ??= []);
  if (rules.some((r) => r.zone === zone)) throw duplicate(d);
  const value = d.args[1] as string;
  const n = parseInteger(value);
  if (n === null || n === 0) throw configError(`invalid number of connections "${value}"`, d);
  if (n > 65535) throw configError('connection limit must be less 65536', d);
  rules.push({ zone, conn: n });
});

const httpOnly = (handle: (d: Directive, http: HttpScope) => void, args: readonly [number, number]): DirectiveSpec => ({
  http: { block: false, args, handle },
});

export const LIMIT_DIRECTIVES: Readonly<Record<string, DirectiveSpec>> = {
  limit_req_zone: httpOnly(limitReqZone, [3, 3]),
  limit_req: limitReq,
  limit_req_status: atEveryLevel([1, 1], (d, draft) => (draft.reqStatus = boundedNumber(d, draft.reqStatus, 400, 599))),
  limit_req_log_level: atEveryLevel([1, 1], (d, draft) => (draft.reqLogLevel = enumValue(d, draft.reqLogLevel, LOG_LEVELS))),
  limit_req_dry_run: atEveryLevel([1, 1], (d, draft) => (draft.reqDryRun = flagValue(d, draft.reqDryRun))),
  limit_conn_zone: httpOnly(limitConnZone, [2, 2]),
  limit_conn: limitConn,
  limit_conn_status: atEveryLevel([1, 1], (d, draft) => (draft.connStatus = boundedNumber(d, draft.connStatus, 400, 599))),
  limit_conn_log_level: atEveryLevel([1, 1], (d, draft) => (draft.connLogLevel = enumValue(d, draft.connLogLevel, LOG_LEVELS))),
  limit_conn_dry_run: atEveryLevel([1, 1], (d, draft) => (draft.connDryRun = flagValue(d, draft.connDryRun))),
};

/** The effective limits of a level (innermost first); null when no level sets any limit. */
export function limitsOf(levels: readonly ProxyDraft[]): LimitsConfig | null {
  const first = <K extends keyof LimitsDraft>(key: K): LimitsDraft[K] => levels.find((l) => l.limits?.[key] !== undefined)?.limits?.[key];
  const req = first('req') ?? [];
  const conn = first('conn') ?? [];
  if (req.length === 0 && conn.length === 0) return null;
  return {
    req: { rules: req, status: first('reqStatus') ?? 503, logLevel: first('reqLogLevel') ?? 'error', dryRun: first('reqDryRun') ?? false },
    conn: { rules: conn, status: first('connStatus') ?? 503, logLevel: first('connLogLevel') ?? 'error', dryRun: first('connDryRun') ?? false },
  };
}

/** Checked once the whole file is read, as nginx does when it creates the zones. */
export function checkLimitZones(http: HttpScope | undefined, file: string): void {
  for (const zone of http?.limitZones?.values() ?? []) {
    if (zone.size === 0) throw new ConfigError(`zero size shared memory zone "${zone.name}"`, file, 0);
  }
}
