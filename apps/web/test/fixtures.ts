import type { Message, User } from '@chat/protocol';

export const ada: User = { id: 'user-ada-0001', name: 'Ada' };
export const bob: User = { id: 'user-bob-0001', name: 'Bob' };

/** A stored message; `n` gives both its id (`<n>-0`) and, in seconds from a fixed time, its ts. */
export function msg(n: number, author: User = bob, room = 'lobby', text = `message ${n}`): Message {
  return { id: `${1_700_000_000_000 + n}-0`, room, author, text, ts: 1_700_000_000_000 + n * 1000, instance: 'chat-1' };
}

export function range(from: number, to: number, author: User = bob, room = 'lobby'): Message[] {
  return Array.from({ length: to - from + 1 }, (_, i) => msg(from + i, author, room));
}

/** A Web Storage stand-in. */
export class MemoryStore {
  readonly data = new Map<string, string>();
  getItem(key: string): string | null {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.data.set(key, value);
  }
  removeItem(key: string): void {
    this.data.delete(key);
  }
}
