import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientLimits } from '../config/client-directives.js';
import { timerDelay, type GatewayRuntime } from '../runtime.js';
import type { RequestVariables } from '../variables.js';
import type { PreparedRequest } from './request.js';
import type { ServerSet } from './routing.js';

/**
 * What nginx allows a client once its request head is read: `client_max_body_size`,
 * `client_body_timeout`, `send_timeout` and `keepalive_timeout`, with the values of the
 * location that proxies the request. Requests the gateway answers itself (`return`, error
 * pages) get the values of the address's default server.
 */

/** The limits of a request: its proxied location's, else those of the default server. */
export function limitsOf(prepared: PreparedRequest, servers: ServerSet): ClientLimits {
  return prepared.kind === 'proxy' ? prepared.route.config.client : servers.defaultServer.config.client;
}

/** client_max_body_size in bytes; 0 there means no limit. */
export function bodyLimit(limits: ClientLimits): number {
  return limits.maxBodySize === 0 ? Infinity : limits.maxBodySize;
}

/**
 * Applies keepalive_timeout (0: the connection closes after the response; otherwise the
 * idle wait for the next request) and client_body_timeout (while the body is read) to one
 * request. A body that stops arriving ends the request as nginx does: no response, the
 * connection closed, 408 in the access log.
 */
export function superviseRequest(req: IncomingMessage, res: ServerResponse, limits: ClientLimits, vars: RequestVariables, runtime: GatewayRuntime): void {
  const socket = req.socket;
  if (limits.keepaliveTimeoutMs === 0) {
    res.shouldKeepAlive = false;
  } else {
    const wait = timerDelay(limits.keepaliveTimeoutMs);
    res.once('finish', () => {
      // Node has just started its keep-alive wait if the connection is idle now (a socket
      // timeout; none while a pipelined request is still being answered): give it this
      // location's length. Node clears it when the next request starts.
      if (socket.timeout && socket.timeout !== wait) socket.setTimeout(wait);
    });
  }
  const headers = req.headers;
  const hasBody = headers['transfer-encoding'] !== undefined || (headers['content-length'] ?? '0') !== '0';
  if (!hasBody || req.complete) return;
  const watch = watchBody(req, limits.bodyTimeoutMs, () => {
    runtime.log('info', `client timed out while reading client request body, client: ${vars.remoteAddress}, request: "${req.method} ${req.url} HTTP/${req.httpVersion}"`);
    if (!res.headersSent) vars.status = 408;
    res.destroy();
  });
  // The timer holds the request, response and socket: it must not outlive the response.
  res.once('close', () => clearTimeout(watch));
}

/**
 * Calls `timedOut` once the client has sent no body bytes for `ms` while the body was being
 * read. Time in which nobody reads it (the upstream is not taking it yet) does not count, as
 * nginx does not read then either. Checked a few times per period rather than per chunk, so
 * that a fast upload costs nothing; it fires between `ms` and `1.25 ms` after the last byte.
 */
function watchBody(req: IncomingMessage, ms: number, timedOut: () => void): NodeJS.Timeout {
  const socket = req.socket;
  let seen = socket.bytesRead;
  let idleSince = Date.now();
  const timer = setTimeout(() => {
    if (req.complete || socket.destroyed) return;
    const now = Date.now();
    if (socket.bytesRead !== seen || req.readableFlowing !== true) {
      seen = socket.bytesRead;
      idleSince = now;
    } else if (now - idleSince >= ms) {
      timedOut();
      return;
    }
    timer.refresh();
  }, timerDelay(ms / 4));
  return timer;
}

/**
 * Ends a response. send_timeout still applies to its last bytes: a client that takes none of
 * them for that long is disconnected, as nginx does.
 */
export function endResponse(res: ServerResponse, sendTimeoutMs: number): void {
  res.end();
  if (res.writableLength === 0) return;
  const timer = setTimeout(() => res.destroy(), timerDelay(sendTimeoutMs));
  res.once('close', () => clearTimeout(timer));
}
