import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { parseRequest } from '../differential/upstreams.js';
import { wsAccept } from '../ws-keys.js';

/**
 * The recording upstream of the adversarial suite. Unlike the differential suite's upstreams,
 * which record a request once it is complete, this one records every request head the moment
 * its blank line arrives, and keeps parsing whatever follows on the same connection: a proxy
 * that starts forwarding a request it later rejects, or that lets a second (smuggled) request
 * through behind a body, is visible here. Complete requests are framed by the differential
 * suite's `parseRequest`. Each connection carries one answer (`Connection: close`).
 */

export interface SeenRequest {
  /** Upstream instance (`u0`...). */
  readonly instance: string;
  /** Connection number on that instance since the last reset, and position on it. */
  readonly conn: number;
  readonly indexOnConn: number;
  readonly method: string;
  readonly target: string;
  readonly version: string;
  readonly headers: [string, string][];
  /** The body once complete; empty until then. */
  body: Buffer;
  /** The whole request arrived (head and body by its own framing). */
  complete: boolean;
}

export type Answer =
  | { readonly kind: 'respond'; readonly status: number; readonly headers?: readonly [string, string][]; readonly body?: string }
  /** `101 Switching Protocols` with these headers, then every byte is echoed back. */
  | { readonly kind: 'switch'; readonly headers: readonly [string, string][] }
  /** Never answer (the proxy must give up or the client must go away). */
  | { readonly kind: 'hold' };

export type UpstreamBehaviour = (req: SeenRequest) => Answer;

const header = (req: SeenRequest, name: string) => req.headers.find(([n]) => n.toLowerCase() === name)?.[1];

/** 200 naming the request: `GET /target`. */
export const ok: UpstreamBehaviour = (req) => ({ kind: 'respond', status: 200, body: `${req.method} ${req.target}\n` });

/**
 * A WebSocket server that checks the handshake the way `ws` does: GET, `Upgrade: websocket`,
 * a 16-byte base64 key and version 13; otherwise 400 (426 for another version). Requests
 * without an Upgrade header get the plain 200.
 */
export const websocketServer: UpstreamBehaviour = (req) => {
  const upgrade = header(req, 'upgrade');
  if (upgrade === undefined) return ok(req);
  const key = header(req, 'sec-websocket-key');
  if (req.method !== 'GET' || upgrade.toLowerCase() !== 'websocket') return { kind: 'respond', status: 400, body: 'bad upgrade\n' };
  if (header(req, 'sec-websocket-version') !== '13') {
    return { kind: 'respond', status: 426, headers: [['Sec-WebSocket-Version', '13']], body: 'version\n' };
  }
  if (key === undefined || Buffer.from(key, 'base64').length !== 16) return { kind: 'respond', status: 400, body: 'bad key\n' };
  return { kind: 'switch', headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Accept', wsAccept(key)]] };
};

/** Switches to whatever protocol the request names (an h2c-capable or careless server). */
export const switchesAnything: UpstreamBehaviour = (req) => {
  const upgrade = header(req, 'upgrade');
  if (upgrade === undefined) return ok(req);
  return { kind: 'switch', headers: [['Upgrade', upgrade], ['Connection', 'Upgrade']] };
};

/** Answers 101 to a WebSocket handshake, with these accept headers instead of the right one. */
export const switchesWithAccept =
  (accept: readonly [string, string][]): UpstreamBehaviour =>
  (req) =>
    header(req, 'upgrade') === undefined ? ok(req) : { kind: 'switch', headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ...accept] };

export const hold: UpstreamBehaviour = () => ({ kind: 'hold' });

export interface RecordingUpstreams {
  readonly addresses: string[];
  /** Every request head seen since the last reset, in arrival order. */
  readonly seen: SeenRequest[];
  /** Bytes tunnelled after a 101, since the last reset. */
  tunnelled: number;
  behave(behaviour: UpstreamBehaviour): void;
  /** Forgets the recordings; the behaviour goes back to `ok`. */
  reset(): void;
  close(): Promise<void>;
}

