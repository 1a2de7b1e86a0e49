import type { IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import type { Config } from './config.js';
import type { Metrics } from './metrics.js';
import type { ChatSocket } from './types.js';

/**
 * The last handshake check: the browser's Origin must be allowed (no cross-site WebSocket
 * hijacking), and one client address may hold at most MAX_CONNECTIONS_PER_ADDRESS connections.
 * Behind a trusted proxy the client address is the one the proxy reports (X-Real-IP, else the
 * last X-Forwarded-For hop); from anywhere else those headers are ignored.
 */
export function createAdmission(config: Config, metrics: Metrics) {
  const perAddress = new Map<string, number>();
  const anyOrigin = config.ALLOWED_ORIGINS.includes('*');

  return (socket: ChatSocket, next: (error?: Error) => void): void => {
    const { origin } = socket.handshake.headers;
    if (origin && !anyOrigin && !config.ALLOWED_ORIGINS.includes(origin)) {
      metrics.refused.inc({ reason: 'origin' });
      next(new Error(`origin ${origin} is not allowed`));
      return;
    }
    const address = clientAddress(socket.handshake, config.TRUSTED_PROXIES);
    const count = perAddress.get(address) ?? 0;
    if (count >= config.MAX_CONNECTIONS_PER_ADDRESS) {
      metrics.refused.inc({ reason: 'per_address_cap' });
      next(new Error(`too many connections from ${address}`));
      return;
    }
    perAddress.set(address, count + 1);
    socket.once('disconnect', () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    });
    next();
  };
}

/** The client's address, from a handshake or any request of its session (peer address and headers). */
export function clientAddress(request: { address: string; headers: IncomingHttpHeaders }, trusted: net.BlockList): string {
  const peer = unmap(request.address);
  if (!isTrusted(peer, trusted)) return peer;
  const { 'x-real-ip': realIp, 'x-forwarded-for': forwarded } = request.headers;
  const lastHop = [forwarded ?? []].flat().join(',').split(',').at(-1);
  const candidates = [typeof realIp === 'string' ? realIp : undefined, lastHop];
  for (const candidate of candidates) {
    const address = unmap(candidate?.trim() ?? '');
    if (net.isIP(address)) return address;
  }
  return peer;
}

function isTrusted(address: string, trusted: net.BlockList): boolean {
  const family = net.isIP(address);
  return family !== 0 && trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

const unmap = (address: string) => address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
