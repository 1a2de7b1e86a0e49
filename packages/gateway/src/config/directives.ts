import { asciiLower, VariableRegistry } from '../variables.js';
import { parseAddress } from './addresses.js';
import { configError } from './errors.js';
import type { Directive } from './parser.js';
import type {
  CompileContext,
  ContextName,
  HttpScope,
  LocationModifier,
  LocationScope,
  ProxyDraft,
  Scopes,
  ServerScope,
  UpstreamScope,
} from './scopes.js';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { COMBINED, ERROR_LOG_LEVELS, logWrapper } from '../logging.js';
import { NEXT_UPSTREAM, type BalancingMethod, type AccessLogConfig, type ErrorLogConfig, type LogEscape, type LogFormat, type RedirectRule } from './types.js';
import { duplicate } from './slots.js';
import { parseInteger, parseMilliseconds, parseSeconds } from './units.js';
import { CLIENT_DIRECTIVES, CLIENT_KEEPALIVE_TIMEOUT } from './client-directives.js';
import { LIMIT_DIRECTIVES } from './limit-directives.js';
import { REALIP_DIRECTIVES } from './realip-directives.js';

/**
 * The directive table: for each name, where it may appear, whether it opens a block, how many
 * arguments it takes, and what it does. This mirrors nginx's ngx_command_t tables, so adding
 * a directive later is adding one entry here.
 */

type Handler<S> = (d: Directive, scope: S, cx: CompileContext) => void;

export interface Placement<S> {
  readonly block: boolean;
  /** Inclusive bounds on the number of arguments after the name. */
  readonly args: readonly [min: number, max: number];
  readonly handle: Handler<S>;
}

export type DirectiveSpec = { readonly [C in ContextName]?: Placement<Scopes[C]> };

const ANY = Number.POSITIVE_INFINITY;

const unsupported = (what: string, d: Directive) =>
  configError(`${what} is not supported by chat-gateway yet`, d);

/** Every context, so that a directive nginx allows anywhere is reported as unsupported anywhere. */
function everywhere(handle: Handler<unknown>): DirectiveSpec {
  const p: Placement<unknown> = { block: false, args: [1, 1], handle };
  return { main: p, events: p, http: p, server: p, location: p, upstream: p };
}

function httpVariables(scope: HttpScope | ServerScope | LocationScope): VariableRegistry {
  if ('variables' in scope) return scope.variables;
  if ('http' in scope) return scope.http.variables;
  return scope.server.http.variables;
}

// --- proxy_* directives, valid at http, server and location level ------------------------

function proxyDirective(
  args: readonly [number, number],
  apply: (d: Directive, proxy: ProxyDraft, scope: HttpScope | ServerScope | LocationScope) => void,
): DirectiveSpec {
  const handle = (d: Directive, scope: HttpScope | ServerScope | LocationScope) => apply(d, scope.proxy, scope);
  return {
    http: { block: false, args, handle },
    server: { block: false, args, handle },
    location: { block: false, args, handle },
  };
}


const proxyHttpVersion = proxyDirective([1, 1], (d, proxy) => {
  if (proxy.httpVersion !== undefined) throw duplicate(d);
  const value = d.args[0] as string;
  if (value !== '1.0' && value !== '1.1') throw configError(`invalid value "${value}"`, d);
  proxy.httpVersion = value;
});

const proxySetHeader = proxyDirective([2, 2], (d, proxy, scope) => {
  const [name, value] = d.args as [string, string];
  (proxy.headers ??= []).push({ name, value: httpVariables(scope).template(value, d), file: d.file, line: d.line });
});


const constantTemplate = (text: string) => ({ source: text, constant: text, parts: [text] });

