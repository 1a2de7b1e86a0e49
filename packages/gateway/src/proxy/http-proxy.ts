import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ResponseHead } from '../http1/response-parser.js';
import type { GatewayRuntime } from '../runtime.js';
import { CLIENT_MAX_BODY_SIZE, readRequestBody } from './body.js';
import { errorPageBody, errorPageHeaders, reasonPhrase } from './error-pages.js';
import { UpstreamExchange, type RequestBody, type ResponseBody } from './exchange.js';
import { clientAddress, isNonIdempotent, prepareRequest } from './request.js';
import { renderRequestHead, type RequestBodyInfo } from './request-headers.js';
import { defaultRedirectRewriter, responseHeaders } from './response-headers.js';
import type { VirtualServer } from './routing.js';

// nginx closes the client connection when a slow client has not taken data for send_timeout.
const SEND_TIMEOUT_MS = 60_000;

/** Handles an ordinary (non-upgrade) request: route it, proxy it, relay the response. */
export function handleHttpRequest(
  req: IncomingMessage,
  res: ServerResponse,
  server: VirtualServer,
  runtime: GatewayRuntime,
): void {
  proxyRequest(req, res, server, runtime).catch((err: unknown) => {
    runtime.log('error', `${(err as Error).message ?? String(err)} while handling "${req.method} ${req.url}"`);
    if (!res.headersSent) sendPage(req, res, 500);
    else res.destroy();
  });
}

async function proxyRequest(req: IncomingMessage, res: ServerResponse, server: VirtualServer, runtime: GatewayRuntime) {
  const socket = req.socket;
  const prepared = prepareRequest(req, server, socket);
  if (prepared.kind === 'reply') {
    if (prepared.error) runtime.log('error', `${prepared.error}, client: ${clientAddress(socket.remoteAddress)}, request: "${req.method} ${req.url} HTTP/${req.httpVersion}"`);
    return sendPage(req, res, prepared.status, prepared.location);
  }
  const { route, vars, target, group } = prepared;
  const proxy = route.config;

  // Body framing: keep the client's length; a chunked body stays chunked for HTTP/1.1 and is
  // read in full for HTTP/1.0, which needs a Content-Length.
  let body: RequestBody = { kind: 'none' };
  let bodyInfo: RequestBodyInfo = { length: '', chunked: false };
  const contentLength = req.headers['content-length'];
  if (contentLength !== undefined) {
    if (Number(contentLength) > CLIENT_MAX_BODY_SIZE) return sendPage(req, res, 413);
    bodyInfo = { length: String(Number(contentLength)), chunked: false };
    if (Number(contentLength) > 0) body = { kind: 'stream', source: req, chunked: false };
  } else if (req.headers['transfer-encoding'] !== undefined) {
    if (proxy.httpVersion === '1.1') {
      bodyInfo = { length: '', chunked: true };
      body = { kind: 'stream', source: req, chunked: true };
    } else {
      const data = await readRequestBody(req, CLIENT_MAX_BODY_SIZE);
      if (data === 'too-large') return sendPage(req, res, 413);
      bodyInfo = { length: String(data.length), chunked: false };
      body = { kind: 'buffer', data };
    }
  }
  if (res.destroyed) return;

  const method = req.method ?? 'GET';
  const rendered = renderRequestHead(method, target, proxy.httpVersion, route.plan, vars, bodyInfo);
  const exchange = new UpstreamExchange(
    group,
    {
      head: rendered.head,
      body,
      nonIdempotent: isNonIdempotent(method),
      headRequest: method === 'HEAD',
      upgrade: false,
      keepAlive: !rendered.connectionClose,
      connectTimeoutMs: proxy.connectTimeoutMs,
      sendTimeoutMs: proxy.sendTimeoutMs,
      readTimeoutMs: proxy.readTimeoutMs,
      nextUpstream: proxy.nextUpstream,
      nextUpstreamTries: proxy.nextUpstreamTries,
      nextUpstreamTimeoutMs: proxy.nextUpstreamTimeoutMs,
      vars,
        describe: `"${method} ${req.url} HTTP/${req.httpVersion}", client: ${vars.remoteAddress}`,
    },
    {
      response: (head, upstreamBody) => {
        const redirectFrom = proxy.redirect === 'default' ? proxy.url : null;
        relay(req, res, head, upstreamBody, vars.host, socket, redirectFrom);
      },
      upgraded: (_head, upstream) => {
        // Unreachable: the exchange refuses a 101 for a request that did not ask to upgrade.
        upstream.destroy();
        sendPage(req, res, 502);
      },
      failed: (status) => sendPage(req, res, status),
      tooLarge: () => sendPage(req, res, 413),
    },
    runtime,
  );
  res.once('close', () => {
    if (!res.writableFinished) exchange.abort();
  });
  exchange.start();
}

function relay(
  req: IncomingMessage,
  res: ServerResponse,
  head: ResponseHead,
  body: ResponseBody,
  host: string,
  socket: Socket,
  redirectFrom: string | null,
): void {
  if (res.destroyed) return;
  const status = head.statusCode;
  const bodyless = req.method === 'HEAD' || status === 204 || status === 304;
  const hasLength = head.rawHeaders.some((v, i) => i % 2 === 0 && v.toLowerCase() === 'content-length');
  // An HTTP/1.0 client cannot get a chunked body: then the end of the body is the close.
  const keepAlive = res.shouldKeepAlive && (bodyless || hasLength || req.httpVersion !== '1.0');
  const rewrite =
    redirectFrom === null
      ? null
      : defaultRedirectRewriter(redirectFrom, host || (socket.localAddress ?? ''), socket.localPort ?? 80);
  const headers = responseHeaders(head.rawHeaders, { rewrite, connection: keepAlive ? 'keep-alive' : 'close' });
  try {
    res.writeHead(status, head.statusMessage, headers);
  } catch {
    // Node refused a header the upstream sent; the body is then read and dropped.
    sendPage(req, res, 502);
    return;
  }

  let stalled: NodeJS.Timeout | undefined;
  const onDrain = () => {
    clearTimeout(stalled);
    stalled = undefined;
    body.resume();
  };
  body.onData = (chunk) => {
    // Backpressure: stop reading the upstream until the client has taken what it was sent.
    if (res.write(chunk) || stalled) return;
    body.pause();
    res.once('drain', onDrain);
    stalled = setTimeout(() => res.destroy(), SEND_TIMEOUT_MS);
  };
  body.onEnd = () => {
    clearTimeout(stalled);
    res.off('drain', onDrain);
    res.end();
  };
  body.onAbort = () => {
    clearTimeout(stalled);
    res.destroy();
  };
}

/** Sends one of the gateway's own responses (error pages, the auto-redirect 301). */
export function sendPage(req: IncomingMessage, res: ServerResponse, status: number, location?: string): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  // nginx drops the connection after these (ngx_http_special_response_handler).
  const keepAlive = res.shouldKeepAlive && ![400, 413, 414, 500, 501].includes(status);
  res.writeHead(status, reasonPhrase(status), errorPageHeaders(status, keepAlive, location));
  res.end(req.method === 'HEAD' ? undefined : errorPageBody(status));
}
