import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clientIdPattern, limits, type ClientEvent, type ClientToServerEvents, type Message } from '@chat/protocol';
import {
  connectClient,
  nextEvent,
  startChatServer,
  startStack,
  type ChatClient as RawClient,
  type ChatServerProcess,
  type ConnectedClient,
  type Stack,
} from '@chat/devstack';
import { ChatClient } from '../lib/chatClient';
import type { ChatState } from '../lib/chatState';
import { Connection } from '../lib/connection';
import { ChatStorage, storageKeys } from '../lib/storage';
import { MemoryStore } from './fixtures';

/*
 * The real ChatClient with the real Connection, against real processes: redis-server, chat-1..3
 * and the gateway reading infra/nginx.conf (default rate limits: a burst of 10, then 5 per
 * second), all on free loopback ports. History is written by other users through `writer`, a
 * chat server outside the gateway on the same Redis with a generous rate limit. Every test has
 * rooms of its own (everyone shares only the lobby, where nothing is written).
 */

let stack: Stack;
let writer: ChatServerProcess;
/** Chat servers started again after a test killed them; stopped in afterAll. */
const restarted: ChatServerProcess[] = [];
/** Killed by the running test; started again (same name, same port) after it. */
const killed: ChatServerProcess[] = [];
const clients: ChatClient[] = [];
const others: ConnectedClient[] = [];

/** Extra environment for a chat server. (Next's types require NODE_ENV; it is the inherited one.) */
const env = (vars: Record<string, string>): NodeJS.ProcessEnv => ({ NODE_ENV: process.env.NODE_ENV, ...vars });

beforeAll(async () => {
  stack = await startStack({ frontDoor: 'gateway', instances: 3 });
  writer = await startChatServer({
    instance: 'writer',
    redisUrl: stack.redisUrl,
    env: env({ RATE_LIMIT_PER_SECOND: '1000', RATE_LIMIT_BURST: '10000' }),
  });
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.stop();
  for (const { socket } of others.splice(0)) socket.close();
  // The gateway's upstreams name fixed ports: the instance comes back where it was.
  for (const dead of killed.splice(0)) {
    const again = await startChatServer({
      instance: dead.instance,
      redisUrl: stack.redisUrl,
      port: dead.port,
      // As startStack started it: the origin allow-list names the front door.
      env: env({ ALLOWED_ORIGINS: `http://127.0.0.1:${stack.frontDoor.port},http://localhost:${stack.frontDoor.port}` }),
    });
    stack.chatServers[stack.chatServers.indexOf(dead)] = again;
    restarted.push(again);
  }
});

afterAll(async () => {
  await Promise.all([...restarted, writer].filter(Boolean).map((server) => server.stop()));
  await stack?.stop();
});

// Helpers

type Payload<E extends ClientEvent> = Parameters<ClientToServerEvents[E]>[0];

/** Polls `check` (no fixed waits) until it holds; fails after `timeoutMs` saying what it waited for. */
async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(10);
  }
}

/**
 * A ChatClient as the page makes it, except that its Connection is given the gateway's URL (the
 * page has its own origin). Every event it puts on the wire is recorded, from the real socket.
 */
function setup({
  rooms,
  current,
  store = new MemoryStore(),
  transports,
}: { rooms?: string[]; current?: string; store?: MemoryStore; transports?: ('polling' | 'websocket')[] } = {}) {
  if (rooms) store.setItem(storageKeys.rooms, JSON.stringify(rooms));
  if (current) store.setItem(storageKeys.currentRoom, current);
  const connections: Connection[] = [];
  const wire: { event: string; payload: unknown }[] = [];
  const client = new ChatClient({
    storage: new ChatStorage(store),
    connect: (auth) => {
      const connection = new Connection(auth, { url: stack.url, ...(transports && { transports }) });
      connection.socket.onAnyOutgoing((event: string, payload: unknown) => wire.push({ event, payload }));
      connections.push(connection);
      return connection;
    },
  });
  clients.push(client);
  return {
    client,
    store,
    state: () => client.getState(),
    connection: () => connections.at(-1)!,
    /** The payloads of `event` this client emitted, in order. */
    sent: <E extends ClientEvent>(event: E) => wire.filter((p) => p.event === event).map((p) => p.payload as Payload<E>),
  };
}

