import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { parseAddress, type ParsedAddress } from './config/addresses.js';
import type { GatewayConfig } from './config/types.js';
import { planListeners, type BindPlan } from './listeners.js';
import { LogFiles } from './logging.js';
import { Stats } from './stats.js';
import { rawErrorResponse } from './proxy/error-pages.js';
import { answerClientError, largestHead, rawHeadRefusal, refuseHead, sendHeadRefusal } from './proxy/head-checks.js';
import { buildDirectory } from './proxy/dynamic-pass.js';
import { handleHttpRequest } from './proxy/http-proxy.js';
import { buildVirtualServer, type ServerSet } from './proxy/routing.js';
import { handleUpgrade } from './proxy/upgrade-proxy.js';
import { declineOtherUpgrades } from './proxy/websocket-handshake.js';
import { timerDelay, type GatewayRuntime, type Logger } from './runtime.js';
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

// Node 20 arms keepAliveTimeout plus this (HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER). Were it
// different, superviseRequest() would just set the timer once more.
const NODE_KEEPALIVE_BUFFER_MS = 1000;

// How often Node checks head deadlines (client_header_timeout); nginx's timers are exact.
const HEAD_DEADLINE_CHECK_MS = 250;

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
      // Only a wildcard listener shared with address-specific servers needs getsockname().
      if (plan.byLocalAddress.size === 0) return plan.servers;
      return plan.byLocalAddress.get(socket.localAddress ?? '') ?? plan.servers;
    };
    const server = createServer({ requestTimeout: 0, requireHostHeader: false, connectionsCheckingInterval: HEAD_DEADLINE_CHECK_MS });
    listening.add(server);
    server.once('close', () => listening.delete(server));
    // Node would drop headers past its count silently; nginx's max_headers refuses them (head-checks.ts).
    server.maxHeadersCount = 0;
    server.on('connection', (socket: Socket) => {
      declineOtherUpgrades(socket);
      stats.accepted++;
      stats.handled++;
      stats.active++;
      clientSockets.add(socket);
      socket.once('close', () => {
        stats.active--;
        clientSockets.delete(socket);
      });
    });
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      const servers = pick(req.socket);
      const refused = refuseHead(req, servers.defaultServer.config.client);
      if (refused) sendHeadRefusal(req, res, refused);
      else handleHttpRequest(req, res, servers, runtime);
    };
    server.on('request', onRequest);
    // Node answers 417 to an Expect other than 100-continue; nginx ignores it (and drops it).
    server.on('checkExpectation', onRequest);
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      const servers = pick(socket);
      const refused = refuseHead(req, servers.defaultServer.config.client);
      if (!refused) return handleUpgrade(req, socket, head, servers, runtime);
      socket.on('error', () => socket.destroy());
      socket.end(rawHeadRefusal(refused, req.method), 'latin1');
    });
    // nginx does not proxy CONNECT.
    server.on('connect', (_req, socket: Socket) => {
      socket.on('error', () => socket.destroy());
      socket.end(rawErrorResponse(405), 'latin1');
    });
    server.on('clientError', answerClientError);
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
        readHeadsAs(server, plan);
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
    for (const [key, server] of servers) readHeadsAs(server, plans.get(key) as BindPlan);
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

  /**
   * nginx reads a head with the settings of its address's default server (client_header_timeout,
   * the header buffers); Node's are per listening socket. Keep-alive is set per response
   * (client-limits.ts); Node's own keepAliveTimeout must stay non-zero, and is made to arm
   * the default server's keepalive_timeout, so that most responses need no second timer.
   */
  function readHeadsAs(server: Server, plan: BindPlan): void {
    const client = plan.servers.defaultServer.config.client;
    server.headersTimeout = timerDelay(client.headerTimeoutMs);
    server.keepAliveTimeout = Math.max(1, timerDelay(client.keepaliveTimeoutMs) - NODE_KEEPALIVE_BUFFER_MS);
    // Node's cap on a head; refuseHead then measures it as nginx's buffers would hold it.
    const sets = [plan.servers, ...plan.byLocalAddress.values()];
    const largest = Math.max(...sets.map((set) => largestHead(set.defaultServer.config.client)));
    (server as Server & { maxHeaderSize: number }).maxHeaderSize = Math.min(largest, Number.MAX_SAFE_INTEGER);
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
