import type { DirectiveSpec, Placement } from './directives.js';
import { configError } from './errors.js';
import type { Directive } from './parser.js';
import type { HttpScope, LocationScope, ProxyDraft, ServerScope } from './scopes.js';
import { boundedNumber, duplicate, parseSize } from './slots.js';
import { parseInteger, parseMilliseconds, parseSeconds } from './units.js';

/**
 * What nginx's core module allows a client, with nginx 1.22's syntax, defaults and messages:
 * reading the request head (`client_header_timeout`, `client_header_buffer_size`,
 * `large_client_header_buffers`, and `max_headers`, which Debian's 1.22 backports from newer
 * nginx: http and server level) and the rest of the request
 * (`client_max_body_size`, `client_body_timeout`, `send_timeout`, `keepalive_timeout`: also
 * location level). Each is inherited on its own, the innermost level that sets it winning.
 */

/** What a request may do once its head has been read (the location's values). */
export interface ClientLimits {
  /** `client_max_body_size` in bytes (1m); 0 = no limit. */
  readonly maxBodySize: number;
  /** `client_body_timeout` (60s): the longest wait for the next bytes of the request body. */
  readonly bodyTimeoutMs: number;
  /** `send_timeout` (60s): the longest wait for the client to take more of the response. */
  readonly sendTimeoutMs: number;
  /** `keepalive_timeout` (75s): how long an idle kept-alive connection stays open; 0 = no keep-alive. */
  readonly keepaliveTimeoutMs: number;
}

/** How a request head is read; nginx takes these from the default server of the address. */
export interface HeadLimits {
  /** `client_header_timeout` (60s): the whole head must arrive within it. */
  readonly headerTimeoutMs: number;
  /** `client_header_buffer_size` (1k): the first buffer a head is read into. */
  readonly headerBufferSize: number;
  /** `large_client_header_buffers` (4 8k): where a head that outgrows the first buffer continues. */
  readonly largeBuffers: { readonly count: number; readonly size: number };
  /** `max_headers` (1000): more header lines than this are refused. */
  readonly maxHeaders: number;
}

/** A server's settings: its head limits, and the limits of requests no location answers. */
export type ServerClientLimits = ClientLimits & HeadLimits;

/** One level's settings; an undefined field inherits. */
export interface ClientDraft {
  maxBodySize?: number;
  bodyTimeoutMs?: number;
  sendTimeoutMs?: number;
  keepaliveTimeoutMs?: number;
  headerTimeoutMs?: number;
  headerBufferSize?: number;
  largeBuffers?: { count: number; size: number };
  maxHeaders?: number;
}

const DEFAULTS: ServerClientLimits = {
  maxBodySize: 1024 * 1024,
  bodyTimeoutMs: 60_000,
  sendTimeoutMs: 60_000,
  keepaliveTimeoutMs: 75_000,
  headerTimeoutMs: 60_000,
  headerBufferSize: 1024,
  largeBuffers: { count: 4, size: 8 * 1024 },
  maxHeaders: 1000,
};

type Level = HttpScope | ServerScope | LocationScope;

function placement(args: readonly [number, number], apply: (d: Directive, draft: ClientDraft) => void): Placement<Level> {
  return { block: false, args, handle: (d, scope) => apply(d, (scope.proxy.client ??= {})) };
}

/** ngx_conf_set_msec_slot. */
function time(key: 'bodyTimeoutMs' | 'sendTimeoutMs' | 'headerTimeoutMs'): Placement<Level> {
  return placement([1, 1], (d, draft) => {
    if (draft[key] !== undefined) throw duplicate(d);
    const ms = parseMilliseconds(d.args[0] as string);
    if (ms === null) throw configError(`"${d.name}" directive invalid value`, d);
    draft[key] = ms;
  });
}

const MAX_OFFSET = 2n ** 63n - 1n;

/**
 * ngx_parse_offset(), as ngx_conf_set_off_slot uses it: bytes, or `k`, `m`, `g` (either case)
 * up to 2^63-1. Beyond 2^53 the value is not exact, which no body can reach anyway.
 */
function parseOffset(text: string): number | null {
  const unit = text.at(-1)?.toLowerCase();
  const shift = unit === 'k' ? 10n : unit === 'm' ? 20n : unit === 'g' ? 30n : 0n;
  const digits = shift === 0n ? text : text.slice(0, -1);
  if (!/^[0-9]+$/.test(digits)) return null;
  const value = BigInt(digits);
  if (value > MAX_OFFSET >> shift) return null;
  return Number(value << shift);
}

