export interface User {
  id: string;
  name: string;
}

export interface Message {
  /** Orders messages within a room (a Redis stream id `ms-seq`); compare with `compareMessageIds`. */
  id: string;
  room: string;
  author: User;
  text: string;
  /** Epoch milliseconds, set by the server that accepted the message. */
  ts: number;
  /** The chat server instance that accepted the message. */
  instance: string;
}

export interface RoomSummary {
  room: string;
  /** Distinct users present in the room now. */
  members: number;
  lastMessage?: Message;
}

export interface PresenceUpdate {
  room: string;
  /** Distinct users in the room, sorted by name. */
  members: User[];
}

export interface TypingUpdate {
  room: string;
  user: User;
  typing: boolean;
}

export interface Session {
  instance: string;
  user: User;
}

/** Orders two message ids of the same room: negative if `a` came first. */
export function compareMessageIds(a: string, b: string): number {
  const [aMs = 0, aSeq = 0] = a.split('-').map(Number);
  const [bMs = 0, bSeq = 0] = b.split('-').map(Number);
  return aMs - bMs || aSeq - bSeq;
}
