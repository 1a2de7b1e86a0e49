import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGet, startStack, waitUntil, type Stack } from '@chat/devstack';
import { Member } from './member.js';

/** Engine.IO requests the chat servers refused with HTTP 400 (e.g. "Session ID unknown"), from their metrics. */
async function refusedRequests(stack: Stack): Promise<number> {
  let total = 0;
  for (const server of stack.chatServers) {
    const { body } = await httpGet(`${server.url}/metrics`);
    for (const [, count] of body.matchAll(/^chat_engine_errors_total\{[^}]*\} (\d+)$/gm)) total += Number(count);
  }
  return total;
}

// Long-polling behind the balancer: infra/nginx.conf routes every request that carries an engine
// session id to the instance named in it, in both engines.
describe.each(['gateway', 'nginx'] as const)('sticky sessions through %s', (frontDoor) => {
  let stack: Stack;
  const members: Member[] = [];

  beforeAll(async () => {
    stack = await startStack({ frontDoor, instances: 3, chatEnv: { MAX_CONNECTIONS_PER_ADDRESS: '1000' } });
  });

  afterAll(async () => {
    for (const member of members) member.close();
    await stack?.stop();
  });

  it('50 polling-only and 50 default clients: no HTTP 400, every message delivered, all instances used', async () => {
    for (let i = 0; i < 50; i++) members.push(new Member(stack.url, `poll${i}`, ['sticky'], ['polling']));
    for (let i = 0; i < 50; i++) members.push(new Member(stack.url, `auto${i}`, ['sticky'], ['polling', 'websocket']));
    await Promise.all(members.map((m) => m.ready()));

    const senders = members.filter((_, i) => i % 10 === 0);
    for (const [i, sender] of senders.entries()) expect(await sender.send('sticky', `hello ${i}`)).toBe('ok');
    const acked = senders.flatMap((m) => m.acked);
    await waitUntil('every client to receive every message', async () => members.every((m) => m.missing(acked).length === 0), 20_000);

    const spread = new Map<string, number>();
    for (const m of members) spread.set(m.instance, (spread.get(m.instance) ?? 0) + 1);
    const upgraded = members.filter((m) => m.socket.io.engine.transport.name === 'websocket').length;
    const refused = await refusedRequests(stack);
    console.log(
      `${frontDoor}: ${members.length} clients over ${JSON.stringify(Object.fromEntries(spread))}; ` +
        `${upgraded} upgraded to websocket; ${acked.length} messages x ${members.length} clients delivered; HTTP 400s: ${refused}`,
    );
    expect(spread.size).toBe(3);
    expect(upgraded).toBeGreaterThanOrEqual(50);
    expect(members.slice(0, 50).every((m) => m.socket.io.engine.transport.name === 'polling')).toBe(true);
    expect(refused).toBe(0);
    expect(members.every((m) => m.connectErrors === 0)).toBe(true);
  }, 60_000);

  it('sends a stale or unknown session id to the balanced pool, which answers a clean 400', async () => {
    const { status, body } = await httpGet(`${stack.url}/socket.io/?EIO=4&transport=polling&sid=chat-9.AAAAAAAAAAAAAAAAAAAA`);
    expect(status).toBe(400);
    expect(body).toContain('Session ID unknown');
  });
});
