import type { Redis } from 'ioredis';
import type { User } from '@chat/protocol';
import { keys } from './keys.js';
import type { Logger } from './logger.js';
import type { ChatServer, ChatSocket } from './types.js';

/** An entry lives this long unless its instance refreshes it: a dead instance's users vanish on their own. */
const ENTRY_TTL_MS = 20_000;
/** Refresh and sweep period; worst case an entry is swept ENTRY_TTL_MS + PERIOD_MS after its last refresh (25 s). */
const PERIOD_MS = 5_000;

/**
 * Who is in each room, across instances. Each socket in a room is one entry in the room's sorted
 * set, scored by its expiry; members are the distinct users among live entries (two tabs, one
 * member). Instances refresh their own entries, and every instance sweeps expired ones.
 */
export class Presence {
  private timer: NodeJS.Timeout | undefined;
  /** Set at shutdown: removeLocal() has cleared this instance's entries, sockets leaving now need nothing. */
  private stopped = false;

  constructor(
    private readonly redis: Redis,
    private readonly io: ChatServer,
    private readonly instance: string,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.refreshLocal()
        .then(() => this.sweep())
        .catch((error: Error) => this.logger.warn({ err: error.message }, 'presence upkeep failed'));
    }, PERIOD_MS);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  async enter(room: string, socket: ChatSocket): Promise<void> {
    await this.redis
      .multi()
      .zadd(keys.presence(room), Date.now() + ENTRY_TTL_MS, this.entry(socket))
      .sadd(keys.presenceRooms, room)
      .exec();
    await this.publish(room);
  }

  async leave(room: string, socket: ChatSocket): Promise<void> {
    if (this.stopped) return;
    await this.redis.zrem(keys.presence(room), this.entry(socket));
    await this.publish(room);
  }

  /** Removes every entry of this instance at once (graceful shutdown) and tells those rooms. */
  async removeLocal(): Promise<void> {
    const pipeline = this.redis.pipeline();
    const rooms = new Set<string>();
    this.forEachLocalEntry((room, entry) => {
      pipeline.zrem(keys.presence(room), entry);
      rooms.add(room);
    });
    if (pipeline.length) await pipeline.exec();
    await Promise.all([...rooms].map((room) => this.publish(room)));
  }

  /** Distinct users with a live entry in the room, sorted by name. */
  async members(room: string): Promise<User[]> {
    const entries = await this.redis.zrangebyscore(keys.presence(room), Date.now(), '+inf');
    return distinctUsers(entries);
  }

  /** Member counts for several rooms in one round trip. */
  async counts(rooms: string[]): Promise<number[]> {
    const pipeline = this.redis.pipeline();
    for (const room of rooms) pipeline.zrangebyscore(keys.presence(room), Date.now(), '+inf');
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, entries]) => (error ? 0 : distinctUsers(entries as string[]).length));
  }

  private async publish(room: string): Promise<void> {
    this.io.to(room).emit('presence:update', { room, members: await this.members(room) });
  }

  /** Pushes back the expiry of every entry this instance owns. */
  private async refreshLocal(): Promise<void> {
    const pipeline = this.redis.pipeline();
    const expiry = Date.now() + ENTRY_TTL_MS;
    this.forEachLocalEntry((room, entry) => pipeline.zadd(keys.presence(room), 'XX', expiry, entry));
    if (pipeline.length) await pipeline.exec();
  }

  private forEachLocalEntry(visit: (room: string, entry: string) => void): void {
    for (const socket of this.io.of('/').sockets.values()) {
      for (const room of socket.rooms) if (room !== socket.id) visit(room, this.entry(socket));
    }
  }

  /** Removes expired entries (instances that died without saying goodbye) and tells those rooms. */
  private async sweep(): Promise<void> {
    const rooms = await this.redis.smembers(keys.presenceRooms);
    for (const room of rooms) {
      const removed = await this.redis.zremrangebyscore(keys.presence(room), '-inf', Date.now());
      if (removed > 0) await this.publish(room);
    }
  }

  private entry(socket: ChatSocket): string {
    const { id, name } = socket.data.user;
    return JSON.stringify([this.instance, socket.id, id, name]);
  }
}

function distinctUsers(entries: string[]): User[] {
  const users = new Map<string, User>();
  for (const entry of entries) {
    const [, , id, name] = JSON.parse(entry) as [string, string, string, string];
    users.set(id, { id, name });
  }
  return [...users.values()].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}
