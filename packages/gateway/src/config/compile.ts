import { asciiLower } from '../variables.js';
import { defaultRedirect, DIRECTIVES, type Placement } from './directives.js';
import { clientLimitsOf, serverClientLimitsOf } from './client-directives.js';
import { ConfigError, configError } from './errors.js';
import { checkLimitZones, limitsOf } from './limit-directives.js';
import type { Directive } from './parser.js';
import { realIpOf } from './realip-directives.js';
import type { CompileContext, ContextName, HttpScope, LocationScope, ProxyDraft, ProxyPassDraft, Scopes } from './scopes.js';
import { NEXT_UPSTREAM } from './types.js';
import type { GatewayConfig, ListenConfig, LocationConfig, ProxyConfig, ServerConfig, UpstreamConfig } from './types.js';

// nginx's defaults for what this version does not let you configure yet.
const DEFAULT_READ_TIMEOUT_MS = 60_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;
const DEFAULT_SEND_TIMEOUT_MS = 60_000;
const DEFAULT_WORKER_CONNECTIONS = 512;

/**
 * Turns the directive tree into a typed GatewayConfig. Checks happen in nginx's order where it
 * matters: placement, block/terminator, argument count, then the directive's own validation;
 * cross-references (upstream names, variables) once the whole http block is known.
 */
export function compileConfig(tree: readonly Directive[], file: string): GatewayConfig {
  const main: Scopes['main'] = {};
  const cx: CompileContext = { run: (context, scope, directives) => runDirectives(context, scope, directives, cx) };
  cx.run('main', main, tree);

  const http = main.http ? finalizeHttp(main.http) : { servers: [], upstreams: [] };
  const errorLog = main.errorLog ?? main.http?.errorLog ?? null;
  // nginx reports this one without a location.
  if (!main.events) throw new ConfigError('no "events" section in configuration', file, 0);
  checkLimitZones(main.http, file);

  return {
    file,
    workerProcesses: main.workerProcesses ?? 1,
    workerConnections: main.workerConnections ?? DEFAULT_WORKER_CONNECTIONS,
    errorLog,
    workerShutdownTimeoutMs: main.workerShutdownTimeoutMs ?? null,
    ...http,
  };
}

function runDirectives<C extends ContextName>(
  context: C,
  scope: Scopes[C],
  directives: readonly Directive[],
  cx: CompileContext,
): void {
  for (const d of directives) {
    const spec = DIRECTIVES[d.name];
    if (!spec) throw configError(`unknown directive "${d.name}"`, d);
    const placement = spec[context] as Placement<Scopes[C]> | undefined;
    if (!placement) throw configError(`"${d.name}" directive is not allowed here`, d);
    if (!placement.block && d.children) throw configError(`directive "${d.name}" is not terminated by ";"`, d);
    if (placement.block && !d.children) throw configError(`directive "${d.name}" has no opening "{"`, d);
    const [min, max] = placement.args;
    if (d.args.length < min || d.args.length > max) {
      throw configError(`invalid number of arguments in "${d.name}" directive`, d);
    }
    placement.handle(d, scope, cx);
  }
}

