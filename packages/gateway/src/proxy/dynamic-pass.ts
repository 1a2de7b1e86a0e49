import { isIpLiteral, parseAddress } from '../config/addresses.js';
import type { UpstreamConfig } from '../config/types.js';
import { createPeer, RoundRobin } from '../upstream/balancer.js';
import type { UpstreamGroup } from '../upstream/group.js';
import { bindableHost } from '../config/addresses.js';
import { asciiLower } from '../variables.js';

/**
 * `proxy_pass` with variables, as ngx_http_proxy_eval() and ngx_http_upstream_init_request()
 * do it: the evaluated URL must start with `http://`; its host names an `upstream` block
 * (when it has no port) or the implicit upstream of another `proxy_pass http://host:port`;
 * an IP address is connected to directly. Anything else would need a `resolver`, which the
 * gateway does not have: 502, like nginx without one.
 */

export interface UpstreamDirectory {
  /** `upstream NAME {}` blocks by lowercased name. */
  readonly byName: ReadonlyMap<string, UpstreamGroup>;
  /** Implicit upstreams by lowercased `host:port`. */
  readonly byHostPort: ReadonlyMap<string, UpstreamGroup>;
}

export function buildDirectory(groups: Iterable<UpstreamGroup>): UpstreamDirectory {
  const byName = new Map<string, UpstreamGroup>();
  const byHostPort = new Map<string, UpstreamGroup>();
  for (const group of groups) {
    const c = group.config;
    const server = c.servers[0];
    if (!c.implicit) byName.set(asciiLower(c.name), group);
    else if (server) byHostPort.set(`${asciiLower(server.host)}:${server.port}`, group);
  }
  return { byName, byHostPort };
}

export type DynamicTarget =
  | { readonly ok: true; readonly group: UpstreamGroup; readonly proxyHost: string; readonly uri: string }
  | { readonly ok: false; readonly status: 500 | 502; readonly message: string };

export function resolveDynamicPass(url: string, directory: UpstreamDirectory): DynamicTarget {
  const lower = asciiLower(url.slice(0, 8));
  if (!lower.startsWith('http://')) {
    if (lower.startsWith('https://')) return { ok: false, status: 502, message: `https is not supported by chat-gateway in "${url}"` };
    return { ok: false, status: 500, message: `invalid URL prefix in "${url}"` };
  }
  const rest = url.slice('http://'.length);
  const parsed = parseAddress(rest, { defaultPort: 80, uriPart: true });
  if (!parsed.ok) return { ok: false, status: 500, message: `${parsed.err} in upstream "${rest}"` };
  const { host, port, portText } = parsed.value;
  let uri = parsed.value.uri;
  if (uri.startsWith('?')) uri = `/${uri}`;
  const proxyHost = portText === '' || port === 80 ? host : `${host}:${portText}`;
  const key = asciiLower(host);
  const group = (portText === '' ? directory.byName.get(key) : undefined) ?? directory.byHostPort.get(`${key}:${port}`);
  if (group) return { ok: true, group, proxyHost, uri };
  if (isIpLiteral(host)) return { ok: true, group: directGroup(host, port), proxyHost, uri };
  return { ok: false, status: 502, message: `no resolver defined to resolve ${host}` };
}

/** A one-server group for an IP address, made per request (nginx makes one per request too). */
function directGroup(host: string, port: number): UpstreamGroup {
  const address = `${host}:${port}`;
  const config: UpstreamConfig = {
    name: address,
    implicit: true,
    servers: [],
    keepalive: 0,
    keepaliveTimeoutMs: 0,
    keepaliveRequests: 0,
    keepaliveTimeMs: 0,
    method: { kind: 'round_robin' },
    file: '',
    line: 0,
  };
  return { config, balancer: new RoundRobin([createPeer(address, bindableHost(host), port)]), pool: null };
}
