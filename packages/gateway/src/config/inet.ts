import { parseInteger } from './units.js';

/**
 * nginx's address primitives (ngx_inet.c), ported byte for byte because realip and
 * `$binary_remote_addr` must accept, reject and print addresses exactly as nginx does:
 * `1.2.3.` is 1.2.3.0 to nginx, `255.255.255.255` is no address, `2001:DB8::1` prints
 * as `2001:db8::1`.
 */

/** An address as nginx's ngx_addr_t: 4 or 16 bytes, and a port (0 when none was given). */
export interface InetAddress {
  readonly bytes: Uint8Array;
  readonly port: number;
}

/** A `set_real_ip_from` entry: address and mask bytes, or any unix-domain peer. */
export type Cidr = { readonly family: 'unix' } | { readonly family: 'inet'; readonly addr: Uint8Array; readonly mask: Uint8Array };

/** ngx_inet_addr(): dotted IPv4 (octets may be empty or zero-padded); null for INADDR_NONE. */
export function parseInet4(text: string): Uint8Array | null {
  const bytes = new Uint8Array(4);
  let octet = 0;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      octet = octet * 10 + (c - 0x30);
      if (octet > 255) return null;
      continue;
    }
    if (c === 0x2e && n < 3) {
      bytes[n++] = octet;
      octet = 0;
      continue;
    }
    return null;
  }
  if (n !== 3) return null;
  bytes[3] = octet;
  // 255.255.255.255 is INADDR_NONE, which nginx cannot tell from a failure.
  return bytes.every((b) => b === 255) ? null : bytes;
}

/** ngx_inet6_addr(): IPv6 text with `::` and an embedded IPv4 tail; null when invalid. */
export function parseInet6(text: string): Uint8Array | null {
  if (text.length === 0) return null;
  const out = new Uint8Array(16);
  let at = 0;
  let zero = -1;
  let digit = -1;
  let nibbles = 0;
  let word = 0;
  let n = 8;
  let i = text[0] === ':' ? 1 : 0;
  for (; i < text.length; i++) {
    const c = text[i] as string;
    if (c === ':') {
      if (nibbles) {
        digit = i + 1;
        out[at++] = word >> 8;
        out[at++] = word & 0xff;
        if (--n) {
          nibbles = 0;
          word = 0;
          continue;
        }
      } else if (zero < 0) {
        digit = i + 1;
        zero = at;
        continue;
      }
      return null;
    }
    if (c === '.' && nibbles) {
      if (n < 2 || digit < 0) return null;
      const v4 = parseInet4(text.slice(digit));
      if (!v4) return null;
      out.set(v4, at);
      at += 4;
      n -= 2;
      word = -1;
      break;
    }
    if (++nibbles > 4) return null;
    const value = Number.parseInt(c, 16);
    if (Number.isNaN(value)) return null;
    word = word * 16 + value;
  }
  if (word >= 0) {
    if (nibbles === 0 && zero < 0) return null;
    out[at++] = word >> 8;
    out[at++] = word & 0xff;
    n--;
  }
  if (n > 0) {
    if (zero < 0) return null;
    // Move what follows `::` to the end; the gap stays zero.
    const tail = out.slice(zero, at);
    out.fill(0, zero);
    out.set(tail, 16 - tail.length);
    return out;
  }
  return zero < 0 ? out : null;
}

/** ngx_parse_addr(): an IPv4 or IPv6 literal, without port. */
export function parseAddr(text: string): InetAddress | null {
  const bytes = parseInet4(text) ?? parseInet6(text);
  return bytes ? { bytes, port: 0 } : null;
}

/** ngx_parse_addr_port(): `addr`, `addr:port` or `[v6]:port`. */
export function parseAddrPort(text: string): InetAddress | null {
  const plain = parseAddr(text);
  if (plain) return plain;
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || close === text.length - 1 || text[close + 1] !== ':') return null;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const colon = text.indexOf(':');
    if (colon < 0) return null;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
  }
  const port = parseInteger(portText);
  if (port === null || port < 1 || port > 65535) return null;
  const addr = parseAddr(host);
  return addr ? { bytes: addr.bytes, port } : null;
}

/**
 * ngx_ptocidr(): `addr` or `addr/bits`. `exact` is false when the address had bits set below
 * the mask (nginx warns "low address bits ... are meaningless" and clears them).
 */
export function parseCidr(text: string): { cidr: Cidr; exact: boolean } | null {
  const slash = text.indexOf('/');
  const addr = parseAddr(slash < 0 ? text : text.slice(0, slash));
  if (!addr) return null;
  const size = addr.bytes.length;
  let bits = size * 8;
  if (slash >= 0) {
    const n = parseInteger(text.slice(slash + 1));
    if (n === null || n > bits) return null;
    bits = n;
  }
  const mask = new Uint8Array(size);
  for (let i = 0; i < size; i++) mask[i] = (0xff << (8 - Math.min(8, Math.max(0, bits - i * 8)))) & 0xff;
  const masked = addr.bytes.map((b, i) => b & (mask[i] as number));
  const exact = masked.every((b, i) => b === addr.bytes[i]);
  return { cidr: { family: 'inet', addr: masked, mask }, exact };
}

/** An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as its IPv4 bytes, as ngx_cidr_match sees it. */
function unmapped(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== 16 || bytes[10] !== 0xff || bytes[11] !== 0xff) return bytes;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return bytes;
  return bytes.subarray(12);
}

/** ngx_cidr_match(): whether `address` (null: a unix-domain peer) is in one of `cidrs`. */
export function cidrMatch(address: InetAddress | null, cidrs: readonly Cidr[]): boolean {
  const bytes = address ? unmapped(address.bytes) : null;
  return cidrs.some((cidr) => {
    if (cidr.family === 'unix') return bytes === null;
    if (!bytes || cidr.addr.length !== bytes.length) return false;
    return bytes.every((b, i) => (b & (cidr.mask[i] as number)) === cidr.addr[i]);
  });
}

/** ngx_sock_ntop() without port: dotted IPv4, or ngx_inet6_ntop's IPv6 text. */
export function formatAddr(bytes: Uint8Array): string {
  return bytes.length === 4 ? bytes.join('.') : formatInet6(bytes);
}

/** ngx_inet6_ntop(): lowercase hex words, the first longest run of 2+ zero words as `::`. */
function formatInet6(p: Uint8Array): string {
  const word = (i: number) => ((p[i] as number) << 8) | (p[i + 1] as number);
  let zero = -1;
  let max = 1;
  let run = 0;
  let start = -1;
  for (let i = 0; i < 16; i += 2) {
    if (word(i)) {
      if (max < run) {
        zero = start;
        max = run;
      }
      run = 0;
      continue;
    }
    if (run++ === 0) start = i;
  }
  if (max < run) {
    zero = start;
    max = run;
  }
  let out = '';
  let end = 16;
  if (zero === 0) {
    // ::a.b.c.d and ::ffff:a.b.c.d keep their IPv4 tail dotted.
    if ((max === 5 && p[10] === 0xff && p[11] === 0xff) || max === 6 || (max === 7 && p[14] !== 0 && p[15] !== 1)) end = 12;
    out += ':';
  }
  for (let i = 0; i < end; i += 2) {
    if (i === zero) {
      out += ':';
      i += (max - 1) * 2;
      continue;
    }
    out += word(i).toString(16);
    if (i < 14) out += ':';
  }
  if (end === 12) out += `${p[12]}.${p[13]}.${p[14]}.${p[15]}`;
  return out;
}

/** `$binary_remote_addr`: the address bytes as a latin1 string (4 or 16 characters). */
export function binaryAddr(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}
