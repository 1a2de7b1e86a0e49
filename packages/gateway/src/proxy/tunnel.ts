import type { Socket } from 'node:net';
import { timerDelay } from '../runtime.js';

/**
 * Joins two sockets after a 101: raw bytes both ways, no per-message work beyond one write
 * (a `data` listener writing straight to the other side, which is all `pipe()` does too, minus
 * its bookkeeping). Like nginx, the
 * tunnel ends when either side has closed and what it sent has been flushed to the other,
 * on any error, or after `idleMs` without traffic. The idle timer is Node's socket timeout
 * on the upstream socket, which counts reads from and writes to the upstream, so traffic in
 * either direction keeps the tunnel alive; nginx re-arms proxy_read_timeout on every event
 * of the tunnel too, so both close an idle tunnel after the same time.
 */
export function tunnel(
  client: Socket,
  upstream: Socket,
  clientHead: Buffer,
  upstreamHead: Buffer,
  idleMs: number,
): void {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    client.destroy();
    upstream.destroy();
  };

  for (const socket of [client, upstream]) {
    socket.setNoDelay(true);
    socket.on('error', close);
    socket.on('close', close);
    // Fires once the other side's EOF has been passed on (forward() calls end()).
    socket.on('finish', close);
  }
  client.setTimeout(0);
  upstream.setTimeout(timerDelay(idleMs), close);

  if (upstreamHead.length > 0) client.write(upstreamHead);
  if (clientHead.length > 0) upstream.write(clientHead);
  forward(client, upstream);
  forward(upstream, client);
  upstream.resume();
}

/** Passes `from`'s bytes and EOF on to `to`, pausing `from` while `to` cannot keep up. */
function forward(from: Socket, to: Socket): void {
  from.on('data', (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
  from.on('end', () => to.end());
}
