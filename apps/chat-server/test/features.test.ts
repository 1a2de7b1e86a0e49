import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message, PresenceUpdate } from '@chat/protocol';
import { connectClient, nextEvent, startChatServer, type ChatClient } from '@chat/devstack';
import { noRateLimit, startCluster, type Cluster } from './cluster.js';

let cluster: Cluster;
const server = (i: number) => cluster.servers[i]!;

beforeAll(async () => {
  cluster = await startCluster(3, noRateLimit);
});

afterAll(() => cluster?.stop());

async function joined(socket: ChatClient, room: string) {
  const ack = await socket.emitWithAck('room:join', { room });
  if (!ack.ok) throw new Error(ack.error.message);
  return ack;
}

async function send(socket: ChatClient, room: string, text: string, clientId?: string): Promise<Message> {
  const ack = await socket.emitWithAck('message:send', { room, text, ...(clientId && { clientId }) });
  if (!ack.ok) throw new Error(ack.error.message);
  return ack.message;
}

const presenceOf = (socket: ChatClient, room: string, names: string[]) =>
  nextEvent(socket, 'presence:update', (u: PresenceUpdate) => u.room === room && u.members.map((m) => m.name).join() === names.join(), 30_000);

describe('rooms', () => {
  it('lists the default room and rooms created by joining, with member counts and last messages', async () => {
    const { socket } = await cluster.connect(server(0), 'Ada');
    const { socket: other } = await cluster.connect(server(1), 'Bob');
    await joined(socket, 'rooms-a');
    await joined(other, 'rooms-a');
    await joined(other, 'rooms-b');
    const last = await send(other, 'rooms-a', 'latest words');

    const ack = await socket.emitWithAck('rooms:list', {});
    if (!ack.ok) throw new Error(ack.error.message);
    const byName = new Map(ack.rooms.map((r) => [r.room, r]));
    expect(byName.get('lobby')).toMatchObject({ room: 'lobby' });
    expect(byName.get('rooms-a')).toEqual({ room: 'rooms-a', members: 2, lastMessage: last });
    expect(byName.get('rooms-b')).toEqual({ room: 'rooms-b', members: 1 });
    // Most recently active first.
    expect(ack.rooms[0]!.room).toBe('rooms-a');
  });

  it('lets one socket be in several rooms', async () => {
    const { socket } = await cluster.connect(server(2), 'Multi');
    await joined(socket, 'multi-1');
    await joined(socket, 'multi-2');
    const arrivals = Promise.all([
      nextEvent(socket, 'message:new', (m) => m.room === 'multi-1'),
      nextEvent(socket, 'message:new', (m) => m.room === 'multi-2'),
    ]);
    await send(socket, 'multi-1', 'one');
    await send(socket, 'multi-2', 'two');
    expect((await arrivals).map(([m]) => m.text)).toEqual(['one', 'two']);
  });
});

describe('history', () => {
  it('pages back with `before` and catches up with `after`', async () => {
    const { socket } = await cluster.connect(server(0), 'Writer');
    await joined(socket, 'paging');
    const sent: Message[] = [];
    for (let i = 0; i < 30; i++) sent.push(await send(socket, 'paging', `p${i}`));

    const fetch = async (payload: { before?: string; after?: string; limit?: number }) => {
      const ack = await socket.emitWithAck('history:fetch', { room: 'paging', ...payload });
      if (!ack.ok) throw new Error(ack.error.message);
      return ack.messages.map((m) => m.text);
    };
    const texts = sent.map((m) => m.text);
    expect(await fetch({ limit: 10 })).toEqual(texts.slice(20));
    expect(await fetch({ before: sent[20]!.id, limit: 10 })).toEqual(texts.slice(10, 20));
    expect(await fetch({ before: sent[5]!.id, limit: 10 })).toEqual(texts.slice(0, 5));
    expect(await fetch({ after: sent[25]!.id })).toEqual(texts.slice(26));
    expect(await fetch({ after: sent[9]!.id, before: sent[13]!.id })).toEqual(texts.slice(10, 13));
    expect(await fetch({ after: sent[29]!.id })).toEqual([]);
  });

  it('survives a restart of every chat server', async () => {
    const { socket } = await cluster.connect(server(1), 'Keeper');
    await joined(socket, 'durable');
    const kept = await send(socket, 'durable', 'still here after restarts');
    socket.close();
    for (let i = 0; i < 3; i++) {
      await server(i).stop();
      await cluster.restart(i);
    }
    const { socket: later } = await cluster.connect(server(2), 'Later');
    expect((await joined(later, 'durable')).messages).toEqual([kept]);
  });
});