/** ngx_http_proxy_redirect(): `off`, `default`, or `FROM TO` (FROM may be `~regex`/`~*regex`). */
const proxyRedirect = proxyDirective([1, 2], (d, proxy, scope) => {
  // nginx ignores anything after `proxy_redirect off` at the same level.
  if (proxy.redirectOff) return;
  const value = d.args[0] as string;
  if (d.args.length === 1) {
    if (value === 'off') {
      if (proxy.redirects !== undefined) throw duplicate(d);
      proxy.redirectOff = true;
      proxy.redirects = [];
      return;
    }
    if (value !== 'default') throw configError(`invalid parameter "${value}"`, d);
    if (proxy.dynamicPass) {
      throw configError('"proxy_redirect default" cannot be used with "proxy_pass" directive with variables', d);
    }
    const pass = proxy.pass;
    if (!pass || !('modifier' in scope)) {
      throw configError('"proxy_redirect default" should be placed after the "proxy_pass" directive', d);
    }
    (proxy.redirects ??= []).push(defaultRedirect(pass.url, pass.uri, scope.prefix));
    return;
  }
  const variables = httpVariables(scope);
  const to = variables.template(d.args[1] as string, d);
  if (value.startsWith('~')) {
    const caseless = value[1] === '*';
    const regex = variables.regex(value.slice(caseless ? 2 : 1), caseless, d);
    (proxy.redirects ??= []).push({ kind: 'regex', regex, to });
    return;
  }
  (proxy.redirects ??= []).push({ kind: 'string', from: variables.template(value, d), to });
});

/** nginx's `proxy_redirect default`: the proxy_pass URL (plus `/` without a URI part) -> the location. */
export function defaultRedirect(url: string, uri: string, locationName: string): RedirectRule {
  return uri
    ? { kind: 'string', from: constantTemplate(url), to: constantTemplate(locationName) }
    : { kind: 'string', from: constantTemplate(`${url}/`), to: constantTemplate('/') };
}

/** `proxy_hide_header NAME` / `proxy_pass_header NAME`: lists, replaced whole by a lower level. */
const headerList = (key: 'hideHeaders' | 'passHeaders') =>
  proxyDirective([1, 1], (d, proxy) => {
    (proxy[key] ??= []).push(asciiLower(d.args[0] as string));
  });

/** ngx_http_headers_filter's add_header: `NAME VALUE [always]`. */
const addHeader = proxyDirective([2, 3], (d, proxy, scope) => {
  const [name, value, flag] = d.args as [string, string, string | undefined];
  if (flag !== undefined && flag !== 'always') throw configError(`invalid parameter "${flag}"`, d);
  (proxy.addHeaders ??= []).push({ name, value: httpVariables(scope).template(value, d), always: flag === 'always', file: d.file, line: d.line });
});

function proxyPass(d: Directive, scope: LocationScope): void {
  if (scope.proxy.pass || scope.proxy.dynamicPass) throw duplicate(d);
  const url = d.args[0] as string;
  if (VariableRegistry.hasVariables(url)) {
    // Checked per request, as nginx does: the evaluated URL must name an upstream group.
    scope.proxy.dynamicPass = { url, value: scope.server.http.variables.template(url, d), file: d.file, line: d.line };
    return;
  }
  const lower = asciiLower(url);
  if (lower.startsWith('https://')) throw unsupported('"proxy_pass" to https', d);
  if (!lower.startsWith('http://')) throw configError('invalid URL prefix', d);
  const rest = url.slice('http://'.length);
  const parsed = parseAddress(rest, { defaultPort: 80, uriPart: true });
  if (!parsed.ok) throw configError(`${parsed.err} in upstream "${rest}"`, d);
  const { host, port, portText, uri } = parsed.value;
  if (uri && scope.regex) {
    throw configError(
      '"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block',
      d,
    );
  }
  scope.proxy.pass = {
    uri,
    url,
    host,
    port,
    explicitPort: portText !== '',
    proxyHost: portText === '' || port === 80 ? host : `${host}:${portText}`,
    file: d.file,
    line: d.line,
  };
}

// --- blocks ------------------------------------------------------------------------------

