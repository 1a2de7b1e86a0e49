import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '@chat/protocol';
import { connectClient, httpGet, startStack, waitUntil, type Stack } from '@chat/devstack';
import { Member, percentile } from './member.js';

// Failure scenarios through the gateway with infra/nginx.conf, on real processes. Each prints its figures.
const chatEnv = { MAX_CONNECTIONS_PER_ADDRESS: '1000' };
let stack: Stack | undefined;
let members: Member[] = [];

afterEach(async () => {
  for (const member of members) member.close();
  members = [];
  await stack?.stop();
  stack = undefined;
});

async function crowd(url: string, count: number, rooms: number): Promise<Member[]> {
  members = Array.from({ length: count }, (_, i) => new Member(url, `m${i}`, [`room-${i % rooms}`]));
  await Promise.all(members.map((m) => m.ready()));
  return members;
}

/** Every member sends now and then (each at most ~1/s, well under the rate limit) until `stop()`. */
function chatter(all: Member[], periodMs = 1_500) {
  let running = true;
  const outcomes = new Map<string, number>();
  const loops = all.map(async (member, i) => {
    await new Promise((resolve) => setTimeout(resolve, (i * 37) % periodMs));
    for (let n = 0; running; n++) {
      const outcome = await member.send(member.rooms[0]!, `${member.name} #${n}`);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, periodMs));
    }
  });
  return {
    outcomes,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Waits until every member has seen every acked message of its room; returns what is still missing. */
async function everyAckedSeen(all: Member[], timeoutMs = 30_000): Promise<number> {
  const acked: Message[] = all.flatMap((m) => m.acked);
  const missing = () => all.reduce((sum, m) => sum + m.missing(acked).length, 0);
  await waitUntil('every acked message to reach every member', async () => missing() === 0, timeoutMs).catch(() => undefined);
  return missing();
}

const ms = (values: number[]) =>
  `p50 ${percentile(values, 50).toFixed(0)} ms, p99 ${percentile(values, 99).toFixed(0)} ms, max ${Math.max(...values).toFixed(0)} ms`;

describe('failover through the gateway', () => {
  it('kill -9 of one instance: its clients reconnect elsewhere and every acked message is seen exactly once', async () => {
    stack = await startStack({ frontDoor: 'gateway', instances: 3, chatEnv });
    const all = await crowd(stack.url, 150, 5);
    const victims = all.filter((m) => m.instance === 'chat-2');
    expect(new Set(all.map((m) => m.instance)).size).toBe(3);

    const talk = chatter(all);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const errorsBefore = all.reduce((sum, m) => sum + m.connectErrors, 0);
    await stack.chatServers[1]!.kill();
    await waitUntil('the victims to reconnect', async () => victims.every((m) => m.socket.connected && m.connects > 1), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await talk.stop();
    await Promise.all(all.map((m) => m.ready()));

    const missing = await everyAckedSeen(all);
    const failed = all.reduce((sum, m) => sum + m.connectErrors, 0) - errorsBefore;
    const reconnect = victims.flatMap((m) => m.reconnectMs);
    console.log(
      `instance crash: ${victims.length} of ${all.length} clients moved; reconnect ${ms(reconnect)}; ` +
        `failed handshakes through the gateway: ${failed}; sends ${JSON.stringify(Object.fromEntries(talk.outcomes))}; ` +
        `acked ${all.flatMap((m) => m.acked).length}, missing ${missing}`,
    );
    expect(victims.length).toBeGreaterThan(0);
    expect(victims.every((m) => m.instance !== 'chat-2')).toBe(true);
    expect(missing).toBe(0);
    for (const member of all) for (const room of member.seen.values()) expect(new Set(room.keys()).size).toBe(room.size);
  }, 120_000);

  it('rolling restart with SIGTERM: each instance drains within 10 s and no acked message is lost', async () => {
    stack = await startStack({ frontDoor: 'gateway', instances: 3, chatEnv });
    const all = await crowd(stack.url, 60, 3);
    const talk = chatter(all, 1_000);
    const drains: number[] = [];
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const started = Date.now();
      await stack.chatServers[i]!.stop(10_000);
      drains.push(Date.now() - started);
      expect(stack.chatServers[i]!.child.exitCode, stack.chatServers[i]!.output()).toBe(0);
      await stack.restartChatServer(i);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await talk.stop();
    await Promise.all(all.map((m) => m.ready()));
    const missing = await everyAckedSeen(all);
    console.log(
      `rolling restart: drain times ${drains.map((d) => `${d} ms`).join(', ')}; sends ${JSON.stringify(Object.fromEntries(talk.outcomes))}; missing ${missing}`,
    );
    expect(Math.max(...drains)).toBeLessThan(10_000);
    expect(missing).toBe(0);
  }, 120_000);

  it('Redis down for 10 s: servers stay up, refuse sends as unavailable, and resume within 5 s', async () => {
    stack = await startStack({ frontDoor: 'gateway', instances: 3, chatEnv });
    const all = await crowd(stack.url, 30, 1);
    const byInstance = (instance: string) => all.find((m) => m.instance === instance)!;
    const talk = chatter(all, 1_000);
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    await stack.redis!.stop();
    const downAt = Date.now();
    await waitUntil('every /healthz to answer 503', async () => {
      const statuses = await Promise.all(stack!.chatServers.map((s) => httpGet(`${s.url}/healthz`).then((r) => r.status)));
      return statuses.every((status) => status === 503);
    });
    const refused = await byInstance('chat-1').send('room-0', 'during the outage');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 10_000 - (Date.now() - downAt))));
    await stack.redis!.restart();
    const upAt = Date.now();

    // Cross-instance delivery and history are back without restarting anything.
    const sender = byInstance('chat-1');
    const receiver = byInstance('chat-3');
    let resumedMs = NaN;
    await waitUntil('a message from chat-1 to reach chat-3 live and in history', async () => {
      if ((await sender.send('room-0', `probe ${Date.now()}`)) !== 'ok') return false;
      const probe = sender.acked.at(-1)!;
      await waitUntil('live delivery', async () => receiver.seen.get('room-0')!.has(probe.id), 1_000);
      const history = await receiver.socket.emitWithAck('history:fetch', { room: 'room-0', limit: 5 });
      if (!history.ok || !history.messages.some((m) => m.id === probe.id)) return false;
      resumedMs = Date.now() - upAt;
      return true;
    }, 10_000);
    await talk.stop();

    // Never ok: true for a message that was not stored: every acked message is in history.
    const stored = await connectClient(stack.url, 'auditor');
    await stored.socket.emitWithAck('room:join', { room: 'room-0' });
    const ids = new Set<string>();
    let before: string | undefined;
    for (;;) {
      const page = await stored.socket.emitWithAck('history:fetch', { room: 'room-0', limit: 100, ...(before && { before }) });
      if (!page.ok || page.messages.length === 0) break;
      for (const m of page.messages) ids.add(m.id);
      before = page.messages[0]!.id;
    }
    stored.socket.close();
    const acked = all.flatMap((m) => m.acked);
    console.log(
      `redis outage: sends ${JSON.stringify(Object.fromEntries(talk.outcomes))}; resumed ${resumedMs} ms after Redis returned; ` +
        `acked ${acked.length}, all in history: ${acked.every((m) => ids.has(m.id))}`,
    );
    expect(refused).toBe('unavailable');
    expect(talk.outcomes.get('unavailable') ?? 0).toBeGreaterThan(0);
    expect(resumedMs).toBeLessThan(5_000);
    expect(acked.filter((m) => !ids.has(m.id))).toEqual([]);
  }, 120_000);

  it('gateway restart: clients reconnect by themselves and catch up on what they missed', async () => {
    stack = await startStack({ frontDoor: 'gateway', instances: 3, chatEnv });
    const all = await crowd(stack.url, 30, 1);
    await stack.frontDoor.stop();
    await waitUntil('every client to notice', async () => all.every((m) => !m.socket.connected));
    // Written while the gateway is down, straight to a chat server.
    const direct = await connectClient(stack.chatServers[0]!.url, 'direct');
    await direct.socket.emitWithAck('room:join', { room: 'room-0' });
    const missed: Message[] = [];
    for (let i = 0; i < 120; i++) {
      const ack = await direct.socket.emitWithAck('message:send', { room: 'room-0', text: `while you were away ${i}` });
      if (ack.ok) missed.push(ack.message);
      else await new Promise((resolve) => setTimeout(resolve, 100)); // the direct sender's own rate limit
      if (missed.length === 20) break;
    }
    direct.socket.close();
    const restartedAt = Date.now();
    await stack.restartFrontDoor();
    await Promise.all(all.map((m) => m.ready()));
    const missing = all.reduce((sum, m) => sum + m.missing(missed).length, 0);
    console.log(`gateway restart: all ${all.length} clients back ${Date.now() - restartedAt} ms after the restart; missing ${missing}`);
    expect(missed.length).toBe(20);
    expect(missing).toBe(0);
  }, 120_000);
});
