import { compareMessageIds, defaultRoom, type Message, type RoomSummary, type Session, type User } from '@chat/protocol';
import { mergeMessages } from './messages';

/**
 * The whole chat state and the pure reducer that changes it. Nothing here touches the socket,
 * the clock or storage: the controller (chatClient.ts) feeds it actions, the components read it.
 */

export type ConnectionStatus =
  /** No name yet: nothing to connect. */
  | 'idle'
  | 'connecting'
  | 'connected'
  /** The connection failed or dropped; Socket.IO keeps retrying. */
  | 'reconnecting'
  /** The server turned the handshake down (e.g. a bad name); no retry. */
  | 'refused'
  /** The server closed the connection; no automatic retry. */
  | 'disconnected';

/** Why a send failed: a protocol ErrorCode, or `timeout` when no ack came back in time. */
export interface SendError {
  code: string;
  message: string;
}

/** One of the user's own messages that the server has not acknowledged (yet). */
export interface PendingMessage {
  /** The idempotency key sent with every attempt: a retry can never store the message twice. */
  clientId: string;
  room: string;
  /** Already trimmed, like the server will store it. */
  text: string;
  /** When it was written, local clock. */
  ts: number;
  status: 'pending' | 'failed';
  error?: SendError;
  /**
   * The id of a `message:new` that is most likely this message coming back before its ack. The
   * pending copy is hidden meanwhile, so the message never shows twice; the ack settles it.
   */
  echoOf?: string;
}

export interface TypingEntry {
  user: User;
  /** Local clock; the client drops the indicator then even if `typing: false` never comes. */
  expiresAt: number;
}

export interface RoomState {
  room: string;
  /** Joined on the current connection (and caught up): sends may go out. */
  joined: boolean;
  /** The room's recent history has been loaded once; later arrivals can count as unread. */
  loaded: boolean;
  /** Confirmed messages, oldest first, de-duplicated and ordered by id. */
  messages: readonly Message[];
  /** Own messages without an ack, in the order written. */
  pending: readonly PendingMessage[];
  /** Who is here, from `presence:update`; null until the server said. */
  members: readonly User[] | null;
  typing: readonly TypingEntry[];
  /** Messages from others that arrived while the room was not in view. */
  unread: number;
  /** History goes further back than the oldest message held. */
  hasOlder: boolean;
  loadingOlder: boolean;
  error: string | null;
}

export interface ChatState {
  /** The display name, once chosen. */
  name: string | null;
  /** The stable user id sent in the handshake; tells own messages apart before `session` arrives. */
  userId: string | null;
  status: ConnectionStatus;
  /** What went wrong with the connection last, for the user; cleared once connected again. */
  error: string | null;
  session: Session | null;
  /** The Engine.IO transport in use, e.g. `websocket`. */
  transport: string | null;
  /** The room in view; always one of `openRooms`. */
  current: string;
  /** Rooms the user opened (the socket stays joined to all of them), the default room first. */
  openRooms: readonly string[];
  rooms: Readonly<Record<string, RoomState>>;
  /** The server's room directory from `rooms:list`, most recently active first. */
  directory: readonly RoomSummary[] | null;
}

/** A typing indicator disappears this long after its last refresh, whatever the server says. */
export const TYPING_DISPLAY_MS = 6_000;

export function emptyRoom(room: string): RoomState {
  return {
    room,
    joined: false,
    loaded: false,
    messages: [],
    pending: [],
    members: null,
    typing: [],
    unread: 0,
    hasOlder: false,
    loadingOlder: false,
    error: null,
  };
}

export const initialState: ChatState = {
  name: null,
  userId: null,
  status: 'idle',
  error: null,
  session: null,
  transport: null,
  current: defaultRoom,
  openRooms: [defaultRoom],
  rooms: { [defaultRoom]: emptyRoom(defaultRoom) },
  directory: null,
};