function httpBlock(d: Directive, main: Scopes['main'], cx: CompileContext): void {
  if (main.http) throw duplicate(d);
  const variables = new VariableRegistry();
  const logFormats = new Map<string, LogFormat>();
  const combined = { name: 'combined', escape: 'default' as const, template: variables.template(COMBINED, d, logWrapper('default')) };
  logFormats.set('combined', combined);
  const http: HttpScope = { proxy: {}, servers: [], upstreams: [], variables, logFormats, prefix: dirname(d.file) };
  main.http = http;
  cx.run('http', http, d.children ?? []);
}

function serverBlock(d: Directive, http: HttpScope, cx: CompileContext): void {
  const server: ServerScope = { http, proxy: {}, listens: [], locations: [], file: d.file, line: d.line };
  http.servers.push(server);
  cx.run('server', server, d.children ?? []);
}

/** ngx_http_core_location(): modifiers as a separate word or glued to the name. */
function locationBlock(d: Directive, parentScope: ServerScope | LocationScope, cx: CompileContext): void {
  const parent = 'modifier' in parentScope ? parentScope : null;
  const server = parent ? parent.server : (parentScope as ServerScope);
  let modifier: LocationModifier;
  let name: string;
  if (d.args.length === 2) {
    const mod = d.args[0] as string;
    if (mod !== '=' && mod !== '^~' && mod !== '~' && mod !== '~*') throw configError(`invalid location modifier "${mod}"`, d);
    modifier = mod;
    name = d.args[1] as string;
  } else {
    const word = d.args[0] as string;
    modifier = word.startsWith('=') ? '=' : word.startsWith('^~') ? '^~' : word.startsWith('~*') ? '~*' : word.startsWith('~') ? '~' : '';
    name = word.slice(modifier.length);
  }
  if (modifier === '' && name.startsWith('@')) throw unsupported('named location', d);
  const variables = server.http.variables;
  const regex = modifier === '~' || modifier === '~*' ? variables.regex(name, modifier === '~*', d) : null;
  if (parent) {
    if (parent.modifier === '=') throw configError(`location "${name}" cannot be inside the exact location "${parent.prefix}"`, d);
    if (!regex && !name.startsWith(parent.prefix)) throw configError(`location "${name}" is outside location "${parent.prefix}"`, d);
  }
  const siblings = parent ? parent.locations : server.locations;
  if (!regex) {
    const exact = modifier === '=';
    const twin = siblings.find((l) => !l.regex && l.prefix === name && (l.modifier === '=') === exact);
    if (twin) throw configError(`duplicate location "${name}"`, d);
  }
  const location: LocationScope = {
    server,
    parent,
    modifier,
    prefix: name,
    regex,
    locations: [],
    proxy: {},
    file: d.file,
    line: d.line,
  };
  siblings.push(location);
  cx.run('location', location, d.children ?? []);
}

/** ngx_http_rewrite_return(). */
function returnDirective(d: Directive, scope: ServerScope | LocationScope): void {
  const variables = httpVariables(scope);
  const first = d.args[0] as string;
  let code: number;
  let text: string | null = null;
  if (d.args.length === 1 && (first.startsWith('http://') || first.startsWith('https://') || first.startsWith('$scheme'))) {
    code = 302;
    text = first;
  } else {
    const n = parseInteger(first);
    if (n === null || n > 999) throw configError(`invalid return code "${first}"`, d);
    code = n;
    if (d.args.length === 2) text = d.args[1] as string;
  }
  // The first `return` of a level is the one that runs.
  if (scope.ret) return;
  scope.ret = { code, text: text === null ? null : variables.template(text, d), file: d.file, line: d.line };
}

function upstreamBlock(d: Directive, http: HttpScope, cx: CompileContext): void {
  const name = d.args[0] as string;
  if (http.upstreams.some((u) => asciiLower(u.name) === asciiLower(name))) {
    throw configError(`duplicate upstream "${name}"`, d);
  }
  const upstream: UpstreamScope = { http, name, servers: [], file: d.file, line: d.line };
  http.upstreams.push(upstream);
  cx.run('upstream', upstream, d.children ?? []);
  if (upstream.servers.length === 0) {
    throw configError('no servers are inside upstream', { file: d.file, line: d.endLine ?? d.line });
  }
}

