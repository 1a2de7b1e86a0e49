import type { Socket } from 'node:net';
import type { ConnectionOwner, UpstreamConnection } from '../upstream/connection.js';

/**
 * Joins the client's socket and the upstream connection after a 101: raw bytes both ways,
 * no per-message work beyond one write. The upstream side keeps the listeners its
 * UpstreamConnection attached when it was opened (the tunnel becomes their owner), so that
 * opening a tunnel adds none there. Like nginx's ngx_http_upstream_process_upgraded(), the
 * tunnel ends when either side has sent EOF and everything it sent has been flushed to the
 * other (both sockets are then closed, never half-closed), on any error, or after `idleMs`
 * without traffic. The idle timer is Node's socket timeout on the upstream socket, which
 * counts reads from and writes to the upstream, so traffic in either direction keeps the
 * tunnel alive; nginx re-arms proxy_read_timeout on every event of the tunnel too, so both
 * close an idle tunnel after the same time.
 */
export function tunnel(client: Socket, upstream: UpstreamConnection, clientHead: Buffer, upstreamHead: Buffer, idleMs: number): void {
  new Tunnel(client, upstream, idleMs).start(clientHead, upstreamHead);
}

class Tunnel implements ConnectionOwner {
  private closed = false;
  private readonly close = () => {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
    this.upstream.destroy();
  };

  constructor(
    private readonly client: Socket,
    private readonly upstream: UpstreamConnection,
    idleMs: number,
  ) {
    upstream.owner = this;
    upstream.setTimeout(idleMs);
    client.setTimeout(0);
  }

  start(clientHead: Buffer, upstreamHead: Buffer): void {
    const client = this.client;
    const upstreamSocket = this.upstream.socket;
    if (upstreamHead.length > 0) client.write(upstreamHead);
    if (clientHead.length > 0) upstreamSocket.write(clientHead);
    client.on('data', (chunk: Buffer) => {
      if (!upstreamSocket.write(chunk)) client.pause();
    });
    client.on('drain', () => upstreamSocket.resume());
    upstreamSocket.on('drain', () => client.resume());
    client.on('end', () => this.endAfterFlushing(upstreamSocket));
    client.on('error', this.close);
    client.on('close', this.close);
  }

  /** One side sent EOF: close both once the other has taken what it was sent. */
  private endAfterFlushing(to: Socket): void {
    if (to.writableLength === 0) return this.close();
    to.once('finish', this.close);
    to.end();
  }

  // --- ConnectionOwner: the upstream socket's events --------------------------------------

  upstreamConnect(): void {}

  upstreamData(_conn: UpstreamConnection, chunk: Buffer): void {
    if (!this.client.write(chunk)) this.upstream.socket.pause();
  }

  upstreamEnd(): void {
    this.endAfterFlushing(this.client);
  }

  upstreamError(): void {
    this.close();
  }

  upstreamClose(): void {
    this.close();
  }

  upstreamTimeout(): void {
    this.close();
  }
}