describe('delivery', () => {
  it('stores a retried clientId once and acks it with the same message', async () => {
    const { socket } = await cluster.connect(server(0), 'Retry');
    const { socket: watcher } = await cluster.connect(server(1), 'Watcher');
    await joined(socket, 'idem');
    await joined(watcher, 'idem');
    const seen: Message[] = [];
    watcher.on('message:new', (m) => seen.push(m));

    const clientId = randomUUID();
    const first = await send(socket, 'idem', 'exactly once', clientId);
    const again = await send(socket, 'idem', 'exactly once', clientId);
    const concurrent = await Promise.all([1, 2, 3].map(() => send(socket, 'idem', 'exactly once', clientId)));
    expect(again).toEqual(first);
    expect(concurrent).toEqual([first, first, first]);

    const ack = await watcher.emitWithAck('history:fetch', { room: 'idem' });
    expect(ack.ok && ack.messages.map((m) => m.id)).toEqual([first.id]);
    await send(socket, 'idem', 'a later one'); // the watcher's next message proves nothing else was broadcast
    await nextEvent(watcher, 'message:new', (m) => m.text === 'a later one').catch(() => undefined);
    expect(seen.map((m) => m.text)).toEqual(['exactly once', 'a later one']);
  });

  it('rate-limits each user with a token bucket (default 5/s, burst 10)', async () => {
    const limited = await startChatServer({ instance: 'chat-limits', redisUrl: cluster.redis.url });
    try {
      const { socket } = await connectClient(limited.url, 'Chatty');
      await joined(socket, 'limits');
      const started = Date.now();
      const acks = await Promise.all(
        Array.from({ length: 20 }, (_, i) => socket.emitWithAck('message:send', { room: 'limits', text: `spam ${i}` })),
      );
      const elapsedS = (Date.now() - started) / 1000;
      const ok = acks.filter((a) => a.ok).length;
      const refused = acks.filter((a) => !a.ok);
      expect(ok).toBeGreaterThanOrEqual(10);
      expect(ok).toBeLessThanOrEqual(10 + Math.ceil(elapsedS * 5));
      expect(refused.length).toBe(20 - ok);
      for (const ack of refused) expect(ack).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
      socket.close();
    } finally {
      await limited.stop();
    }
  });
});

describe('identity', () => {
  it('keeps a client-chosen userId across reconnects to any instance', async () => {
    const userId = randomUUID();
    const first = await cluster.connect(server(0), 'Stable', userId);
    const second = await cluster.connect(server(2), 'Stable', userId);
    expect(first.session.user).toEqual({ id: userId, name: 'Stable' });
    expect(second.session.user).toEqual({ id: userId, name: 'Stable' });
  });

  it('refuses a malformed userId', async () => {
    await expect(connectClient(server(0).url, 'x', { auth: { name: 'x', userId: 'no spaces please' } })).rejects.toThrow(
      'invalid handshake: userId: must be 8-64 characters',
    );
  });
});

describe('presence', () => {
  it('tells the room who is there, across instances', async () => {
    const a = await cluster.connect(server(0), 'Alice');
    const b = await cluster.connect(server(1), 'Bruno');
    await joined(a.socket, 'pres');
    const both = presenceOf(a.socket, 'pres', ['Alice', 'Bruno']);
    await joined(b.socket, 'pres');
    await both;
    const alone = presenceOf(a.socket, 'pres', ['Alice']);
    await b.socket.emitWithAck('room:leave', { room: 'pres' });
    await alone;
  });

  it('counts a user with two tabs once, until both are gone', async () => {
    const userId = randomUUID();
    const watcher = await cluster.connect(server(0), 'Watch');
    await joined(watcher.socket, 'tabs');
    const tab1 = await cluster.connect(server(1), 'Tabby', userId);
    const tab2 = await cluster.connect(server(2), 'Tabby', userId);
    await joined(tab1.socket, 'tabs');
    const once = presenceOf(watcher.socket, 'tabs', ['Tabby', 'Watch']);
    await joined(tab2.socket, 'tabs');
    const [update] = await once;
    expect(update.members).toEqual([
      { id: userId, name: 'Tabby' },
      { id: watcher.session.user.id, name: 'Watch' },
    ]);
    const stillThere = presenceOf(watcher.socket, 'tabs', ['Tabby', 'Watch']);
    tab1.socket.close();
    await stillThere;
    const gone = presenceOf(watcher.socket, 'tabs', ['Watch']);
    tab2.socket.close();
    await gone;
  });

  it('drops the users of an instance killed with SIGKILL within 30 s', async () => {
    const watcher = await cluster.connect(server(0), 'Survivor');
    const doomed = await cluster.connect(server(2), 'Doomed');
    await joined(watcher.socket, 'crash');
    const both = presenceOf(watcher.socket, 'crash', ['Doomed', 'Survivor']);
    await joined(doomed.socket, 'crash');
    await both;

    const killedAt = Date.now();
    const gone = presenceOf(watcher.socket, 'crash', ['Survivor']);
    await server(2).kill();
    await gone;
    const seconds = (Date.now() - killedAt) / 1000;
    console.log(`presence: a SIGKILLed instance's user vanished after ${seconds.toFixed(1)} s`);
    expect(seconds).toBeLessThanOrEqual(30);
    await cluster.restart(2);
  }, 45_000);
});

describe('typing', () => {
  it('tells the others, and the indicator expires by itself after 5 s', async () => {
    const typist = await cluster.connect(server(0), 'Typist');
    const reader = await cluster.connect(server(1), 'Reader');
    await joined(typist.socket, 'typing');
    await joined(reader.socket, 'typing');
    let selfNotified = false;
    typist.socket.on('typing:update', () => (selfNotified = true));

    const on = nextEvent(reader.socket, 'typing:update', (u) => u.typing);
    expect(await typist.socket.emitWithAck('typing', { room: 'typing', typing: true })).toEqual({ ok: true });
    const [update] = await on;
    expect(update).toEqual({ room: 'typing', user: typist.session.user, typing: true });

    const startedAt = Date.now();
    const [expired] = await nextEvent(reader.socket, 'typing:update', (u) => !u.typing, 10_000);
    expect(expired).toEqual({ room: 'typing', user: typist.session.user, typing: false });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(4_000);
    expect(selfNotified).toBe(false);
  });

  it('refuses typing in a room not joined', async () => {
    const { socket } = await cluster.connect(server(0), 'Stray');
    expect(await socket.emitWithAck('typing', { room: 'nowhere', typing: true })).toMatchObject({
      ok: false,
      error: { code: 'not_joined' },
    });
  });
});
