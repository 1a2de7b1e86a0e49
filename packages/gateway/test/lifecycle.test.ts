import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createGateway, parseConfigText } from '../src/index.js';
import { cleanup, FILE, httpRequest, infraLikeConfig, lines, onCleanup, startGateway, startUpstream } from './helpers.js';

afterEach(cleanup);

describe('gateway lifecycle', () => {
  it('close() stops listening and destroys open tunnels and pooled upstream connections', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    onCleanup(() => new Promise<void>((r) => wss.close(() => r())));
    const upstreamSockets: WebSocket[] = [];
    wss.on('connection', (ws) => upstreamSockets.push(ws));
    const http = await startUpstream();
    const config = lines(
      'events {}',
      'http {',
      '  map $http_upgrade $connection_upgrade { default upgrade; \'\' \'\'; }',
      '  upstream ws { server ws:1; }',
      '  upstream web { server web:1; keepalive 4; }',
      '  server {',
      '    listen 80;',
      '    location /ws/ { proxy_pass http://ws; proxy_http_version 1.1;',
      '      proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $connection_upgrade; }',
      '    location / { proxy_pass http://web; proxy_http_version 1.1; proxy_set_header Connection ""; }',
      '  }',
      '}',
    );
    const gateway = createGateway(parseConfigText(config, FILE), {
      listen: '127.0.0.1:0',
      resolve: new Map([
        ['ws:1', `127.0.0.1:${(wss.address() as AddressInfo).port}`],
        ['web:1', `127.0.0.1:${http.port}`],
      ]),
    });
    const [address] = await gateway.listen();
    const port = (address as AddressInfo).port;

    expect((await httpRequest(port, '/pooled')).status).toBe(200);
    const client = new WebSocket(`ws://127.0.0.1:${port}/ws/`);
    client.on('error', () => {});
    await once(client, 'open');
    const upstreamClosed = once(upstreamSockets[0] as WebSocket, 'close');
    const clientClosed = once(client, 'close');

    await gateway.close();
    await Promise.all([clientClosed, upstreamClosed]);
    // The pooled keepalive connection to the HTTP upstream is gone too.
    const openConnections = () => new Promise<number>((resolve) => http.server.getConnections((_err, n) => resolve(n)));
    for (let i = 0; i < 100 && (await openConnections()) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await openConnections()).toBe(0);
    await expect(httpRequest(port, '/')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('keeps listener counts flat over many requests on one pooled connection', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    onCleanup(() => {
      process.off('warning', onWarning);
    });
    const up = await startUpstream();
    const { port } = await startGateway(infraLikeConfig(), { 'app:3000': up.port });
    for (let i = 0; i < 40; i++) await httpRequest(port, `/n${i}`, { method: i % 2 ? 'POST' : 'GET', body: i % 2 ? 'body' : undefined });
    expect(up.connections()).toBe(1);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('reports a port already in use', async () => {
    const busy = await startGateway(lines('events {}', 'http { server { listen 80; } }'));
    const gateway = createGateway(parseConfigText(lines('events {}', 'http { server { listen 80; } }'), FILE), {
      listen: `127.0.0.1:${busy.port}`,
    });
    await expect(gateway.listen()).rejects.toThrow(`bind() to 127.0.0.1:${busy.port} failed (EADDRINUSE)`);
    await gateway.close();
  });
});
