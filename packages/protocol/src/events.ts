import type { z } from 'zod';
import type { Message, PresenceUpdate, RoomSummary, Session, TypingUpdate } from './messages.js';
import {
  historyFetchSchema,
  messageSendSchema,
  roomJoinSchema,
  roomLeaveSchema,
  roomsListSchema,
  typingSchema,
  type HistoryFetchPayload,
  type MessageSendPayload,
  type RoomJoinPayload,
  type RoomLeavePayload,
  type RoomsListPayload,
  type TypingPayload,
} from './schemas.js';

/** Machine-readable reasons an ack can carry. */
export type ErrorCode =
  /** The payload failed its schema. */
  | 'invalid'
  /** `message:send` to a room this socket has not joined. */
  | 'not_joined'
  /** Redis is unreachable; nothing was stored. */
  | 'unavailable'
  /** Too many messages too fast; wait and retry. */
  | 'rate_limited'
  /** An unexpected server fault. */
  | 'internal';

export interface AckError {
  ok: false;
  error: { code: ErrorCode; message: string };
}

/** Every client-to-server event is acknowledged with one of these. */
export type Ack<T extends object = object> = ({ ok: true } & T) | AckError;
export type AckCallback<T extends object = object> = (response: Ack<T>) => void;

/** Events a client emits; each takes a payload and an ack callback. */
export interface ClientToServerEvents {
  'room:join': (payload: RoomJoinPayload, ack: AckCallback<{ room: string; messages: Message[] }>) => void;
  'room:leave': (payload: RoomLeavePayload, ack: AckCallback) => void;
  'message:send': (payload: MessageSendPayload, ack: AckCallback<{ message: Message }>) => void;
  'rooms:list': (payload: RoomsListPayload, ack: AckCallback<{ rooms: RoomSummary[] }>) => void;
  'history:fetch': (payload: HistoryFetchPayload, ack: AckCallback<{ messages: Message[] }>) => void;
  typing: (payload: TypingPayload, ack: AckCallback) => void;
}

/** Events the server emits. */
export interface ServerToClientEvents {
  session: (session: Session) => void;
  'message:new': (message: Message) => void;
  'presence:update': (update: PresenceUpdate) => void;
  'typing:update': (update: TypingUpdate) => void;
}

/** The schema that validates each client event's payload: adding an event starts here. */
export const clientEventSchemas = {
  'room:join': roomJoinSchema,
  'room:leave': roomLeaveSchema,
  'message:send': messageSendSchema,
  'rooms:list': roomsListSchema,
  'history:fetch': historyFetchSchema,
  typing: typingSchema,
} as const satisfies Record<keyof ClientToServerEvents, z.ZodType>;

export type ClientEvent = keyof ClientToServerEvents;
