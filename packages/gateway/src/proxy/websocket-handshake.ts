import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { ResponseHead } from '../http1/response-parser.js';
import { asciiLower } from '../variables.js';

/**
 * The only protocol switch the gateway makes is to WebSocket (RFC 6455), and only once both
 * sides have shown they speak it: the client with a well-formed handshake, the upstream with
 * the `Sec-WebSocket-Accept` that answers the client's key. Any other `Upgrade` (`h2c`, ...)
 * is a plain request, so that no tunnel can carry requests past the proxy's rules (h2c
 * smuggling). nginx forwards whatever the configuration says; these are deliberate differences.
 */

// RFC 6455 section 1.3.
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** `Upgrade: websocket`, the token alone, in any case. */
export function asksForWebSocket(req: IncomingMessage): boolean {
  return asciiLower(req.headers.upgrade ?? '') === 'websocket';
}

/** Node's request parser, as its HTTP server sets it on the socket; `upgrade` is Node's flag. */
type ParsedRequest = IncomingMessage & { upgrade: boolean };
type RequestParser = { onIncoming?: (req: ParsedRequest, keepAlive: boolean) => unknown };

/**
 * Node 20 reports every request with `Connection: upgrade` and an `Upgrade` header as an
 * upgrade (its 'upgrade' event: the socket leaves HTTP, the body stays unread) and has no
 * hook to decline one. This steps in where Node's parser hands it a new request: any token
 * but `websocket` is turned back into a plain request, whose body Node then reads as usual.
 * Its connection closes after the response, because Node's parser drops bytes pipelined
 * behind what it took for the end of an upgrade request. (Were the hook missing, such requests
 * would reach the upgrade handler, which refuses them: still never a tunnel.)
 */
export function declineOtherUpgrades(socket: Socket): void {
  const parser = (socket as Socket & { parser?: RequestParser }).parser;
  const incoming = parser?.onIncoming;
  if (!parser || !incoming) return;
  parser.onIncoming = (req, keepAlive) => {
    if (!req.upgrade || req.method === 'CONNECT' || asksForWebSocket(req)) return incoming(req, keepAlive);
    req.upgrade = false;
    return incoming(req, false);
  };
}

/** What an upgrade request may become: a tunnel once the upstream accepts `accept`, or a 400. */
export type Handshake = { readonly ok: true; readonly accept: string } | { readonly ok: false; readonly reason: string };

/**
 * RFC 6455 section 4.2.1: a GET without a body, `Upgrade: websocket`, a `Sec-WebSocket-Key`
 * of 16 bytes in base64, `Sec-WebSocket-Version: 13`.
 */
export function checkHandshake(req: IncomingMessage): Handshake {
  const headers = req.headers;
  if (req.method !== 'GET') return { ok: false, reason: `a WebSocket handshake must be a GET, not ${req.method ?? ''}` };
  if (!asksForWebSocket(req)) return { ok: false, reason: 'only "Upgrade: websocket" is switched to' };
  if (headers['transfer-encoding'] !== undefined || (headers['content-length'] ?? '0') !== '0') {
    return { ok: false, reason: 'a WebSocket handshake has no body' };
  }
  const key = headers['sec-websocket-key'];
  if (key === undefined || !/^[A-Za-z0-9+/]{22}==$/.test(key)) return { ok: false, reason: 'missing or invalid "Sec-WebSocket-Key"' };
  if (headers['sec-websocket-version'] !== '13') return { ok: false, reason: 'missing or unsupported "Sec-WebSocket-Version"' };
  return { ok: true, accept: createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64') };
}

/** The upstream's 101 completes the handshake only with exactly one, matching, `Sec-WebSocket-Accept`. */
export function acceptsHandshake(head: ResponseHead, accept: string): boolean {
  const raw = head.rawHeaders;
  let found = false;
  for (let i = 0; i < raw.length; i += 2) {
    if (asciiLower(raw[i] as string) !== 'sec-websocket-accept') continue;
    if (found || (raw[i + 1] as string).trim() !== accept) return false;
    found = true;
  }
  return found;
}