const joined = (state: ChatState, ...rooms: string[]) =>
  state.status === 'connected' && state.session !== null && ['lobby', ...rooms].every((room) => state.rooms[room]?.joined);

const idsOf = (messages: readonly Message[]) => messages.map((m) => m.id);
const textsOf = (messages: readonly Message[]) => messages.map((m) => m.text);

/** Another user, a plain socket.io-client on the writer instance, in `rooms`. */
async function otherUser(name: string, ...rooms: string[]): Promise<RawClient> {
  const user = await connectClient(writer.url, name);
  others.push(user);
  for (const room of rooms) {
    const ack = await user.socket.emitWithAck('room:join', { room });
    if (!ack.ok) throw new Error(ack.error.message);
  }
  return user.socket;
}

/** Bob writes `message <from>` .. `message <from + count - 1>` to `room`, in that order. */
async function seed(room: string, count: number, from = 1): Promise<Message[]> {
  const bob = await otherUser('Bob', room);
  const acks = await Promise.all(
    Array.from({ length: count }, (_, i) => bob.emitWithAck('message:send', { room, text: `message ${from + i}` })),
  );
  return acks.map((ack) => {
    if (!ack.ok) throw new Error(ack.error.message);
    return ack.message;
  });
}

async function history(room: string): Promise<Message[]> {
  const reader = await otherUser('Reader');
  const ack = await reader.emitWithAck('history:fetch', { room, limit: limits.fetchMax });
  if (!ack.ok) throw new Error(ack.error.message);
  return ack.messages;
}

/** SIGKILLs the chat server this client's session is on; afterEach starts it again. */
async function killInstanceOf(state: ChatState): Promise<ChatServerProcess> {
  const server = stack.chatServers.find(({ instance }) => instance === state.session?.instance);
  if (!server) throw new Error(`no chat server named ${state.session?.instance}`);
  killed.push(server);
  await server.kill();
  return server;
}

