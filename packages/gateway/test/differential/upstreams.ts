import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { wsAccept } from '../ws-keys.js';

/**
 * Recording upstream servers for the differential suite: raw `net` servers (not Node's HTTP
 * server) so that exactly what a proxy sent is visible: the request line, every header with its
 * case and order, the body and how it was framed, which instance got it, on which connection.
 * What each instance answers is a `Behaviour`, switchable between scenarios.
 */

export interface UpstreamRequest {
  /** Instance name: `u0`, `u1`, ... (`{{UPSTREAM_0}}` is `u0`). */
  readonly instance: string;
  /**
   * Connection number on this instance, in the order connections carried their first request
   * since the last reset (a kept-alive connection from before the reset gets a new number).
   */
  readonly conn: number;
  /** Requests on that connection before this one. */
  readonly indexOnConn: number;
  readonly method: string;
  readonly target: string;
  readonly version: string;
  readonly headers: [string, string][];
  readonly body: Buffer;
  readonly framing: 'none' | 'length' | 'chunked';
}

export type Action =
  | {
      readonly kind: 'respond';
      readonly status?: number;
      readonly reason?: string;
      readonly headers?: readonly [string, string][];
      readonly body?: string | Buffer;
      /** Send the body chunked (in pieces of `chunkSize`); otherwise with Content-Length. */
      readonly chunked?: boolean;
      readonly chunkSize?: number;
      /** No Content-Length and no chunks: the body ends when the connection closes. */
      readonly closeDelimited?: boolean;
      /** Close the connection after the response. */
      readonly close?: boolean;
      /** Close the connection this long after the response, without announcing it. */
      readonly lingerCloseMs?: number;
      readonly delayMs?: number;
    }
  /** Read the request, never answer, keep the connection open. */
  | { readonly kind: 'silent' }
  /** Read the request, then close the connection without a byte of response. */
  | { readonly kind: 'close' }
  /** Write these bytes as they are, then optionally close. */
  | { readonly kind: 'raw'; readonly bytes: string | Buffer; readonly close?: boolean }
  /** `101 Switching Protocols`, then echo every byte back (a WebSocket-ish tunnel). */
  | {
      readonly kind: 'upgrade';
      readonly headers?: readonly [string, string][];
      readonly greeting?: string;
      /** Close the tunnel right after the greeting. */
      readonly closeAfterGreeting?: boolean;
    };

export interface BehaviourContext {
  /** Requests this instance received since the last reset, this one included (1-based). */
  readonly count: number;
}

export type Behaviour = (req: UpstreamRequest, cx: BehaviourContext) => Action;

/** The default answer: 200 naming the instance, the method and the target. */
export const ok: Behaviour = (req) => ({
  kind: 'respond',
  headers: [
    ['Content-Type', 'text/plain'],
    ['X-Upstream', req.instance],
  ],
  body: `${req.instance} ${req.method} ${req.target}\n`,
});

/** Echoes the request back: status 200, the request's body, and a digest of its head. */
export const echo: Behaviour = (req) => ({
  kind: 'respond',
  headers: [
    ['Content-Type', 'application/octet-stream'],
    ['X-Upstream', req.instance],
    ['X-Request-Framing', req.framing],
  ],
  body: req.body,
});

export const status =
  (code: number, headers: readonly [string, string][] = []): Behaviour =>
  (req) => ({ kind: 'respond', status: code, headers: [['X-Upstream', req.instance], ...headers], body: `${req.instance} says ${code}\n` });

export const silent: Behaviour = () => ({ kind: 'silent' });
export const closeAfterRequest: Behaviour = () => ({ kind: 'close' });

export interface UpstreamInstance {
  readonly name: string;
  readonly port: number;
  /** The address written into the config: `127.0.0.1:PORT`. */
  readonly address: string;
  behaviour: Behaviour;
  /** Close the connection as soon as it is accepted, before reading anything. */
  closeOnAccept: boolean;
  connections: number;
}

export interface UpstreamSet {
  readonly instances: UpstreamInstance[];
  /** Every request any instance received, in arrival order, since the last reset. */
  readonly requests: UpstreamRequest[];
  /** Forgets recordings and counts (open connections stay: they belong to the proxies' pools). */
  reset(): void;
  /** Bytes each instance received on upgraded connections since the last reset. */
  readonly tunnelBytes: Map<string, number>;
  close(): Promise<void>;
}

