import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';

/** GET /healthz: 200 while Redis answers a PING within a second, 503 otherwise. */
export function healthHandler(redis: Redis, instance: string) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.url !== '/healthz' || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    const healthy = await Promise.race([
      redis.ping().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => setTimeout(resolve, 1_000, false).unref()),
    ]);
    const body = JSON.stringify(healthy ? { status: 'ok', instance } : { status: 'unavailable', instance });
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
