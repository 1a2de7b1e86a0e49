import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

export interface RedisClients {
  /** Chat state. Fails fast while disconnected, so a send is never acked for a message that was not stored. */
  data: Redis;
  /** Publisher and subscriber of the Socket.IO Redis adapter. */
  pub: Redis;
  sub: Redis;
}

export function createRedisClients(url: string, logger: Logger): RedisClients {
  const data = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
  const pub = new Redis(url);
  const sub = pub.duplicate();
  for (const [role, client] of Object.entries({ data, pub, sub })) {
    // Without a listener ioredis reports every reconnect attempt as an unhandled error.
    client.on('error', (error: Error) => logger.warn({ role, err: error.message }, 'redis error'));
  }
  return { data, pub, sub };
}

export async function quitAll(clients: RedisClients): Promise<void> {
  await Promise.allSettled(Object.values(clients).map((client) => client.quit()));
  for (const client of Object.values(clients)) client.disconnect();
}
