import { once } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { canConnect, nextEvent } from '@chat/devstack';
import { noRateLimit, startCluster, type Cluster } from './cluster.js';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster(2, noRateLimit);
});

afterAll(() => cluster?.stop());

it('on SIGTERM stops accepting, drops clients so they reconnect, leaves presence, and exits within 10 s', async () => {
  const leaving = cluster.servers[0]!;
  const staying = cluster.servers[1]!;
  const watcher = await cluster.connect(staying, 'Watcher');
  const moving = await cluster.connect(leaving, 'Mover');
  await watcher.socket.emitWithAck('room:join', { room: 'drain' });
  const both = nextEvent(watcher.socket, 'presence:update', (u) => u.members.length === 2);
  await moving.socket.emitWithAck('room:join', { room: 'drain' });
  await both;

  const reason = new Promise<string>((resolve) => moving.socket.once('disconnect', resolve));
  const gone = nextEvent(watcher.socket, 'presence:update', (u) => u.members.map((m) => m.name).join() === 'Watcher');
  const started = Date.now();
  leaving.child.kill('SIGTERM');
  const [code] = (await once(leaving.child, 'exit')) as [number | null];
  const seconds = (Date.now() - started) / 1000;
  console.log(`graceful shutdown took ${seconds.toFixed(2)} s`);

  expect(code).toBe(0);
  expect(seconds).toBeLessThan(10);
  // A transport close, which Socket.IO clients retry (a server-side disconnect they would not).
  expect(await reason).toBe('transport close');
  await gone;
  expect(await canConnect(leaving.port)).toBe(false);
});
