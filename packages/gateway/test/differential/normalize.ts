import { createHash } from 'node:crypto';
import type { RawResponse } from './client.js';
import type { UpstreamRequest } from './upstreams.js';

/**
 * What is compared between the engines. Left out, because it is noise rather than behaviour:
 * `Date`; `Server` (nginx says nginx, the gateway says chat-gateway, as documented);
 * connection-management headers (`Connection`, `Keep-Alive`) and `Transfer-Encoding` (the
 * framing is compared separately, as `framing`). Header names are compared lowercased and
 * headers are sorted by name (values of one name keep their order): the README documents the
 * order as "approximately nginx's". The engine's own listen port (which differs between the
 * two) is replaced by `{PORT}`, and the server name in error pages by `{SERVER}`.
 */

export interface NormalizedResponse {
  readonly status: number;
  readonly reason: string;
  readonly version: string;
  readonly headers: [string, string][];
  readonly body: string;
  readonly framing: RawResponse['framing'];
}

const DROPPED = new Set(['date', 'server', 'connection', 'keep-alive', 'transfer-encoding']);

/** Short bodies as text; long ones as length and digest. */
export function describeBody(body: Buffer): string {
  if (body.length <= 512) return body.toString('latin1');
  return `<${body.length} bytes sha256:${createHash('sha256').update(body).digest('hex').slice(0, 16)}>`;
}

function portless(text: string, port: number): string {
  return text.replace(new RegExp(`(?<!\\d)${port}(?!\\d)`, 'g'), '{PORT}');
}

export function normalizeResponse(r: RawResponse, port: number): NormalizedResponse {
  let body = r.body;
  const text = body.toString('latin1');
  // nginx's error pages name nginx (with its version); the gateway's name chat-gateway.
  const errorPage = /<hr><center>(nginx(\/[\d.]+)?|chat-gateway)<\/center>/;
  let bodyChanged = false;
  if (errorPage.test(text)) {
    body = Buffer.from(text.replace(errorPage, '<hr><center>{SERVER}</center>'), 'latin1');
    bodyChanged = true;
  }
  const headers: [string, string][] = [];
  for (const [name, value] of r.headers) {
    const lower = name.toLowerCase();
    if (DROPPED.has(lower)) continue;
    headers.push([lower, lower === 'content-length' && bodyChanged ? String(body.length) : portless(value, port)]);
  }
  headers.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return {
    status: r.status,
    reason: r.reason,
    version: r.version,
    headers,
    body: portless(describeBody(body), port),
    framing: r.framing,
  };
}

export interface NormalizedUpstreamRequest {
  readonly instance: string;
  readonly conn: number;
  readonly line: string;
  readonly headers: string[];
  readonly body: string;
  readonly framing: UpstreamRequest['framing'];
}

/** An upstream-observed request: exact line, headers in order and case, body, framing. */
export function normalizeUpstreamRequest(r: UpstreamRequest, port: number): NormalizedUpstreamRequest {
  return {
    instance: r.instance,
    conn: r.conn,
    line: portless(`${r.method} ${r.target} ${r.version}`, port),
    headers: r.headers.map(([n, v]) => portless(`${n}: ${v}`, port)),
    body: describeBody(r.body),
    framing: r.framing,
  };
}

/** A header value of a normalized response (lowercase name), or undefined. */
export function header(r: NormalizedResponse, name: string): string | undefined {
  return r.headers.find(([n]) => n === name)?.[1];
}
