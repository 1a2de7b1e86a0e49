import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { formatSocketAddress } from '../config/addresses.js';
import { escapeUri, normalizePath, splitRequestTarget, validateHost } from '../uri.js';
import type { UpstreamGroup } from '../upstream/group.js';
import type { LimitsConfig } from '../config/limit-directives.js';
import type { AccessLogConfig, AddHeaderSetting, ProxyConfig, ReturnConfig } from '../config/types.js';
import { applyRealIp } from '../limits/realip.js';
import { Stats } from '../stats.js';
import { asciiLower, clientAddress, evaluate, requestVariables, type RequestVariables, type Template } from '../variables.js';
import { resolveDynamicPass } from './dynamic-pass.js';
import { matchLocation, selectServer, type ProxyRoute, type ServerSet } from './routing.js';

/**
 * The part of handling a request shared by plain and upgrade requests: validation as nginx
 * does it, location lookup, and the values variables read.
 */

export type PreparedRequest =
  | {
      readonly kind: 'reply';
      readonly status: number;
      readonly location?: string;
      /** An error to log (nginx's [error] line) before answering. */
      readonly error?: string;
      /** `return CODE TEXT`: the body, sent as text/plain instead of an error page. */
      readonly body?: string;
      readonly vars: RequestVariables;
      /** The `add_header` list of the level that answered. */
      readonly addHeaders: readonly AddHeaderSetting[];
      readonly accessLogs: readonly AccessLogConfig[];
      /** limit_req / limit_conn to apply first (src/limits/admission.ts); null: none. */
      readonly limits: LimitsConfig | null;
    }
  | {
      readonly kind: 'proxy';
      readonly route: ProxyRoute;
      readonly group: UpstreamGroup;
      readonly addHeaders: readonly AddHeaderSetting[];
      readonly accessLogs: readonly AccessLogConfig[];
      readonly vars: RequestVariables;
      /** The request target to send upstream. */
      readonly target: string;
      readonly limits: LimitsConfig | null;
    };

interface ConnectionInfo {
  readonly id: string;
  requests: number;
}
// Kept on the socket itself: a WeakMap keyed by sockets would make every garbage collection
// walk its entries (ephemerons), one per open connection.
const CONNECTION_INFO = Symbol('connection info');
let connectionSerial = 0;

/** `$connection` and `$connection_requests`: a serial number per client connection. */
function connectionInfo(socket: Socket): ConnectionInfo {
  const holder = socket as Socket & { [CONNECTION_INFO]?: ConnectionInfo };
  let info = holder[CONNECTION_INFO];
  if (!info) {
    info = { id: String(++connectionSerial), requests: 0 };
    holder[CONNECTION_INFO] = info;
  }
  info.requests++;
  return info;
}

