import { clientEventSchemas, describeIssues, limits, type Ack, type ClientEvent, type ErrorCode } from '@chat/protocol';
import type { z } from 'zod';
import { RateLimited, type History } from './history.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Presence } from './presence.js';
import type { Rooms } from './rooms.js';
import { TypingState } from './typing.js';
import type { ChatServer, ChatSocket } from './types.js';

type Payload<E extends ClientEvent> = z.output<(typeof clientEventSchemas)[E]>;
type Handler<E extends ClientEvent> = (payload: Payload<E>) => Promise<Ack<object>>;

export class AckFailure extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface HandlerContext {
  io: ChatServer;
  history: History;
  presence: Presence;
  rooms: Rooms;
  instance: string;
  logger: Logger;
  metrics: Metrics;
}

/** Registers every client event on a socket. Adding an event: a schema in @chat/protocol, then a handler here. */
export function registerHandlers(socket: ChatSocket, ctx: HandlerContext): void {
  const { user } = socket.data;
  const typing = new TypingState(socket);
  const mustHaveJoined = (room: string) => {
    if (!socket.rooms.has(room)) throw new AckFailure('not_joined', `join room "${room}" first`);
  };

  on(socket, ctx, 'room:join', async ({ room }) => {
    // Join before reading history: a message sent in between is then seen twice (the client
    // de-duplicates by id) rather than not at all.
    await socket.join(room);
    await ctx.rooms.ensure(room);
    const [messages] = await Promise.all([ctx.history.latest(room, limits.joinHistory), ctx.presence.enter(room, socket)]);
    return { ok: true, room, messages };
  });

  on(socket, ctx, 'room:leave', async ({ room }) => {
    typing.stop(room);
    await socket.leave(room);
    await ctx.presence.leave(room, socket);
    return { ok: true };
  });

  on(socket, ctx, 'message:send', async ({ room, text, clientId }) => {
    mustHaveJoined(room);
    // Stored first: an acked message is in history even if the broadcast is lost. A retried
    // clientId returns the stored message and is not broadcast again.
    const draft = { author: user, text, ts: Date.now(), instance: ctx.instance };
    const { message, stored } = await ctx.history.append(room, draft, clientId);
    typing.stop(room);
    if (stored) {
      ctx.metrics.messages.inc();
      ctx.io.to(room).emit('message:new', message);
    }
    return { ok: true, message };
  });

  on(socket, ctx, 'rooms:list', async () => ({ ok: true, rooms: await ctx.rooms.list() }));

  on(socket, ctx, 'history:fetch', async ({ room, before, after, limit }) => ({
    ok: true,
    messages: await ctx.history.page(room, { before, after, limit }),
  }));

  on(socket, ctx, 'typing', async ({ room, typing: isTyping }) => {
    mustHaveJoined(room);
    typing.set(room, isTyping);
    return { ok: true };
  });

  // Events nobody handles are counted and otherwise ignored.
  socket.onAny((event: string) => {
    if (!Object.hasOwn(clientEventSchemas, event)) ctx.metrics.unknownEvents.inc();
  });

  socket.on('disconnecting', () => {
    typing.stopAll();
    for (const room of socket.rooms) {
      if (room === socket.id) continue;
      ctx.presence.leave(room, socket).catch((error: Error) => ctx.logger.warn({ err: error.message, room }, 'presence leave failed'));
    }
  });
}

/**
 * Validates the payload, runs the handler and acks its result. Nothing a client sends can throw
 * past this point: bad payloads get `invalid`, Redis trouble `unavailable`, the rest `internal`.
 */
function on<E extends ClientEvent>(socket: ChatSocket, ctx: HandlerContext, event: E, handler: Handler<E>): void {
  const schema = clientEventSchemas[event];
  (socket as unknown as { on(event: string, listener: (...args: unknown[]) => void): void }).on(event, (...args) => {
    const ack = typeof args.at(-1) === 'function' ? (args.pop() as (response: Ack<object>) => void) : null;
    const reply = (response: Ack<object>) => {
      ctx.metrics.acks.inc({ event, outcome: response.ok ? 'ok' : response.error.code });
      ack?.(response);
    };
    const parsed = schema.safeParse(args[0]);
    if (!parsed.success) {
      reply(failure('invalid', describeIssues(parsed.error)));
      return;
    }
    handler(parsed.data as Payload<E>).then(reply, (error: unknown) => {
      if (error instanceof AckFailure) return reply(failure(error.code, error.message));
      if (error instanceof RateLimited) return reply(failure('rate_limited', error.message));
      if (isRedisUnavailable(error)) return reply(failure('unavailable', 'chat storage is unavailable; try again'));
      ctx.logger.error({ err: error, event }, 'handler failed');
      reply(failure('internal', 'internal error'));
    });
  });
}

function failure(code: ErrorCode, message: string): Ack<object> {
  return { ok: false, error: { code, message } };
}

/** ioredis's errors while disconnected (offline queue disabled, retries exhausted, connection closed). */
function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT/.test(error.message)
  );
}
