import { asciiLower } from '../variables.js';
import { DIRECTIVES, type Placement } from './directives.js';
import { ConfigError, configError } from './errors.js';
import type { Directive } from './parser.js';
import type { CompileContext, ContextName, HttpScope, LocationScope, ProxyDraft, Scopes } from './scopes.js';
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
  // nginx reports this one without a location.
  if (!main.events) throw new ConfigError('no "events" section in configuration', file, 0);

  return {
    file,
    workerProcesses: main.workerProcesses ?? 1,
    workerConnections: main.workerConnections ?? DEFAULT_WORKER_CONNECTIONS,
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
  for (const server of http.servers) {
    for (const location of server.locations) {
      const pass = location.proxy.pass;
      if (!pass) continue;
      const group = explicit.get(asciiLower(pass.host));
      if (group) {
        if (pass.explicitPort) throw configError(`upstream "${pass.host}" may not have port ${pass.port}`, pass);
        targets.set(location, group);
        continue;
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
      targets.set(location, created);
    }
  }

  http.variables.finalize();

  const servers = http.servers.map((server): ServerConfig => {
    const locations = server.locations.map((location): LocationConfig => {
      const upstream = targets.get(location);
      const pass = location.proxy.pass;
      const dynamic = location.proxy.dynamicPass;
      let proxy: ProxyConfig | null = null;
      if (upstream && pass) {
        proxy = {
          ...merge(location.proxy, server.proxy, http.proxy),
          url: pass.url,
          upstream,
          dynamic: null,
          proxyHost: pass.proxyHost,
          file: pass.file,
          line: pass.line,
        };
      } else if (dynamic) {
        const merged = merge(location.proxy, server.proxy, http.proxy);
        proxy = {
          ...merged,
          // nginx has no default proxy_redirect for a proxy_pass with variables.
          redirect: 'off',
          url: dynamic.url,
          upstream: null,
          dynamic: dynamic.value,
          proxyHost: '',
          file: dynamic.file,
          line: dynamic.line,
        };
      }
      return { prefix: location.prefix, proxy, file: location.file, line: location.line };
    });
    const listens = server.listens.length > 0 ? server.listens : [defaultListen(server)];
    return { listens, locations, file: server.file, line: server.line };
  });

  return { servers, upstreams: [...explicit.values(), ...implicit.values()] };
}

const IMPLICIT_SERVER = { weight: 1, maxFails: 1, failTimeout: 10, maxConns: 0, backup: false, down: false };

/** Inheritance: the innermost level that sets a value wins; proxy_set_header lists are replaced whole. */
function merge(
  ...levels: ProxyDraft[]
): Pick<
  ProxyConfig,
  | 'httpVersion'
  | 'headers'
  | 'readTimeoutMs'
  | 'redirect'
  | 'connectTimeoutMs'
  | 'sendTimeoutMs'
  | 'nextUpstream'
  | 'nextUpstreamTries'
  | 'nextUpstreamTimeoutMs'
> {
  const first = <K extends keyof ProxyDraft>(key: K): ProxyDraft[K] => levels.find((l) => l[key] !== undefined)?.[key];
  return {
    httpVersion: first('httpVersion') ?? '1.0',
    headers: first('headers') ?? [],
    readTimeoutMs: first('readTimeoutMs') ?? DEFAULT_READ_TIMEOUT_MS,
    redirect: first('redirect') ?? 'default',
    connectTimeoutMs: first('connectTimeoutMs') ?? DEFAULT_CONNECT_TIMEOUT_MS,
    sendTimeoutMs: first('sendTimeoutMs') ?? DEFAULT_SEND_TIMEOUT_MS,
    nextUpstream: first('nextUpstream') ?? NEXT_UPSTREAM.error | NEXT_UPSTREAM.timeout,
    nextUpstreamTries: first('nextUpstreamTries') ?? 0,
    nextUpstreamTimeoutMs: first('nextUpstreamTimeoutMs') ?? 0,
  };
}

/** A server without `listen` gets nginx's `*:80` (as root) or `*:8000`. */
function defaultListen(server: { file: string; line: number }): ListenConfig {
  const port = process.getuid?.() === 0 ? 80 : 8000;
  return { text: `*:${port}`, host: '*', port, defaultServer: false, file: server.file, line: server.line };
}
