import { startChatServer, type ChatServerProcess } from './chat-server.js';
import { startGateway, type FrontDoor } from './gateway.js';
import { startNginx } from './nginx.js';
import { freePort } from './ports.js';
import { startRedis, type RedisProcess } from './redis.js';
import { startWeb } from './web.js';

export interface StackOptions {
  /** Which engine reads infra/nginx.conf. */
  frontDoor?: 'gateway' | 'nginx';
  /** Chat server instances, named chat-1..chat-N as in infra/nginx.conf. */
  instances?: number;
  /** Extra environment for every chat server. */
  chatEnv?: NodeJS.ProcessEnv;
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
  /** chat-1..N; replaced in place by restartChatServer. */
  chatServers: ChatServerProcess[];
  web: FrontDoor | null;
  frontDoor: FrontDoor;
  /** The front door's base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Starts chat-(index+1) again on its old port (after a stop or a kill): the front door's mapping still holds. */
  restartChatServer(index: number): Promise<ChatServerProcess>;
  /** Starts the front door again on its old port (after a stop). */
  restartFrontDoor(): Promise<FrontDoor>;
  stop(): Promise<void>;
}

/** The whole topology of infra/nginx.conf on loopback: Redis, chat-1..N, optionally web, and a front door. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const { echo } = options;
  const running: { redis: RedisProcess | null; web: FrontDoor | null; chat: ChatServerProcess[]; door: FrontDoor | null } = {
    redis: null,
    web: null,
    chat: [],
    door: null,
  };
  // Front door first, Redis last: the reverse of start-up.
  const stopAll = async () => {
    const order = [running.door, running.web, ...running.chat, running.redis];
    for (const proc of order) await proc?.stop();
  };
  try {
    running.redis = options.redisUrl ? null : await startRedis({ echo });
    const redisUrl = options.redisUrl ?? running.redis!.url;

    // Known before the chat servers start: their origin allow-list names the front door.
    const port = options.port ?? (await freePort());
    const chatEnv = { ALLOWED_ORIGINS: `http://127.0.0.1:${port},http://localhost:${port}`, ...options.chatEnv };
    const startChat = (index: number, chatPort?: number) =>
      startChatServer({ instance: `chat-${index + 1}`, redisUrl, echo, env: chatEnv, port: chatPort });
    running.chat = await Promise.all(Array.from({ length: options.instances ?? 3 }, (_, i) => startChat(i)));

    running.web = options.web ? await startWeb({ echo }) : null;

    const resolve: Record<string, string> = {
      // Without a web app, `/` points at a closed port and answers 502.
      'web:3000': `127.0.0.1:${running.web?.port ?? (await freePort())}`,
    };
    for (const server of running.chat) resolve[`${server.instance}:3000`] = `127.0.0.1:${server.port}`;

    const startDoor = () =>
      (options.frontDoor === 'nginx' ? startNginx : startGateway)({ resolve, port, host: options.host, echo });
    running.door = await startDoor();

    return {
      redis: running.redis,
      redisUrl,
      chatServers: running.chat,
      web: running.web,
      get frontDoor() {
        return running.door!;
      },
      url: running.door.url,
      async restartChatServer(index) {
        running.chat[index] = await startChat(index, running.chat[index]!.port);
        return running.chat[index];
      },
      async restartFrontDoor() {
        running.door = await startDoor();
        return running.door;
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
