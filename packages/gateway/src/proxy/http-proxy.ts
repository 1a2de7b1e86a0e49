import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResponseHead } from '../http1/response-parser.js';
import type { AddHeaderSetting } from '../config/types.js';
import { admit } from '../limits/admission.js';
import { timerDelay, type GatewayRuntime } from '../runtime.js';
import type { RequestVariables } from '../variables.js';
import { readRequestBody } from './body.js';
import { bodyLimit, endResponse, limitsOf, superviseRequest } from './client-limits.js';
import { errorPageBody, errorPageHeaders, reasonPhrase, textHeaders } from './error-pages.js';
import { UpstreamExchange, type RequestBody, type ResponseBody } from './exchange.js';
import { isNonIdempotent, prepareRequest, type PreparedRequest } from './request.js';
import { renderRequestHead, type RequestBodyInfo } from './request-headers.js';
import { addHeaderPairs, redirectRewriter, responseHeaders } from './response-headers.js';
import type { ServerSet } from './routing.js';

type ProxyRequest = Extract<PreparedRequest, { kind: 'proxy' }>;

/** Handles an ordinary (non-upgrade) request: route it, proxy it, relay the response, log it. */
export function handleHttpRequest(
  req: IncomingMessage,
  res: ServerResponse,
  servers: ServerSet,
  runtime: GatewayRuntime,
): void {
  const { stats } = runtime;
  stats.requests++;
  stats.writing++;
  let prepared: PreparedRequest | null = null;
  let exchange: UpstreamExchange | undefined;
  const started = (e: UpstreamExchange) => (exchange = e);
  res.once('close', () => {
    stats.writing--;
    if (prepared && prepared.accessLogs.length > 0) runtime.logFiles.access(prepared.accessLogs, prepared.vars);
    if (exchange && !res.writableFinished) exchange.abort();
  });
  const fail = (err: unknown) => {
    runtime.log('error', `${(err as Error).message ?? String(err)} while handling "${req.method} ${req.url}"`);
    if (!res.headersSent) sendPage(req, res, 500, undefined, undefined, prepared ?? {});
    else res.destroy();
  };
  try {
    prepared = prepareRequest(req, servers, req.socket, stats);
  } catch (err) {
    fail(err);
    return;
  }
  superviseRequest(req, res, limitsOf(prepared, servers), prepared.vars, runtime);
  const proceed = (admitted: PreparedRequest) => {
    try {
      proxyRequest(req, res, admitted, runtime, started, fail);
    } catch (err) {
      fail(err);
    }
  };
  // limit_req / limit_conn may refuse the request or hold it a while first.
  if (prepared.limits) admit(prepared, runtime, res, proceed);
  else proceed(prepared);
}

/** Answers or proxies an admitted request; `started` gets the upstream exchange once there is one. */
function proxyRequest(
  req: IncomingMessage,
  res: ServerResponse,
  prepared: PreparedRequest,
  runtime: GatewayRuntime,
  started: (exchange: UpstreamExchange) => void,
  fail: (err: unknown) => void,
): void {
  if (prepared.kind === 'reply') {
    if (prepared.error) runtime.log('error', `${prepared.error}, client: ${prepared.vars.remoteAddress}, request: "${req.method} ${req.url} HTTP/${req.httpVersion}"`);
    return sendPage(req, res, prepared.status, prepared.location, prepared.body, prepared);
  }
  const send = (body: RequestBody, info: RequestBodyInfo) => started(startExchange(req, res, prepared, runtime, body, info));
  const proxy = prepared.route.config;

  // Body framing: keep the client's length; a chunked body stays chunked for HTTP/1.1 and is
  // read in full for HTTP/1.0, which needs a Content-Length.
  const contentLength = req.headers['content-length'];
  const maxBody = bodyLimit(proxy.client);
  if (contentLength !== undefined) {
    const length = Number(contentLength);
    if (length > maxBody) return sendPage(req, res, 413, undefined, undefined, prepared);
    const body: RequestBody = length > 0 ? { kind: 'stream', source: req, chunked: false, limit: maxBody } : NO_BODY;
    return send(body, { length: String(length), chunked: false });
  }
  if (req.headers['transfer-encoding'] === undefined) return send(NO_BODY, NO_BODY_INFO);
  if (proxy.httpVersion === '1.1') return send({ kind: 'stream', source: req, chunked: true, limit: maxBody }, { length: '', chunked: true });
  readRequestBody(req, maxBody)
    .then((data) => {
      if (data === 'too-large') return sendPage(req, res, 413, undefined, undefined, prepared);
      if (!res.destroyed) send({ kind: 'buffer', data }, { length: String(data.length), chunked: false });
    })
    .catch(fail);
}

const NO_BODY: RequestBody = { kind: 'none' };
const NO_BODY_INFO: RequestBodyInfo = { length: '', chunked: false };

