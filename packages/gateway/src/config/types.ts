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
  readonly upstream: UpstreamConfig;
  /** Value of `$proxy_host` and of the default `Host` header. */
  readonly proxyHost: string;
  readonly httpVersion: '1.0' | '1.1';
  /** The effective proxy_set_header list (after inheritance), in configuration order. */
  readonly headers: readonly HeaderSetting[];
  readonly readTimeoutMs: number;
  readonly connectTimeoutMs: number;
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
}

export interface UpstreamServerConfig extends SourceLocation {
  /** As written, e.g. `chat-1:3000` (the key `--resolve` matches). */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly weight: number;
}
