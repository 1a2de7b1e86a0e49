import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { formatSocketAddress } from '../config/addresses.js';
import { escapeUri, normalizePath, splitRequestTarget, validateHost } from '../uri.js';
import type { UpstreamGroup } from '../upstream/group.js';
import { asciiLower, evaluate, requestVariables, type RequestVariables, type Template } from '../variables.js';
import { resolveDynamicPass } from './dynamic-pass.js';
import { matchLocation, type ProxyRoute, type VirtualServer } from './routing.js';

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
    }
  | {
      readonly kind: 'proxy';
      readonly route: ProxyRoute;
      readonly group: UpstreamGroup;
      readonly vars: RequestVariables;
      /** The request target to send upstream. */
      readonly target: string;
    };

interface ConnectionInfo {
  readonly id: string;
  requests: number;
}
const connections = new WeakMap<Socket, ConnectionInfo>();
let connectionSerial = 0;

/** `$connection` and `$connection_requests`: a serial number per client connection. */
function connectionInfo(socket: Socket): ConnectionInfo {
  let info = connections.get(socket);
  if (!info) {
    info = { id: String(++connectionSerial), requests: 0 };
    connections.set(socket, info);
  }
  info.requests++;
  return info;
}

export function prepareRequest(req: IncomingMessage, server: VirtualServer, socket: Socket): PreparedRequest {
  const startMs = Date.now();
  const raw = req.rawHeaders;
  let hostHeader: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length !== 4 || asciiLower(name) !== 'host') continue;
    // nginx: "client sent duplicate host header".
    if (hostHeader !== undefined) return { kind: 'reply', status: 400 };
    hostHeader = raw[i + 1] as string;
  }

  const split = splitRequestTarget(req.url ?? '');
  if (!split) return { kind: 'reply', status: 400 };
  let host = '';
  if (hostHeader !== undefined) {
    const valid = validateHost(hostHeader);
    if (valid === null) return { kind: 'reply', status: 400 };
    host = valid;
  }
  if (split.host !== null) {
    const valid = validateHost(split.host);
    if (valid === null) return { kind: 'reply', status: 400 };
    host = valid;
  }

  const path = normalizePath(split.target);
  if (path === null) return { kind: 'reply', status: 400 };

  const match = matchLocation(server, path);
  if (!match) return { kind: 'reply', status: 404 };
  const query = split.target.indexOf('?');
  if (match.redirect) {
    const args = query >= 0 ? split.target.slice(query) : '';
    return { kind: 'reply', status: 301, location: absoluteUrl(host, socket, escapeUri(match.location.config.prefix) + args) };
  }
  const route = match.location.proxy;
  // A location without proxy_pass would serve files in nginx; there are none here.
  if (!route) return { kind: 'reply', status: 404 };

  const conn = connectionInfo(socket);
  const vars = requestVariables({
    rawHeaders: raw,
    remoteAddress: clientAddress(socket.remoteAddress),
    remotePort: String(socket.remotePort ?? ''),
    host,
    proxyHost: route.config.proxyHost,
    method: req.method ?? 'GET',
    requestUri: split.target,
    uri: path,
    args: query >= 0 ? split.target.slice(query + 1) : '',
    httpVersion: req.httpVersion,
    serverAddr: clientAddress(socket.localAddress),
    serverPort: String(socket.localPort ?? ''),
    connection: conn.id,
    connectionRequests: String(conn.requests),
    startMs,
  });

  if (route.group) return { kind: 'proxy', route, group: route.group, vars, target: split.target };
  const url = evaluate(route.config.dynamic as Template, vars);
  const resolved = resolveDynamicPass(url, route.directory);
  if (!resolved.ok) return { kind: 'reply', status: resolved.status, error: resolved.message };
  vars.proxyHost = resolved.proxyHost;
  return { kind: 'proxy', route, group: resolved.group, vars, target: resolved.uri || split.target };
}

/** `$remote_addr`: the client's address, without the `::ffff:` of an IPv4-mapped one. */
export function clientAddress(remoteAddress: string | undefined): string {
  const address = remoteAddress ?? '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
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