/** `map $src $dst { key value; ... }`: the block holds key/value pairs, not directives. */
function mapBlock(d: Directive, http: HttpScope): void {
  const [source, target] = d.args as [string, string];
  const variables = http.variables;
  const sourceTemplate = variables.template(source, d);
  if (!target.startsWith('$')) throw configError(`invalid variable name "${target}"`, d);
  if (target.length === 1) throw configError('invalid variable name "$"', d);
  const map = variables.defineMap(target.slice(1), d);
  map.source = sourceTemplate;

  for (const entry of d.children ?? []) {
    if (entry.children) throw configError('unexpected "{"', entry);
    const words = [entry.name, ...entry.args];
    if (words.length === 1 && (entry.name === 'hostnames' || entry.name === 'volatile')) {
      throw unsupported(`the "${entry.name}" map parameter`, entry);
    }
    if (words.length !== 2) throw configError('invalid number of the map parameters', entry);
    let key = words[0] as string;
    const value = variables.template(words[1] as string, entry);
    if (key === 'default') {
      if (map.fallback) throw configError('duplicate default map parameter', entry);
      map.fallback = value;
      continue;
    }
    if (key.startsWith('~')) {
      const caseless = key[1] === '*';
      const regex = variables.regex(key.slice(caseless ? 2 : 1), caseless, entry);
      map.regexes.push({ regex, value });
      continue;
    }
    if (key.startsWith('\\')) key = key.slice(1);
    const lower = asciiLower(key);
    if (map.entries.has(lower)) throw configError(`conflicting parameter "${key}"`, entry);
    map.entries.set(lower, value);
  }
}

/** ngx_http_core_server_name(): exact names, `*.x` / `.x` / `x.*` wildcards and `~regex`. */
function serverNameDirective(d: Directive, server: ServerScope): void {
  const names = (server.names ??= []);
  for (const raw of d.args) {
    server.serverName ??= raw;
    if (raw.startsWith('~')) {
      if (raw.length === 1) throw configError('empty regex in server name "~"', d);
      names.push({ kind: 'regex', regex: server.http.variables.regex(raw.slice(1), true, d) });
      continue;
    }
    const name = asciiLower(raw);
    const star = name.indexOf('*');
    if (star >= 0) {
      const leading = name.startsWith('*.') && name.indexOf('*', 1) < 0;
      const trailing = name.endsWith('.*') && star === name.length - 1;
      if (!leading && !trailing) throw configError(`invalid server name or wildcard "${raw}"`, d);
      names.push(leading ? { kind: 'leading', suffix: name.slice(1) } : { kind: 'trailing', prefix: name.slice(0, -1) });
      continue;
    }
    if (name.startsWith('.') && name.length > 1) {
      names.push({ kind: 'exact', name: name.slice(1) }, { kind: 'leading', suffix: name });
      continue;
    }
    names.push({ kind: 'exact', name });
  }
}

// --- logs and status ----------------------------------------------------------------------

function httpOf(scope: HttpScope | ServerScope | LocationScope): HttpScope {
  if ('variables' in scope) return scope;
  if ('http' in scope) return scope.http;
  return scope.server.http;
}

/** `log_format NAME [escape=default|json|none] STRING ...`. */
function logFormatDirective(d: Directive, http: HttpScope): void {
  const name = d.args[0] as string;
  if (http.logFormats.has(name)) throw configError(`duplicate "log_format" name "${name}"`, d);
  let parts = d.args.slice(1);
  let escape: LogEscape = 'default';
  if (parts[0]?.startsWith('escape=')) {
    const value = (parts[0] as string).slice('escape='.length);
    if (value !== 'default' && value !== 'json' && value !== 'none') throw configError(`unknown log format escaping "${value}"`, d);
    escape = value;
    parts = parts.slice(1);
  }
  if (parts.length === 0) throw configError(`invalid number of arguments in "${d.name}" directive`, d);
  http.logFormats.set(name, { name, escape, template: http.variables.template(parts.join(''), d, logWrapper(escape)) });
}

