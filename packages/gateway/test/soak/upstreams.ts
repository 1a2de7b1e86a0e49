import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { WebSocketServer } from 'ws';

/**
 * The soak's upstreams: a WebSocket echo backend, and a raw TCP "HTTP" upstream whose answer is
 * chosen by the request path, most of them broken on purpose.
 */

export interface SoakUpstream {
  readonly port: number;
  /** Connections the upstream still has open. */
  open(): number;
  close(): Promise<void>;
}

/**
 * Echoes every message; the message `close` makes it close cleanly (1000), `reset` makes it
 * reset the TCP connection: the two upstream-side endings of a tunnel.
 */
export async function startEchoBackend(): Promise<SoakUpstream> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, backlog: 4096 });
  await once(wss, 'listening');
  wss.on('connection', (ws, req) => {
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? '' : data.toString();
      if (text === 'close') ws.close(1000, 'upstream closes');
      else if (text === 'reset') req.socket.resetAndDestroy();
      else ws.send(data, { binary: isBinary });
    });
  });
  return {
    port: (wss.address() as AddressInfo).port,
    open: () => wss.clients.size,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise((resolve) => wss.close(resolve));
    },
  };
}

/** Misbehaviours of the raw upstream, by request path. */
export const MISBEHAVIOURS = [
  'reset', // RST right after the request
  'reset-mid-body', // head and part of the body, then RST
  'half-close', // FIN without a byte of response, reading side left open
  'half-close-mid-body', // head and part of the body, then FIN, reading side left open
  'silent', // reads the request, never answers (the gateway's proxy_read_timeout ends it)
  'close-after-headers', // a head announcing 100 bytes, then close
  'slow-drip', // a byte every 40 ms (the client gives up half-way)
] as const;
export type Misbehaviour = (typeof MISBEHAVIOURS)[number];

const partialHead = (length: number) => `HTTP/1.1 200 OK\r\nContent-Length: ${length}\r\nContent-Type: text/plain\r\n\r\n`;

/**
 * `/ok` answers `ok` and keeps the connection (so the gateway's keepalive pool is used and then
 * handed broken connections); every other path is one of MISBEHAVIOURS. `allowHalfOpen`: after
 * its FIN the upstream keeps reading, so only the gateway can finish a half-closed connection.
 */
export async function startMisbehavingUpstream(): Promise<SoakUpstream> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    const timers = new Set<NodeJS.Timeout>();
    socket.once('close', () => {
      sockets.delete(socket);
      for (const t of timers) clearInterval(t);
    });
    socket.on('error', () => {});
    // The gateway closing its side is the end of the connection for every behaviour.
    socket.on('end', () => socket.destroy());
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const path = /^\S+ (\S+)/.exec(pending)?.[1] ?? '';
        // Request bodies only come with `silent`; they are never parsed.
        pending = pending.slice(end + 4);
        answer(socket, path.slice(1), timers);
      }
    });
  });
  server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 });
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    open: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function answer(socket: Socket, what: string, timers: Set<NodeJS.Timeout>): void {
  switch (what as Misbehaviour | 'ok') {
    case 'ok':
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 'latin1');
      return;
    case 'reset':
      socket.resetAndDestroy();
      return;
    case 'reset-mid-body':
      socket.write(`${partialHead(1000)}${'x'.repeat(100)}`, 'latin1', () => socket.resetAndDestroy());
      return;
    case 'half-close':
      socket.end();
      return;
    case 'half-close-mid-body':
      socket.end(`${partialHead(1000)}${'x'.repeat(100)}`, 'latin1');
      return;
    case 'silent':
      return;
    case 'close-after-headers':
      socket.end(partialHead(100), 'latin1');
      return;
    case 'slow-drip': {
      socket.write(partialHead(50), 'latin1');
      let sent = 0;
      const drip = setInterval(() => {
        if (socket.destroyed || ++sent > 50) {
          clearInterval(drip);
          timers.delete(drip);
          return;
        }
        socket.write('.');
      }, 40);
      timers.add(drip);
      return;
    }
    default:
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n', 'latin1');
  }
}
