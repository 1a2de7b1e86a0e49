import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { bindableHost, type ParsedAddress } from './config/addresses.js';
import { configError } from './config/errors.js';
import type { ListenConfig } from './config/types.js';
import { buildServerSet, type ServerSet, type VirtualServer } from './proxy/routing.js';

/**
 * Which sockets to bind and which server block answers on each, the way nginx lays them out:
 * when a port has a wildcard listen, only the wildcard is bound and connections are matched
 * to a server by the local address they arrived on; otherwise each address is bound alone.
 * Among the servers sharing an address, `server_name` picks one by `$host`; the
 * `default_server` one (else the first) answers when no name matches.
 */
export interface BindPlan {
  readonly host: string;
  readonly port: number;
  /** Servers for connections whose local address has no listen of its own. */
  readonly servers: ServerSet;
  /** Servers listening on a specific address of this (wildcard) socket. */
  readonly byLocalAddress: ReadonlyMap<string, ServerSet>;
}

interface Entry {
  readonly server: VirtualServer;
  readonly address: string;
  readonly port: number;
  readonly defaultServer: boolean;
}

const isWildcard = (address: string): boolean => address === '0.0.0.0' || address === '::';

export async function planListeners(servers: readonly VirtualServer[], override?: ParsedAddress): Promise<BindPlan[]> {
  const entries: Entry[] = [];
  for (const server of servers) {
    if (override) {
      const defaultServer = server.config.listens.some((l) => l.defaultServer);
      for (const address of await addressesOf(override.host, override.port, null)) {
        entries.push({ server, address, port: override.port, defaultServer });
      }
      continue;
    }
    for (const listen of server.config.listens) {
      for (const address of await addressesOf(listen.host, listen.port, listen)) {
        entries.push({ server, address, port: listen.port, defaultServer: listen.defaultServer });
      }
    }
  }

  const groups = new Map<string, Entry[]>();
  for (const entry of entries) {
    const key = `${isIP(entry.address)}|${entry.port}`;
    const list = groups.get(key) ?? [];
    list.push(entry);
    groups.set(key, list);
  }

  const plans: BindPlan[] = [];
  for (const group of groups.values()) {
    const byAddress = new Map<string, Entry[]>();
    for (const entry of group) {
      const list = byAddress.get(entry.address) ?? [];
      list.push(entry);
      byAddress.set(entry.address, list);
    }
    const wildcard = [...byAddress.keys()].find(isWildcard);
    if (wildcard !== undefined) {
      const specific = new Map<string, ServerSet>();
      for (const [address, list] of byAddress) if (address !== wildcard) specific.set(address, serverSet(list));
      plans.push({
        host: wildcard,
        port: group[0]?.port ?? 0,
        servers: serverSet(byAddress.get(wildcard) ?? []),
        byLocalAddress: specific,
      });
    } else {
      for (const [address, list] of byAddress) {
        const port = list[0]?.port ?? 0;
        plans.push({ host: address, port, servers: serverSet(list), byLocalAddress: new Map() });
      }
    }
  }
  return plans;
}

/** The servers of one address, with the `default_server` one (else the first) as default. */
function serverSet(entries: readonly Entry[]): ServerSet {
  const chosen = entries.find((e) => e.defaultServer) ?? entries[0];
  if (!chosen) throw new Error('internal error: a listen group without servers');
  return buildServerSet([...new Set(entries.map((e) => e.server))], chosen.server);
}

async function addressesOf(host: string, port: number, listen: ListenConfig | null): Promise<string[]> {
  const bare = bindableHost(host);
  if (isIP(bare)) return [bare];
  try {
    const found = await lookup(bare, { all: true });
    return [...new Set(found.map((a) => a.address))];
  } catch {
    const text = listen?.text ?? `${host}:${port}`;
    if (!listen) throw new Error(`host not found in "${text}" of --listen`);
    throw configError(`host not found in "${text}" of the "listen" directive`, listen);
  }
}