/** `access_log off | PATH [FORMAT [buffer=SIZE] [flush=TIME] [if=COND]]`. */
const accessLogDirective = proxyDirective([1, ANY], (d, proxy, scope) => {
  const path = d.args[0] as string;
  if (path === 'off') {
    if (d.args.length > 1) throw configError(`invalid parameter "${d.args[1] as string}"`, d);
    proxy.accessLogs = [];
    return;
  }
  if (path.startsWith('syslog:')) throw unsupported('"access_log" to syslog', d);
  if (path.includes('$')) throw unsupported('"access_log" with variables in the path', d);
  const http = httpOf(scope);
  const formatName = d.args[1] ?? 'combined';
  const format = http.logFormats.get(formatName);
  if (!format) throw configError(`unknown log format "${formatName}"`, d);
  let condition: AccessLogConfig['condition'] = null;
  for (const param of d.args.slice(2)) {
    if (param.startsWith('if=')) condition = http.variables.template(param.slice(3), d);
    else if (param.startsWith('buffer=') || param.startsWith('flush=')) continue;
    else if (param === 'gzip' || param.startsWith('gzip=')) throw unsupported('the "gzip" parameter of "access_log"', d);
    else throw configError(`invalid parameter "${param}"`, d);
  }
  const full = path === 'stderr' || isAbsolute(path) ? path : resolvePath(http.prefix, path);
  (proxy.accessLogs ??= []).push({ path: full, format, condition, file: d.file, line: d.line });
});

/** `error_log PATH [LEVEL]` at main or http level. */
function errorLogDirective(d: Directive, scope: Scopes['main'] | HttpScope): void {
  const path = d.args[0] as string;
  const level = d.args[1] ?? 'error';
  if (path.startsWith('syslog:') || path.startsWith('memory:')) throw unsupported(`"error_log" to ${path.split(':')[0] as string}`, d);
  if (!ERROR_LOG_LEVELS.includes(level)) throw configError(`invalid log level "${level}"`, d);
  const main = 'variables' in scope ? null : scope;
  const prefix = main ? dirname(d.file) : (scope as HttpScope).prefix;
  const full = path === 'stderr' || isAbsolute(path) ? path : resolvePath(prefix, path);
  const target = main ?? (scope as HttpScope);
  (target as { errorLog?: ErrorLogConfig }).errorLog ??= { path: full, level, file: d.file, line: d.line };
}

// --- server and upstream contents ---------------------------------------------------------

const LISTEN_PARAMETERS_NOT_SUPPORTED = [
  'ssl', 'http2', 'quic', 'proxy_protocol', 'deferred', 'bind', 'reuseport', 'multipath',
  'setfib=', 'fastopen=', 'backlog=', 'rcvbuf=', 'sndbuf=', 'accept_filter=', 'ipv6only=', 'so_keepalive=',
];

function listenDirective(d: Directive, server: ServerScope): void {
  const text = d.args[0] as string;
  const parsed = parseAddress(text, { defaultPort: 80, listen: true });
  if (!parsed.ok) throw configError(`${parsed.err} in "${text}" of the "listen" directive`, d);
  let defaultServer = false;
  for (const param of d.args.slice(1)) {
    if (param === 'default_server' || param === 'default') {
      defaultServer = true;
      continue;
    }
    if (LISTEN_PARAMETERS_NOT_SUPPORTED.some((p) => (p.endsWith('=') ? param.startsWith(p) : param === p))) {
      throw unsupported(`the "${param}" parameter of the "listen" directive`, d);
    }
    throw configError(`invalid parameter "${param}"`, d);
  }
  const { host, port } = parsed.value;
  const key = listenKey(host, port);
  if (server.listens.some((l) => listenKey(l.host, l.port) === key)) {
    throw configError(`a duplicate listen ${key}`, d);
  }
  if (defaultServer) {
    const taken = server.http.servers.some(
      (s) => s !== server && s.listens.some((l) => l.defaultServer && listenKey(l.host, l.port) === key),
    );
    if (taken) throw configError(`a duplicate default server for ${key}`, d);
  }
  server.listens.push({ text, host, port, defaultServer, file: d.file, line: d.line });
}

