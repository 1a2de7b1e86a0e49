import { paths } from './paths.js';
import { freePort } from './ports.js';
import { spawnManaged, untilReady, type ManagedProcess, type SpawnOptions } from './process.js';
import { httpGet, waitUntil } from './wait.js';

export interface ChatServerProcess extends ManagedProcess {
  instance: string;
  port: number;
  url: string;
}

export interface ChatServerOptions extends SpawnOptions {
  instance: string;
  redisUrl: string;
  port?: number;
}

/** One built chat server (`node apps/chat-server/dist/index.js`), ready once /healthz says ok. */
export async function startChatServer(options: ChatServerOptions): Promise<ChatServerProcess> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const proc = spawnManaged(options.instance, process.execPath, [paths.chatServer], {
    ...options,
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: options.redisUrl,
      INSTANCE_ID: options.instance,
      LOG_LEVEL: 'warn',
      ...options.env,
    },
  });
  await untilReady(
    proc,
    waitUntil(`${options.instance} /healthz`, async () => (await httpGet(`${url}/healthz`)).status === 200),
  );
  return { ...proc, instance: options.instance, port, url };
}
