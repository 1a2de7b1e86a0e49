import { formatSocketAddress } from '../config/addresses.js';
import type { RequestVariables } from '../variables.js';

/**
 * nginx's weighted round robin (ngx_http_upstream_round_robin.c, current version): smooth
 * weighted selection, `max_fails`/`fail_timeout` accounting, `down`, `max_conns`, and `backup`
 * servers used only once no primary server can be picked. Times are whole seconds, as
 * nginx's ngx_time(), so a server is skipped for the same window as with nginx.
 */

export interface PeerOptions {
  readonly weight: number;
  /** 0 disables the accounting. */
  readonly maxFails: number;
  /** Seconds. */
  readonly failTimeout: number;
  readonly down: boolean;
  /** 0 = unlimited. */
  readonly maxConns: number;
}

export const DEFAULT_PEER: PeerOptions = { weight: 1, maxFails: 1, failTimeout: 10, down: false, maxConns: 0 };

export interface Peer extends PeerOptions {
  /** The `server` line as written, e.g. `chat-1:3000`. */
  readonly server: string;
  /** Resolved IP address and port actually connected to. */
  readonly address: string;
  readonly port: number;
  /** `address:port` (`[v6]:port`), as `$upstream_addr` and the error log print it (nginx's peer->name). */
  readonly name: string;
  currentWeight: number;
  effectiveWeight: number;
  fails: number;
  /** When the last failure happened, and when the peer was last (re)checked; seconds. */
  accessed: number;
  checked: number;
  /** Requests using the peer right now (nginx's peer->conns). */
  conns: number;
}

export function createPeer(server: string, address: string, port: number, options: Partial<PeerOptions> = {}): Peer {
  const o = { ...DEFAULT_PEER, ...options };
  return {
    server,
    address,
    port,
    name: formatSocketAddress(address, port),
    weight: o.weight,
    maxFails: o.maxFails,
    failTimeout: o.failTimeout,
    down: o.down,
    maxConns: o.maxConns,
    currentWeight: 0,
    effectiveWeight: o.weight,
    fails: 0,
    accessed: 0,
    checked: 0,
    conns: 0,
  };
}

/** One list of peers (nginx's ngx_http_upstream_rr_peers_t): the primaries or the backups. */
export interface PeerList {
  readonly peers: readonly Peer[];
  /** Exactly one peer and no backup list: always used, max_fails ignored. */
  readonly single: boolean;
  /** Peers not marked `down`: how many tries a request gets from this list. */
  readonly tries: number;
  readonly totalWeight: number;
}

function peerList(peers: readonly Peer[], single: boolean): PeerList {
  return {
    peers,
    single,
    tries: peers.filter((p) => !p.down).length,
    totalWeight: peers.reduce((sum, p) => sum + p.weight, 0),
  };
}

/** Per-request balancer state: the list in use, the peers tried in it, the tries left. */
export interface PeerSelection {
  list: PeerList;
  tries: number;
  readonly tried: Set<Peer>;
  current: Peer | null;
  /** Balancer-specific per-request data (hash key, hash tries...). */
  hash?: number;
  hashTries?: number;
  rehash?: number;
  key?: string;
}

/** What releasing a peer reports: success, a failure that counts, or nginx's NGX_PEER_NEXT (403/404). */
export type ReleaseState = 'ok' | 'failed' | 'next';

export type SecondsClock = () => number;
export const nowSeconds: SecondsClock = () => Math.floor(Date.now() / 1000);

export class RoundRobin {
  readonly primary: PeerList;
  readonly backup: PeerList | null;

  constructor(
    primary: readonly Peer[],
    backup: readonly Peer[] = [],
    protected readonly now: SecondsClock = nowSeconds,
  ) {
    this.primary = peerList(primary, primary.length === 1 && backup.length === 0);
    this.backup = backup.length > 0 ? peerList(backup, false) : null;
  }

  /** Every peer, primaries first. */
  get peers(): readonly Peer[] {
    return this.backup ? [...this.primary.peers, ...this.backup.peers] : this.primary.peers;
  }

  /** ngx_http_upstream_init_round_robin_peer(). Hashing balancers read their key from `vars`. */
  begin(vars?: RequestVariables): PeerSelection {
    void vars;
    return { list: this.primary, tries: this.primary.tries + (this.backup?.tries ?? 0), tried: new Set(), current: null };
  }

  /** ngx_http_upstream_get_round_robin_peer(): the next peer, or null ("no live upstreams"). */
  pick(sel: PeerSelection): Peer | null {
    const peer = this.pickFrom(sel);
    if (peer) {
      sel.current = peer;
      peer.conns++;
      return peer;
    }
    if (sel.list === this.primary && this.backup) {
      sel.list = this.backup;
      sel.tried.clear();
      return this.pick(sel);
    }
    return null;
  }

  /** Picks within `sel.list`; subclasses override this for their own method. */
  protected pickFrom(sel: PeerSelection): Peer | null {
    const list = sel.list;
    if (list.single) {
      const peer = list.peers[0] as Peer;
      if (peer.down || (peer.maxConns && peer.conns >= peer.maxConns)) return null;
      return peer;
    }
    return this.smooth(sel);
  }

  /** ngx_http_upstream_get_peer(): smooth weighted round robin over the usable peers. */
  protected smooth(sel: PeerSelection): Peer | null {
    const now = this.now();
    let best: Peer | null = null;
    let total = 0;
    for (const peer of sel.list.peers) {
      if (sel.tried.has(peer) || !this.usable(peer, now)) continue;
      // Every candidate gains its weight, the richest is picked and pays the total, so
      // weights 5,1,1 give a a b a c a a rather than a a a a a b c.
      peer.currentWeight += peer.effectiveWeight;
      total += peer.effectiveWeight;
      if (peer.effectiveWeight < peer.weight) peer.effectiveWeight++;
      if (best === null || peer.currentWeight > best.currentWeight) best = peer;
    }
    if (best === null) return null;
    sel.tried.add(best);
    best.currentWeight -= total;
    if (now - best.checked > best.failTimeout) best.checked = now;
    return best;
  }

  /** Not down, not failed within fail_timeout, below max_conns. */
  protected usable(peer: Peer, now: number): boolean {
    if (peer.down) return false;
    if (peer.maxFails && peer.fails >= peer.maxFails && now - peer.checked <= peer.failTimeout) return false;
    if (peer.maxConns && peer.conns >= peer.maxConns) return false;
    return true;
  }

  /** ngx_http_upstream_free_round_robin_peer(): ends the use of `sel.current`. */
  release(sel: PeerSelection, state: ReleaseState): void {
    const peer = sel.current;
    sel.current = null;
    if (!peer) return;
    peer.conns--;
    if (sel.list.single) {
      sel.tries = 0;
      return;
    }
    if (state === 'failed') {
      const now = this.now();
      peer.fails++;
      peer.accessed = now;
      peer.checked = now;
      if (peer.maxFails) peer.effectiveWeight -= Math.floor(peer.weight / peer.maxFails);
      if (peer.effectiveWeight < 0) peer.effectiveWeight = 0;
    } else if (peer.accessed < peer.checked) {
      // A success after the fail_timeout check window clears the failure count.
      peer.fails = 0;
    }
    if (sel.tries > 0) sel.tries--;
  }
}
