import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { parseAddress, type ParsedAddress } from './config/addresses.js';
import type { GatewayConfig } from './config/types.js';
import { planListeners, type BindPlan } from './listeners.js';
import { LogFiles } from './logging.js';
import { Stats } from './stats.js';
import { rawErrorResponse } from './proxy/error-pages.js';
import { buildDirectory } from './proxy/dynamic-pass.js';
import { handleHttpRequest } from './proxy/http-proxy.js';
import { buildVirtualServer, type ServerSet } from './proxy/routing.js';
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
  /**
   * Switches to `next` (nginx's reload): new requests use it, requests in progress and open
   * tunnels finish on the old one. Listeners are added and removed to match. Rejects (and
   * keeps the old configuration) when the new one cannot start, e.g. a host does not resolve.
   */
  reload(next: GatewayConfig): Promise<AddressInfo[]>;
  /**
   * nginx's graceful shutdown: stops accepting, closes idle connections, lets requests and
   * tunnels finish, then closes everything after `timeoutMs` at the latest.
   */
  drain(timeoutMs: number): Promise<void>;
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

export function createGateway(initial: GatewayConfig, options: GatewayOptions = {}): Gateway {
  let config = initial;
  const log: Logger = options.log ?? (() => {});
  const override = options.listen === undefined ? undefined : parseListenOverride(options.listen);
  const clientSockets = new Set<Socket>();
  const upstreamSockets = new Set<Socket>();
  /** Listening servers by `host|port`, and the plan each one currently serves. */
  const servers = new Map<string, Server>();
  const plans = new Map<string, BindPlan>();
  /** Every HTTP server not yet fully closed, including ones a reload stopped. */
  const listening = new Set<Server>();
  let groups = new Map<unknown, UpstreamGroup>();
  let starting: Promise<AddressInfo[]> | null = null;
  let closed = false;

  const stats = new Stats();
  const logFiles = new LogFiles();
  const runtime: GatewayRuntime = {
    log,
    stats,
    logFiles,
    track(socket) {
      if (closed) {
        socket.destroy();
        return;
      }
      upstreamSockets.add(socket);
      socket.once('close', () => upstreamSockets.delete(socket));
    },
  };

  const planKey = (plan: BindPlan) => `${plan.host}|${plan.port}`;

  function serve(key: string): Server {
    const pick = (socket: Socket): ServerSet => {
      const plan = plans.get(key) as BindPlan;
      return plan.byLocalAddress.get(socket.localAddress ?? '') ?? plan.servers;
    };
    const server = createServer({ requestTimeout: 0, headersTimeout: CLIENT_HEADER_TIMEOUT_MS, requireHostHeader: false });
    listening.add(server);
    server.once('close', () => listening.delete(server));
    server.keepAliveTimeout = CLIENT_KEEPALIVE_TIMEOUT_MS;
    server.on('connection', (socket: Socket) => {
      stats.accepted++;
      stats.handled++;
      stats.active++;
      clientSockets.add(socket);
      socket.once('close', () => {
        stats.active--;
        clientSockets.delete(socket);
      });
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

  /** Resolves, plans and binds `next`; swaps it in only once everything is ready. */
  async function apply(next: GatewayConfig): Promise<AddressInfo[]> {
    const nextGroups = await resolveUpstreams(next.upstreams, options.resolve);
    const directory = buildDirectory(nextGroups.values());
    const virtualServers = next.servers.map((s) => buildVirtualServer(s, nextGroups, directory));
    const nextPlans = await planListeners(virtualServers, override);
    const added: [string, Server][] = [];
    try {
      for (const plan of nextPlans) {
        if (closed) break;
        const key = planKey(plan);
        if (servers.has(key)) continue;
        const server = serve(key);
        added.push([key, server]);
        plans.set(key, plan);
        await bind(server, plan);
      }
    } catch (err) {
      for (const [key, server] of added) {
        server.close();
        plans.delete(key);
      }
      throw err;
    }
    const previous = groups;
    groups = nextGroups;
    for (const plan of nextPlans) plans.set(planKey(plan), plan);
    for (const [key, server] of added) servers.set(key, server);
    // Listeners the new configuration no longer has stop accepting; their connections finish.
    const wanted = new Set(nextPlans.map(planKey));
    for (const [key, server] of servers) {
      if (wanted.has(key)) continue;
      server.close();
      servers.delete(key);
      plans.delete(key);
    }
    if (previous !== nextGroups) for (const group of previous.values()) group.pool?.destroyAll();
    return [...servers.values()].map((server) => server.address() as AddressInfo);
  }

  async function bind(server: Server, plan: BindPlan): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const shown = plan.host.includes(':') ? `[${plan.host}]:${plan.port}` : `${plan.host}:${plan.port}`;
        reject(new Error(`bind() to ${shown} failed (${err.code ?? err.message})`));
      });
      server.listen({ host: plan.host, port: plan.port, ipv6Only: plan.host.includes(':') }, resolve);
    });
    // Later errors on a listening socket (e.g. EMFILE) must not crash the process.
    server.on('error', (err) => log('error', `listener error: ${err.message}`));
  }

  return {
    listen() {
      if (starting) return Promise.reject(new Error('the gateway is already listening'));
      if (closed) return Promise.reject(new Error('the gateway is closed'));
      starting = apply(config).catch(async (err: unknown) => {
        await shutdown();
        throw err;
      });
      return starting;
    },
    async close() {
      if (starting) await starting.catch(() => {});
      await shutdown();
    },
    async reload(next) {
      if (!starting || closed) throw new Error('the gateway is not running');
      await starting;
      const addresses = await apply(next);
      config = next;
      return addresses;
    },
    async drain(timeoutMs) {
      if (starting) await starting.catch(() => {});
      for (const server of servers.values()) server.close();
      servers.clear();
      const deadline = Date.now() + timeoutMs;
      while (clientSockets.size > 0 && Date.now() < deadline && !closed) {
        for (const server of listening) server.closeIdleConnections();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await shutdown();
    },
  };

  async function shutdown(): Promise<void> {
    closed = true;
    const stopped = [...listening].map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    for (const socket of clientSockets) socket.destroy();
    for (const socket of upstreamSockets) socket.destroy();
    for (const group of groups.values()) group.pool?.destroyAll();
    servers.clear();
    listening.clear();
    await Promise.all(stopped);
    await logFiles.close();
  }
}