export function prepareRequest(req: IncomingMessage, servers: ServerSet, socket: Socket, stats?: Stats): PreparedRequest {
  const startMs = Date.now();
  const raw = req.rawHeaders;
  // Requests refused before a server is chosen are answered and logged by the default server.
  const bad = (): PreparedRequest => {
    const fallback = servers.defaultServer.config;
    const vars = requestVariables({
      rawHeaders: raw,
      remoteAddress: clientAddress(socket.remoteAddress),
      remotePort: String(socket.remotePort ?? ''),
      method: req.method ?? 'GET',
      requestUri: req.url ?? '',
      httpVersion: req.httpVersion,
      startMs,
    });
    return { kind: 'reply', status: 400, vars, addHeaders: fallback.addHeaders, accessLogs: fallback.accessLogs, limits: null };
  };
  let hostHeader: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length !== 4 || asciiLower(name) !== 'host') continue;
    // nginx: "client sent duplicate host header".
    if (hostHeader !== undefined) return bad();
    hostHeader = raw[i + 1] as string;
  }

  const split = splitRequestTarget(req.url ?? '');
  if (!split) return bad();
  let host = '';
  if (hostHeader !== undefined) {
    const valid = validateHost(hostHeader);
    if (valid === null) return bad();
    host = valid;
  }
  if (split.host !== null) {
    const valid = validateHost(split.host);
    if (valid === null) return bad();
    host = valid;
  }
  // nginx: "client sent HTTP/1.1 request without "Host" header" (Node's own check is off, so
  // this 400 gets nginx's page).
  if (hostHeader === undefined && split.host === null && req.httpVersion === '1.1') return bad();

  const path = normalizePath(split.target);
  if (path === null) return bad();

  const query = split.target.indexOf('?');
  const conn = connectionInfo(socket);
  const vars = requestVariables({
    rawHeaders: raw,
    remoteAddress: clientAddress(socket.remoteAddress),
    remotePort: String(socket.remotePort ?? ''),
    host,
    method: req.method ?? 'GET',
    requestUri: split.target,
    uri: path,
    args: query >= 0 ? split.target.slice(query + 1) : '',
    httpVersion: req.httpVersion,
    local: socket,
    connection: conn.id,
    connectionRequests: String(conn.requests),
    startMs,
  });

  const server = selectServer(servers, host, vars);
  vars.serverName = server.config.serverName;
  // $host falls back to the server name when the request named no host.
  if (host === '') vars.host = server.config.serverName;
  // nginx's post-read phase: realip with the server's settings, before anything else runs.
  const realIpDone = server.config.realip !== null && applyRealIp(server.config.realip, vars);
  const serverLevel = { vars, addHeaders: server.config.addHeaders, accessLogs: server.config.accessLogs, limits: null };
  if (server.config.ret) return { ...returnReply(server.config.ret, vars, socket), ...serverLevel };
  const match = matchLocation(server, path, vars);
  if (!match) return { kind: 'reply', status: 404, ...serverLevel, limits: server.config.limits };
  const location = match.location.config;
  // The auto-redirect and `return` come before nginx's preaccess phase: no location realip, no limits.
  const rewriteLevel = { vars, addHeaders: location.addHeaders, accessLogs: location.accessLogs, limits: null };
  if (match.redirect) {
    const args = query >= 0 ? split.target.slice(query) : '';
    const target = absoluteUrl(host, socket, escapeUri(location.prefix) + args);
    return { kind: 'reply', status: 301, location: target, ...rewriteLevel };
  }
  if (location.ret) return { ...returnReply(location.ret, vars, socket), ...rewriteLevel };
  // nginx's preaccess phase: the location's realip (unless the server's applied), then its limits.
  if (!realIpDone && location.realip) applyRealIp(location.realip, vars);
  const level = { vars, addHeaders: location.addHeaders, accessLogs: location.accessLogs, limits: location.limits };
  if (location.stubStatus) {
    // ngx_http_stub_status_handler: GET and HEAD only.
    if (vars.method !== 'GET' && vars.method !== 'HEAD') return { kind: 'reply', status: 405, ...level };
    return { kind: 'reply', status: 200, body: (stats ?? new Stats()).text(), ...level };
  }
  const route = match.location.proxy;
  // A location without proxy_pass would serve files in nginx; there are none here.
  if (!route) return { kind: 'reply', status: 404, ...level };

  if (route.group) {
    vars.proxyHost = route.config.proxyHost;
    const target = upstreamTarget(route.config, split.target, path, vars.args);
    // The spread first: V8 then clones `level` instead of copying its properties one by one.
    return { ...level, kind: 'proxy', route, group: route.group, target };
  }
  const url = evaluate(route.config.dynamic as Template, vars);
  const resolved = resolveDynamicPass(url, route.directory);
  if (!resolved.ok) return { kind: 'reply', status: resolved.status, error: resolved.message, ...level };
  vars.proxyHost = resolved.proxyHost;
  return { ...level, kind: 'proxy', route, group: resolved.group, target: resolved.uri || split.target };
}

/**
 * The request target sent upstream (ngx_http_proxy_create_request): the client's own when
 * proxy_pass has no URI part; otherwise the location's prefix in the normalized path is
 * replaced by the URI part, the rest escaped when the client's path was, and `?args` added.
 */
function upstreamTarget(proxy: ProxyConfig, original: string, path: string, args: string): string {
  if (!proxy.uri) return original;
  let rest = path.slice(Math.min(proxy.locationPrefix.length, path.length));
  const query = original.indexOf('?');
  const rawPath = query >= 0 ? original.slice(0, query) : original;
  if (rawPath.includes('%')) rest = escapeUri(rest);
  return `${proxy.uri}${rest}${args ? `?${args}` : ''}`;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** ngx_http_script_return_code() and ngx_http_send_response(). */
function returnReply(
  ret: ReturnConfig,
  vars: RequestVariables,
  socket: Socket,
): { kind: 'reply'; status: number; location?: string; body?: string } {
  const text = ret.text === null ? null : evaluate(ret.text, vars);
  if (ret.code === 444) return { kind: 'reply', status: 444 };
  if (text === null && ret.code >= 400) return { kind: 'reply', status: ret.code };
  if (REDIRECTS.has(ret.code)) {
    const target = text ?? '';
    const location = target.startsWith('/') ? absoluteUrl(vars.host, socket, target) : target;
    return { kind: 'reply', status: ret.code, location };
  }
  return { kind: 'reply', status: ret.code, body: text ?? '' };
}

/** nginx's absolute_redirect: `http://` + $host (else the local address) + non-80 local port. */
function absoluteUrl(host: string, socket: Socket, path: string): string {
  const port = socket.localPort ?? 80;
  const authority = host || formatSocketAddress(socket.localAddress ?? '', port).replace(/:\d+$/, '');
  return `http://${authority}${port === 80 ? '' : `:${port}`}${path}`;
}

/** Request methods nginx never retries on another server once the request was sent. */
export function isNonIdempotent(method: string): boolean {
  return method === 'POST' || method === 'LOCK' || method === 'PATCH';
}