/**
 * A loopback port nothing listens on: port 1 (tcpmux, unused). Not a just-freed ephemeral
 * port, which the kernel may hand to the next listener, such as an engine under test.
 */
export const refusedPort = async (): Promise<number> => 1;

export type UpstreamKind = 'server' | 'refused';

export async function startUpstreams(kinds: readonly UpstreamKind[]): Promise<UpstreamSet> {
  const requests: UpstreamRequest[] = [];
  const tunnelBytes = new Map<string, number>();
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const instances: UpstreamInstance[] = [];
  const counts = new Map<string, number>();
  // Connection numbers per instance, by generation (bumped by reset()).
  let generation = 0;
  const connNumbers = new Map<string, number>();
  const connId = (name: string, tag: { gen: number; id: number }) => {
    if (tag.gen !== generation) {
      tag.gen = generation;
      tag.id = (connNumbers.get(name) ?? 0) + 1;
      connNumbers.set(name, tag.id);
    }
    return tag.id;
  };

  for (const [i, kind] of kinds.entries()) {
    const name = `u${i}`;
    if (kind === 'refused') {
      const port = await refusedPort();
      instances.push({ name, port, address: `127.0.0.1:${port}`, behaviour: ok, closeOnAccept: false, connections: 0 });
      continue;
    }
    const server = createServer();
    const instance: UpstreamInstance = { name, port: 0, address: '', behaviour: ok, closeOnAccept: false, connections: 0 };
    server.on('connection', (socket) => {
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      instance.connections++;
      if (instance.closeOnAccept) {
        socket.destroy();
        return;
      }
      const tag = { gen: -1, id: 0 };
      serveConnection(socket, instance, () => connId(name, tag), (req) => {
        requests.push(req);
        const n = (counts.get(name) ?? 0) + 1;
        counts.set(name, n);
        return { count: n };
      }, (bytes) => tunnelBytes.set(name, (tunnelBytes.get(name) ?? 0) + bytes));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
    const port = (server.address() as AddressInfo).port;
    Object.assign(instance, { port, address: `127.0.0.1:${port}` });
    instances.push(instance);
  }

  return {
    instances,
    requests,
    tunnelBytes,
    reset() {
      generation++;
      connNumbers.clear();
      requests.length = 0;
      counts.clear();
      tunnelBytes.clear();
      for (const instance of instances) {
        instance.connections = 0;
        instance.behaviour = ok;
        instance.closeOnAccept = false;
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    },
  };
}

/** Reads requests off one connection and answers each with the instance's behaviour. */
function serveConnection(
  socket: Socket,
  instance: UpstreamInstance,
  connNumber: () => number,
  record: (req: UpstreamRequest) => BehaviourContext,
  countTunnel: (bytes: number) => void,
): void {
  let buffer = Buffer.alloc(0);
  let onConn = 0;
  let busy = false;
  let tunnel = false;

  const step = () => {
    while (!busy && !tunnel && !socket.destroyed) {
      const parsed = parseRequest(buffer);
      if (parsed === null) return;
      buffer = buffer.subarray(parsed.consumed);
      const req: UpstreamRequest = { instance: instance.name, conn: connNumber(), indexOnConn: onConn++, ...parsed.request };
      const cx = record(req);
      const action = instance.behaviour(req, cx);
      const closeAfter =
        req.version === 'HTTP/1.0' || req.headers.some(([n, v]) => n.toLowerCase() === 'connection' && /\bclose\b/i.test(v));
      busy = true;
      perform(req, action, closeAfter);
    }
  };

  const perform = (req: UpstreamRequest, action: Action, closeAfter: boolean) => {
    switch (action.kind) {
      case 'silent':
        return;
      case 'close':
        socket.destroy();
        return;
      case 'raw':
        socket.write(action.bytes);
        if (action.close) socket.end();
        return;
      case 'upgrade': {
        tunnel = true;
        let head = 'HTTP/1.1 101 Switching Protocols\r\n';
        const headers = action.headers ?? [['Upgrade', 'websocket'], ['Connection', 'Upgrade']];
        for (const [n, v] of headers) head += `${n}: ${v}\r\n`;
        // Like a WebSocket server, answer the client's key (RFC 6455) unless told otherwise.
        const key = req.headers.find(([n]) => n.toLowerCase() === 'sec-websocket-key')?.[1];
        const answered = headers.some(([n]) => n.toLowerCase() === 'sec-websocket-accept');
        if (key !== undefined && !answered) head += `Sec-WebSocket-Accept: ${wsAccept(key)}\r\n`;
        socket.write(`${head}\r\n${action.greeting ?? ''}`, 'latin1');
        if (buffer.length > 0) {
          countTunnel(buffer.length);
          socket.write(buffer);
        }
        buffer = Buffer.alloc(0);
        if (action.closeAfterGreeting) socket.end();
        return;
      }
      case 'respond': {
        const send = () => {
          if (socket.destroyed) return;
          const body = typeof action.body === 'string' ? Buffer.from(action.body, 'latin1') : (action.body ?? Buffer.alloc(0));
          const code = action.status ?? 200;
          let head = `HTTP/1.1 ${code} ${action.reason ?? REASONS[code] ?? 'Whatever'}\r\n`;
          for (const [n, v] of action.headers ?? []) head += `${n}: ${v}\r\n`;
          const close = action.close || closeAfter || action.closeDelimited;
          if (action.chunked) head += 'Transfer-Encoding: chunked\r\n';
          else if (!action.closeDelimited) head += `Content-Length: ${body.length}\r\n`;
          if (close) head += 'Connection: close\r\n';
          const pieces: Buffer[] = [Buffer.from(`${head}\r\n`, 'latin1')];
          if (action.chunked) {
            const size = action.chunkSize ?? 1000;
            for (let at = 0; at < body.length; at += size) {
              const piece = body.subarray(at, at + size);
              pieces.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
            }
            pieces.push(Buffer.from('0\r\n\r\n'));
          } else if (req.method !== 'HEAD') {
            pieces.push(body);
          }
          // One write: no Nagle/delayed-ACK stalls between head and body.
          socket.write(Buffer.concat(pieces));
          if (close) {
            socket.end();
            return;
          }
          if (action.lingerCloseMs !== undefined) setTimeout(() => socket.end(), action.lingerCloseMs);
          busy = false;
          step();
        };
        if (action.delayMs) setTimeout(send, action.delayMs);
        else send();
        return;
      }
    }
  };

  socket.on('data', (chunk: Buffer) => {
    if (tunnel) {
      countTunnel(chunk.length);
      socket.write(chunk);
      return;
    }
    buffer = Buffer.concat([buffer, chunk]);
    try {
      step();
    } catch {
      socket.destroy();
    }
  });
  socket.on('end', () => {
    if (tunnel) socket.end();
  });
}

const REASONS: Record<number, string> = {
  200: 'OK',
  204: 'No Content',
  301: 'Moved Permanently',
  302: 'Found',
  304: 'Not Modified',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

type ParsedRequest = Omit<UpstreamRequest, 'instance' | 'conn' | 'indexOnConn'>;

/** One complete request at the start of `buf`, or null if more bytes are needed. */
export function parseRequest(buf: Buffer): { request: ParsedRequest; consumed: number } | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const [method = '', target = '', version = ''] = (lines.shift() ?? '').split(' ');
  const headers: [string, string][] = lines.map((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon), line.slice(colon + 1).trim()];
  });
  const find = (name: string) => headers.find(([n]) => n.toLowerCase() === name)?.[1];
  let at = end + 4;
  if (find('transfer-encoding')?.toLowerCase() === 'chunked') {
    const pieces: Buffer[] = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', at);
      if (lineEnd < 0) return null;
      const size = parseInt(buf.subarray(at, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size');
      at = lineEnd + 2;
      if (size === 0) {
        // Trailers (none expected), then the empty line.
        const trailerEnd = buf.indexOf('\r\n', at);
        if (trailerEnd < 0) return null;
        at = trailerEnd + 2;
        return { request: { method, target, version, headers, body: Buffer.concat(pieces), framing: 'chunked' }, consumed: at };
      }
      if (buf.length < at + size + 2) return null;
      pieces.push(buf.subarray(at, at + size));
      at += size + 2;
    }
  }
  const length = find('content-length');
  if (length !== undefined) {
    const n = Number(length);
    if (buf.length < at + n) return null;
    return { request: { method, target, version, headers, body: Buffer.from(buf.subarray(at, at + n)), framing: 'length' }, consumed: at + n };
  }
  return { request: { method, target, version, headers, body: Buffer.alloc(0), framing: 'none' }, consumed: at };
}
