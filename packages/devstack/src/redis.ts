import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireBinary } from './binaries.js';
import { freePort } from './ports.js';
import { spawnManaged, untilReady, type ManagedProcess, type SpawnOptions } from './process.js';
import { canConnect, waitUntil } from './wait.js';

export interface RedisProcess extends ManagedProcess {
  port: number;
  url: string;
  /** Starts it again on the same port and data after a stop (outage tests). */
  restart(): Promise<void>;
}

/**
 * A private redis-server on a free loopback port. Its data lives in a temporary directory with an
 * append-only file, as in production (docker-compose.yml), so it survives `stop()` + `restart()`;
 * the directory is removed when the test process exits.
 */
export async function startRedis(options: SpawnOptions & { port?: number } = {}): Promise<RedisProcess> {
  const bin = requireBinary(
    'redis-server',
    'REDIS_SERVER_BIN',
    'Install it (Debian/Ubuntu: apt-get install redis-server), set REDIS_URL to a running Redis, or use `docker compose up`.',
  );
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-redis-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const launch = async (): Promise<ManagedProcess> => {
    const proc = spawnManaged(
      'redis',
      bin,
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--protected-mode', 'yes'],
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
