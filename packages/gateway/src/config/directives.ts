import { asciiLower, VariableRegistry } from '../variables.js';
import { parseAddress } from './addresses.js';
import { configError } from './errors.js';
import type { Directive } from './parser.js';
import type {
  CompileContext,
  ContextName,
  HttpScope,
  LocationScope,
  ProxyDraft,
  Scopes,
  ServerScope,
  UpstreamScope,
} from './scopes.js';
import { NEXT_UPSTREAM } from './types.js';
import { parseInteger, parseMilliseconds, parseSeconds } from './units.js';

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

const duplicate = (d: Directive) => configError(`"${d.name}" directive is duplicate`, d);

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


const proxyRedirect = proxyDirective([1, 2], (d, proxy) => {
  // nginx ignores anything after `proxy_redirect off` at the same level.
  if (proxy.redirect === 'off') return;
  if (d.args.length === 2) throw unsupported('"proxy_redirect" with a replacement', d);
  const value = d.args[0] as string;
  if (value === 'off') {
    if (proxy.redirect !== undefined) throw duplicate(d);
    proxy.redirect = 'off';
    return;
  }
  if (value !== 'default') throw configError(`invalid parameter "${value}"`, d);
  if (proxy.dynamicPass) {
    throw configError('"proxy_redirect default" cannot be used with "proxy_pass" directive with variables', d);
  }
  if (!proxy.pass) {
    throw configError('"proxy_redirect default" should be placed after the "proxy_pass" directive', d);
  }
  proxy.redirect = 'default';
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
  if (uri) throw unsupported(`"proxy_pass" with a URI part ("${uri}")`, d);
  scope.proxy.pass = {
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
  const http: HttpScope = { proxy: {}, servers: [], upstreams: [], variables: new VariableRegistry() };
  main.http = http;
  cx.run('http', http, d.children ?? []);
}

function serverBlock(d: Directive, http: HttpScope, cx: CompileContext): void {
  const server: ServerScope = { http, proxy: {}, listens: [], locations: [], file: d.file, line: d.line };
  http.servers.push(server);
  cx.run('server', server, d.children ?? []);
}

const LOCATION_MODIFIERS = ['=', '^~', '~', '~*'];

function locationBlock(d: Directive, server: ServerScope, cx: CompileContext): void {
  const prefix = d.args[0] as string;
  if (d.args.length === 2) {
    if (!LOCATION_MODIFIERS.includes(prefix)) throw configError(`invalid location modifier "${prefix}"`, d);
    throw unsupported(`"location ${prefix}"`, d);
  }
  if (prefix.startsWith('@')) throw unsupported('named location', d);
  // nginx also accepts the modifier glued to the URI, as in `location =/x`.
  const modifier = ['~*', '~', '^~', '='].find((m) => prefix.startsWith(m));
  if (modifier) throw unsupported(`"location ${modifier}"`, d);
  if (server.locations.some((l) => l.prefix === prefix)) throw configError(`duplicate location "${prefix}"`, d);
  const location: LocationScope = { server, prefix, proxy: {}, file: d.file, line: d.line };
  server.locations.push(location);
  cx.run('location', location, d.children ?? []);
}

function upstreamBlock(d: Directive, http: HttpScope, cx: CompileContext): void {
  const name = d.args[0] as string;
  if (http.upstreams.some((u) => asciiLower(u.name) === asciiLower(name))) {
    throw configError(`duplicate upstream "${name}"`, d);
  }
  const upstream: UpstreamScope = { name, servers: [], file: d.file, line: d.line };
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
    if (key === 'include') throw unsupported('"include"', entry);
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
  include: everywhere((d) => {
    throw unsupported('"include"', d);
  }),

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
  keepalive_timeout: { upstream: upstreamTime('keepaliveTimeoutMs') },
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

  location: {
    server: { block: true, args: [1, 2], handle: locationBlock },
    location: {
      block: true,
      args: [1, 2],
      handle: (d) => {
        throw unsupported('nested "location"', d);
      },
    },
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
};
