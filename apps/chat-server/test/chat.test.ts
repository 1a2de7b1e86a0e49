import { spawnSync } from 'node:child_process';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, httpGet, nextEvent, paths, waitUntil, type ChatServerProcess, type RedisProcess } from '@chat/devstack';
import { noRateLimit, startCluster, type Cluster } from './cluster.js';

let cluster: Cluster;
let redis: RedisProcess;
let servers: ChatServerProcess[];
const connect = (server: ChatServerProcess, name: string) => cluster.connect(server, name);

beforeAll(async () => {
  cluster = await startCluster(3, noRateLimit);
  ({ redis, servers } = cluster);
});

afterAll(() => cluster?.stop());

describe('start-up', () => {
  it('refuses an invalid environment, naming the variable', () => {
    const result = spawnSync(process.execPath, [paths.chatServer], { env: { ...process.env, PORT: 'eighty' }, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('PORT must be an integer from 0 to 65535 (got "eighty")');
  });

  it('answers /healthz with its instance id', async () => {
    const { status, body } = await httpGet(`${servers[1]!.url}/healthz`);
    expect(status).toBe(200);
    expect(JSON.parse(body)).toEqual({ status: 'ok', instance: 'chat-2' });
  });
});

describe('handshake', () => {
  it('sends the session with the instance and the trimmed name', async () => {
    const { session } = await connect(servers[0]!, '  Ada  ');
    expect(session.instance).toBe('chat-1');
    expect(session.user).toEqual({ id: expect.any(String), name: 'Ada' });
  });

  it.each([
    [undefined, 'invalid handshake: name: must be a string'],
    ['', 'invalid handshake: name: must be 1-32 characters after trimming'],
    ['x'.repeat(33), 'invalid handshake: name: must be 1-32 characters after trimming'],
  ])('refuses name %j with a reason', async (name, message) => {
    await expect(connectClient(servers[0]!.url, name as string)).rejects.toThrow(message);
  });
});

describe('rooms and messages across instances', () => {
  it('delivers a message to every member on every instance, and keeps it for later joiners', async () => {
    const members = await Promise.all(servers.map((server, i) => connect(server, `member-${i}`)));
    for (const { socket } of members) {
      const joined = await socket.emitWithAck('room:join', { room: 'cross' });
      expect(joined).toMatchObject({ ok: true, room: 'cross', messages: [] });
    }
    const received = members.slice(1).map(({ socket }) => nextEvent(socket, 'message:new'));
    const sent = await members[0]!.socket.emitWithAck('message:send', { room: 'cross', text: '  hello all  ' });
    expect(sent.ok).toBe(true);
    if (!sent.ok) return;
    expect(sent.message).toMatchObject({
      room: 'cross',
      text: 'hello all',
      author: members[0]!.session.user,
      instance: 'chat-1',
    });
    expect(Math.abs(sent.message.ts - Date.now())).toBeLessThan(10_000);
    for (const [message] of await Promise.all(received)) expect(message).toEqual(sent.message);

    const late = await connect(servers[2]!, 'late');
    const joined = await late.socket.emitWithAck('room:join', { room: 'cross' });
    expect(joined).toEqual({ ok: true, room: 'cross', messages: [sent.message] });
  });

  it('returns the latest 50 messages, oldest first', async () => {
    const { socket } = await connect(servers[1]!, 'writer');
    await socket.emitWithAck('room:join', { room: 'busy' });
    for (let i = 1; i <= 55; i++) {
      const ack = await socket.emitWithAck('message:send', { room: 'busy', text: `m${i}` });
      expect(ack.ok).toBe(true);
    }
    const reader = await connect(servers[2]!, 'reader');
    const joined = await reader.socket.emitWithAck('room:join', { room: 'busy' });
    if (!joined.ok) throw new Error('join failed');
    expect(joined.messages.map((m) => m.text)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i + 6}`));
  });

  it('stops delivering after room:leave, and refuses sends to rooms not joined', async () => {
    const a = await connect(servers[0]!, 'a');
    const b = await connect(servers[1]!, 'b');
    await a.socket.emitWithAck('room:join', { room: 'quiet' });
    await b.socket.emitWithAck('room:join', { room: 'quiet' });
    expect(await b.socket.emitWithAck('room:leave', { room: 'quiet' })).toEqual({ ok: true });

    let leaked = false;
    b.socket.on('message:new', () => (leaked = true));
    const echo = nextEvent(a.socket, 'message:new');
    await a.socket.emitWithAck('message:send', { room: 'quiet', text: 'anyone?' });
    await echo; // a's own copy arrives through the same broadcast that b would have got
    expect(leaked).toBe(false);

    expect(await b.socket.emitWithAck('message:send', { room: 'quiet', text: 'hi' })).toEqual({
      ok: false,
      error: { code: 'not_joined', message: 'join room "quiet" first' },
    });
  });

  it('takes author, time and instance from the server, never from the payload', async () => {
    const { socket, session } = await connect(servers[0]!, 'honest');
    await socket.emitWithAck('room:join', { room: 'forgery' });
    const payload = { room: 'forgery', text: 'hi', author: { id: 'x', name: 'Mallory' }, ts: 1, instance: 'chat-9', id: '1-1' };
    const ack = await socket.emitWithAck('message:send', payload as never);
    expect(ack).toMatchObject({ ok: true, message: { author: session.user, instance: 'chat-1' } });
    if (ack.ok) expect(ack.message.ts).toBeGreaterThan(1);
  });
});

describe('invalid payloads', () => {
  const cases: [string, unknown, string][] = [
    ['room:join', undefined, 'payload: payload must be an object'],
    ['room:join', 'lobby', 'payload: payload must be an object'],
    ['room:join', { room: 'Lobby' }, 'room: must match'],
    ['room:join', { room: 42 }, 'room: must be a string'],
    ['room:leave', {}, 'room: must be a string'],
    ['message:send', { room: 'lobby' }, 'text: must be a string'],
    ['message:send', { room: 'lobby', text: '   ' }, 'text: must be 1-2000 characters after trimming'],
    ['message:send', { room: 'lobby', text: 'x'.repeat(2001) }, 'text: must be 1-2000 characters after trimming'],
    ['message:send', [1, 2, 3], 'payload: payload must be an object'],
    ['message:send', { room: 'lobby', text: 'hi', clientId: 'x' }, 'clientId: must be 8-64 characters'],
    ['rooms:list', 'all', 'payload: payload must be an object'],
    ['history:fetch', { room: 'lobby', limit: 1000 }, 'limit: must be 1-100'],
    ['history:fetch', { room: 'lobby', before: 'yesterday' }, 'before: must be a message id'],
    ['typing', { room: 'lobby', typing: 'yes' }, 'typing: must be true or false'],
    ['typing', { room: 'lobby' }, 'typing: must be true or false'],
  ];

  it.each(cases)('%s %j gets ok: false with code invalid, and the socket stays up', async (event, payload, message) => {
    const { socket } = await connect(servers[0]!, 'fuzzy');
    // Untyped on purpose: these payloads break the protocol's types.
    const ack: unknown = await (socket as unknown as Socket).timeout(5_000).emitWithAck(event, payload);
    expect(ack).toMatchObject({ ok: false, error: { code: 'invalid' } });
    expect((ack as { error: { message: string } }).error.message).toContain(message);
    expect(socket.connected).toBe(true);
    expect(await socket.emitWithAck('room:join', { room: 'lobby' })).toMatchObject({ ok: true });
  });

  it('survives events without an ack and events it does not know', async () => {
    const { socket } = await connect(servers[0]!, 'no-ack');
    const raw = socket as unknown as Socket;
    raw.emit('message:send', { nonsense: true });
    raw.emit('no:such:event', 1, 2);
    expect(await socket.emitWithAck('room:join', { room: 'lobby' })).toMatchObject({ ok: true });
  });
});

describe('without Redis', () => {
  it('reports 503 and refuses sends with code unavailable, then recovers', async () => {
    const { socket } = await connect(servers[0]!, 'patient');
    await socket.emitWithAck('room:join', { room: 'outage' });
    await redis.stop();
    try {
      await waitUntil('chat-1 to report 503', async () => (await httpGet(`${servers[0]!.url}/healthz`)).status === 503);
      const ack = await socket.emitWithAck('message:send', { room: 'outage', text: 'lost?' });
      expect(ack).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    } finally {
      await redis.restart();
    }
    await waitUntil('chat-1 to report 200', async () => (await httpGet(`${servers[0]!.url}/healthz`)).status === 200);
    // The reconnecting client may land on a fresh Redis; the socket itself stayed connected throughout.
    await waitUntil('a send to succeed', async () => (await socket.emitWithAck('message:send', { room: 'outage', text: 'back' })).ok);
  });
});

describe('engine session ids', () => {
  it('name the instance that issued them', async () => {
    const { status, body } = await httpGet(`${servers[2]!.url}/socket.io/?EIO=4&transport=polling`);
    expect(status).toBe(200);
    const { sid } = JSON.parse(body.slice(1)) as { sid: string };
    expect(sid).toMatch(/^chat-3\.[A-Za-z0-9_-]{20}$/);
  });
});

describe('engine errors', () => {
  it('counts polling requests for a session this instance does not hold', async () => {
    const { status } = await httpGet(`${servers[0]!.url}/socket.io/?EIO=4&transport=polling&sid=chat-2.nothere`);
    expect(status).toBe(400);
    const { body } = await httpGet(`${servers[0]!.url}/metrics`);
    expect(body).toMatch(/^chat_engine_errors_total\{reason="Session ID unknown",instance="chat-1"\} 1$/m);
  });
});
