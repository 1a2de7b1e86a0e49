import { startChatServer, type ChatServerProcess } from './chat-server.js';
import { startGateway, type FrontDoor } from './gateway.js';
import { startNginx } from './nginx.js';
import { freePort } from './ports.js';
import type { ManagedProcess } from './process.js';
import { startRedis, type RedisProcess } from './redis.js';
import { startWeb } from './web.js';

export interface StackOptions {
  /** Which engine reads infra/nginx.conf. */
  frontDoor?: 'gateway' | 'nginx';
  /** Chat server instances, named chat-1..chat-N as in infra/nginx.conf. */
  instances?: number;
  /** Start the built web app too (slower; only browser tests and the demo need it). */
  web?: boolean;
  /** Use this Redis instead of starting a private one. */
  redisUrl?: string;
  /** Port and bind address of the front door. */
  port?: number;
  host?: string;
  echo?: (line: string) => void;
}

export interface Stack {
  redis: RedisProcess | null;
  redisUrl: string;
  chatServers: ChatServerProcess[];
  web: FrontDoor | null;
  frontDoor: FrontDoor;
  /** The front door's base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  stop(): Promise<void>;
}

/** The whole topology of infra/nginx.conf on loopback: Redis, chat-1..N, optionally web, and a front door. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const started: ManagedProcess[] = [];
  const echo = options.echo;
  try {
    const redis = options.redisUrl ? null : await startRedis({ echo });
    if (redis) started.push(redis);
    const redisUrl = options.redisUrl ?? redis!.url;

    // Known before the chat servers start: their origin allow-list names the front door.
    const port = options.port ?? (await freePort());
    const env = { ALLOWED_ORIGINS: `http://127.0.0.1:${port},http://localhost:${port}` };
    const names = Array.from({ length: options.instances ?? 3 }, (_, i) => `chat-${i + 1}`);
    const chatServers = await Promise.all(names.map((instance) => startChatServer({ instance, redisUrl, echo, env })));
    started.push(...chatServers);

    const web = options.web ? await startWeb({ echo }) : null;
    if (web) started.push(web);

    const resolve: Record<string, string> = {
      // Without a web app, `/` points at a closed port and answers 502.
      'web:3000': `127.0.0.1:${web?.port ?? (await freePort())}`,
    };
    for (const server of chatServers) resolve[`${server.instance}:3000`] = `127.0.0.1:${server.port}`;

    const start = options.frontDoor === 'nginx' ? startNginx : startGateway;
    const frontDoor = await start({ resolve, port, host: options.host, echo });
    started.push(frontDoor);

    return {
      redis,
      redisUrl,
      chatServers,
      web,
      frontDoor,
      url: frontDoor.url,
      stop: () => stopAll(started),
    };
  } catch (error) {
    await stopAll(started);
    throw error;
  }
}

/** Front door first, Redis last: the reverse of start-up. */
async function stopAll(processes: ManagedProcess[]): Promise<void> {
  for (const proc of [...processes].reverse()) await proc.stop();
}