describe('ChatClient against real chat servers behind the gateway', () => {
  it('signs in with a stable user id, joins every remembered room and shows their history', async () => {
    const seeded = await seed('signin-a', 3);
    const { client, store, state, sent } = setup({ rooms: ['signin-a', 'signin-b'], current: 'signin-a' });
    client.signIn('Ada');
    await until('every room is joined', () => joined(state(), 'signin-a', 'signin-b'));
    // Long-polling first, then the upgrade (sticky routing keeps both on one instance).
    await until('the upgrade to a WebSocket', () => state().transport === 'websocket');

    const userId = store.getItem(storageKeys.userId);
    expect(userId).toMatch(clientIdPattern);
    // The server took the handshake's userId: it is who the session says we are.
    expect(state()).toMatchObject({
      status: 'connected',
      transport: 'websocket',
      userId,
      session: { instance: expect.stringMatching(/^chat-[1-3]$/), user: { id: userId, name: 'Ada' } },
    });
    // The room in view first.
    expect(sent('room:join')).toEqual([{ room: 'signin-a' }, { room: 'lobby' }, { room: 'signin-b' }]);
    expect(idsOf(state().rooms['signin-a']!.messages)).toEqual(idsOf(seeded));
    expect(state().rooms['signin-b']!.messages).toEqual([]);
    expect(store.getItem(storageKeys.name)).toBe('Ada');

    // The next visit (a new client on the same storage) connects by itself as the same user.
    client.stop();
    const next = setup({ store });
    next.client.start();
    await until('the next visit is joined', () => joined(next.state(), 'signin-a', 'signin-b'));
    expect(next.state().session!.user).toEqual({ id: userId, name: 'Ada' });
  });

  it('after a reconnect, rejoins and catches up page by page: no gap, no duplicate', async () => {
    const before = await seed('catchup-a', 10);
    const { client, state, sent } = setup({ rooms: ['catchup-a', 'catchup-b'], current: 'catchup-a' });
    client.signIn('Ada');
    await until('every room is joined', () => joined(state(), 'catchup-a', 'catchup-b'));
    expect(idsOf(state().rooms['catchup-a']!.messages)).toEqual(idsOf(before));

    // The client must stay away until everything below is written, whatever its reconnection
    // timer says: the other two instances are paused (their kernels still accept the gateway's
    // connections, which wait), then the client's own instance dies.
    const paused = stack.chatServers.filter(({ instance }) => instance !== state().session!.instance);
    for (const server of paused) server.child.kill('SIGSTOP');
    let away: Message[];
    let side: Message[];
    let lost: ChatServerProcess;
    try {
      lost = await killInstanceOf(state());
      await until('the client notices', () => state().status === 'reconnecting');
      expect(state().rooms['catchup-a']!.joined).toBe(false);
      // 230 messages while away: more than the 50 a join returns, more than one page of 100.
      away = await seed('catchup-a', 230, 11);
      side = await seed('catchup-b', 5);
      expect(state().status).toBe('reconnecting');
    } finally {
      for (const server of paused) server.child.kill('SIGCONT');
    }

    await until('every room is joined again', () => joined(state(), 'catchup-a', 'catchup-b'));
    expect(state().session!.instance).not.toBe(lost.instance);
    expect(idsOf(state().rooms['catchup-a']!.messages)).toEqual(idsOf([...before, ...away]));
    expect(sent('history:fetch')).toEqual([
      { room: 'catchup-a', after: before[9]!.id, limit: limits.fetchMax },
      { room: 'catchup-a', after: away[99]!.id, limit: limits.fetchMax },
      { room: 'catchup-a', after: away[199]!.id, limit: limits.fetchMax },
    ]);
    // The side room was empty before: its join history is all it needs, and it is unread.
    expect(idsOf(state().rooms['catchup-b']!.messages)).toEqual(idsOf(side));
    expect(state().rooms['catchup-b']!.unread).toBe(5);
    expect(state().rooms['catchup-a']!.unread).toBe(0);
  });

  it('keeps a message written while disconnected pending, and sends it after the rejoin', async () => {
    const { client, state, sent } = setup({ rooms: ['offline'], current: 'offline' });
    client.signIn('Ada');
    await until('the room is joined', () => joined(state(), 'offline'));
    const lost = await killInstanceOf(state());
    await until('the client notices', () => state().status === 'reconnecting');

    expect(client.send('  written offline  ')).toBeNull();
    expect(state().rooms.offline!.pending).toEqual([expect.objectContaining({ text: 'written offline', status: 'pending' })]);
    expect(sent('message:send')).toEqual([]);

    await until('the message is delivered', () => state().status === 'connected' && state().rooms.offline!.pending.length === 0);
    expect(state().session!.instance).not.toBe(lost.instance);
    expect(sent('message:send')).toEqual([{ room: 'offline', text: 'written offline', clientId: expect.stringMatching(clientIdPattern) }]);
    expect(textsOf(state().rooms.offline!.messages)).toEqual(['written offline']);
    expect(textsOf(await history('offline'))).toEqual(['written offline']);
  });

  it('re-sends a message lost with the connection using the same clientId: stored once', async () => {
    const { client, state, sent, connection } = setup({ rooms: ['lost'], current: 'lost' });
    const watcher = await otherUser('Watcher', 'lost');
    client.signIn('Ada');
    await until('the room is joined', () => joined(state(), 'lost'));

    const timeline: string[] = [];
    connection().socket.onAnyOutgoing((event: string) => {
      if (event === 'message:send') timeline.push('send');
    });
    watcher.on('message:new', (message) => timeline.push(`stored "${message.text}"`));

    client.send('hello');
    // The connection dies with the send on its way, before the ack can come back. Killing the
    // server would race the store; closing the transport on the client's side right after the
    // send left orders it: the server reads the send (and stores it), then the close.
    connection().socket.io.engine.close();
    await until('the send is stored and the connection gone', () => state().status === 'reconnecting' && timeline.length === 2);
    expect(timeline).toEqual(['send', 'stored "hello"']);
    expect(state().rooms.lost!.pending).toEqual([expect.objectContaining({ text: 'hello', status: 'pending' })]);

    await until('the message is settled', () => state().status === 'connected' && state().rooms.lost!.pending.length === 0);
    const sends = sent('message:send');
    expect(sends).toHaveLength(2);
    expect(sends[1]!.clientId).toBe(sends[0]!.clientId);
    // The re-send found the stored message: not stored, not broadcast again.
    expect(timeline).toEqual(['send', 'stored "hello"', 'send']);
    expect(textsOf(state().rooms.lost!.messages)).toEqual(['hello']);
    expect(textsOf(await history('lost'))).toEqual(['hello']);
  });

  it('shows a rate-limited send as failed; Retry sends it again with the same clientId', async () => {
    const { client, state, sent } = setup({ rooms: ['limits'], current: 'limits' });
    client.signIn('Ada');
    await until('the room is joined', () => joined(state(), 'limits'));
    const pending = () => state().rooms.limits!.pending;

    // The default limit: a burst of 10. The 11th in a row is refused.
    for (let i = 1; i <= 11; i++) expect(client.send(`fast ${i}`)).toBeNull();
    await until('every send is answered', () => pending().length > 0 && pending().every((p) => p.status === 'failed'));
    expect(pending()).toEqual([
      expect.objectContaining({
        text: 'fast 11',
        status: 'failed',
        error: { code: 'rate_limited', message: expect.stringMatching(/^too many messages; retry in [\d.]+ s$/) },
      }),
    ]);
    const failed = pending()[0]!;

    // Retry, as the user would while it keeps failing, until a token is back (5 per second).
    await until('the retried message is delivered', () => {
      const shown = pending()[0];
      if (shown?.status === 'failed') client.retry('limits', shown.clientId);
      return pending().length === 0;
    });
    const attempts = sent('message:send').filter((send) => send.text === 'fast 11');
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts.map((send) => send.clientId)).toEqual(attempts.map(() => failed.clientId));
    const all = Array.from({ length: 11 }, (_, i) => `fast ${i + 1}`);
    expect(textsOf(state().rooms.limits!.messages)).toEqual(all);
    expect(textsOf(await history('limits'))).toEqual(all);
  });

  it('rejects text the server would refuse, without sending anything', async () => {
    const { client, state, sent } = setup({ rooms: ['refuse'], current: 'refuse' });
    client.signIn('Ada');
    await until('the room is joined', () => joined(state(), 'refuse'));

    expect(client.send('   ')).toMatch(/^Message must be 1-2000 characters/);
    expect(client.send('x'.repeat(limits.textMaxLength + 1))).toMatch(/^Message must be 1-2000 characters/);
    expect(state().rooms.refuse!.pending).toEqual([]);
    expect(sent('message:send')).toEqual([]);

    // What is acceptable does go out, and is the only thing that did.
    expect(client.send('fine')).toBeNull();
    await until('it is delivered', () => state().rooms.refuse!.messages.length === 1);
    expect(sent('message:send').map((send) => send.text)).toEqual(['fine']);
  });

  it('loads older history before the oldest message held', async () => {
    const seeded = await seed('older', 120);
    const { client, state, sent } = setup({ rooms: ['older'], current: 'older' });
    client.signIn('Ada');
    await until('the room is joined', () => joined(state(), 'older'));
    expect(state().rooms.older).toMatchObject({ hasOlder: true });
    expect(idsOf(state().rooms.older!.messages)).toEqual(idsOf(seeded.slice(70)));

    await client.loadOlder('older');
    expect(sent('history:fetch').at(-1)).toEqual({ room: 'older', before: seeded[70]!.id, limit: 50 });
    expect(idsOf(state().rooms.older!.messages)).toEqual(idsOf(seeded.slice(20)));
    expect(state().rooms.older!.hasOlder).toBe(true);
    await client.loadOlder('older');
    expect(sent('history:fetch').at(-1)).toEqual({ room: 'older', before: seeded[20]!.id, limit: 50 });
    expect(idsOf(state().rooms.older!.messages)).toEqual(idsOf(seeded));
    expect(state().rooms.older!.hasOlder).toBe(false);
  });

  it('opens and leaves rooms, remembering them', async () => {
    const { client, store, state, sent } = setup();
    const watcher = await otherUser('Watcher', 'opened');
    client.signIn('Ada');
    await until('the lobby is joined', () => joined(state()));

    const arrived = nextEvent(watcher, 'presence:update', (u) => u.room === 'opened' && u.members.length === 2);
    client.openRoom('opened');
    await until('the room is joined', () => joined(state(), 'opened'));
    expect((await arrived)[0].members.map((m) => m.name)).toEqual(['Ada', 'Watcher']);
    expect(JSON.parse(store.getItem(storageKeys.rooms)!)).toEqual(['lobby', 'opened']);
    expect(store.getItem(storageKeys.currentRoom)).toBe('opened');

    const left = nextEvent(watcher, 'presence:update', (u) => u.room === 'opened' && u.members.length === 1);
    client.closeRoom('opened');
    expect(JSON.parse(store.getItem(storageKeys.rooms)!)).toEqual(['lobby']);
    expect(state().current).toBe('lobby');
    expect(sent('room:leave')).toEqual([{ room: 'opened' }]);
    expect((await left)[0].members.map((m) => m.name)).toEqual(['Watcher']);
  });

  it('goes back to the name form when the server refuses the handshake', async () => {
    const { client, state, connection } = setup();
    client.signIn('x'.repeat(limits.nameMaxLength + 1));
    await until('the server answers', () => state().status !== 'connecting');
    expect(state()).toMatchObject({ status: 'refused', error: 'invalid handshake: name: must be 1-32 characters after trimming' });
    // Refused is final: Socket.IO does not try again.
    expect(connection().socket.active).toBe(false);
  });

  it.each([
    ['a WebSocket (close 1009)', undefined],
    ['long-polling (HTTP 413)', ['polling' as const]],
  ])('says why when the server drops the connection for a packet over its size limit, over %s', async (_, transports) => {
    const { client, state, connection } = setup({ transports });
    client.signIn('Ada');
    await until('the lobby is joined', () => joined(state()));
    if (!transports) await until('the upgrade to a WebSocket', () => state().transport === 'websocket');
    // Every state from here on: the drop may be followed quickly by the reconnection.
    const seen: Pick<ChatState, 'status' | 'error'>[] = [];
    client.subscribe(() => seen.push({ status: state().status, error: state().error }));

    // The page cannot send this (text over 2,000 characters is refused before it goes out): a
    // raw packet of 20 KB on the page's own socket, over the server's 16 KiB.
    connection().socket.emit('typing', { room: 'x'.repeat(20_000), typing: true }, () => undefined);
    await until('the connection drops', () => seen.some(({ status }) => status === 'reconnecting'));
    expect(seen.find(({ status }) => status === 'reconnecting')).toEqual({
      status: 'reconnecting',
      error: 'Connection lost (a message was larger than the server accepts)',
    });
    // A transport failure: Socket.IO reconnects by itself.
    await until('the lobby is joined again', () => joined(state()));
  });

  it('signs out: forgets the name, keeps the user id', async () => {
    const { client, store, state, connection } = setup();
    client.signIn('Ada');
    await until('the lobby is joined', () => joined(state()));
    const userId = store.getItem(storageKeys.userId);
    const first = connection();

    client.signOut();
    expect(state()).toMatchObject({ name: null, status: 'idle', session: null });
    expect(store.getItem(storageKeys.name)).toBeNull();
    expect(store.getItem(storageKeys.userId)).toBe(userId);
    expect(first.connected).toBe(false);

    // Signing in again, under another name, is still the same user.
    client.signIn('Ada L.');
    await until('the lobby is joined again', () => joined(state()));
    expect(state().session!.user).toEqual({ id: userId, name: 'Ada L.' });
  });
});
