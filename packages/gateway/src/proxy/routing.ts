import type { LocationConfig, ProxyConfig, ServerConfig } from '../config/types.js';
import type { UpstreamGroup } from '../upstream/group.js';
import { execRegex, type RequestVariables } from '../variables.js';
import type { UpstreamDirectory } from './dynamic-pass.js';
import { buildHeaderPlan, type HeaderPlan } from './request-headers.js';
import { buildHideFilter, type HideFilter } from './response-headers.js';

/** A location ready to serve: its upstream group, precomputed header plan and nested locations. */
export interface LocationRoute {
  readonly config: LocationConfig;
  readonly proxy: ProxyRoute | null;
  /**
   * nginx answers 301 to `/prefix` for `location /prefix/ { proxy_pass ...; }` (its
   * auto_redirect), so that relative links below the location keep working.
   */
  readonly autoRedirect: boolean;
  readonly nested: LocationLevel;
}

export interface ProxyRoute {
  readonly config: ProxyConfig;
  /** Null for a proxy_pass with variables: the group is found per request in `directory`. */
  readonly group: UpstreamGroup | null;
  readonly plan: HeaderPlan;
  readonly directory: UpstreamDirectory;
  readonly filter: HideFilter;
}

/** The locations of one level (a server, or the inside of a location), indexed as nginx does. */
export interface LocationLevel {
  readonly exact: ReadonlyMap<string, LocationRoute>;
  /** Prefix and `^~` locations, longest first. */
  readonly prefixes: readonly LocationRoute[];
  /** Locations whose name is `uri + "/"` answer `uri` with a 301 (auto_redirect). */
  readonly redirects: ReadonlyMap<string, LocationRoute>;
  /** Regex locations, in configuration order. */
  readonly regexes: readonly LocationRoute[];
}

export interface VirtualServer {
  readonly config: ServerConfig;
  readonly root: LocationLevel;
}

export function buildVirtualServer(
  config: ServerConfig,
  groups: ReadonlyMap<unknown, UpstreamGroup>,
  directory: UpstreamDirectory,
): VirtualServer {
  const route = (location: LocationConfig): LocationRoute => {
    const proxy = location.proxy;
    const group = proxy?.upstream ? (groups.get(proxy.upstream) ?? null) : null;
    return {
      config: location,
      proxy: proxy && (group || proxy.dynamic) ? { config: proxy, group, plan: buildHeaderPlan(proxy), directory, filter: buildHideFilter(proxy) } : null,
      autoRedirect: proxy !== null && !location.regex && location.prefix.endsWith('/'),
      nested: level(location.locations),
    };
  };
  const level = (locations: readonly LocationConfig[]): LocationLevel => {
    const routes = locations.map(route);
    const exact = new Map<string, LocationRoute>();
    const redirects = new Map<string, LocationRoute>();
    for (const r of routes) {
      if (r.config.modifier === '=') exact.set(r.config.prefix, r);
      if (r.autoRedirect && r.config.prefix.length > 1 && !redirects.has(r.config.prefix)) redirects.set(r.config.prefix, r);
    }
    const prefixes = routes.filter((r) => r.config.modifier === '' || r.config.modifier === '^~');
    prefixes.sort((a, b) => b.config.prefix.length - a.config.prefix.length);
    return { exact, prefixes, redirects, regexes: routes.filter((r) => r.config.regex) };
  };
  return { config, root: level(config.locations) };
}

export type LocationMatch = { readonly location: LocationRoute; readonly redirect: boolean };

type Found =
  | { rc: 'ok' | 'done' | 'again'; location: LocationRoute }
  | { rc: 'declined'; location: null };

/**
 * ngx_http_core_find_location(): an exact (`=`) match wins at once; otherwise the longest
 * prefix is remembered and its nested locations are searched; then, unless that prefix is
 * `^~`, the regexes of the level are tried in order (captures are set on a match); the first
 * matching regex wins, else the remembered prefix.
 */
