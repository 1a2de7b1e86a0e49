import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { io, type Socket } from 'socket.io-client';
import {
  defaultRoom,
  textSchema,
  type ClientToServerEvents,
  type Message,
  type ServerToClientEvents,
  type Session,
} from '@chat/protocol';
import { mergeMessages } from './messages';

export type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export type ConnectionStatus =
  /** No name yet: nothing to connect. */
  | 'idle'
  | 'connecting'
  | 'connected'
  /** The connection failed or dropped; Socket.IO keeps retrying. */
  | 'reconnecting'
  /** The server turned the handshake down (e.g. a bad name); no retry. */
  | 'refused'
  /** The server closed the connection; no retry. */
  | 'disconnected';

export interface ChatState {
  status: ConnectionStatus;
  /** What went wrong last, for the user; cleared once connected again. */
  error: string | null;
  session: Session | null;
  /** The Engine.IO transport in use, e.g. `websocket`. */
  transport: string | null;
  room: string;
  joined: boolean;
  /** Oldest first, de-duplicated by id. */
  messages: readonly Message[];
}

type Action =
  | { type: 'start' }
  | { type: 'connected'; transport: string }
  | { type: 'session'; session: Session }
  | { type: 'joined'; messages: readonly Message[] }
  | { type: 'messages'; messages: readonly Message[] }
  | { type: 'failed'; status: 'reconnecting' | 'refused' | 'disconnected'; error: string }
  | { type: 'error'; error: string }
  | { type: 'reset' };

const initialState: ChatState = {
  status: 'idle',
  error: null,
  session: null,
  transport: null,
  room: defaultRoom,
  joined: false,
  messages: [],
};

function reducer(state: ChatState, action: Action): ChatState {
  switch (action.type) {
    case 'start':
      return { ...initialState, status: 'connecting' };
    case 'connected':
      return { ...state, status: 'connected', error: null, transport: action.transport };
    case 'session':
      return { ...state, session: action.session };
    case 'joined':
      return { ...state, joined: true, messages: mergeMessages(state.messages, action.messages) };
    case 'messages': {
      const messages = mergeMessages(state.messages, action.messages);
      return messages === state.messages ? state : { ...state, messages };
    }
    case 'failed':
      return { ...state, status: action.status, error: action.error, session: null, transport: null, joined: false };
    case 'error':
      return { ...state, error: action.error };
    case 'reset':
      return initialState;
  }
}

/** How long to wait for an ack before telling the user the server did not answer. */
const ACK_TIMEOUT_MS = 10_000;

export interface UseChat {
  state: ChatState;
  /** The name the user connected with, or null before they chose one. */
  name: string | null;
  /** Connects (or reconnects) with this display name; validate it with `nameSchema` first. */
  connect(name: string): void;
  /** Closes the connection and forgets the name. */
  leave(): void;
  /** Sends a message to the current room; resolves with an error to show, or null once it is accepted. */
  send(text: string): Promise<string | null>;
}

/** The chat connection and its state: one Socket.IO connection to this page's own origin. */
export function useChat(): UseChat {
  const [state, dispatch] = useReducer(reducer, initialState);
  // `attempt` makes a retry with the same name open a fresh connection.
  const [identity, setIdentity] = useState<{ name: string; attempt: number } | null>(null);
  const socketRef = useRef<ChatSocket | null>(null);
  const room = state.room;

  useEffect(() => {
    if (!identity) return;

    // Same origin: the gateway proxies /socket.io/ to the chat servers. WebSocket only, because
    // the chat servers sit behind a round-robin proxy without sticky routing yet, and HTTP
    // long-polling needs every request of a session to reach the same instance.
    const socket: ChatSocket = io({
      path: '/socket.io/',
      transports: ['websocket'],
      auth: { name: identity.name },
    });
    socketRef.current = socket;

    const join = async () => {
      try {
        const ack = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('room:join', { room });
        if (ack.ok) dispatch({ type: 'joined', messages: ack.messages });
        else dispatch({ type: 'error', error: `Could not join #${room}: ${ack.error.message}` });
      } catch {
        if (socket.connected) dispatch({ type: 'error', error: `Could not join #${room}: the server did not answer` });
      }
    };

    socket.on('connect', () => {
      dispatch({ type: 'connected', transport: socket.io.engine.transport.name });
      // Every (re)connection is a new server-side socket, maybe on another instance: join again.
      // The history in the ack also fills any gap left while we were away.
      void join();
    });
    socket.on('session', (session) => dispatch({ type: 'session', session }));
    socket.on('message:new', (message) => {
      if (message.room === room) dispatch({ type: 'messages', messages: [message] });
    });
    socket.on('connect_error', (error) => {
      // Inactive after a connect_error means the server refused the handshake: it will not retry.
      if (socket.active) {
        dispatch({ type: 'failed', status: 'reconnecting', error: `Cannot reach the chat server (${error.message}); retrying…` });
      } else {
        dispatch({ type: 'failed', status: 'refused', error: error.message });
      }
    });
    socket.on('disconnect', (reason) => {
      if (socket.active) {
        dispatch({ type: 'failed', status: 'reconnecting', error: `Connection lost (${reason}); reconnecting…` });
      } else {
        dispatch({ type: 'failed', status: 'disconnected', error: `Disconnected by the server (${reason})` });
      }
    });

    return () => {
      socket.removeAllListeners();
      socket.disconnect();
      if (socketRef.current === socket) socketRef.current = null;
    };
  }, [identity, room]);

  const connect = useCallback((name: string) => {
    dispatch({ type: 'start' });
    setIdentity((previous) => ({ name, attempt: (previous?.attempt ?? 0) + 1 }));
  }, []);

  const leave = useCallback(() => {
    dispatch({ type: 'reset' });
    setIdentity(null);
  }, []);

  const send = useCallback(
    async (text: string): Promise<string | null> => {
      const parsed = textSchema.safeParse(text);
      if (!parsed.success) return `Message ${parsed.error.issues[0]?.message ?? 'is invalid'}`;
      const socket = socketRef.current;
      if (!socket?.connected) return 'Not connected';
      try {
        const ack = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('message:send', { room, text: parsed.data });
        if (!ack.ok) return ack.error.message;
        dispatch({ type: 'messages', messages: [ack.message] });
        return null;
      } catch {
        return 'The server did not answer in time; the message may not have been sent';
      }
    },
    [room],
  );

  return { state, name: identity?.name ?? null, connect, leave, send };
}
