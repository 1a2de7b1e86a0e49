import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { ConfigError, createGateway, parseConfigText, type Gateway, type GatewayOptions } from '../src/index.js';
import type { LimitsConfig } from '../src/config/limit-directives.js';

/** Test plumbing: real servers and sockets on 127.0.0.1 ephemeral ports, closed after each test. */

const cleanups: (() => Promise<void> | void)[] = [];

export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/** Runs and forgets every registered cleanup (call from afterEach). */
export async function cleanup(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn();
}

/** Joins lines so that line N of a test config is element N-1 (error line numbers stay obvious). */
export const lines = (...text: string[]): string => `${text.join('\n')}\n`;

export const FILE = '/etc/chat-gateway/nginx.conf';

/** The ConfigError a config text must raise; anything else fails the test. */
export function configErrorOf(text: string): ConfigError {
  try {
    parseConfigText(text, FILE);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

/** A config with `http` lines in the http block and `location` lines in `location /`. */
export const limitsConfig = (http: string[], location: string[] = []): string =>
  lines('events {}', 'http {', ...http.map((l) => `  ${l}`), '  server { listen 80;', '    location / { proxy_pass http://app:3000;', ...location.map((l) => `      ${l}`), '  } }', '}');

/** The limit_req/limit_conn settings `location /` of such a config ends up with. */
export function limitsOf(http: string[], location: string[] = []): LimitsConfig {
  const limits = parseConfigText(limitsConfig(http, location), FILE).servers[0]?.locations[0]?.limits;
  if (!limits) throw new Error('no limits');
  return limits;
}

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly httpVersion: string;
  readonly rawHeaders: string[];
  readonly body: string;
  readonly remotePort: number;
}

export interface Upstream {
  readonly port: number;
  readonly server: Server;
  readonly requests: RecordedRequest[];
  /** TCP connections accepted so far. */
  readonly connections: () => number;
  /** Closes every open connection from the upstream side. */
  readonly dropConnections: () => void;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** An upstream that records every request (raw headers, so order and case are visible). */
export async function startUpstream(handler: Handler = (_req, res) => res.end('ok')): Promise<Upstream> {
  const requests: RecordedRequest[] = [];
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('latin1');
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        httpVersion: req.httpVersion,
        rawHeaders: req.rawHeaders,
        body,
        remotePort: req.socket.remotePort ?? 0,
      });
      handler(req, res, body);
    });
  });
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    port: (server.address() as AddressInfo).port,
    server,
    requests,
    connections: () => connections,
    dropConnections: () => {
      for (const s of sockets) s.destroy();
    },
  };
}

/**
 * A loopback port nothing listens on, so connecting to it is refused: port 1 (tcpmux, unused).
 * Not a just-freed ephemeral port: the kernel may hand that very port to the next listener, such
 * as the gateway under test, which then proxies the "dead" server's requests to itself.
 */
export const closedPort = async (): Promise<number> => 1;

export interface RunningGateway {
  readonly port: number;
  readonly gateway: Gateway;
}

/**
 * Starts a gateway for `configText`, listening on 127.0.0.1 with an ephemeral port;
 * `upstreams` maps addresses written in the config (`name:port`) to local ports.
 */
export async function startGateway(
  configText: string,
  upstreams: Record<string, number> = {},
  options: Omit<GatewayOptions, 'resolve' | 'listen'> = {},
): Promise<RunningGateway> {
  const resolve = new Map(Object.entries(upstreams).map(([name, port]) => [name, `127.0.0.1:${port}`]));
  const gateway = createGateway(parseConfigText(configText, FILE), { ...options, resolve, listen: '127.0.0.1:0' });
  const [address] = await gateway.listen();
  onCleanup(() => gateway.close());
  return { port: (address as AddressInfo).port, gateway };
}

export interface SimpleResponse {
  readonly status: number;
  readonly rawHeaders: string[];
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** One request on its own connection. */
export function httpRequest(
  port: number,
  path = '/',
  /** An array body is written chunk by chunk, so Node sends it chunked. */
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer | string[] } = {},
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders, headers: res.headers, body: Buffer.concat(chunks).toString('latin1') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (Array.isArray(options.body)) {
      for (const chunk of options.body) req.write(chunk);
      req.end();
    } else {
      req.end(options.body);
    }
  });
}

/** Writes raw bytes and returns everything the server sent until it closed the connection. */
export function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text, 'latin1'));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
    onCleanup(() => {
      socket.destroy();
    });
  });
}

/** The headers of a recorded request as [name, value] pairs. */
export function pairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i] as string, raw[i + 1] as string]);
  return out;
}

/** The config of infra/nginx.conf's proxy locations, pointed at `upstream` (one server). */
export function infraLikeConfig(extraLocation = ''): string {
  return lines(
    'events { worker_connections 64; }',
    'http {',
    '  map $http_upgrade $connection_upgrade { default upgrade; \'\' \'\'; }',
    '  upstream app { server app:3000; keepalive 8; }',
    '  server {',
    '    listen 8080;',
    '    location / {',
    '      proxy_pass http://app;',
    '      proxy_http_version 1.1;',
    '      proxy_redirect off;',
    '      proxy_set_header Host $host;',
    '      proxy_set_header X-Real-IP $remote_addr;',
    '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '      proxy_set_header Upgrade $http_upgrade;',
    '      proxy_set_header Connection $connection_upgrade;',
    extraLocation,
    '    }',
    '  }',
    '}',
  );
}
