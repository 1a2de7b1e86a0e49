import {
  connectClient,
  startChatServer,
  startRedis,
  type ChatServerProcess,
  type ConnectedClient,
  type RedisProcess,
} from '@chat/devstack';

export interface Cluster {
  redis: RedisProcess;
  servers: ChatServerProcess[];
  /** A client of `server`, closed by `stop()`. */
  connect(server: ChatServerProcess, name: string, userId?: string): Promise<ConnectedClient>;
  /** Starts chat-N again (after a stop or a kill) on a new port. */
  restart(index: number): Promise<ChatServerProcess>;
  stop(): Promise<void>;
}

/** Real redis-server plus `instances` chat server processes, with extra environment for all of them. */
export async function startCluster(instances = 3, env: NodeJS.ProcessEnv = {}): Promise<Cluster> {
  const redis = await startRedis();
  const start = (i: number) => startChatServer({ instance: `chat-${i + 1}`, redisUrl: redis.url, env });
  const servers = await Promise.all(Array.from({ length: instances }, (_, i) => start(i)));
  const clients: ConnectedClient[] = [];
  return {
    redis,
    servers,
    async connect(server, name, userId) {
      const client = await connectClient(server.url, name, { auth: userId ? { name, userId } : { name } });
      clients.push(client);
      return client;
    },
    async restart(index) {
      servers[index] = await start(index);
      return servers[index];
    },
    async stop() {
      for (const { socket } of clients) socket.close();
      await Promise.all(servers.map((server) => server.stop()));
      await redis.stop();
    },
  };
}

/** Enough headroom that contract tests never trip the rate limiter (its own test uses the defaults). */
export const noRateLimit = { RATE_LIMIT_PER_SECOND: '1000', RATE_LIMIT_BURST: '1000' };
