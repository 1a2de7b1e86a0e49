import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import type { Metrics } from './metrics.js';

/**
 * The plain HTTP endpoints of an instance (Socket.IO owns /socket.io/):
 * GET /healthz: 200 while Redis answers a PING within a second, 503 otherwise.
 * GET /metrics: Prometheus metrics; not routed by the front door, scrape the instance directly.
 */
export function httpRoutes(redis: Redis, instance: string, metrics: Metrics) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method === 'GET' || req.method === 'HEAD' ? req.method : null;
    if (method && req.url === '/healthz') {
      const healthy = await Promise.race([
        redis.ping().then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((resolve) => setTimeout(resolve, 1_000, false).unref()),
      ]);
      const body = JSON.stringify(healthy ? { status: 'ok', instance } : { status: 'unavailable', instance });
      send(res, method, healthy ? 200 : 503, 'application/json', body);
    } else if (method && req.url === '/metrics') {
      send(res, method, 200, metrics.registry.contentType, await metrics.registry.metrics());
    } else {
      send(res, 'GET', 404, 'text/plain', 'not found\n');
    }
  };
}

function send(res: ServerResponse, method: string, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(method === 'HEAD' ? undefined : body);
}