export type ChatAction =
  /** Signed in: a fresh state for this user and their remembered rooms. */
  | { type: 'started'; name: string; userId: string; rooms: readonly string[]; current: string }
  | { type: 'signedOut' }
  | { type: 'connecting' }
  | { type: 'connected'; transport: string | null }
  | { type: 'session'; session: Session }
  | { type: 'connectionLost'; status: 'reconnecting' | 'refused' | 'disconnected'; error: string }
  | { type: 'roomOpened'; room: string }
  | { type: 'roomSelected'; room: string }
  | { type: 'roomClosed'; room: string }
  /** `room:join` acked (and any catch-up done): merge the latest messages, sends may go out. */
  | { type: 'roomJoined'; room: string; messages: readonly Message[]; historyLimit: number }
  | { type: 'roomJoinFailed'; room: string; error: string }
  /** Catch-up could not close the gap: start over from the latest messages. */
  | { type: 'roomReset'; room: string; messages: readonly Message[] }
  /** Live (`message:new`) or caught-up messages. */
  | { type: 'messagesReceived'; room: string; messages: readonly Message[] }
  | { type: 'olderRequested'; room: string }
  | { type: 'olderLoaded'; room: string; messages: readonly Message[]; hasOlder: boolean }
  | { type: 'olderFailed'; room: string; error: string }
  | { type: 'sendQueued'; message: PendingMessage }
  | { type: 'sendSucceeded'; room: string; clientId: string; message: Message }
  | { type: 'sendFailed'; room: string; clientId: string; error: SendError }
  | { type: 'sendRetried'; room: string; clientId: string }
  | { type: 'sendDiscarded'; room: string; clientId: string }
  | { type: 'presenceUpdated'; room: string; members: readonly User[] }
  | { type: 'typingUpdated'; room: string; user: User; typing: boolean; now: number }
  | { type: 'typingExpired'; now: number }
  | { type: 'directoryLoaded'; rooms: readonly RoomSummary[] };

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case 'started': {
      const openRooms = [...new Set([defaultRoom, ...action.rooms, action.current])];
      return {
        ...initialState,
        name: action.name,
        userId: action.userId,
        status: 'connecting',
        current: action.current,
        openRooms,
        rooms: Object.fromEntries(openRooms.map((room) => [room, emptyRoom(room)])),
      };
    }
    case 'signedOut':
      return initialState;
    case 'connecting':
      return { ...state, status: 'connecting', error: null };
    case 'connected':
      return { ...state, status: 'connected', error: null, transport: action.transport };
    case 'session':
      return { ...state, session: action.session };
    case 'connectionLost':
      return {
        ...state,
        status: action.status,
        error: action.error,
        session: null,
        transport: null,
        rooms: mapRooms(state.rooms, (room) =>
          room.joined || room.typing.length || room.loadingOlder ? { ...room, joined: false, typing: [], loadingOlder: false } : room,
        ),
      };
    case 'roomOpened': {
      if (state.rooms[action.room]) return selectRoom(state, action.room);
      return selectRoom(
        { ...state, openRooms: [...state.openRooms, action.room], rooms: { ...state.rooms, [action.room]: emptyRoom(action.room) } },
        action.room,
      );
    }
    case 'roomSelected':
      return state.rooms[action.room] ? selectRoom(state, action.room) : state;
    case 'roomClosed': {
      if (action.room === defaultRoom || !state.rooms[action.room]) return state;
      const rooms = { ...state.rooms };
      delete rooms[action.room];
      const next = { ...state, openRooms: state.openRooms.filter((room) => room !== action.room), rooms };
      return state.current === action.room ? selectRoom(next, defaultRoom) : next;
    }
    case 'roomJoined': {
      const room = state.rooms[action.room];
      if (!room) return state;
      const received = receive(state, room, action.messages);
      return withRoom(state, {
        ...received,
        joined: true,
        error: null,
        loaded: true,
        // The first page decides whether there is more; later joins keep what scroll-back learnt.
        hasOlder: room.loaded ? received.hasOlder : action.messages.length >= action.historyLimit,
      });
    }
    case 'roomJoinFailed':
      return updateRoom(state, action.room, (room) => ({ ...room, joined: false, error: action.error }));
    case 'roomReset':
      return updateRoom(state, action.room, (room) => ({
        ...room,
        messages: mergeMessages([], action.messages),
        loaded: true,
        hasOlder: true,
      }));
    case 'messagesReceived': {
      const room = state.rooms[action.room];
      if (!room) return state;
      const next = receive(state, room, action.messages);
      return next === room ? state : withRoom(state, next);
    }
    case 'olderRequested':
      return updateRoom(state, action.room, (room) => ({ ...room, loadingOlder: true, error: null }));
    case 'olderLoaded':
      return updateRoom(state, action.room, (room) => ({
        ...room,
        messages: mergeMessages(room.messages, action.messages),
        hasOlder: action.hasOlder,
        loadingOlder: false,
      }));
    case 'olderFailed':
      return updateRoom(state, action.room, (room) => ({ ...room, loadingOlder: false, error: action.error }));
    case 'sendQueued':
      return updateRoom(state, action.message.room, (room) => ({ ...room, pending: [...room.pending, action.message] }));
    case 'sendSucceeded':
      return updateRoom(state, action.room, (room) => ({
        ...room,
        messages: mergeMessages(room.messages, [action.message]),
        pending: room.pending.filter((message) => message.clientId !== action.clientId),
      }));
    case 'sendFailed':
      return updatePending(state, action.room, action.clientId, (message) => ({
        ...message,
        status: 'failed',
        error: action.error,
        echoOf: undefined,
      }));
    case 'sendRetried':
      return updatePending(state, action.room, action.clientId, (message) => ({ ...message, status: 'pending', error: undefined }));
    case 'sendDiscarded':
      return updateRoom(state, action.room, (room) => ({
        ...room,
        pending: room.pending.filter((message) => message.clientId !== action.clientId),
      }));
    case 'presenceUpdated':
      return updateRoom(state, action.room, (room) => {
        const present = new Set(action.members.map((member) => member.id));
        return { ...room, members: action.members, typing: room.typing.filter((entry) => present.has(entry.user.id)) };
      });
    case 'typingUpdated': {
      if (action.user.id === selfId(state)) return state; // our other tab
      return updateRoom(state, action.room, (room) => {
        const others = room.typing.filter((entry) => entry.user.id !== action.user.id);
        if (!action.typing) return others.length === room.typing.length ? room : { ...room, typing: others };
        return { ...room, typing: [...others, { user: action.user, expiresAt: action.now + TYPING_DISPLAY_MS }] };
      });
    }
    case 'typingExpired': {
      const rooms = mapRooms(state.rooms, (room) => {
        const live = room.typing.filter((entry) => entry.expiresAt > action.now);
        return live.length === room.typing.length ? room : { ...room, typing: live };
      });
      return rooms === state.rooms ? state : { ...state, rooms };
    }
    case 'directoryLoaded':
      return { ...state, directory: action.rooms };
  }
}

