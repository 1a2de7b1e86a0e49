import { isIPv4, isIPv6 } from 'node:net';
import { parseInteger } from './units.js';

/**
 * `host[:port][/uri]` and `[v6][:port]` parsing after nginx's ngx_parse_url(), used by
 * `listen`, upstream `server` and `proxy_pass`. Errors are nginx's `u->err` strings
 * ("invalid port", "no host", ...), which callers wrap into the directive's message.
 */
export interface ParsedAddress {
  /** Host as written: a name, an IPv4 literal, `[v6]` with brackets, or `*`. */
  readonly host: string;
  readonly port: number;
  /** The port as written (empty when defaulted): `$proxy_host` keeps it verbatim. */
  readonly portText: string;
  /** The URI part (`/x`, `?a`) when allowed, else empty. */
  readonly uri: string;
}

export type AddressResult = { ok: true; value: ParsedAddress } | { ok: false; err: string };

interface Options {
  readonly defaultPort: number;
  /** `listen` semantics: a bare number is a port, `*` is a wildcard. */
  readonly listen?: boolean;
  /** Accept and return a URI part (proxy_pass). */
  readonly uriPart?: boolean;
  /** Accept port 0 (only our own `--listen` override, for ephemeral test ports). */
  readonly allowPortZero?: boolean;
}

function parsePort(text: string, opts: Options): number | null {
  const n = parseInteger(text);
  if (n === null || n > 65535 || (n < 1 && !opts.allowPortZero)) return null;
  return n;
}

export function parseAddress(url: string, opts: Options): AddressResult {
  if (url.length >= 5 && url.slice(0, 5).toLowerCase() === 'unix:') {
    return { ok: false, err: 'unix domain sockets are not supported yet' };
  }
  return url.startsWith('[') ? parseInet6(url, opts) : parseInet(url, opts);
}

function parseInet(url: string, opts: Options): AddressResult {
  let last = url.length;
  const colon = url.indexOf(':');
  let uriStart = url.indexOf('/');
  const args = url.indexOf('?');
  if (args >= 0 && (uriStart < 0 || args < uriStart)) uriStart = args;

  let uri = '';
  let portAt = colon;
  if (uriStart >= 0) {
    if (opts.listen || !opts.uriPart) return { ok: false, err: 'invalid host' };
    uri = url.slice(uriStart);
    last = uriStart;
    if (uriStart < colon) portAt = -1;
  }

  let port = opts.defaultPort;
  let portText = '';
  if (portAt >= 0) {
    portText = url.slice(portAt + 1, last);
    if (opts.listen && portText.includes('-')) return { ok: false, err: 'port ranges are not supported yet' };
    const n = parsePort(portText, opts);
    if (n === null) return { ok: false, err: 'invalid port' };
    port = n;
    last = portAt;
  } else if (opts.listen && uriStart < 0) {
    // `listen 8080`: a bare number is a port on the wildcard address.
    const hostText = url.slice(0, last);
    if (hostText.includes('-') && /^[0-9]+-[0-9]+$/.test(hostText)) {
      return { ok: false, err: 'port ranges are not supported yet' };
    }
    if (parseInteger(hostText) !== null) {
      const n = parsePort(hostText, opts);
      if (n === null) return { ok: false, err: 'invalid port' };
      return { ok: true, value: { host: '*', port: n, portText: hostText, uri: '' } };
    }
  }

  const host = url.slice(0, last);
  if (host.length === 0) return { ok: false, err: 'no host' };
  return { ok: true, value: { host, port, portText, uri } };
}

function parseInet6(url: string, opts: Options): AddressResult {
  const close = url.indexOf(']');
  if (close < 0) return { ok: false, err: 'invalid host' };
  let last = url.length;
  let uri = '';
  const uriStart = url.indexOf('/', close);
  if (uriStart >= 0) {
    if (opts.listen || !opts.uriPart) return { ok: false, err: 'invalid host' };
    uri = url.slice(uriStart);
    last = uriStart;
  }

  let port = opts.defaultPort;
  let portText = '';
  if (close + 1 < last) {
    if (url[close + 1] !== ':') return { ok: false, err: 'invalid host' };
    portText = url.slice(close + 2, last);
    if (opts.listen && portText.includes('-')) return { ok: false, err: 'port ranges are not supported yet' };
    const n = parsePort(portText, opts);
    if (n === null) return { ok: false, err: 'invalid port' };
    port = n;
  }

  const literal = url.slice(1, close);
  if (literal.length === 0) return { ok: false, err: 'no host' };
  if (!isIPv6(literal)) return { ok: false, err: 'invalid IPv6 address' };
  return { ok: true, value: { host: `[${literal}]`, port, portText, uri } };
}

/** A host as a socket address: IPv6 brackets removed, `*` as the IPv4 wildcard. */
export function bindableHost(host: string): string {
  if (host === '*') return '0.0.0.0';
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/** True when `host` needs no DNS lookup. */
export function isIpLiteral(host: string): boolean {
  const bare = bindableHost(host);
  return isIPv4(bare) || isIPv6(bare);
}

/** `addr:port` the way nginx prints socket addresses (IPv6 in brackets). */
export function formatSocketAddress(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}
