import type { DisconnectDescription } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limits } from '@chat/protocol';
import { connectClient, httpGet, nextEvent, waitUntil, type ChatServerProcess, type ConnectedClient } from '@chat/devstack';
import { noRateLimit, startCluster, type Cluster } from './cluster.js';

/*
 * Packets over MAX_HTTP_BUFFER_SIZE (16 KiB by default) against a real chat server, over each
 * transport: the client learns why its connection dropped, the server logs and counts it, and
 * nobody else notices. Text over the protocol's limit, well below the transport's, is refused
 * with an ack instead.
 */

let cluster: Cluster;
let server: ChatServerProcess;
const transports = ['websocket', 'polling'] as const;
type Transport = (typeof transports)[number];

beforeAll(async () => {
  cluster = await startCluster(1, noRateLimit);
  server = cluster.servers[0]!;
});

afterAll(() => cluster?.stop());

const clients: ConnectedClient[] = [];
async function connect(name: string, transport: Transport): Promise<ConnectedClient> {
  const client = await connectClient(server.url, name, { transports: [transport] });
  clients.push(client);
  return client;
}
afterAll(() => {
  for (const { socket } of clients) socket.close();
});

/** chat_oversize_disconnects_total{transport} from the server's /metrics. */
async function oversizeCount(url: string, transport: Transport): Promise<number> {
  const { body } = await httpGet(`${url}/metrics`);
  const line = body.split('\n').find((l) => l.startsWith(`chat_oversize_disconnects_total{transport="${transport}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** Emits one packet of about `bytes` bytes and resolves with how the connection ended. */
function sendOversized(client: ConnectedClient, bytes: number): Promise<{ reason: string; details?: DisconnectDescription }> {
  const ended = new Promise<{ reason: string; details?: DisconnectDescription }>((resolve) =>
    client.socket.once('disconnect', (reason, details) => resolve({ reason, details })),
  );
  // Never answered: the packet does not get past the transport.
  client.socket.emit('typing', { room: 'x'.repeat(bytes), typing: true }, () => undefined);
  return ended;
}

describe.each(transports)('over %s', (transport) => {
  it('a packet over the limit drops that connection with a reason the client can read, and is logged and counted', async () => {
    const before = await oversizeCount(server.url, transport);
    const sender = await connect(`big-${transport}`, transport);
    const bystander = await connect(`calm-${transport}`, transport);
    const room = `oversize-${transport}`;
    expect(await bystander.socket.emitWithAck('room:join', { room })).toMatchObject({ ok: true });

    const { reason, details } = await sendOversized(sender, 20_000);
    if (transport === 'websocket') {
      // The server closed the WebSocket with 1009 "Message Too Big".
      expect(reason).toBe('transport close');
      expect(details).toMatchObject({ description: 'websocket connection closed', context: { code: 1009 } });
    } else {
      // The long-polling POST was answered 413 "Payload Too Large".
      expect(reason).toBe('transport error');
      expect(details).toMatchObject({ message: 'xhr post error', description: 413 });
    }

    await waitUntil('the oversize counter', async () => (await oversizeCount(server.url, transport)) === before + 1);
    expect(server.output()).toContain(`"address":"127.0.0.1","transport":"${transport}","limit":16384,"msg":"packet over MAX_HTTP_BUFFER_SIZE: connection dropped"`);

    // The other client on the same instance is unaffected: still connected, still chatting.
    expect(bystander.socket.connected).toBe(true);
    const echoed = nextEvent(bystander.socket, 'message:new', (message) => message.room === room);
    expect(await bystander.socket.emitWithAck('message:send', { room, text: 'still here' })).toMatchObject({ ok: true });
    expect((await echoed)[0].text).toBe('still here');
  });

  it('text over the protocol limit, but under the transport limit, gets an `invalid` ack and keeps the connection', async () => {
    const client = await connect(`long-${transport}`, transport);
    expect(await client.socket.emitWithAck('room:join', { room: 'long-text' })).toMatchObject({ ok: true });
    const ack = await client.socket.emitWithAck('message:send', { room: 'long-text', text: 'x'.repeat(15_000) });
    expect(ack).toEqual({ ok: false, error: { code: 'invalid', message: `text: must be 1-${limits.textMaxLength} characters after trimming` } });
    expect(client.socket.connected).toBe(true);
  });

  it('the largest valid message fits: the maximum length, every character JSON-escaped to 6 bytes', async () => {
    const client = await connect(`escaped-${transport}`, transport);
    const room = `r${'-'.repeat(63)}`;
    expect(await client.socket.emitWithAck('room:join', { room })).toMatchObject({ ok: true });
    // Each U+0001 travels as `\u0001`: 12,000 bytes of text in a packet of about 12.2 KB.
    const text = '\u0001'.repeat(limits.textMaxLength);
    const ack = await client.socket.emitWithAck('message:send', { room, text, clientId: 'c'.repeat(64) });
    expect(ack).toMatchObject({ ok: true, message: { text } });
  });
});

describe('MAX_HTTP_BUFFER_SIZE', () => {
  let raised: Cluster | undefined;
  afterAll(() => raised?.stop());

  it('raises the limit: a 20 KB packet is only invalid, a 40 KB one drops the connection', async () => {
    raised = await startCluster(1, { MAX_HTTP_BUFFER_SIZE: '32768' });
    const big = raised.servers[0]!;
    const client = await raised.connect(big, 'roomy');
    const ack = await client.socket.emitWithAck('room:join', { room: 'x'.repeat(20_000) });
    expect(ack).toMatchObject({ ok: false, error: { code: 'invalid' } });
    const { details } = await sendOversized(client, 40_000);
    expect(details).toMatchObject({ context: { code: 1009 } });
    await waitUntil('the oversize counter', async () => (await oversizeCount(big.url, 'websocket')) === 1);
    expect(big.output()).toContain('"limit":32768');
  });
});