/** `n` recording upstream instances sharing one behaviour and one record. */
export async function startRecordingUpstreams(n: number): Promise<RecordingUpstreams> {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  let behaviour: UpstreamBehaviour = ok;
  let generation = 0;
  const connCounts = new Map<string, number>();
  const set: RecordingUpstreams = {
    addresses: [],
    seen: [],
    tunnelled: 0,
    behave(next) {
      behaviour = next;
    },
    reset() {
      generation++;
      set.seen.length = 0;
      set.tunnelled = 0;
      connCounts.clear();
      behaviour = ok;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    },
  };

  for (let i = 0; i < n; i++) {
    const instance = `u${i}`;
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      let conn = 0;
      let connGeneration = -1;
      const connNumber = () => {
        if (connGeneration !== generation) {
          connGeneration = generation;
          conn = (connCounts.get(instance) ?? 0) + 1;
          connCounts.set(instance, conn);
        }
        return conn;
      };
      serve(socket, instance, connNumber, () => behaviour, set);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
    set.addresses.push(`127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
  return set;
}

/** Records every head on one connection; answers the first request, then closes. */
function serve(socket: Socket, instance: string, connNumber: () => number, behaviour: () => UpstreamBehaviour, set: RecordingUpstreams): void {
  let buffer = Buffer.alloc(0);
  let index = 0;
  let pending: SeenRequest | null = null;
  let answered = false;
  let tunnel = false;

  const answer = (req: SeenRequest) => {
    answered = true;
    const action = behaviour()(req);
    if (action.kind === 'hold') return;
    if (action.kind === 'switch') {
      tunnel = true;
      let head = 'HTTP/1.1 101 Switching Protocols\r\n';
      for (const [n, v] of action.headers) head += `${n}: ${v}\r\n`;
      socket.write(`${head}\r\n`, 'latin1');
      if (buffer.length > 0) {
        set.tunnelled += buffer.length;
        socket.write(buffer);
        buffer = Buffer.alloc(0);
      }
      return;
    }
    const body = Buffer.from(action.body ?? '', 'latin1');
    let head = `HTTP/1.1 ${action.status} Whatever\r\n`;
    for (const [n, v] of action.headers ?? []) head += `${n}: ${v}\r\n`;
    head += `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    socket.end(Buffer.concat([Buffer.from(head, 'latin1'), body]));
  };

  // Heads first (recorded at once), then the body by the request's own framing.
  const step = () => {
    for (;;) {
      if (pending === null) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = buffer.subarray(0, end).toString('latin1').split('\r\n');
        const [method = '', target = '', version = ''] = (lines.shift() ?? '').split(' ');
        const headers = lines.map((line): [string, string] => {
          const colon = line.indexOf(':');
          return [line.slice(0, colon), line.slice(colon + 1).trim()];
        });
        pending = { instance, conn: connNumber(), indexOnConn: index++, method, target, version, headers, body: Buffer.alloc(0), complete: false };
        set.seen.push(pending);
      }
      let parsed: ReturnType<typeof parseRequest>;
      try {
        parsed = parseRequest(buffer);
      } catch {
        // Malformed framing: nothing more on this connection can be trusted. What follows is
        // recorded as a pseudo-request, so that a request hidden in it still shows.
        const rest = buffer.toString('latin1');
        set.seen.push({ ...pending, method: '(malformed body)', target: rest.slice(0, 500), headers: [], complete: false });
        socket.destroy();
        return;
      }
      if (parsed === null) return;
      buffer = buffer.subarray(parsed.consumed);
      const req: SeenRequest = pending;
      pending = null;
      req.body = parsed.request.body;
      req.complete = true;
      if (!answered) answer(req);
      if (tunnel) return;
    }
  };

  socket.on('data', (chunk: Buffer) => {
    if (tunnel) {
      set.tunnelled += chunk.length;
      socket.write(chunk);
      return;
    }
    buffer = Buffer.concat([buffer, chunk]);
    step();
  });
  socket.on('end', () => {
    if (tunnel || !answered) socket.end();
  });
}