const clientMaxBodySize = placement([1, 1], (d, draft) => {
  if (draft.maxBodySize !== undefined) throw duplicate(d);
  const size = parseOffset(d.args[0] as string);
  if (size === null) throw configError(`"${d.name}" directive invalid value`, d);
  draft.maxBodySize = size;
});

/** ngx_conf_set_size_slot. */
const clientHeaderBufferSize = placement([1, 1], (d, draft) => {
  if (draft.headerBufferSize !== undefined) throw duplicate(d);
  const size = parseSize(d.args[0] as string);
  if (size === null) throw configError(`"${d.name}" directive invalid value`, d);
  draft.headerBufferSize = size;
});

/** ngx_conf_set_bufs_slot: `NUMBER SIZE`, both above zero. */
const largeClientHeaderBuffers = placement([2, 2], (d, draft) => {
  if (draft.largeBuffers !== undefined) throw duplicate(d);
  const [countText, sizeText] = d.args as [string, string];
  const count = parseInteger(countText);
  const size = parseSize(sizeText);
  if (!count || !size) throw configError(`"${d.name}" directive invalid value`, d);
  draft.largeBuffers = { count, size };
});

/** ngx_conf_set_num_slot. */
const maxHeaders = placement([1, 1], (d, draft) => {
  draft.maxHeaders = boundedNumber(d, draft.maxHeaders, 0, Number.MAX_SAFE_INTEGER);
});

/** ngx_http_core_keepalive(): `TIMEOUT [HEADER_TIMEOUT]`. */
const keepaliveTimeout = placement([1, 2], (d, draft) => {
  if (draft.keepaliveTimeoutMs !== undefined) throw duplicate(d);
  const ms = parseMilliseconds(d.args[0] as string);
  if (ms === null) throw configError(`"${d.name}" directive invalid value`, d);
  const header = d.args[1];
  if (header !== undefined) {
    if (parseSeconds(header) === null) throw configError(`"${d.name}" directive invalid value`, d);
    throw configError('the "header_timeout" parameter of "keepalive_timeout" is not supported by chat-gateway yet', d);
  }
  draft.keepaliveTimeoutMs = ms;
});

const everyLevel = (p: Placement<Level>): DirectiveSpec => ({ http: p, server: p, location: p });
const headLevels = (p: Placement<Level>): DirectiveSpec => ({ http: p, server: p });

/** Spread into DIRECTIVES (keepalive_timeout shares its name with the upstream one: see below). */
export const CLIENT_DIRECTIVES: Readonly<Record<string, DirectiveSpec>> = {
  client_header_timeout: headLevels(time('headerTimeoutMs')),
  client_header_buffer_size: headLevels(clientHeaderBufferSize),
  large_client_header_buffers: headLevels(largeClientHeaderBuffers),
  max_headers: headLevels(maxHeaders),
  client_max_body_size: everyLevel(clientMaxBodySize),
  client_body_timeout: everyLevel(time('bodyTimeoutMs')),
  send_timeout: everyLevel(time('sendTimeoutMs')),
};

/** `keepalive_timeout` at http, server and location level: the client connection's idle time. */
export const CLIENT_KEEPALIVE_TIMEOUT: DirectiveSpec = everyLevel(keepaliveTimeout);

/** The innermost level's value of `key`, else nginx's default. */
function pick<K extends keyof ClientDraft & keyof ServerClientLimits>(levels: readonly ProxyDraft[], key: K): ServerClientLimits[K] {
  for (const level of levels) {
    const value = level.client?.[key];
    if (value !== undefined) return value as ServerClientLimits[K];
  }
  return DEFAULTS[key];
}

/** The effective request limits of a location (levels innermost first). */
export function clientLimitsOf(levels: readonly ProxyDraft[]): ClientLimits {
  return {
    maxBodySize: pick(levels, 'maxBodySize'),
    bodyTimeoutMs: pick(levels, 'bodyTimeoutMs'),
    sendTimeoutMs: pick(levels, 'sendTimeoutMs'),
    keepaliveTimeoutMs: pick(levels, 'keepaliveTimeoutMs'),
  };
}

/** A server's effective settings (levels: server, http). */
export function serverClientLimitsOf(levels: readonly ProxyDraft[]): ServerClientLimits {
  return {
    ...clientLimitsOf(levels),
    headerTimeoutMs: pick(levels, 'headerTimeoutMs'),
    headerBufferSize: pick(levels, 'headerBufferSize'),
    largeBuffers: pick(levels, 'largeBuffers'),
    maxHeaders: pick(levels, 'maxHeaders'),
  };
}