/** How nginx prints a listen address: `0.0.0.0:80`, `127.0.0.1:80`, `[::1]:80`. */
export function listenKey(host: string, port: number): string {
  return `${host === '*' ? '0.0.0.0' : asciiLower(host)}:${port}`;
}

const SERVER_PARAMETERS_NOT_SUPPORTED = ['slow_start=', 'service=', 'route=', 'resolve', 'drain'];

/** ngx_http_upstream_server(): `server ADDR [weight=N] [max_fails=N] [fail_timeout=T] ...`. */
function upstreamServer(d: Directive, upstream: UpstreamScope): void {
  let weight = 1;
  let maxFails = 1;
  let failTimeout = 10;
  let maxConns = 0;
  let backup = false;
  let down = false;
  const invalid = (param: string) => configError(`invalid parameter "${param}"`, d);
  for (const param of d.args.slice(1)) {
    if (param.startsWith('weight=')) {
      const n = parseInteger(param.slice('weight='.length));
      if (n === null || n === 0) throw invalid(param);
      weight = n;
      continue;
    }
    if (param.startsWith('max_conns=')) {
      const n = parseInteger(param.slice('max_conns='.length));
      if (n === null) throw invalid(param);
      maxConns = n;
      continue;
    }
    if (param.startsWith('max_fails=')) {
      const n = parseInteger(param.slice('max_fails='.length));
      if (n === null) throw invalid(param);
      maxFails = n;
      continue;
    }
    if (param.startsWith('fail_timeout=')) {
      const n = parseSeconds(param.slice('fail_timeout='.length));
      if (n === null) throw invalid(param);
      failTimeout = n;
      continue;
    }
    if (param === 'backup') {
      const kind = upstream.method?.kind;
      if (kind === 'ip_hash' || kind === 'hash') throw configError(`balancing method does not support parameter "${param}"`, d);
      backup = true;
      continue;
    }
    if (param === 'down') {
      down = true;
      continue;
    }
    if (SERVER_PARAMETERS_NOT_SUPPORTED.some((p) => (p.endsWith('=') ? param.startsWith(p) : param === p))) {
      throw unsupported(`the "${param}" parameter of the "server" directive`, d);
    }
    throw invalid(param);
  }
  const address = d.args[0] as string;
  const parsed = parseAddress(address, { defaultPort: 80 });
  if (!parsed.ok) throw configError(`${parsed.err} in upstream "${address}"`, d);
  const { host, port } = parsed.value;
  upstream.servers.push({ address, host, port, weight, maxFails, failTimeout, maxConns, backup, down, file: d.file, line: d.line });
}

/** `least_conn`, `ip_hash`, `hash`: nginx only warns "load balancing method redefined"; the last wins. */
function setMethod(upstream: UpstreamScope, method: BalancingMethod, d: Directive): void {
  if (method.kind === 'ip_hash' || method.kind === 'hash') {
    const backup = upstream.servers.find((s) => s.backup);
    if (backup) throw configError('balancing method does not support parameter "backup"', backup);
  }
  upstream.method = { ...method, file: d.file, line: d.line };
}

function keepaliveDirective(d: Directive, upstream: UpstreamScope): void {
  if (upstream.keepalive !== undefined) throw duplicate(d);
  const value = d.args[0] as string;
  const n = parseInteger(value);
  if (n === null || n === 0) throw configError(`invalid value "${value}" in "${d.name}" directive`, d);
  upstream.keepalive = n;
}

