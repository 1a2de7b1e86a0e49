/**
 * nginx's weighted round robin (ngx_http_upstream_round_robin.c), including the parts that
 * apply with default `server` parameters: max_fails=1 and fail_timeout=10s, i.e. a server
 * that just failed is skipped for 10 seconds, and a request tries each server at most once.
 */

export interface Peer {
  /** The `server` line as written, e.g. `chat-1:3000`. */
  readonly server: string;
  /** Resolved IP address and port actually connected to. */
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly maxFails: number;
  readonly failTimeoutMs: number;
  currentWeight: number;
  effectiveWeight: number;
  fails: number;
  /** When the last failure happened, and when the peer was last (re)checked; ms. */
  accessed: number;
  checked: number;
}

export function createPeer(server: string, address: string, port: number, weight: number): Peer {
  return {
    server,
    address,
    port,
    weight,
    maxFails: 1,
    failTimeoutMs: 10_000,
    currentWeight: 0,
    effectiveWeight: weight,
    fails: 0,
    accessed: 0,
    checked: 0,
  };
}

/** Per-request balancer state: which peers this request already tried, how many tries remain. */
export interface PeerSelection {
  tries: number;
  readonly tried: Set<Peer>;
  current: Peer | null;
}

export class RoundRobin {
  constructor(
    readonly peers: readonly Peer[],
    private readonly now: () => number = Date.now,
  ) {}

  begin(): PeerSelection {
    return { tries: this.peers.length, tried: new Set(), current: null };
  }

  /** The next peer for this request, or null ("no live upstreams"). */
  pick(sel: PeerSelection): Peer | null {
    // A single server is always used: nginx ignores max_fails when there is no alternative.
    if (this.peers.length === 1) {
      sel.current = this.peers[0] as Peer;
      return sel.current;
    }

    const now = this.now();
    let best: Peer | null = null;
    let total = 0;
    for (const peer of this.peers) {
      if (sel.tried.has(peer)) continue;
      if (peer.maxFails && peer.fails >= peer.maxFails && now - peer.checked <= peer.failTimeoutMs) continue;
      // Smooth weighted round robin: every candidate gains its weight, the richest is picked
      // and pays the total, so weights 5,1,1 give a a b a c a a rather than a a a a a b c.
      peer.currentWeight += peer.effectiveWeight;
      total += peer.effectiveWeight;
      if (peer.effectiveWeight < peer.weight) peer.effectiveWeight++;
      if (best === null || peer.currentWeight > best.currentWeight) best = peer;
    }

    if (best === null) {
      // All peers failed: mark them live again so that the next request can retry them.
      for (const peer of this.peers) peer.fails = 0;
      return null;
    }
    sel.current = best;
    sel.tried.add(best);
    best.currentWeight -= total;
    if (now - best.checked > best.failTimeoutMs) best.checked = now;
    return best;
  }

  /** Ends the use of `sel.current`; `failed` for connection errors and timeouts. */
  release(sel: PeerSelection, failed: boolean): void {
    const peer = sel.current;
    sel.current = null;
    if (!peer) return;
    if (this.peers.length === 1) {
      sel.tries = 0;
      return;
    }
    if (failed) {
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
