import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { ResponseHead } from '../http1/response-parser.js';
import { admit } from '../limits/admission.js';
import type { GatewayRuntime } from '../runtime.js';
import { rawErrorResponse, rawHead } from './error-pages.js';
import { UpstreamExchange, type ResponseBody } from './exchange.js';
import { isNonIdempotent, prepareRequest, type PreparedRequest } from './request.js';
import { renderRequestHead } from './request-headers.js';
import { addHeaderPairs, responseHeaders, type HideFilter } from './response-headers.js';
import type { ServerSet } from './routing.js';
import { tunnel } from './tunnel.js';
import { checkHandshake } from './websocket-handshake.js';

/**
 * Handles a request that asks to switch to WebSocket (Node's 'upgrade' event; other upgrades
 * were made plain requests by `declineOtherUpgrades`): check the handshake, forward it with
 * the same header rules as any request; on a 101 that accepts the handshake, tunnel the raw
 * sockets; on anything else, relay that response and close, since the client's socket has
 * left Node's HTTP machinery.
 */
export function handleUpgrade(
  req: IncomingMessage,
  socket: Socket,
  clientHead: Buffer,
  server: ServerSet,
  runtime: GatewayRuntime,
): void {
  socket.on('error', () => socket.destroy());
  const { stats } = runtime;
  stats.requests++;
  stats.writing++;
  let prepared: PreparedRequest | undefined;
  socket.once('close', () => {
    stats.writing--;
    if (prepared && prepared.accessLogs.length > 0) runtime.logFiles.access(prepared.accessLogs, prepared.vars);
  });
  try {
    prepared = prepareRequest(req, server, socket, stats);
  } catch (err) {
    runtime.log('error', `${(err as Error).message} while handling upgrade "${req.method} ${req.url}"`);
    socket.end(rawErrorResponse(500), 'latin1');
    return;
  }
  // limit_req / limit_conn may refuse the request or hold it a while first.
  admit(prepared, runtime, socket, (admitted) => forwardUpgrade(req, socket, clientHead, admitted, runtime));
}

/** Answers what the gateway answers itself, or forwards the request and tunnels on a 101. */
function forwardUpgrade(req: IncomingMessage, socket: Socket, clientHead: Buffer, prepared: PreparedRequest, runtime: GatewayRuntime): void {
  if (prepared.kind === 'reply') {
    if (prepared.error) runtime.log('error', `${prepared.error}, client: ${prepared.vars.remoteAddress}, request: "${req.method} ${req.url} HTTP/${req.httpVersion}"`);
    prepared.vars.status = prepared.status;
    if (prepared.status === 444) socket.destroy();
    else socket.end(rawErrorResponse(prepared.status, prepared.location, prepared.body), 'latin1');
    return;
  }
  const { route, vars, target, group } = prepared;
  const proxy = route.config;
  const method = req.method ?? 'GET';
  // Only a well-formed WebSocket handshake may open a tunnel (a deliberate difference from nginx).
  const handshake = checkHandshake(req);
  if (!handshake.ok) {
    runtime.log('info', `client sent invalid WebSocket handshake: ${handshake.reason}, client: ${vars.remoteAddress}, request: "${method} ${req.url} HTTP/${req.httpVersion}"`);
    vars.status = 400;
    socket.end(rawErrorResponse(400), 'latin1');
    return;
  }

  let exchange: UpstreamExchange;
  try {
    const rendered = renderRequestHead(method, target, proxy.httpVersion, route.plan, vars, { length: '', chunked: false });
    exchange = new UpstreamExchange(
      group,
      {
        head: rendered.head,
        body: { kind: 'none' },
        nonIdempotent: isNonIdempotent(method),
        headRequest: method === 'HEAD',
        upgrade: true,
        websocketAccept: handshake.accept,
        keepAlive: false,
        policy: proxy,
        vars,
        describe: `"${method} ${req.url} HTTP/${req.httpVersion}" (upgrade), client: ${vars.remoteAddress}`,
      },
      {
        upgraded: (head, upstream, leftover) => {
          if (socket.destroyed) {
            upstream.destroy();
            return;
          }
          vars.status = 101;
          const headers = responseHeaders(head.rawHeaders, {
            rewrite: null,
            connection: 'upgrade',
            filter: route.filter,
            extra: addHeaderPairs(prepared.addHeaders, 101, vars),
          });
          socket.write(rawHead(101, head.statusMessage || 'Switching Protocols', headers), 'latin1');
          tunnel(socket, upstream, clientHead, leftover, proxy.readTimeoutMs);
        },
        response: (head, body) => {
          vars.status = head.statusCode;
          relayAndClose(socket, head, body, route.filter, addHeaderPairs(prepared.addHeaders, head.statusCode, vars));
        },
        failed: (status) => {
          vars.status = status;
          socket.end(rawErrorResponse(status), 'latin1');
        },
        tooLarge: () => socket.end(rawErrorResponse(413), 'latin1'),
      },
      runtime,
    );
  } catch (err) {
    runtime.log('error', `${(err as Error).message} while handling upgrade "${method} ${req.url}"`);
    socket.end(rawErrorResponse(500), 'latin1');
    return;
  }
  socket.once('close', () => exchange.abort());
  exchange.start();
}

/** The upstream declined to switch: pass its answer on, delimited by closing the connection. */
function relayAndClose(socket: Socket, head: ResponseHead, body: ResponseBody, filter: HideFilter, extra: readonly string[]): void {
  if (socket.destroyed) return;
  const headers = responseHeaders(head.rawHeaders, { rewrite: null, connection: 'close', filter, extra });
  socket.write(rawHead(head.statusCode, head.statusMessage, headers), 'latin1');
  let waiting = false;
  const onDrain = () => {
    waiting = false;
    body.resume();
  };
  body.onData = (chunk) => {
    if (socket.write(chunk) || waiting) return;
    waiting = true;
    body.pause();
    socket.once('drain', onDrain);
  };
  body.onEnd = () => {
    socket.off('drain', onDrain);
    socket.end();
  };
  body.onAbort = () => socket.destroy();
}
