import { io, type DisconnectDescription, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type {
  Ack,
  ClientToServerEvents,
  ErrorCode,
  HistoryFetchPayload,
  Message,
  RoomSummary,
  ServerToClientEvents,
} from '@chat/protocol';

export type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A protocol error code, or what the client itself can tell: no answer in time, or not connected. */
export type ClientErrorCode = ErrorCode | 'timeout' | 'offline';

export type Result<T extends object = object> = ({ ok: true } & T) | { ok: false; error: { code: ClientErrorCode; message: string } };

/** How long to wait for an ack before giving up on it. */
export const ACK_TIMEOUT_MS = 10_000;

export interface ConnectionAuth {
  name: string;
  userId: string;
}

/**
 * One Socket.IO connection to this page's own origin, with each client event as a typed request
 * that always resolves: an ack, `timeout`, or `offline` when the socket is not (or no longer)
 * connected. Socket.IO reconnects by itself; every reconnection is a new server-side socket.
 */
export class Connection {
  readonly socket: ChatSocket;

  /**
   * `url` is for Node, where there is no page origin (tests connect to a front door on a loopback
   * port); the browser leaves it out and connects to its own origin as before.
   */
  constructor(auth: ConnectionAuth, { url, ...options }: Partial<ManagerOptions & SocketOptions> & { url?: string } = {}) {
    // Same origin: the front door proxies /socket.io/ to the chat servers. Socket.IO's default
    // transports: long-polling first (it passes any proxy), then an upgrade to a WebSocket. The
    // front door keeps every request of a polling session on its instance by the engine session
    // id (see infra/nginx.conf and docs/architecture.md, "Transports and stickiness").
    const settings: Partial<ManagerOptions & SocketOptions> = {
      path: '/socket.io/',
      // Its own manager: a later sign-in (another name) never reuses this one's handshake.
      forceNew: true,
      autoConnect: false,
      auth: { name: auth.name, userId: auth.userId },
      ...options,
    };
    this.socket = url ? io(url, settings) : io(settings);
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  /** The Engine.IO transport in use, e.g. `websocket`. */
  get transport(): string | null {
    return this.socket.io.engine?.transport?.name ?? null;
  }

  open(): void {
    this.socket.connect();
  }

  close(): void {
    this.socket.removeAllListeners();
    this.socket.disconnect();
  }

  join(room: string): Promise<Result<{ room: string; messages: Message[] }>> {
    return this.call(() => this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('room:join', { room }));
  }

  leave(room: string): Promise<Result> {
    return this.call(() => this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('room:leave', { room }));
  }

  send(room: string, text: string, clientId: string): Promise<Result<{ message: Message }>> {
    return this.call(() => this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('message:send', { room, text, clientId }));
  }

  listRooms(): Promise<Result<{ rooms: RoomSummary[] }>> {
    return this.call(() => this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('rooms:list', {}));
  }

  fetchHistory(payload: HistoryFetchPayload): Promise<Result<{ messages: Message[] }>> {
    return this.call(() => this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('history:fetch', payload));
  }

  typing(room: string, typing: boolean): Promise<Result> {
    return this.call(() => this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('typing', { room, typing }));
  }

  private async call<T extends object>(request: () => Promise<Ack<T>>): Promise<Result<T>> {
    // Socket.IO would buffer the event until the next connection; the caller decides instead.
    if (!this.socket.connected) return offline();
    try {
      return await request();
    } catch {
      // Pending acks are rejected when the connection drops: that is not a timeout.
      if (!this.socket.connected) return offline();
      return { ok: false, error: { code: 'timeout', message: 'the server did not answer in time' } };
    }
  }
}

/** WebSocket close code for a frame over the receiver's limit (RFC 6455, "Message Too Big"). */
const MESSAGE_TOO_BIG = 1009;
/** HTTP status for a request body over the server's limit ("Payload Too Large"). */
const PAYLOAD_TOO_LARGE = 413;

/**
 * Whether the server dropped the connection for a packet over its size limit (the chat server's
 * MAX_HTTP_BUFFER_SIZE): the WebSocket closed with 1009, or a long-polling POST was answered 413.
 * `details` is the second argument of Socket.IO's `disconnect` event.
 */
export function droppedForSize(details: DisconnectDescription | undefined): boolean {
  if (details instanceof Error) return 'description' in details && details.description === PAYLOAD_TOO_LARGE;
  const context: unknown = details?.context;
  return typeof context === 'object' && context !== null && 'code' in context && context.code === MESSAGE_TOO_BIG;
}

function offline(): { ok: false; error: { code: 'offline'; message: string } } {
  return { ok: false, error: { code: 'offline', message: 'not connected' } };
}
