import type { Redis, Result } from 'ioredis';
import type { Message } from '@chat/protocol';
import { keys } from './keys.js';

/** The stored entry holds everything but the id (the stream id) and the room (in the key). */
type StoredMessage = Omit<Message, 'id' | 'room'>;

export interface SendLimits {
  maxPerRoom: number;
  ratePerSecond: number;
  burst: number;
}

export class RateLimited extends Error {
  constructor(readonly retryAfterMs: number) {
    super(`too many messages; retry in ${Math.ceil(retryAfterMs / 100) / 10} s`);
  }
}

/**
 * One atomic step per send, so retries and races cannot double-store:
 * 1. a clientId already seen for this user returns the stored id (no token spent);
 * 2. the user's token bucket (Redis time, shared by all instances) must hold a token;
 * 3. XADD with an approximate cap, remember the clientId, bump the room's activity.
 */
const SEND_SCRIPT = `
if ARGV[6] == '1' then
  local seen = redis.call('GET', KEYS[2])
  if seen then return {'duplicate', seen} end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, burst = tonumber(ARGV[3]), tonumber(ARGV[4])
local bucket = redis.call('HMGET', KEYS[3], 'tokens', 'ts')
local tokens = tonumber(bucket[1]) or burst
local last = tonumber(bucket[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - last) * rate / 1000)
local ttl = math.ceil(burst / rate * 1000) + 1000
if tokens < 1 then
  redis.call('HSET', KEYS[3], 'tokens', tostring(tokens), 'ts', now)
  redis.call('PEXPIRE', KEYS[3], ttl)
  return {'limited', tostring(math.ceil((1 - tokens) * 1000 / rate))}
end
redis.call('HSET', KEYS[3], 'tokens', tostring(tokens - 1), 'ts', now)
redis.call('PEXPIRE', KEYS[3], ttl)
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'm', ARGV[2])
if ARGV[6] == '1' then redis.call('SET', KEYS[2], id, 'EX', ARGV[5]) end
redis.call('ZADD', KEYS[4], now, ARGV[7])
return {'stored', id}
`;

/** How long a clientId is remembered: far longer than any client retries. */
const DEDUPE_TTL_SECONDS = 24 * 60 * 60;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    chatSend(...args: (string | number)[]): Result<[string, string], Context>;
  }
}

export class History {
  constructor(
    private readonly redis: Redis,
    private readonly limits: SendLimits,
  ) {
    redis.defineCommand('chatSend', { numberOfKeys: 4, lua: SEND_SCRIPT });
  }

  /**
   * Stores a message once per (user, clientId) and returns it with its id; a repeated clientId
   * returns the message stored the first time, with `stored: false`. Throws RateLimited when the
   * user's bucket is empty.
   */
  async append(room: string, message: StoredMessage, clientId?: string): Promise<{ message: Message; stored: boolean }> {
    const userId = message.author.id;
    const [outcome, value] = await this.redis.chatSend(
      keys.messages(room),
      keys.sent(userId, clientId ?? '-'),
      keys.sendBucket(userId),
      keys.rooms,
      this.limits.maxPerRoom,
      JSON.stringify(message),
      this.limits.ratePerSecond,
      this.limits.burst,
      DEDUPE_TTL_SECONDS,
      clientId ? '1' : '0',
      room,
    );
    if (outcome === 'limited') throw new RateLimited(Number(value));
    if (outcome === 'stored') return { message: { id: value, room, ...message }, stored: true };
    const [first] = await this.range(room, value, value, 1);
    if (!first) throw new Error(`message ${value} of room ${room} was trimmed from history`);
    return { message: first, stored: false };
  }

  /** The latest `count` messages of a room, oldest first. */
  latest(room: string, count: number): Promise<Message[]> {
    return this.page(room, { limit: count });
  }

  /**
   * Up to `limit` messages, oldest first: the newest ones before `before` (scroll-back), or the
   * oldest ones after `after` (catch-up); with both, those in between, starting after `after`.
   */
  async page(room: string, { before, after, limit }: { before?: string; after?: string; limit: number }): Promise<Message[]> {
    // Nothing precedes the first possible id, and Redis refuses `(0-0` as an end bound.
    if (before && /^0+-0+$/.test(before)) return [];
    if (after) return this.range(room, `(${after}`, before ? `(${before}` : '+', limit);
    const entries = await this.redis.xrevrange(keys.messages(room), before ? `(${before}` : '+', '-', 'COUNT', limit);
    return entries.reverse().map((entry) => parse(room, entry));
  }

  private async range(room: string, from: string, to: string, limit: number): Promise<Message[]> {
    const entries = await this.redis.xrange(keys.messages(room), from, to, 'COUNT', limit);
    return entries.map((entry) => parse(room, entry));
  }
}

function parse(room: string, [id, fields]: [string, string[]]): Message {
  return { id, room, ...(JSON.parse(fields[1] ?? '{}') as StoredMessage) };
}
