import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { cleanup, infraLikeConfig, onCleanup, pairs, startGateway } from './helpers.js';

afterEach(cleanup);

interface EchoUpstream {
  readonly port: number;
  readonly handshakes: IncomingMessage[];
  readonly sockets: WebSocket[];
}

/** A WebSocket upstream that echoes every message back. */
async function startEchoUpstream(): Promise<EchoUpstream> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const handshakes: IncomingMessage[] = [];
  const sockets: WebSocket[] = [];
  wss.on('connection', (ws, req) => {
    handshakes.push(req);
    sockets.push(ws);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  onCleanup(async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise((r) => wss.close(r));
  });
  return { port: (wss.address() as AddressInfo).port, handshakes, sockets };
}

function connectClient(port: number, path = '/socket.io/?EIO=4&transport=websocket'): WebSocket {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  // Terminating a socket that never opened reports an error; the tests look at events instead.
  ws.on('error', () => {});
  onCleanup(() => {
    ws.terminate();
  });
  return ws;
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary })));
}

describe('WebSocket through the gateway', () => {
  it('forwards the handshake with Upgrade/Connection and echoes messages both ways, 1 MB included', async () => {
    const up = await startEchoUpstream();
    const { port } = await startGateway(infraLikeConfig(), { 'app:3000': up.port });
    const ws = connectClient(port);
    await once(ws, 'open');

    const handshake = pairs(up.handshakes[0]?.rawHeaders ?? []);
    expect(handshake.slice(0, 5)).toEqual([
      ['Host', '127.0.0.1'],
      ['X-Real-IP', '127.0.0.1'],
      ['X-Forwarded-For', '127.0.0.1'],
      ['Upgrade', 'websocket'],
      ['Connection', 'upgrade'],
    ]);
    expect(handshake.map(([n]) => n)).toContain('Sec-WebSocket-Key');
    expect(up.handshakes[0]?.url).toBe('/socket.io/?EIO=4&transport=websocket');

    const text = nextMessage(ws);
    ws.send('hello');
    expect((await text).data.toString()).toBe('hello');

    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const echoed = nextMessage(ws);
    ws.send(big);
    const got = await echoed;
    expect(got.isBinary).toBe(true);
    expect(got.data.equals(big)).toBe(true);

    // Server-initiated message.
    const pushed = nextMessage(ws);
    up.sockets[0]?.send('from upstream');
    expect((await pushed).data.toString()).toBe('from upstream');
  });

  it('relays a non-101 answer to the client and closes the connection', async () => {
    const upstream = createServer((_req, res) => res.end('plain'));
    upstream.on('upgrade', (_req, socket: Socket) => {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nX-Why: nope\r\n\r\ndenied');
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    onCleanup(() => new Promise<void>((r) => upstream.close(() => r())));
    const { port } = await startGateway(infraLikeConfig(), { 'app:3000': (upstream.address() as AddressInfo).port });

    const ws = connectClient(port);
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
    expect(res.statusCode).toBe(403);
    expect(res.headers['x-why']).toBe('nope');
    expect(res.headers.server).toBe('chat-gateway');
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    await once(res, 'end');
    expect(Buffer.concat(chunks).toString()).toBe('denied');
  });

  it('answers 502 to an upgrade when the upstream is down', async () => {
    const { port } = await startGateway(infraLikeConfig(), { 'app:3000': 1 });
    const ws = connectClient(port);
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
    expect(res.statusCode).toBe(502);
    res.resume();
  });

  it('closes an idle tunnel after proxy_read_timeout', async () => {
    const up = await startEchoUpstream();
    const { port } = await startGateway(infraLikeConfig('      proxy_read_timeout 400ms;'), { 'app:3000': up.port });
    const ws = connectClient(port);
    await once(ws, 'open');
    // Traffic keeps it open well past the timeout...
    let lastTraffic = Date.now();
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const echo = nextMessage(ws);
      ws.send(`ping ${i}`);
      await echo;
      lastTraffic = Date.now();
    }
    expect(ws.readyState).toBe(WebSocket.OPEN);
    // ...silence closes it.
    const [code] = (await once(ws, 'close')) as [number];
    expect(code).toBe(1006);
    expect(Date.now() - lastTraffic).toBeGreaterThanOrEqual(300);
    expect(Date.now() - lastTraffic).toBeLessThan(10_000);
  });

  it('closes the upstream side when the client closes, and the client side when the upstream closes', async () => {
    const up = await startEchoUpstream();
    const { port } = await startGateway(infraLikeConfig(), { 'app:3000': up.port });

    const first = connectClient(port);
    await once(first, 'open');
    const upstreamSide = up.sockets[0] as WebSocket;
    const upstreamClosed = once(upstreamSide, 'close');
    first.close(1000, 'bye');
    const [code, reason] = (await upstreamClosed) as [number, Buffer];
    expect([code, reason.toString()]).toEqual([1000, 'bye']);

    const second = connectClient(port);
    await once(second, 'open');
    const clientClosed = once(second, 'close');
    (up.sockets[1] as WebSocket).terminate();
    const [abrupt] = (await clientClosed) as [number];
    expect(abrupt).toBe(1006);

    const third = connectClient(port);
    await once(third, 'open');
    const thirdClosed = once(up.sockets[2] as WebSocket, 'close');
    third.terminate();
    await thirdClosed;
  });
});
