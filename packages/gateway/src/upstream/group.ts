import { ADDRCONFIG } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { bindableHost, parseAddress } from '../config/addresses.js';
import { configError } from '../config/errors.js';
import type { UpstreamConfig, UpstreamServerConfig } from '../config/types.js';
import { createPeer, RoundRobin, type Peer } from './balancer.js';
import { ConsistentHash, IpHash, KeyHash, LeastConn } from './hashing.js';
import { KeepalivePool } from './pool.js';

/** An upstream group ready to serve: resolved peers, its balancer and its keepalive cache. */
export interface UpstreamGroup {
  readonly config: UpstreamConfig;
  readonly balancer: RoundRobin;
  /** Null without a `keepalive` directive: connections are closed after each response. */
  readonly pool: KeepalivePool | null;
}

/** The balancer for the group's method. */
export function createBalancer(config: UpstreamConfig, primary: Peer[], backup: Peer[]): RoundRobin {
  const method = config.method;
  switch (method.kind) {
    case 'least_conn':
      return new LeastConn(primary, backup);
    case 'ip_hash':
      return new IpHash(primary);
    case 'hash':
      return method.consistent ? new ConsistentHash(primary, method.key) : new KeyHash(primary, method.key);
    default:
      return new RoundRobin(primary, backup);
  }
}

/**
 * Resolves every upstream server to its addresses, as nginx does at start-up (one peer per
 * address). `overrides` maps an address written in the configuration ("name:port") to the
 * one to use instead ("host:port"), which is how tests and the CLI's --resolve reach local
 * servers. Throws ConfigError `host not found in upstream "..."` like nginx.
 */
export async function resolveUpstreams(
  upstreams: readonly UpstreamConfig[],
  overrides: ReadonlyMap<string, string> = new Map(),
): Promise<Map<UpstreamConfig, UpstreamGroup>> {
  // Host names are case-insensitive: match overrides whatever the case on either side.
  const byName = new Map([...overrides].map(([from, to]) => [from.toLowerCase(), to]));
  const groups = new Map<UpstreamConfig, UpstreamGroup>();
  for (const config of upstreams) {
    const primary: Peer[] = [];
    const backup: Peer[] = [];
    for (const server of config.servers) {
      for (const { address, port } of await resolveServer(config, server, byName)) {
        (server.backup ? backup : primary).push(createPeer(server.address, address, port, server));
      }
    }
    groups.set(config, {
      config,
      balancer: createBalancer(config, primary, backup),
      pool:
        config.keepalive > 0
          ? new KeepalivePool(config.keepalive, {
              idleTimeoutMs: config.keepaliveTimeoutMs,
              maxRequests: config.keepaliveRequests,
              maxLifetimeMs: config.keepaliveTimeMs,
            })
          : null,
    });
  }
  return groups;
}

async function resolveServer(
  upstream: UpstreamConfig,
  server: UpstreamServerConfig,
  overrides: ReadonlyMap<string, string>,
): Promise<{ address: string; port: number }[]> {
  let host = server.host;
  let port = server.port;
  const key = `${server.host}:${server.port}`.toLowerCase();
  const override = overrides.get(key);
  if (override !== undefined) {
    const parsed = parseAddress(override, { defaultPort: 80 });
    if (!parsed.ok) throw configError(`${parsed.err} in the resolve override "${override}" for "${key}"`, server);
    host = parsed.value.host;
    port = parsed.value.port;
  }

  const bare = bindableHost(host);
  if (isIP(bare)) return [{ address: bare, port }];
  try {
    const found = await lookup(bare, { all: true, hints: ADDRCONFIG });
    const unique = [...new Set(found.map((a) => a.address))];
    if (unique.length === 0) throw new Error('no address');
    return unique.map((address) => ({ address, port }));
  } catch {
    // nginx names the implicit upstream of proxy_pass by its host, a server line as written.
    const shown = upstream.implicit ? upstream.name : server.address;
    throw configError(`host not found in upstream "${shown}"`, server);
  }
}
