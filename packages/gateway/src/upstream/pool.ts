import type { Socket } from 'node:net';
import { timerDelay } from '../runtime.js';
import type { Peer } from './balancer.js';

/** An open connection to one upstream peer. */
export interface UpstreamConnection {
  readonly socket: Socket;
  readonly peer: Peer;
  /** Requests sent on it so far. */
  requests: number;
  readonly createdAt: number;
}

interface IdleEntry {
  readonly conn: UpstreamConnection;
  /** Removes the idle-time listeners. */
  readonly detach: () => void;
}

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
 * to that server if there is one.
 */
export class KeepalivePool {
  // Oldest first, so eviction shifts and reuse searches from the end (most recent).
  private readonly idle: IdleEntry[] = [];

  constructor(
    private readonly max: number,
    private readonly limits: PoolLimits = DEFAULT_LIMITS,
  ) {}

  get size(): number {
    return this.idle.length;
  }

  take(peer: Peer): UpstreamConnection | null {
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const entry = this.idle[i] as IdleEntry;
      if (entry.conn.peer !== peer) continue;
      this.idle.splice(i, 1);
      entry.detach();
      return entry.conn;
    }
    return null;
  }

  /** Keeps a connection whose last response was complete and allowed reuse; else closes it. */
  put(conn: UpstreamConnection): void {
    const { socket } = conn;
    if (socket.destroyed || conn.requests >= this.limits.maxRequests || Date.now() - conn.createdAt >= this.limits.maxLifetimeMs) {
      socket.destroy();
      return;
    }
    if (this.idle.length >= this.max) {
      const evicted = this.idle.shift() as IdleEntry;
      evicted.detach();
      evicted.conn.socket.destroy();
    }

    // Anything from an idle upstream (data, EOF, error, timeout) ends the connection.
    const drop = () => {
      const at = this.idle.indexOf(entry);
      if (at >= 0) this.idle.splice(at, 1);
      entry.detach();
      socket.destroy();
    };
    const events = ['data', 'end', 'error', 'close', 'timeout'] as const;
    const entry: IdleEntry = {
      conn,
      detach: () => {
        for (const e of events) socket.off(e, drop);
        socket.setTimeout(0);
      },
    };
    for (const e of events) socket.on(e, drop);
    socket.setTimeout(timerDelay(this.limits.idleTimeoutMs));
    socket.resume();
    this.idle.push(entry);
  }

  destroyAll(): void {
    for (const entry of this.idle.splice(0)) {
      entry.detach();
      entry.conn.socket.destroy();
    }
  }
}