export function matchLocation(server: VirtualServer, path: string, vars: RequestVariables): LocationMatch | null {
  const found = find(server.root, path, vars, null);
  if (!found.location) return null;
  return { location: found.location, redirect: found.rc === 'done' };
}

function find(level: LocationLevel, uri: string, vars: RequestVariables, current: LocationRoute | null): Found {
  let found = findStatic(level, uri);
  let noregex = false;
  if (found.rc === 'again') {
    noregex = found.location.config.modifier === '^~';
    const nested = find(found.location.nested, uri, vars, found.location);
    if (nested.rc !== 'declined') found = nested;
  }
  if (found.rc === 'ok' || found.rc === 'done') return found;
  if (!noregex) {
    for (const r of level.regexes) {
      if (!execRegex(r.config.regex as NonNullable<LocationConfig['regex']>, uri, vars)) continue;
      const nested = find(r.nested, uri, vars, r);
      return { rc: 'ok', location: nested.location ?? r };
    }
  }
  if (found.rc === 'declined' && current) return { rc: 'declined', location: null };
  return found;
}

/** ngx_http_core_find_static_location() over one level. */
function findStatic(level: LocationLevel, uri: string): Found {
  const exact = level.exact.get(uri);
  if (exact) return { rc: 'ok', location: exact };
  const best = level.prefixes.find((l) => uri.startsWith(l.config.prefix));
  if (best && best.config.prefix.length === uri.length) return { rc: 'again', location: best };
  const redirect = level.redirects.get(`${uri}/`);
  if (redirect) return { rc: 'done', location: redirect };
  return best ? { rc: 'again', location: best } : { rc: 'declined', location: null };
}

/**
 * The servers sharing one address:port, and nginx's choice among them by `$host`
 * (ngx_http_find_virtual_server): exact name, then the longest `*.x` wildcard, then the longest
 * `x.*` wildcard, then the first matching regex, else the default server. The first server to
 * claim a name keeps it (nginx warns "conflicting server name").
 */
export interface ServerSet {
  readonly defaultServer: VirtualServer;
  readonly exact: ReadonlyMap<string, VirtualServer>;
  readonly leading: readonly { readonly suffix: string; readonly server: VirtualServer }[];
  readonly trailing: readonly { readonly prefix: string; readonly server: VirtualServer }[];
  readonly regexes: readonly { readonly regex: NonNullable<LocationConfig['regex']>; readonly server: VirtualServer }[];
}

export function buildServerSet(servers: readonly VirtualServer[], defaultServer: VirtualServer): ServerSet {
  const exact = new Map<string, VirtualServer>();
  const leading: { suffix: string; server: VirtualServer }[] = [];
  const trailing: { prefix: string; server: VirtualServer }[] = [];
  const regexes: ServerSet['regexes'][number][] = [];
  for (const server of servers) {
    for (const name of server.config.names) {
      if (name.kind === 'exact' && !exact.has(name.name)) exact.set(name.name, server);
      else if (name.kind === 'leading' && !leading.some((l) => l.suffix === name.suffix)) leading.push({ suffix: name.suffix, server });
      else if (name.kind === 'trailing' && !trailing.some((t) => t.prefix === name.prefix)) trailing.push({ prefix: name.prefix, server });
      else if (name.kind === 'regex') regexes.push({ regex: name.regex, server });
    }
  }
  leading.sort((a, b) => b.suffix.length - a.suffix.length);
  trailing.sort((a, b) => b.prefix.length - a.prefix.length);
  return { defaultServer, exact, leading, trailing, regexes };
}

export function selectServer(set: ServerSet, host: string, vars: RequestVariables): VirtualServer {
  const exact = set.exact.get(host);
  if (exact) return exact;
  if (host !== '') {
    for (const l of set.leading) if (host.endsWith(l.suffix)) return l.server;
    for (const t of set.trailing) if (host.startsWith(t.prefix)) return t.server;
    for (const r of set.regexes) if (execRegex(r.regex, host, vars)) return r.server;
  }
  return set.defaultServer;
}
