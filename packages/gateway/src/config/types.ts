import type { CompiledRegex, Template } from '../variables.js';
import type { SourceLocation } from './errors.js';
import type { ClientLimits, ServerClientLimits } from './client-directives.js';
import type { LimitsConfig } from './limit-directives.js';
import type { RealIpConfig } from './realip-directives.js';

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
  /** `error_log` at main or http level; null: the embedding decides (the CLI uses stderr). */
  readonly errorLog: ErrorLogConfig | null;
  /** `worker_shutdown_timeout`: the bound of a graceful shutdown or reload; null when not set. */
  readonly workerShutdownTimeoutMs: number | null;
  readonly servers: readonly ServerConfig[];
  /** Every upstream group: `upstream` blocks and the implicit ones behind `proxy_pass http://host:port`. */
  readonly upstreams: readonly UpstreamConfig[];
}

export type LogEscape = 'default' | 'json' | 'none';

export interface LogFormat {
  readonly name: string;
  readonly escape: LogEscape;
  readonly template: Template;
}

/** `access_log PATH [FORMAT] [if=COND]`. */
export interface AccessLogConfig extends SourceLocation {
  /** Absolute path, or `stderr`. */
  readonly path: string;
  readonly format: LogFormat;
  readonly condition: Template | null;
}

/** `error_log PATH [LEVEL]` of the main (or http) level. */
export interface ErrorLogConfig extends SourceLocation {
  readonly path: string;
  readonly level: string;
}

export interface ServerConfig extends SourceLocation {
  readonly listens: readonly ListenConfig[];
  /** `server_name` entries (lowercased), in configuration order. */
  readonly names: readonly ServerName[];
  /** `$server_name`: the first name as written, `""` without server_name. */
  readonly serverName: string;
  /** Top-level locations, in configuration order. */
  readonly locations: readonly LocationConfig[];
  /** `return` at server level: answered before any location is looked up. */
  readonly ret: ReturnConfig | null;
  /** The effective `add_header` list (after inheritance). */
  readonly addHeaders: readonly AddHeaderSetting[];
  /** The effective access logs (empty: off). */
  readonly accessLogs: readonly AccessLogConfig[];
  /** realip of the server level: nginx applies it before any location is looked up. */
  readonly realip: RealIpConfig | null;
  /** limit_req / limit_conn for requests no location matched. */
  readonly limits: LimitsConfig | null;
  /** How heads are read on this server's addresses (when it is their default), and the request limits outside any proxied location. */
  readonly client: ServerClientLimits;
}

export type ServerName =
  | { readonly kind: 'exact'; readonly name: string }
  /** `*.example.com` (suffix `.example.com`) and `.example.com` (also exact `example.com`). */
  | { readonly kind: 'leading'; readonly suffix: string }
  /** `www.example.*` (prefix `www.example.`). */
  | { readonly kind: 'trailing'; readonly prefix: string }
  | { readonly kind: 'regex'; readonly regex: CompiledRegex };

/** `return CODE [TEXT|URL]` / `return URL`. */
export interface ReturnConfig extends SourceLocation {
  readonly code: number;
  /** The text (a URL for 301/302/303/307/308); null when none was given. */
  readonly text: Template | null;
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
  /** `''` prefix, `'='` exact, `'^~'` prefix without regex check, `'~'`/`'~*'` regex. */
  readonly modifier: '' | '=' | '^~' | '~' | '~*';
  /** The name: the prefix or exact URI to match against the normalized path (case-sensitive, as on Linux), or the regex source. */
  readonly prefix: string;
  readonly regex: CompiledRegex | null;
  /** Nested locations, in configuration order. */
  readonly locations: readonly LocationConfig[];
  readonly ret: ReturnConfig | null;
  /** The effective `add_header` list (after inheritance). */
  readonly addHeaders: readonly AddHeaderSetting[];
  /** The effective access logs (empty: off). */
  readonly accessLogs: readonly AccessLogConfig[];
  /** `stub_status`: the location answers with the connection counters. */
  readonly stubStatus: boolean;
  /** realip of the location, used when the server level did not change the address. */
  readonly realip: RealIpConfig | null;
  /** limit_req / limit_conn for requests the location answers (not for its `return`). */
  readonly limits: LimitsConfig | null;
  /** Null for a location without proxy_pass (nginx would serve static files; we answer 404). */
  readonly proxy: ProxyConfig | null;
}

export interface ProxyConfig extends SourceLocation {
  /** The proxy_pass argument as written, e.g. `http://chat`. */
  readonly url: string;
  /** The URI part of a static proxy_pass (`/api/`), empty when none. */
  readonly uri: string;
  /** The location name the URI part replaces (prefix and exact locations). */
  readonly locationPrefix: string;
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
  /**
   * `proxy_redirect` rules for `Location` and `Refresh`, tried in order (empty: off). The
   * default rule (nginx's when nothing is set) is `proxy_pass URL` -> location name.
   */
  readonly redirects: readonly RedirectRule[];
  /** `proxy_hide_header` (lowercased) and `proxy_pass_header` (lowercased). */
  readonly hideHeaders: readonly string[];
  readonly passHeaders: readonly string[];
  /** The location's client_max_body_size, client_body_timeout, send_timeout, keepalive_timeout. */
  readonly client: ClientLimits;
}

export type RedirectRule =
  | { readonly kind: 'string'; readonly from: Template; readonly to: Template }
  | { readonly kind: 'regex'; readonly regex: CompiledRegex; readonly to: Template };

/** `add_header NAME VALUE [always]`. */
export interface AddHeaderSetting extends SourceLocation {
  readonly name: string;
  readonly value: Template;
  readonly always: boolean;
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
