import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '@chat/protocol';
import { connectClient, httpGet, nextEvent, startStack, type ConnectedClient, type Stack } from '@chat/devstack';

// The same scenario through both engines that read infra/nginx.conf.
describe.each(['gateway', 'nginx'] as const)('through %s with infra/nginx.conf', (frontDoor) => {
  let stack: Stack;
  const clients: ConnectedClient[] = [];

  beforeAll(async () => {
    stack = await startStack({ frontDoor, instances: 3 });
  });

  afterAll(async () => {
    for (const { socket } of clients) socket.close();
    await stack?.stop();
  });

  it('proxies plain HTTP to the chat servers (/socket.io/ handshake over polling)', async () => {
    const { status, body } = await httpGet(`${stack.url}/socket.io/?EIO=4&transport=polling`);
    expect(status).toBe(200);
    expect(body).toMatch(/^0\{"sid":/);
  });

  it('answers 502 for / while no web app is running', async () => {
    expect((await httpGet(`${stack.url}/`)).status).toBe(502);
  });

  it('spreads six clients over the instances, and a message reaches every one of them', async () => {
    for (let i = 0; i < 6; i++) clients.push(await connectClient(stack.url, `user-${i}`));
    const instances = new Set(clients.map(({ session }) => session.instance));
    expect(instances.size).toBeGreaterThanOrEqual(2);

    for (const { socket } of clients) {
      expect(await socket.emitWithAck('room:join', { room: 'e2e' })).toMatchObject({ ok: true });
    }
    const [sender, ...others] = clients;
    const arrivals = others.map(({ socket }) => nextEvent(socket, 'message:new'));
    const ack = await sender!.socket.emitWithAck('message:send', { room: 'e2e', text: `hello through ${frontDoor}` });
    if (!ack.ok) throw new Error(ack.error.message);
    const received: Message[] = (await Promise.all(arrivals)).map(([message]) => message);
    expect(received).toEqual(others.map(() => ack.message));

    const late = await connectClient(stack.url, 'late');
    clients.push(late);
    expect(await late.socket.emitWithAck('room:join', { room: 'e2e' })).toEqual({
      ok: true,
      room: 'e2e',
      messages: [ack.message],
    });
  });
});
