import { clientIdSchema, defaultRoom, nameSchema, roomSchema } from '@chat/protocol';
import { randomId } from './ids';

/** The part of the Web Storage API we use, so tests can pass a Map-backed fake. */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export const storageKeys = {
  name: 'chat.name',
  userId: 'chat.userId',
  rooms: 'chat.rooms',
  currentRoom: 'chat.currentRoom',
} as const;

function browserStore(): KeyValueStore | null {
  try {
    return typeof window === 'undefined' ? null : window.localStorage;
  } catch {
    // Storage disabled by the browser's settings.
    return null;
  }
}

/**
 * What the client remembers between visits, in localStorage: the display name, a stable user id
 * (shared by every tab, so two tabs are one user), the rooms the user opened and the one in view.
 * Everything read back is validated; a value that does not parse is treated as absent. Storage
 * that throws (quota, private mode) degrades to remembering nothing.
 */
export class ChatStorage {
  /** Kept in memory too, so the id stays stable for the page's life even when storage is unusable. */
  private userIdCache: string | null = null;

  constructor(private readonly store: KeyValueStore | null = browserStore()) {}

  loadName(): string | null {
    const parsed = nameSchema.safeParse(this.get(storageKeys.name));
    return parsed.success ? parsed.data : null;
  }

  saveName(name: string): void {
    this.set(storageKeys.name, name);
  }

  clearName(): void {
    try {
      this.store?.removeItem(storageKeys.name);
    } catch {
      // nothing to do
    }
  }

  /** The user's id: generated once, then the same on every visit and in every tab. */
  userId(): string {
    if (this.userIdCache) return this.userIdCache;
    const stored = clientIdSchema.safeParse(this.get(storageKeys.userId));
    const id = stored.success ? stored.data : randomId();
    if (!stored.success) this.set(storageKeys.userId, id);
    this.userIdCache = id;
    return id;
  }

  /** The rooms the user opened, valid and distinct, the default room always first. */
  loadRooms(): string[] {
    let stored: unknown = [];
    try {
      stored = JSON.parse(this.get(storageKeys.rooms) ?? '[]');
    } catch {
      stored = [];
    }
    const rooms = Array.isArray(stored) ? stored.filter((room): room is string => roomSchema.safeParse(room).success) : [];
    return [...new Set([defaultRoom, ...rooms])];
  }

  saveRooms(rooms: readonly string[]): void {
    this.set(storageKeys.rooms, JSON.stringify(rooms));
  }

  /** The room in view last time, if it is still one of the user's rooms. */
  loadCurrentRoom(rooms: readonly string[]): string {
    const stored = this.get(storageKeys.currentRoom);
    return stored && rooms.includes(stored) ? stored : defaultRoom;
  }

  saveCurrentRoom(room: string): void {
    this.set(storageKeys.currentRoom, room);
  }

  private get(key: string): string | null {
    try {
      return this.store?.getItem(key) ?? null;
    } catch {
      return null;
    }
  }

  private set(key: string, value: string): void {
    try {
      this.store?.setItem(key, value);
    } catch {
      // Quota exceeded or storage disabled: remember for this page only.
    }
  }
}
