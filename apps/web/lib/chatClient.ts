import { defaultRoom, limits, textSchema, type Message } from '@chat/protocol';
import { catchUp } from './catchUp';
import { chatReducer, initialState, newestMessageId, type ChatAction, type ChatState, type PendingMessage } from './chatState';
import { Connection, droppedForSize, type ConnectionAuth, type Result } from './connection';
import { randomId } from './ids';
import { ChatStorage } from './storage';
import { TypingNotifier } from './typing';

/** Room directory refresh while connected (it is also refreshed when presence changes). */
const DIRECTORY_REFRESH_MS = 15_000;
const DIRECTORY_DEBOUNCE_MS = 500;
/** Scroll-back page size. */
const OLDER_PAGE = 50;
/** Catch-up gives up (and restarts from the latest messages) beyond this many pages. */
const CATCH_UP_MAX_PAGES = 20;

export interface ChatClientOptions {
  storage?: ChatStorage;
  connect?: (auth: ConnectionAuth) => Connection;
  now?: () => number;
}

/**
 * The chat controller: owns the connection, feeds server events and ack results to the pure
 * reducer, and keeps what must survive a reload in storage. Framework-free: React reads it
 * through `useSyncExternalStore` (see useChat.ts).
 */
export class ChatClient {
  private state: ChatState = initialState;
  private readonly listeners = new Set<() => void>();
  private readonly storage: ChatStorage;
  private readonly createConnection: (auth: ConnectionAuth) => Connection;
  private readonly now: () => number;
  private connection: Connection | null = null;
  private readonly typing: TypingNotifier;
  /** clientIds with a send on the wire, so a flush after a rejoin never doubles one. */
  private readonly inFlight = new Set<string>();
  private directoryTimer: ReturnType<typeof setInterval> | undefined;
  private directoryDebounce: ReturnType<typeof setTimeout> | undefined;
  private typingTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: ChatClientOptions = {}) {
    this.storage = options.storage ?? new ChatStorage();
    this.createConnection = options.connect ?? ((auth) => new Connection(auth));
    this.now = options.now ?? Date.now;
    this.typing = new TypingNotifier((room, typing) => {
      void this.connection?.typing(room, typing);
    }, this.now);
  }

  // The store interface for useSyncExternalStore: stable functions, immutable snapshots.

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getState = (): ChatState => this.state;

  private dispatch(action: ChatAction): void {
    const next = chatReducer(this.state, action);
    if (next === this.state) return;
    this.state = next;
    for (const listener of this.listeners) listener();
  }

  // Lifecycle

  /** Connects with the remembered name, if there is one. Call once the page is in the browser. */
  start = (): void => {
    const name = this.storage.loadName();
    if (name && !this.connection) this.connect(name);
  };

  /** Closes the connection (the page is going away); `start` connects again. */
  stop = (): void => {
    this.disconnect();
  };

  signIn = (name: string): void => {
    this.storage.saveName(name);
    this.connect(name);
  };

  signOut = (): void => {
    this.typing.stop();
    this.storage.clearName();
    this.disconnect();
    this.dispatch({ type: 'signedOut' });
  };

  /** After the server closed the connection: try again, keeping everything held. */
  reconnect = (): void => {
    if (!this.connection) return;
    this.dispatch({ type: 'connecting' });
    this.connection.open();
  };

  // Rooms

  openRoom = (room: string): void => {
    if (room !== this.state.current) this.typing.stop();
    const isNew = !this.state.rooms[room];
    this.dispatch({ type: 'roomOpened', room });
    this.persistRooms();
    const connection = this.connection;
    if (isNew && connection?.connected) void this.join(connection, room).then(() => this.refreshDirectory());
  };

  selectRoom = (room: string): void => {
    if (room !== this.state.current) this.typing.stop();
    this.dispatch({ type: 'roomSelected', room });
    this.persistRooms();
  };

  closeRoom = (room: string): void => {
    if (room === defaultRoom || !this.state.rooms[room]) return;
    if (room === this.state.current) this.typing.stop();
    void this.connection?.leave(room).then(() => this.refreshDirectory());
    this.dispatch({ type: 'roomClosed', room });
    this.persistRooms();
  };

  /** Scroll-back: the page of history before the oldest message held. */
  loadOlder = async (room: string): Promise<void> => {
    const state = this.state.rooms[room];
    const oldest = state?.messages[0];
    const connection = this.connection;
    if (!state || !oldest || !state.hasOlder || state.loadingOlder || !connection?.connected) return;
    this.dispatch({ type: 'olderRequested', room });
    const ack = await connection.fetchHistory({ room, before: oldest.id, limit: OLDER_PAGE });
    if (ack.ok) this.dispatch({ type: 'olderLoaded', room, messages: ack.messages, hasOlder: ack.messages.length >= OLDER_PAGE });
    else this.dispatch({ type: 'olderFailed', room, error: `Could not load earlier messages: ${ack.error.message}` });
  };

  // Messages

  /** Queues a message for the room in view; returns why the text is not acceptable, or null. */
  send = (text: string): string | null => {
    const parsed = textSchema.safeParse(text);
    if (!parsed.success) return `Message ${parsed.error.issues[0]?.message ?? 'is invalid'}`;
    const message: PendingMessage = {
      clientId: randomId(),
      room: this.state.current,
      text: parsed.data,
      ts: this.now(),
      status: 'pending',
    };
    this.typing.stop();
    this.dispatch({ type: 'sendQueued', message });
    void this.deliver(message.room, message.clientId);
    return null;
  };

  /** Sends a failed message again, with the same clientId: stored at most once. */
  retry = (room: string, clientId: string): void => {
    this.dispatch({ type: 'sendRetried', room, clientId });
    void this.deliver(room, clientId);
  };

  discard = (room: string, clientId: string): void => {
    this.dispatch({ type: 'sendDiscarded', room, clientId });
  };

  // Typing

  composerChanged = (text: string): void => {
    if (this.connection?.connected) this.typing.input(this.state.current, text);
  };

  composerBlurred = (): void => {
    this.typing.stop();
  };

  // Connection

  private connect(name: string): void {
    this.disconnect();
    const userId = this.storage.userId();
    const rooms = this.storage.loadRooms();
    this.dispatch({ type: 'started', name, userId, rooms, current: this.storage.loadCurrentRoom(rooms) });

    const connection = this.createConnection({ name, userId });
    this.connection = connection;
    const { socket } = connection;
    const live = () => this.connection === connection;

    socket.on('connect', () => {
      if (live()) void this.onConnect(connection);
    });
    // Socket.IO connects over long-polling, then upgrades to a WebSocket: show the new transport.
    socket.io.on('open', () => {
      socket.io.engine.on('upgrade', (transport: { name: string }) => {
        if (live() && socket.connected) this.dispatch({ type: 'connected', transport: transport.name });
      });
    });
    socket.on('session', (session) => {
      if (live()) this.dispatch({ type: 'session', session });
    });
    socket.on('message:new', (message) => {
      if (live()) this.dispatch({ type: 'messagesReceived', room: message.room, messages: [message] });
    });
    socket.on('presence:update', ({ room, members }) => {
      if (!live()) return;
      this.dispatch({ type: 'presenceUpdated', room, members });
      this.scheduleDirectoryRefresh();
    });
    socket.on('typing:update', ({ room, user, typing }) => {
      if (live()) this.dispatch({ type: 'typingUpdated', room, user, typing, now: this.now() });
    });
    socket.on('connect_error', (error) => {
      if (!live()) return;
      // Inactive after a connect_error means the server refused the handshake: no retry.
      if (socket.active) this.lost('reconnecting', `Cannot reach the chat server (${error.message})`);
      else this.lost('refused', error.message);
    });
    socket.on('disconnect', (reason, details) => {
      if (!live()) return;
      const cause = droppedForSize(details) ? 'a message was larger than the server accepts' : reason;
      if (socket.active) this.lost('reconnecting', `Connection lost (${cause})`);
      else this.lost('disconnected', reason === 'io client disconnect' ? 'Disconnected' : `Disconnected by the server (${cause})`);
    });

    this.typingTimer = setInterval(() => this.expireTyping(), 1_000);
    connection.open();
  }

  private disconnect(): void {
    clearInterval(this.directoryTimer);
    clearInterval(this.typingTimer);
    clearTimeout(this.directoryDebounce);
    this.typing.reset();
    this.inFlight.clear();
    this.connection?.close();
    this.connection = null;
  }

  private lost(status: 'reconnecting' | 'refused' | 'disconnected', error: string): void {
    clearInterval(this.directoryTimer);
    this.typing.reset();
    this.dispatch({ type: 'connectionLost', status, error });
  }

  /** Every (re)connection is a new server-side socket, maybe on another instance: rejoin everything. */
  private async onConnect(connection: Connection): Promise<void> {
    this.dispatch({ type: 'connected', transport: connection.transport });
    clearInterval(this.directoryTimer);
    this.directoryTimer = setInterval(() => void this.refreshDirectory(), DIRECTORY_REFRESH_MS);
    void this.refreshDirectory();
    // The room in view first.
    const rooms = [this.state.current, ...this.state.openRooms.filter((room) => room !== this.state.current)];
    await Promise.all(rooms.map((room) => this.join(connection, room)));
  }

  /**
   * Joins a room and closes any gap: when messages are already held, what came after the newest
   * of them is fetched page by page before the room counts as joined. Then held sends go out.
   */
  private async join(connection: Connection, room: string): Promise<void> {
    const newest = this.state.rooms[room] && newestMessageId(this.state.rooms[room]);
    const ack = await connection.join(room);
    if (!this.isCurrent(connection) || !this.state.rooms[room]) return;
    if (!ack.ok) {
      if (ack.error.code !== 'offline') this.dispatch({ type: 'roomJoinFailed', room, error: `Could not join #${room}: ${ack.error.message}` });
      return;
    }
    if (newest) {
      const result = await catchUp({
        after: newest,
        pageSize: limits.fetchMax,
        maxPages: CATCH_UP_MAX_PAGES,
        fetchPage: async (after) => {
          const page = await connection.fetchHistory({ room, after, limit: limits.fetchMax });
          return page.ok && this.isCurrent(connection) ? page.messages : null;
        },
        onPage: (messages) => this.dispatch({ type: 'messagesReceived', room, messages }),
      });
      if (!this.isCurrent(connection) || !connection.connected) return;
      if (result !== 'complete') this.dispatch({ type: 'roomReset', room, messages: ack.messages });
    }
    this.dispatch({ type: 'roomJoined', room, messages: ack.messages, historyLimit: limits.joinHistory });
    for (const message of this.state.rooms[room]?.pending ?? []) {
      if (message.status === 'pending') void this.deliver(room, message.clientId);
    }
  }

  /** Sends a pending message if the room is joined; otherwise it waits for the (re)join. */
  private async deliver(room: string, clientId: string): Promise<void> {
    const connection = this.connection;
    const message = this.state.rooms[room]?.pending.find((p) => p.clientId === clientId);
    if (!connection || !message || message.status !== 'pending' || this.inFlight.has(clientId)) return;
    if (!connection.connected || !this.state.rooms[room]?.joined) return;
    this.inFlight.add(clientId);
    let ack: Result<{ message: Message }>;
    try {
      ack = await connection.send(room, message.text, clientId);
    } finally {
      this.inFlight.delete(clientId);
    }
    if (!this.isCurrent(connection)) return;
    if (ack.ok) this.dispatch({ type: 'sendSucceeded', room, clientId, message: ack.message });
    // Dropped mid-flight: it stays pending and goes out again, same clientId, after the rejoin.
    else if (ack.error.code === 'offline') return;
    else this.dispatch({ type: 'sendFailed', room, clientId, error: ack.error });
  }

  private async refreshDirectory(): Promise<void> {
    const connection = this.connection;
    if (!connection?.connected) return;
    const ack = await connection.listRooms();
    if (ack.ok && this.isCurrent(connection)) this.dispatch({ type: 'directoryLoaded', rooms: ack.rooms });
  }

  private scheduleDirectoryRefresh(): void {
    clearTimeout(this.directoryDebounce);
    this.directoryDebounce = setTimeout(() => void this.refreshDirectory(), DIRECTORY_DEBOUNCE_MS);
  }

  private expireTyping(): void {
    const now = this.now();
    const expired = Object.values(this.state.rooms).some((room) => room.typing.some((entry) => entry.expiresAt <= now));
    if (expired) this.dispatch({ type: 'typingExpired', now });
  }

  private isCurrent(connection: Connection): boolean {
    return this.connection === connection;
  }

  private persistRooms(): void {
    this.storage.saveRooms(this.state.openRooms);
    this.storage.saveCurrentRoom(this.state.current);
  }
}