function upstreamTime(key: 'keepaliveTimeoutMs' | 'keepaliveTimeMs'): Placement<UpstreamScope> {
  return {
    block: false,
    args: [1, 1],
    handle: (d, upstream) => {
      if (upstream[key] !== undefined) throw duplicate(d);
      const ms = parseMilliseconds(d.args[0] as string);
      if (ms === null) throw configError(`"${d.name}" directive invalid value`, d);
      upstream[key] = ms;
    },
  };
}

// --- proxy_next_upstream and timeouts -----------------------------------------------------

const proxyTime = (key: 'readTimeoutMs' | 'connectTimeoutMs' | 'sendTimeoutMs' | 'nextUpstreamTimeoutMs') =>
  proxyDirective([1, 1], (d, proxy) => {
    if (proxy[key] !== undefined) throw duplicate(d);
    const ms = parseMilliseconds(d.args[0] as string);
    if (ms === null) throw configError(`"${d.name}" directive invalid value`, d);
    proxy[key] = ms;
  });

/** ngx_conf_set_bitmask_slot with ngx_http_proxy_next_upstream_masks. */
const proxyNextUpstream = proxyDirective([1, ANY], (d, proxy) => {
  if (proxy.nextUpstream !== undefined) throw duplicate(d);
  let mask = 0;
  for (const value of d.args) {
    const bit = (NEXT_UPSTREAM as Record<string, number>)[value];
    if (bit === undefined || !Object.hasOwn(NEXT_UPSTREAM, value)) throw configError(`invalid value "${value}"`, d);
    mask |= bit;
  }
  // nginx: "off" wins over anything listed with it.
  proxy.nextUpstream = mask & NEXT_UPSTREAM.off ? NEXT_UPSTREAM.off : mask;
});

const proxyNextUpstreamTries = proxyDirective([1, 1], (d, proxy) => {
  if (proxy.nextUpstreamTries !== undefined) throw duplicate(d);
  const n = parseInteger(d.args[0] as string);
  if (n === null) throw configError('invalid number', d);
  proxy.nextUpstreamTries = n;
});

// --- the table ------------------------------------------------------------------------------

