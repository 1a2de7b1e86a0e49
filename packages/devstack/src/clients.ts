import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents, Session } from '@chat/protocol';

export type ChatClient = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface ConnectedClient {
  socket: ChatClient;
  session: Session;
}

/**
 * A real socket.io-client connected to `url` (a chat server or a front door), resolved once the
 * server's `session` event arrives. Websocket-only unless `options.transports` says otherwise.
 */
export function connectClient(
  url: string,
  name: string,
  options: Partial<ManagerOptions & SocketOptions> = {},
): Promise<ConnectedClient> {
  const socket: ChatClient = io(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 5_000,
    auth: { name },
    ...options,
  });
  return new Promise((resolve, reject) => {
    socket.once('session', (session) => resolve({ socket, session }));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
}

/** Resolves with the next `event` the socket receives that satisfies `match`. */
export function nextEvent<E extends keyof ServerToClientEvents>(
  socket: ChatClient,
  event: E,
  match: (...args: Parameters<ServerToClientEvents[E]>) => boolean = () => true,
  timeoutMs = 5_000,
): Promise<Parameters<ServerToClientEvents[E]>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener as never);
      reject(new Error(`no "${event}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (...args: Parameters<ServerToClientEvents[E]>) => {
      if (!match(...args)) return;
      clearTimeout(timer);
      socket.off(event, listener as never);
      resolve(args);
    };
    socket.on(event, listener as never);
  });
}