/**
 * Merges arrivals into a room: de-duplicated by id, unread counted for new messages from others
 * while the room is not in view (live or caught up, not scroll-back), own messages matched with their
 * pending copies, and a sender's typing indicator dropped once their message is here.
 */
function receive(state: ChatState, room: RoomState, incoming: readonly Message[]): RoomState {
  const messages = mergeMessages(room.messages, incoming);
  if (messages === room.messages) return room;
  const known = new Set(room.messages.map((message) => message.id));
  const fresh = dedupe(incoming.filter((message) => !known.has(message.id)));
  const self = selfId(state);
  // Anything older than the oldest message held is scroll-back, never unread.
  const oldest = room.messages[0]?.id;

  let unread = room.unread;
  if (room.loaded && room.room !== state.current) {
    unread += fresh.filter(
      (message) => message.author.id !== self && (oldest === undefined || compareMessageIds(message.id, oldest) > 0),
    ).length;
  }

  let pending = room.pending;
  for (const message of fresh) {
    if (message.author.id !== self) continue;
    const index = pending.findIndex((p) => p.status === 'pending' && !p.echoOf && p.text === message.text);
    if (index === -1) continue;
    pending = pending.map((p, i) => (i === index ? { ...p, echoOf: message.id } : p));
  }

  const authors = new Set(fresh.map((message) => message.author.id));
  const typing = room.typing.some((entry) => authors.has(entry.user.id))
    ? room.typing.filter((entry) => !authors.has(entry.user.id))
    : room.typing;

  return { ...room, messages, unread, pending, typing };
}

function dedupe(messages: readonly Message[]): Message[] {
  const seen = new Set<string>();
  return messages.filter((message) => !seen.has(message.id) && Boolean(seen.add(message.id)));
}

function selectRoom(state: ChatState, room: string): ChatState {
  const target = state.rooms[room];
  if (!target) return state;
  const next = state.current === room ? state : { ...state, current: room };
  return target.unread === 0 ? next : withRoom(next, { ...target, unread: 0 });
}

function withRoom(state: ChatState, room: RoomState): ChatState {
  return { ...state, rooms: { ...state.rooms, [room.room]: room } };
}

function updateRoom(state: ChatState, name: string, update: (room: RoomState) => RoomState): ChatState {
  const room = state.rooms[name];
  if (!room) return state;
  const next = update(room);
  return next === room ? state : withRoom(state, next);
}

function updatePending(
  state: ChatState,
  name: string,
  clientId: string,
  update: (message: PendingMessage) => PendingMessage,
): ChatState {
  return updateRoom(state, name, (room) => {
    if (!room.pending.some((message) => message.clientId === clientId)) return room;
    return { ...room, pending: room.pending.map((message) => (message.clientId === clientId ? update(message) : message)) };
  });
}

function mapRooms(
  rooms: Readonly<Record<string, RoomState>>,
  update: (room: RoomState) => RoomState,
): Readonly<Record<string, RoomState>> {
  let changed = false;
  const next: Record<string, RoomState> = {};
  for (const [name, room] of Object.entries(rooms)) {
    next[name] = update(room);
    if (next[name] !== room) changed = true;
  }
  return changed ? next : rooms;
}

// Selectors

export function selfId(state: ChatState): string | null {
  return state.session?.user.id ?? state.userId;
}

export function currentRoom(state: ChatState): RoomState {
  return state.rooms[state.current] ?? emptyRoom(state.current);
}

/** Pending messages to show: those whose echo already arrived are shown as the real message. */
export function visiblePending(room: RoomState): readonly PendingMessage[] {
  return room.pending.filter((message) => !message.echoOf);
}

export function totalUnread(state: ChatState): number {
  return Object.values(state.rooms).reduce((sum, room) => sum + room.unread, 0);
}

/** Members present in a room: exact for open rooms (presence), else the directory's count. */
export function memberCount(state: ChatState, room: string): number | null {
  const members = state.rooms[room]?.members;
  if (members) return members.length;
  return state.directory?.find((summary) => summary.room === room)?.members ?? null;
}

export function newestMessageId(room: RoomState): string | undefined {
  return room.messages.at(-1)?.id;
}
