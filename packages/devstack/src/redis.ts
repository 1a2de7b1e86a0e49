import { requireBinary } from './binaries.js';
import { freePort } from './ports.js';
import { spawnManaged, untilReady, type ManagedProcess, type SpawnOptions } from './process.js';
import { canConnect, waitUntil } from './wait.js';

export interface RedisProcess extends ManagedProcess {
  port: number;
  url: string;
  /** Starts it again on the same port after a stop (outage tests). */
  restart(): Promise<void>;
}

/** A private, memory-only redis-server on a free loopback port. */
export async function startRedis(options: SpawnOptions & { port?: number } = {}): Promise<RedisProcess> {
  const bin = requireBinary(
    'redis-server',
    'REDIS_SERVER_BIN',
    'Install it (Debian/Ubuntu: apt-get install redis-server), set REDIS_URL to a running Redis, or use `docker compose up`.',
  );
  const port = options.port ?? (await freePort());
  const launch = async (): Promise<ManagedProcess> => {
    const proc = spawnManaged(
      'redis',
      bin,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'],
      options,
    );
    await untilReady(proc, waitUntil(`redis-server on port ${port}`, () => canConnect(port)));
    return proc;
  };
  let current = await launch();
  return {
    name: 'redis',
    port,
    url: `redis://127.0.0.1:${port}`,
    get child() {
      return current.child;
    },
    output: () => current.output(),
    stop: (graceMs) => current.stop(graceMs),
    kill: () => current.kill(),
    restart: async () => {
      current = await launch();
    },
  };
}
