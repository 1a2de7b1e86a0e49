import type { Template } from '../variables.js';
import type { SourceLocation } from './errors.js';

/**
 * The typed result of compiling an nginx configuration: every value validated, every default
 * applied, every inherited setting merged into the location that uses it.
 */
export interface GatewayConfig {
  /** Absolute path of the file this came from (error messages name it). */
  readonly file: string;
  /** `worker_processes`: recorded; this version serves in a single process. */
  readonly workerProcesses: number | 'auto';
  /** `events { worker_connections }`: recorded, not enforced (nginx's default is 512). */
  readonly workerConnections: number;
  readonly servers: readonly ServerConfig[];
  /** Every upstream group: `upstream` blocks and the implicit ones behind `proxy_pass http://host:port`. */
  readonly upstreams: readonly UpstreamConfig[];
}

export interface ServerConfig extends SourceLocation {
  readonly listens: readonly ListenConfig[];
  /** Prefix locations, in configuration order. */
  readonly locations: readonly LocationConfig[];
}

export interface ListenConfig extends SourceLocation {
  /** As written, e.g. `8080` or `127.0.0.1:8080`. */
  readonly text: string;
  /** `*` for the IPv4 wildcard, an IPv4 literal, `[v6]`, or a name resolved at start-up. */
  readonly host: string;
  readonly port: number;
  readonly defaultServer: boolean;
}

export interface LocationConfig extends SourceLocation {
  /** The prefix to match against the normalized request path (case-sensitive, as on Linux). */
  readonly prefix: string;
  /** Null for a location without proxy_pass (nginx would serve static files; we answer 404). */
  readonly proxy: ProxyConfig | null;
}

export interface ProxyConfig extends SourceLocation {
  /** The proxy_pass argument as written, e.g. `http://chat`. */
  readonly url: string;
  /** The group to use; null when the URL has variables (see `dynamic`). */
  readonly upstream: UpstreamConfig | null;
  /**
   * `proxy_pass` with variables: the URL evaluated per request. It must name an `upstream`
   * block (or another proxy_pass's host:port), or be an IP address; there is no resolver.
   */
  readonly dynamic: Template | null;
  /** Value of `$proxy_host` and of the default `Host` header (static proxy_pass only). */
  readonly proxyHost: string;
  readonly httpVersion: '1.0' | '1.1';
  /** The effective proxy_set_header list (after inheritance), in configuration order. */
  readonly headers: readonly HeaderSetting[];
  readonly readTimeoutMs: number;
  /** `proxy_connect_timeout` (default 60s). */
  readonly connectTimeoutMs: number;
  /** `proxy_send_timeout` (default 60s): while the request is being written. */
  readonly sendTimeoutMs: number;
  /** `proxy_next_upstream`: a mask of NEXT_UPSTREAM bits (default error | timeout). */
  readonly nextUpstream: number;
  /** `proxy_next_upstream_tries` (0 = no limit). */
  readonly nextUpstreamTries: number;
  /** `proxy_next_upstream_timeout` in ms (0 = no limit). */
  readonly nextUpstreamTimeoutMs: number;
  /** `proxy_redirect`: `default` rewrites `Location`/`Refresh` that point at the proxy_pass URL. */
  readonly redirect: 'off' | 'default';
}

export interface HeaderSetting extends SourceLocation {
  readonly name: string;
  readonly value: Template;
}

export interface UpstreamConfig extends SourceLocation {
  /** Block name, or the host of an implicit upstream (the name nginx's messages use). */
  readonly name: string;
  /** Created by `proxy_pass http://host:port` rather than by an `upstream` block. */
  readonly implicit: boolean;
  readonly servers: readonly UpstreamServerConfig[];
  /** `keepalive N`: idle connections cached for the group; 0 = close after each request. */
  readonly keepalive: number;
  /** `keepalive_timeout` (60s), `keepalive_requests` (1000), `keepalive_time` (1h). */
  readonly keepaliveTimeoutMs: number;
  readonly keepaliveRequests: number;
  readonly keepaliveTimeMs: number;
  /** The balancing method. */
  readonly method: BalancingMethod;
}

export type BalancingMethod =
  | { readonly kind: 'round_robin' }
  | { readonly kind: 'least_conn' }
  | { readonly kind: 'ip_hash' }
  | { readonly kind: 'hash'; readonly key: Template; readonly consistent: boolean };

/** Bits of `proxy_next_upstream`, as nginx's NGX_HTTP_UPSTREAM_FT_*. */
export const NEXT_UPSTREAM = {
  error: 0x2,
  timeout: 0x4,
  invalid_header: 0x8,
  http_500: 0x10,
  http_502: 0x20,
  http_503: 0x40,
  http_504: 0x80,
  http_403: 0x100,
  http_404: 0x200,
  http_429: 0x400,
  updating: 0x800,
  non_idempotent: 0x4000,
  off: 0x40000000,
} as const;

export interface UpstreamServerConfig extends SourceLocation {
  /** As written, e.g. `chat-1:3000` (the key `--resolve` matches). */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly weight: number;
  readonly maxFails: number;
  /** Seconds. */
  readonly failTimeout: number;
  readonly maxConns: number;
  readonly backup: boolean;
  readonly down: boolean;
}
