import type { Redis } from 'ioredis';
import { defaultRoom, limits, type RoomSummary } from '@chat/protocol';
import type { History } from './history.js';
import { keys } from './keys.js';
import type { Presence } from './presence.js';

/** The room directory: a sorted set of rooms by last activity (sends bump it, see History). */
export class Rooms {
  constructor(
    private readonly redis: Redis,
    private readonly history: History,
    private readonly presence: Presence,
  ) {}

  /** Creates the room if it is new; joining a room that does not exist creates it. */
  async ensure(room: string): Promise<void> {
    await this.redis.zadd(keys.rooms, 'NX', Date.now(), room);
  }

  /** The most recently active rooms, with member counts and last messages; the default room always. */
  async list(): Promise<RoomSummary[]> {
    // Score 0: the default room always exists but ranks by its own activity, like any other.
    await this.redis.zadd(keys.rooms, 'NX', 0, defaultRoom);
    const rooms = await this.redis.zrevrange(keys.rooms, 0, limits.roomsListed - 1);
    const [counts, lastMessages] = await Promise.all([
      this.presence.counts(rooms),
      Promise.all(rooms.map((room) => this.history.latest(room, 1))),
    ]);
    return rooms.map((room, i) => {
      const lastMessage = lastMessages[i]?.[0];
      return { room, members: counts[i] ?? 0, ...(lastMessage && { lastMessage }) };
    });
  }
}
