import type { Peer } from './balancer.js';
import type { ConnectionOwner, UpstreamConnection } from './connection.js';

/** `keepalive_timeout`, `keepalive_requests` and `keepalive_time` of the upstream block. */
export interface PoolLimits {
  readonly idleTimeoutMs: number;
  readonly maxRequests: number;
  readonly maxLifetimeMs: number;
}

// nginx's defaults.
const DEFAULT_LIMITS: PoolLimits = { idleTimeoutMs: 60_000, maxRequests: 1000, maxLifetimeMs: 60 * 60_000 };

/**
 * The `keepalive N` cache of one upstream group, as in ngx_http_upstream_keepalive_module:
 * up to N idle connections shared by all the group's servers, least recently used evicted
 * first; a request first picks its server with the balancer, then reuses an idle connection
 * to that server if there is one. While a connection is idle the pool owns its events, and
 * anything from an idle upstream (data, EOF, error, timeout) ends it.
 */
export class KeepalivePool implements ConnectionOwner {
  // Oldest first, so eviction shifts and reuse searches from the end (most recent).
  private readonly idle: UpstreamConnection[] = [];

  constructor(
    private readonly max: number,
    private readonly limits: PoolLimits = DEFAULT_LIMITS,
  ) {}

  get size(): number {
    return this.idle.length;
  }

  /** An idle connection to `peer`; its new owner sets its own timeout. */
  take(peer: Peer): UpstreamConnection | null {
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const conn = this.idle[i] as UpstreamConnection;
      if (conn.peer !== peer) continue;
      this.idle.splice(i, 1);
      conn.owner = null;
      return conn;
    }
    return null;
  }

  /** Keeps a connection whose last response was complete and allowed reuse; else closes it. */
  put(conn: UpstreamConnection): void {
    if (conn.socket.destroyed || conn.requests >= this.limits.maxRequests || Date.now() - conn.createdAt >= this.limits.maxLifetimeMs) {
      conn.destroy();
      return;
    }
    if (this.idle.length >= this.max) (this.idle.shift() as UpstreamConnection).destroy();
    conn.owner = this;
    conn.setTimeout(this.limits.idleTimeoutMs);
    // The last response may have ended while a slow client had the socket paused; an idle
    // connection must be read so that an upstream close is noticed.
    conn.socket.resume();
    this.idle.push(conn);
  }

  destroyAll(): void {
    for (const conn of this.idle.splice(0)) conn.destroy();
  }

  private drop(conn: UpstreamConnection): void {
    const at = this.idle.indexOf(conn);
    if (at >= 0) this.idle.splice(at, 1);
    conn.destroy();
  }

  upstreamConnect(): void {}
  upstreamData(conn: UpstreamConnection): void {
    this.drop(conn);
  }
  upstreamEnd(conn: UpstreamConnection): void {
    this.drop(conn);
  }
  upstreamError(conn: UpstreamConnection): void {
    this.drop(conn);
  }
  upstreamClose(conn: UpstreamConnection): void {
    this.drop(conn);
  }
  upstreamTimeout(conn: UpstreamConnection): void {
    this.drop(conn);
  }
}
