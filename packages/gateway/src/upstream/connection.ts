import { connect, type Socket } from 'node:net';
import { timerDelay } from '../runtime.js';
import type { Peer } from './balancer.js';

/** Whoever an upstream socket's events go to: the exchange using it, or the pool keeping it idle. */
export interface ConnectionOwner {
  upstreamConnect(conn: UpstreamConnection): void;
  upstreamData(conn: UpstreamConnection, chunk: Buffer): void;
  upstreamEnd(conn: UpstreamConnection): void;
  upstreamError(conn: UpstreamConnection, err: Error): void;
  upstreamClose(conn: UpstreamConnection): void;
  upstreamTimeout(conn: UpstreamConnection): void;
}

/**
 * An open connection to one upstream peer. Its socket listeners are attached once, when it
 * is opened, and pass every event to the current owner: a keepalive connection moves between
 * requests and the pool without adding or removing a listener, which would otherwise be a
 * dozen allocations per request.
 */
export class UpstreamConnection {
  owner: ConnectionOwner | null = null;
  /** Requests sent on it so far. */
  requests = 0;
  readonly createdAt = Date.now();
  /** The socket's idle timer as last set, so that setting the same value again costs nothing. */
  private timeoutMs = 0;
  private readonly onConnect = () => this.owner?.upstreamConnect(this);
  private readonly onData = (chunk: Buffer) => this.owner?.upstreamData(this, chunk);
  private readonly onEnd = () => this.owner?.upstreamEnd(this);
  private readonly onError = (err: Error) => this.owner?.upstreamError(this, err);
  private readonly onClose = () => this.owner?.upstreamClose(this);
  private readonly onTimeout = () => this.owner?.upstreamTimeout(this);

  constructor(
    readonly socket: Socket,
    readonly peer: Peer,
  ) {
    socket.on('connect', this.onConnect);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('timeout', this.onTimeout);
  }

  /** Opens a connection; the owner gets `upstreamConnect` once it is established. */
  static open(peer: Peer, owner: ConnectionOwner): UpstreamConnection {
    const conn = new UpstreamConnection(connect({ host: peer.address, port: peer.port, noDelay: true }), peer);
    conn.owner = owner;
    return conn;
  }

  /** Arms Node's socket timeout (idle time without reads or writes) for a configured time. */
  setTimeout(ms: number): void {
    this.arm(timerDelay(ms));
  }

  clearTimeout(): void {
    this.arm(0);
  }

  private arm(delay: number): void {
    if (delay === this.timeoutMs) return;
    this.timeoutMs = delay;
    this.socket.setTimeout(delay);
  }

  destroy(): void {
    this.owner = null;
    this.socket.destroy();
  }
}