function finalizeHttp(http: HttpScope): { servers: ServerConfig[]; upstreams: UpstreamConfig[] } {
  const explicit = new Map<string, UpstreamConfig>();
  for (const u of http.upstreams) {
    explicit.set(asciiLower(u.name), {
      name: u.name,
      implicit: false,
      servers: u.servers,
      keepalive: u.keepalive ?? 0,
      keepaliveTimeoutMs: u.keepaliveTimeoutMs ?? 60_000,
      keepaliveRequests: u.keepaliveRequests ?? 1000,
      keepaliveTimeMs: u.keepaliveTimeMs ?? 3_600_000,
      method: u.method ?? { kind: 'round_robin' },
      file: u.file,
      line: u.line,
    });
  }
  const implicit = new Map<string, UpstreamConfig>();

  // proxy_pass targets first: nginx checks them while reading the file, before variables.
  const targets = new Map<LocationScope, UpstreamConfig>();
  const visit = (location: LocationScope): void => {
    const pass = location.proxy.pass;
    if (pass) targets.set(location, upstreamFor(pass));
    location.locations.forEach(visit);
  };
  const upstreamFor = (pass: ProxyPassDraft): UpstreamConfig => {
    const group = explicit.get(asciiLower(pass.host));
    if (group) {
      if (pass.explicitPort) throw configError(`upstream "${pass.host}" may not have port ${pass.port}`, pass);
      return group;
    }
    const key = `${asciiLower(pass.host)}:${pass.port}`;
    let created = implicit.get(key);
    if (!created) {
      const address = `${pass.host}:${pass.port}`;
      const at = { file: pass.file, line: pass.line };
      created = {
        name: pass.host,
        implicit: true,
        servers: [{ address, host: pass.host, port: pass.port, ...IMPLICIT_SERVER, ...at }],
        keepalive: 0,
        keepaliveTimeoutMs: 60_000,
        keepaliveRequests: 1000,
        keepaliveTimeMs: 3_600_000,
        method: { kind: 'round_robin' },
        ...at,
      };
      implicit.set(key, created);
    }
    return created;
  };
  for (const server of http.servers) server.locations.forEach(visit);

  http.variables.finalize();

  const compileLocation = (location: LocationScope, outer: ProxyDraft[]): LocationConfig => {
    const levels = [location.proxy, ...outer];
    const upstream = targets.get(location);
    const pass = location.proxy.pass;
    const dynamic = location.proxy.dynamicPass;
    let proxy: ProxyConfig | null = null;
    if (upstream && pass) {
      proxy = {
        ...merge(...levels),
        redirects: firstOf(levels, 'redirects') ?? [defaultRedirect(pass.url, pass.uri, location.prefix)],
        url: pass.url,
        uri: pass.uri,
        locationPrefix: location.regex ? '' : location.prefix,
        upstream,
        dynamic: null,
        proxyHost: pass.proxyHost,
        file: pass.file,
        line: pass.line,
      };
    } else if (dynamic) {
      proxy = {
        ...merge(...levels),
        // nginx has no default proxy_redirect for a proxy_pass with variables.
        redirects: firstOf(levels, 'redirects') ?? [],
        url: dynamic.url,
        uri: '',
        locationPrefix: '',
        upstream: null,
        dynamic: dynamic.value,
        proxyHost: '',
        file: dynamic.file,
        line: dynamic.line,
      };
    }
    return {
      modifier: location.modifier,
      prefix: location.prefix,
      regex: location.regex,
      locations: location.locations.map((nested) => compileLocation(nested, levels)),
      ret: location.ret ?? null,
      addHeaders: firstOf(levels, 'addHeaders') ?? [],
      accessLogs: firstOf(levels, 'accessLogs') ?? [],
      stubStatus: location.stubStatus ?? false,
      realip: realIpOf(levels),
      limits: limitsOf(levels),
      proxy,
      file: location.file,
      line: location.line,
    };
  };

  const servers = http.servers.map((server): ServerConfig => {
    const locations = server.locations.map((location) => compileLocation(location, [server.proxy, http.proxy]));
    const listens = server.listens.length > 0 ? server.listens : [defaultListen(server)];
    const addHeaders = firstOf([server.proxy, http.proxy], 'addHeaders') ?? [];
    const accessLogs = firstOf([server.proxy, http.proxy], 'accessLogs') ?? [];
    return {
      listens,
      names: server.names ?? [],
      serverName: server.serverName ?? '',
      locations,
      ret: server.ret ?? null,
      addHeaders,
      accessLogs,
      realip: realIpOf([server.proxy, http.proxy]),
      limits: limitsOf([server.proxy, http.proxy]),
      client: serverClientLimitsOf([server.proxy, http.proxy]),
      file: server.file,
      line: server.line,
    };
  });

  return { servers, upstreams: [...explicit.values(), ...implicit.values()] };
}

const IMPLICIT_SERVER = { weight: 1, maxFails: 1, failTimeout: 10, maxConns: 0, backup: false, down: false };

/** The innermost level's value of `key`, if any level set it. */
function firstOf<K extends keyof ProxyDraft>(levels: readonly ProxyDraft[], key: K): ProxyDraft[K] {
  return levels.find((l) => l[key] !== undefined)?.[key];
}

/** Inheritance: the innermost level that sets a value wins; proxy_set_header lists are replaced whole. */
function merge(
  ...levels: ProxyDraft[]
): Pick<
  ProxyConfig,
  | 'httpVersion'
  | 'headers'
  | 'readTimeoutMs'
  | 'hideHeaders'
  | 'passHeaders'
  | 'connectTimeoutMs'
  | 'sendTimeoutMs'
  | 'nextUpstream'
  | 'nextUpstreamTries'
  | 'nextUpstreamTimeoutMs'
  | 'client'
> {
  const first = <K extends keyof ProxyDraft>(key: K): ProxyDraft[K] => levels.find((l) => l[key] !== undefined)?.[key];
  return {
    httpVersion: first('httpVersion') ?? '1.0',
    headers: first('headers') ?? [],
    readTimeoutMs: first('readTimeoutMs') ?? DEFAULT_READ_TIMEOUT_MS,
    hideHeaders: first('hideHeaders') ?? [],
    passHeaders: first('passHeaders') ?? [],
    connectTimeoutMs: first('connectTimeoutMs') ?? DEFAULT_CONNECT_TIMEOUT_MS,
    sendTimeoutMs: first('sendTimeoutMs') ?? DEFAULT_SEND_TIMEOUT_MS,
    nextUpstream: first('nextUpstream') ?? NEXT_UPSTREAM.error | NEXT_UPSTREAM.timeout,
    nextUpstreamTries: first('nextUpstreamTries') ?? 0,
    nextUpstreamTimeoutMs: first('nextUpstreamTimeoutMs') ?? 0,
    client: clientLimitsOf(levels),
  };
}

/** A server without `listen` gets nginx's `*:80` (as root) or `*:8000`. */
function defaultListen(server: { file: string; line: number }): ListenConfig {
  const port = process.getuid?.() === 0 ? 80 : 8000;
  return { text: `*:${port}`, host: '*', port, defaultServer: false, file: server.file, line: server.line };
}