function startExchange(
  req: IncomingMessage,
  res: ServerResponse,
  prepared: ProxyRequest,
  runtime: GatewayRuntime,
  body: RequestBody,
  bodyInfo: RequestBodyInfo,
): UpstreamExchange {
  const { route, vars, target, group } = prepared;
  const proxy = route.config;
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
      policy: proxy,
      vars,
      describe: `"${method} ${req.url} HTTP/${req.httpVersion}", client: ${vars.remoteAddress}`,
    },
    {
      response: (head, upstreamBody) => relay(req, res, head, upstreamBody, prepared),
      upgraded: (_head, upstream) => {
        // Unreachable: the exchange refuses a 101 for a request that did not ask to upgrade.
        upstream.destroy();
        sendPage(req, res, 502, undefined, undefined, prepared);
      },
      failed: (status) => sendPage(req, res, status, undefined, undefined, prepared),
      tooLarge: () => sendPage(req, res, 413, undefined, undefined, prepared),
    },
    runtime,
  );
  exchange.start();
  return exchange;
}

function relay(req: IncomingMessage, res: ServerResponse, head: ResponseHead, body: ResponseBody, prepared: ProxyRequest): void {
  if (res.destroyed) return;
  const { vars, route, addHeaders } = prepared;
  const socket = req.socket;
  const status = head.statusCode;
  vars.status = status;
  const bodyless = req.method === 'HEAD' || status === 204 || status === 304;
  // An HTTP/1.0 client cannot get a chunked body: then the end of the body is the close.
  const keepAlive = res.shouldKeepAlive && (bodyless || head.hasContentLength || req.httpVersion !== '1.0');
  const redirects = route.config.redirects;
  const rewrite = redirects.length === 0 ? null : redirectRewriter(redirects, vars, vars.host || (socket.localAddress ?? ''), socket.localPort ?? 80);
  const headers = responseHeaders(head.rawHeaders, {
    rewrite,
    connection: keepAlive ? 'keep-alive' : 'close',
    filter: route.filter,
    extra: addHeaderPairs(addHeaders, status, vars),
  });
  vars.sentHeaders = headers;
  try {
    res.writeHead(status, head.statusMessage, headers);
  } catch {
    // Node refused a header the upstream sent; the body is then read and dropped.
    sendPage(req, res, 502, undefined, undefined, prepared);
    return;
  }

  let stalled: NodeJS.Timeout | undefined;
  const onDrain = () => {
    clearTimeout(stalled);
    stalled = undefined;
    body.resume();
  };
  body.onData = (chunk) => {
    vars.bodyBytesSent += chunk.length;
    // Backpressure: stop reading the upstream until the client has taken what it was sent.
    if (res.write(chunk) || stalled) return;
    body.pause();
    res.once('drain', onDrain);
    stalled = setTimeout(() => res.destroy(), timerDelay(route.config.client.sendTimeoutMs));
  };
  body.onEnd = () => {
    clearTimeout(stalled);
    res.off('drain', onDrain);
    endResponse(res, route.config.client.sendTimeoutMs);
  };
  body.onAbort = () => {
    clearTimeout(stalled);
    // nginx has already passed the head on; Node would hold it until the first body bytes.
    res.flushHeaders();
    res.destroy();
  };
}

/** What a made-up response needs from the request: its variables and the `add_header` list. */
export interface PageContext {
  readonly vars?: RequestVariables;
  readonly addHeaders?: readonly AddHeaderSetting[];
}

/** Sends one of the gateway's own responses (error pages, redirects, `return`). */
export function sendPage(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  location?: string,
  body?: string,
  ctx: PageContext = {},
): void {
  if (ctx.vars) ctx.vars.status = status;
  if (res.headersSent || res.destroyed || status === 444) {
    res.destroy();
    return;
  }
  const extra = ctx.addHeaders ? addHeaderPairs(ctx.addHeaders, status, ctx.vars) : [];
  if (body !== undefined) {
    const head = req.method === 'HEAD' || status === 204;
    if (ctx.vars && !head) ctx.vars.bodyBytesSent = Buffer.byteLength(body, 'latin1');
    const headers = textHeaders(body, res.shouldKeepAlive, status).concat(extra);
    if (ctx.vars) ctx.vars.sentHeaders = headers;
    res.writeHead(status, reasonPhrase(status), headers);
    res.end(head ? undefined : body, 'latin1');
    return;
  }
  // nginx drops the connection after these (ngx_http_special_response_handler).
  const keepAlive = res.shouldKeepAlive && ![400, 413, 414, 500, 501].includes(status);
  const page = req.method === 'HEAD' ? '' : errorPageBody(status);
  if (ctx.vars) ctx.vars.bodyBytesSent = page.length;
  const headers = errorPageHeaders(status, keepAlive, location).concat(extra);
  if (ctx.vars) ctx.vars.sentHeaders = headers;
  res.writeHead(status, reasonPhrase(status), headers);
  res.end(page || undefined);
}
