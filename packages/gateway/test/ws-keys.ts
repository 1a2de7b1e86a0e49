import { createHash } from 'node:crypto';

/** RFC 6455's example key, and the headers of a well-formed handshake request using it. */
export const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
export const WS_HANDSHAKE: readonly [string, string][] = [
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Key', WS_KEY],
  ['Sec-WebSocket-Version', '13'],
];
export const WS_HANDSHAKE_HEADERS = WS_HANDSHAKE.map(([n, v]) => `${n}: ${v}\r\n`).join('');

/** The `Sec-WebSocket-Accept` a WebSocket server answers to `key`. */
export function wsAccept(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

/** A 101 accepting the handshake in the raw request head `request` (as a real server would). */
export function wsSwitch(request: string): string {
  const key = /^sec-websocket-key:[ \t]*(\S*)/im.exec(request)?.[1] ?? '';
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${wsAccept(key)}\r\n\r\n`;
}
