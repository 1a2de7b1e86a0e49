import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { connectClient, httpGet, type ChatServerProcess, type ConnectedClient } from '@chat/devstack';
import { startCluster, type Cluster } from './cluster.js';

let cluster: Cluster;
let server: ChatServerProcess;
const open: ConnectedClient[] = [];

const from = (address: string, extra: Record<string, string> = {}) =>
  connectClient(server.url, 'Guest', { extraHeaders: { 'x-real-ip': address, ...extra } }).then((client) => {
    open.push(client);
    return client;
  });

beforeAll(async () => {
  cluster = await startCluster(1, { MAX_CONNECTIONS_PER_ADDRESS: '3', ALLOWED_ORIGINS: 'https://chat.example' });
  server = cluster.servers[0]!;
});

afterAll(async () => {
  for (const { socket } of open) socket.close();
  await cluster?.stop();
});

describe('origin allow-list', () => {
  it('admits an allowed origin and clients that send none', async () => {
    await expect(from('10.1.0.1', { origin: 'https://chat.example' })).resolves.toBeTruthy();
    await expect(from('10.1.0.2')).resolves.toBeTruthy();
  });

  it('refuses any other origin with a reason', async () => {
    await expect(from('10.1.0.3', { origin: 'https://evil.example' })).rejects.toThrow('origin https://evil.example is not allowed');
  });
});

describe('connections per client address', () => {
  it('caps each address, counting the address a trusted proxy reports, and frees slots on disconnect', async () => {
    const three = [await from('10.2.0.1'), await from('10.2.0.1'), await from('10.2.0.1')];
    await expect(from('10.2.0.1')).rejects.toThrow('too many connections from 10.2.0.1');
    // Another client behind the same proxy is not affected.
    await expect(from('10.2.0.2')).resolves.toBeTruthy();
    three[0]!.socket.close();
    await expect(
      (async () => {
        for (let i = 0; i < 40; i++) {
          try {
            return await from('10.2.0.1');
          } catch {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
        throw new Error('slot never freed');
      })(),
    ).resolves.toBeTruthy();
  });
});

describe('unknown events and metrics', () => {
  it('counts events nobody handles, and serves Prometheus metrics', async () => {
    const { socket } = await from('10.3.0.1');
    const raw = socket as unknown as Socket;
    raw.emit('admin:drop-tables', { all: true });
    raw.emit('__proto__', { polluted: true });
    raw.emit('constructor', 1);
    await socket.emitWithAck('room:join', { room: 'metrics' }); // orders after the three above
    const { status, body } = await httpGet(`${server.url}/metrics`);
    expect(status).toBe(200);
    expect(body).toMatch(/^chat_unknown_events_total\{instance="chat-1"\} 3$/m);
    expect(body).toMatch(/^chat_acks_total\{event="room:join",outcome="ok",instance="chat-1"\} \d+$/m);
    expect(body).toMatch(/^chat_connections_refused_total\{reason="per_address_cap",instance="chat-1"\} [1-9]/m);
  });

  it('is not polluted by __proto__ keys in payloads', async () => {
    const { socket } = await from('10.3.0.2');
    const raw = socket as unknown as Socket;
    const payload = JSON.parse('{"room":"lobby","__proto__":{"ok":false,"isAdmin":true},"constructor":{"prototype":{"x":1}}}');
    expect(await raw.emitWithAck('room:join', payload)).toMatchObject({ ok: true, room: 'lobby' });
    const second = await raw.emitWithAck('rooms:list', JSON.parse('{"__proto__":{"rooms":"hijacked"}}'));
    expect(second).toMatchObject({ ok: true });
    expect(Array.isArray((second as { rooms: unknown }).rooms)).toBe(true);
  });
});
