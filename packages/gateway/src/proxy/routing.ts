import type { LocationConfig, ProxyConfig, ServerConfig } from '../config/types.js';
import type { UpstreamGroup } from '../upstream/group.js';
import type { UpstreamDirectory } from './dynamic-pass.js';
import { buildHeaderPlan, type HeaderPlan } from './request-headers.js';

/** A location ready to serve: its upstream group and precomputed header plan. */
export interface LocationRoute {
  readonly config: LocationConfig;
  readonly proxy: ProxyRoute | null;
  /**
   * nginx answers 301 to `/prefix` for `location /prefix/ { proxy_pass ...; }` (its
   * auto_redirect), so that relative links below the location keep working.
   */
  readonly autoRedirect: boolean;
}

export interface ProxyRoute {
  readonly config: ProxyConfig;
  /** Null for a proxy_pass with variables: the group is found per request in `directory`. */
  readonly group: UpstreamGroup | null;
  readonly plan: HeaderPlan;
  readonly directory: UpstreamDirectory;
}

export interface VirtualServer {
  readonly config: ServerConfig;
  /** Longest prefix first, so the first match is nginx's longest match. */
  readonly locations: readonly LocationRoute[];
}

export function buildVirtualServer(
  config: ServerConfig,
  groups: ReadonlyMap<unknown, UpstreamGroup>,
  directory: UpstreamDirectory,
): VirtualServer {
  const locations = config.locations.map((location): LocationRoute => {
    const proxy = location.proxy;
    const group = proxy?.upstream ? (groups.get(proxy.upstream) ?? null) : null;
    return {
      config: location,
      proxy: proxy && (group || proxy.dynamic) ? { config: proxy, group, plan: buildHeaderPlan(proxy), directory } : null,
      autoRedirect: proxy !== null && location.prefix.endsWith('/'),
    };
  });
  locations.sort((a, b) => b.config.prefix.length - a.config.prefix.length);
  return { config, locations };
}

export type LocationMatch = { readonly location: LocationRoute; readonly redirect: boolean };

/** Longest prefix match on the normalized path (ngx_http_core_find_static_location). */
export function matchLocation(server: VirtualServer, path: string): LocationMatch | null {
  const best = server.locations.find((l) => path.startsWith(l.config.prefix));
  if (best && best.config.prefix.length === path.length) return { location: best, redirect: false };
  const slashed = `${path}/`;
  const redirect = server.locations.find((l) => l.autoRedirect && l.config.prefix === slashed);
  if (redirect) return { location: redirect, redirect: true };
  return best ? { location: best, redirect: false } : null;
}
