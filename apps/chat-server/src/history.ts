import type { Redis } from 'ioredis';
import type { Message } from '@chat/protocol';

/** Messages are kept per room in a Redis Stream: ids are ordered, and XADD caps the length cheaply. */
const streamKey = (room: string) => `chat:room:${room}:messages`;

/** The stored entry holds everything but the id (the stream id) and the room (in the key). */
type StoredMessage = Omit<Message, 'id' | 'room'>;

export class History {
  constructor(
    private readonly redis: Redis,
    private readonly maxPerRoom = 10_000,
  ) {}

  /** Stores a message and returns it with its id. */
  async append(room: string, message: StoredMessage): Promise<Message> {
    // `~` lets Redis trim whole nodes lazily: cheap, and never below maxPerRoom.
    const id = await this.redis.xadd(streamKey(room), 'MAXLEN', '~', this.maxPerRoom, '*', 'm', JSON.stringify(message));
    if (!id) throw new Error('XADD returned no id');
    return { id, room, ...message };
  }

  /** The latest `count` messages of a room, oldest first. */
  async latest(room: string, count: number): Promise<Message[]> {
    const entries = await this.redis.xrevrange(streamKey(room), '+', '-', 'COUNT', count);
    return entries.reverse().map(([id, fields]) => ({ id, room, ...(JSON.parse(fields[1] ?? '{}') as StoredMessage) }));
  }
}