export const DIRECTIVES: Readonly<Record<string, DirectiveSpec>> = {
  // Expanded by the parser; only a block form (`include x {`) reaches this table.
  include: everywhere(() => {}),

  ...REALIP_DIRECTIVES,
  ...LIMIT_DIRECTIVES,
  ...CLIENT_DIRECTIVES,

  worker_processes: {
    main: {
      block: false,
      args: [1, 1],
      handle: (d, main) => {
        if (main.workerProcesses !== undefined) throw duplicate(d);
        const value = d.args[0] as string;
        const n = value === 'auto' ? 'auto' : parseInteger(value);
        if (n === null) throw configError(`"${d.name}" directive invalid value`, d);
        main.workerProcesses = n;
      },
    },
  },

  worker_shutdown_timeout: {
    main: {
      block: false,
      args: [1, 1],
      handle: (d, main) => {
        if (main.workerShutdownTimeoutMs !== undefined) throw duplicate(d);
        const ms = parseMilliseconds(d.args[0] as string);
        if (ms === null) throw configError(`"${d.name}" directive invalid value`, d);
        main.workerShutdownTimeoutMs = ms;
      },
    },
  },

  events: {
    main: {
      block: true,
      args: [0, 0],
      handle: (d, main, cx) => {
        if (main.events) throw duplicate(d);
        main.events = { file: d.file, line: d.line };
        cx.run('events', { main }, d.children ?? []);
      },
    },
  },

  worker_connections: {
    events: {
      block: false,
      args: [1, 1],
      handle: (d, events) => {
        if (events.main.workerConnections !== undefined) throw duplicate(d);
        const value = d.args[0] as string;
        const n = parseInteger(value);
        if (n === null) throw configError(`invalid number "${value}"`, d);
        events.main.workerConnections = n;
      },
    },
  },

  http: { main: { block: true, args: [0, 0], handle: httpBlock } },

  map: { http: { block: true, args: [2, 2], handle: mapBlock } },

  upstream: { http: { block: true, args: [1, 1], handle: upstreamBlock } },

  server: {
    http: { block: true, args: [0, 0], handle: serverBlock },
    upstream: { block: false, args: [1, ANY], handle: upstreamServer },
  },

  keepalive: { upstream: { block: false, args: [1, 1], handle: keepaliveDirective } },
  least_conn: { upstream: { block: false, args: [0, 0], handle: (d, u) => setMethod(u, { kind: 'least_conn' }, d) } },
  ip_hash: { upstream: { block: false, args: [0, 0], handle: (d, u) => setMethod(u, { kind: 'ip_hash' }, d) } },
  hash: {
    upstream: {
      block: false,
      args: [1, 2],
      handle: (d, u) => {
        const flag = d.args[1];
        if (flag !== undefined && flag !== 'consistent') throw configError(`invalid parameter "${flag}"`, d);
        const key = u.http.variables.template(d.args[0] as string, d);
        setMethod(u, { kind: 'hash', key, consistent: flag === 'consistent' }, d);
      },
    },
  },
  // The same name is the client connection's idle time at http, server and location level.
  keepalive_timeout: { ...CLIENT_KEEPALIVE_TIMEOUT, upstream: upstreamTime('keepaliveTimeoutMs') },
  keepalive_time: { upstream: upstreamTime('keepaliveTimeMs') },
  keepalive_requests: {
    upstream: {
      block: false,
      args: [1, 1],
      handle: (d, upstream) => {
        if (upstream.keepaliveRequests !== undefined) throw duplicate(d);
        const n = parseInteger(d.args[0] as string);
        if (n === null) throw configError('invalid number', d);
        upstream.keepaliveRequests = n;
      },
    },
  },

  listen: { server: { block: false, args: [1, ANY], handle: listenDirective } },
  server_name: { server: { block: false, args: [1, ANY], handle: serverNameDirective } },

  location: {
    server: { block: true, args: [1, 2], handle: locationBlock },
    location: { block: true, args: [1, 2], handle: locationBlock },
  },

  return: {
    server: { block: false, args: [1, 2], handle: returnDirective },
    location: { block: false, args: [1, 2], handle: returnDirective },
  },

  proxy_pass: { location: { block: false, args: [1, 1], handle: proxyPass } },
  proxy_http_version: proxyHttpVersion,
  proxy_set_header: proxySetHeader,
  proxy_read_timeout: proxyTime('readTimeoutMs'),
  proxy_connect_timeout: proxyTime('connectTimeoutMs'),
  proxy_send_timeout: proxyTime('sendTimeoutMs'),
  proxy_next_upstream: proxyNextUpstream,
  proxy_next_upstream_tries: proxyNextUpstreamTries,
  proxy_next_upstream_timeout: proxyTime('nextUpstreamTimeoutMs'),
  proxy_redirect: proxyRedirect,
  proxy_hide_header: headerList('hideHeaders'),
  proxy_pass_header: headerList('passHeaders'),
  add_header: addHeader,
  access_log: accessLogDirective,
  log_format: { http: { block: false, args: [2, ANY], handle: logFormatDirective } },
  error_log: {
    main: { block: false, args: [1, 2], handle: errorLogDirective },
    http: { block: false, args: [1, 2], handle: errorLogDirective },
    server: { block: false, args: [1, 2], handle: (d) => { throw unsupported('"error_log" inside "server"', d); } },
    location: { block: false, args: [1, 2], handle: (d) => { throw unsupported('"error_log" inside "location"', d); } },
  },
  stub_status: {
    location: {
      block: false,
      args: [0, 1],
      handle: (_d, location) => {
        location.stubStatus = true;
      },
    },
  },
};
