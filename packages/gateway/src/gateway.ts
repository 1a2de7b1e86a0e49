import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { parseAddress, type ParsedAddress } from './config/addresses.js';
import type { GatewayConfig } from './config/types.js';
import { planListeners, type BindPlan } from './listeners.js';
import { rawErrorResponse } from './proxy/error-pages.js';
import { buildDirectory } from './proxy/dynamic-pass.js';
import { handleHttpRequest } from './proxy/http-proxy.js';
import { buildVirtualServer, type VirtualServer } from './proxy/routing.js';
import { handleUpgrade } from './proxy/upgrade-proxy.js';
import type { GatewayRuntime, Logger } from './runtime.js';
import { resolveUpstreams, type UpstreamGroup } from './upstream/group.js';

export interface GatewayOptions {
  /** Upstream address overrides: `"name:port"` as written in the config -> `"host:port"`. */
  readonly resolve?: ReadonlyMap<string, string>;
  /** `[addr:]port` replacing the listen addresses of every server block (port 0: ephemeral). */
  readonly listen?: string;
  /** Where upstream errors and the like are reported; silent by default. */
  readonly log?: Logger;
}

export interface Gateway {
  /** Resolves upstream hosts, binds every listener; resolves with their addresses. */
  listen(): Promise<AddressInfo[]>;
  /** Stops accepting, destroys open connections, tunnels and pooled sockets. */
  close(): Promise<void>;
}

// nginx's defaults: keepalive_timeout 75s, client_header_timeout 60s.
const CLIENT_KEEPALIVE_TIMEOUT_MS = 75_000;
const CLIENT_HEADER_TIMEOUT_MS = 60_000;

/** Parses `[addr:]port` for the listen override; throws with a one-line reason. */
export function parseListenOverride(text: string): ParsedAddress {
  const parsed = parseAddress(text, { defaultPort: 80, listen: true, allowPortZero: true });
  if (!parsed.ok) throw new Error(`${parsed.err} in "${text}"`);
  return parsed.value;
}

export function createGateway(config: GatewayConfig, options: GatewayOptions = {}): Gateway {
  const log: Logger = options.log ?? (() => {});
  const override = options.listen === undefined ? undefined : parseListenOverride(options.listen);
  const clientSockets = new Set<Socket>();
  const upstreamSockets = new Set<Socket>();
  const servers: Server[] = [];
  let groups = new Map<unknown, UpstreamGroup>();
  let starting: Promise<AddressInfo[]> | null = null;
  let closed = false;

  const runtime: GatewayRuntime = {
    log,
    track(socket) {
      if (closed) {
        socket.destroy();
        return;
      }
      upstreamSockets.add(socket);
      socket.once('close', () => upstreamSockets.delete(socket));
    },
  };

  function serve(plan: BindPlan): Server {
    const pick = (socket: Socket): VirtualServer =>
      plan.byLocalAddress.get(socket.localAddress ?? '') ?? plan.defaultServer;
    const server = createServer({ requestTimeout: 0, headersTimeout: CLIENT_HEADER_TIMEOUT_MS });
    server.keepAliveTimeout = CLIENT_KEEPALIVE_TIMEOUT_MS;
    server.on('connection', (socket: Socket) => {
      clientSockets.add(socket);
      socket.once('close', () => clientSockets.delete(socket));
    });
    server.on('request', (req, res) => handleHttpRequest(req, res, pick(req.socket), runtime));
    // Node answers 417 to an Expect other than 100-continue; nginx ignores it (and drops it).
    server.on('checkExpectation', (req, res) => handleHttpRequest(req, res, pick(req.socket), runtime));
    server.on('upgrade', (req, socket: Socket, head: Buffer) => handleUpgrade(req, socket, head, pick(socket), runtime));
    // nginx does not proxy CONNECT.
    server.on('connect', (_req, socket: Socket) => {
      socket.on('error', () => socket.destroy());
      socket.end(rawErrorResponse(405), 'latin1');
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      const inResponse = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
      // Timeouts and resets close silently, as nginx's "client timed out" does.
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ECONNRESET' || !socket.writable || inResponse) {
        socket.destroy();
        return;
      }
      socket.end(rawErrorResponse(400), 'latin1');
    });
    return server;
  }

  async function start(): Promise<AddressInfo[]> {
    groups = await resolveUpstreams(config.upstreams, options.resolve);
    const directory = buildDirectory(groups.values());
    const virtualServers = config.servers.map((s) => buildVirtualServer(s, groups, directory));
    const plans = await planListeners(virtualServers, override);
    const addresses: AddressInfo[] = [];
    for (const plan of plans) {
      if (closed) break;
      const server = serve(plan);
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) => {
          const shown = plan.host.includes(':') ? `[${plan.host}]:${plan.port}` : `${plan.host}:${plan.port}`;
          reject(new Error(`bind() to ${shown} failed (${err.code ?? err.message})`));
        });
        server.listen({ host: plan.host, port: plan.port, ipv6Only: plan.host.includes(':') }, resolve);
      });
      // Later errors on a listening socket (e.g. EMFILE) must not crash the process.
      server.on('error', (err) => log('error', `listener error: ${err.message}`));
      addresses.push(server.address() as AddressInfo);
    }
    return addresses;
  }

  return {
    listen() {
      if (starting) return Promise.reject(new Error('the gateway is already listening'));
      if (closed) return Promise.reject(new Error('the gateway is closed'));
      starting = start().catch(async (err: unknown) => {
        await shutdown();
        throw err;
      });
      return starting;
    },
    async close() {
      if (starting) await starting.catch(() => {});
      await shutdown();
    },
  };

  async function shutdown(): Promise<void> {
    closed = true;
    const stopped = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    for (const socket of clientSockets) socket.destroy();
    for (const socket of upstreamSockets) socket.destroy();
    for (const group of groups.values()) group.pool?.destroyAll();
    servers.length = 0;
    await Promise.all(stopped);
  }
}
