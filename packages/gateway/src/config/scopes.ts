import type { CompiledRegex, Template, VariableRegistry } from '../variables.js';
import type { SourceLocation } from './errors.js';
import type { ClientDraft } from './client-directives.js';
import type { LimitsDraft, LimitZone } from './limit-directives.js';
import type { Directive } from './parser.js';
import type { RealIpDraft } from './realip-directives.js';
import type { AccessLogConfig, ErrorLogConfig, LogFormat, ServerName, AddHeaderSetting, BalancingMethod, HeaderSetting, RedirectRule, ListenConfig, ReturnConfig, UpstreamServerConfig } from './types.js';

/**
 * Drafts filled in while walking the directive tree, one per block. A field left undefined
 * means "not set at this level", so that merging can apply nginx's inheritance afterwards.
 */

/** proxy_* settings, allowed at http, server and location level. */
export interface ProxyDraft {
  pass?: ProxyPassDraft;
  /** `proxy_pass` whose URL has variables: evaluated per request. */
  dynamicPass?: DynamicPassDraft;
  httpVersion?: '1.0' | '1.1';
  /** Undefined = inherit; a level that sets any proxy_set_header replaces the inherited list. */
  headers?: HeaderSetting[];
  readTimeoutMs?: number;
  connectTimeoutMs?: number;
  sendTimeoutMs?: number;
  nextUpstream?: number;
  nextUpstreamTries?: number;
  nextUpstreamTimeoutMs?: number;
  /** Undefined = inherit; [] = off. */
  redirects?: RedirectRule[];
  /** `proxy_redirect off` was seen at this level: nginx ignores later ones. */
  redirectOff?: boolean;
  hideHeaders?: string[];
  passHeaders?: string[];
  addHeaders?: AddHeaderSetting[];
  /** Undefined = inherit; [] = off. */
  accessLogs?: AccessLogConfig[];
  /** set_real_ip_from, real_ip_header, real_ip_recursive (realip-directives.ts). */
  realip?: RealIpDraft;
  /** limit_req and limit_conn settings (limit-directives.ts). */
  limits?: LimitsDraft;
  /** client_*, send_timeout and keepalive_timeout (client-directives.ts). */
  client?: ClientDraft;
}

export interface ProxyPassDraft extends SourceLocation {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The port was written (`http://h:80`), which an `upstream h` block forbids. */
  readonly explicitPort: boolean;
  readonly proxyHost: string;
  /** The URI part (`/x/`), empty when there is none. */
  readonly uri: string;
}

export interface DynamicPassDraft extends SourceLocation {
  readonly url: string;
  readonly value: Template;
}

export interface MainScope {
  errorLog?: ErrorLogConfig;
  workerShutdownTimeoutMs?: number;
  workerProcesses?: number | 'auto';
  workerConnections?: number;
  events?: SourceLocation;
  http?: HttpScope;
}

export interface EventsScope {
  readonly main: MainScope;
}

export interface HttpScope {
  readonly proxy: ProxyDraft;
  errorLog?: ErrorLogConfig;
  readonly logFormats: Map<string, LogFormat>;
  /** Directory that relative log paths are relative to (the main file's). */
  readonly prefix: string;
  readonly servers: ServerScope[];
  readonly upstreams: UpstreamScope[];
  readonly variables: VariableRegistry;
  /** limit_req_zone / limit_conn_zone, by name (created when first named). */
  limitZones?: Map<string, LimitZone>;
}

export interface ServerScope extends SourceLocation {
  readonly http: HttpScope;
  readonly proxy: ProxyDraft;
  ret?: ReturnConfig;
  readonly listens: ListenConfig[];
  readonly locations: LocationScope[];
  names?: ServerName[];
  serverName?: string;
}

export type LocationModifier = '' | '=' | '^~' | '~' | '~*';

export interface LocationScope extends SourceLocation {
  readonly server: ServerScope;
  readonly parent: LocationScope | null;
  readonly modifier: LocationModifier;
  /** The location's name: the prefix, the exact URI, or the regex source. */
  readonly prefix: string;
  readonly regex: CompiledRegex | null;
  readonly locations: LocationScope[];
  readonly proxy: ProxyDraft;
  ret?: ReturnConfig;
  stubStatus?: boolean;
}

export interface UpstreamScope extends SourceLocation {
  readonly http: HttpScope;
  readonly name: string;
  readonly servers: UpstreamServerConfig[];
  keepalive?: number;
  keepaliveTimeoutMs?: number;
  keepaliveRequests?: number;
  keepaliveTimeMs?: number;
  method?: BalancingMethod & SourceLocation;
}

export interface Scopes {
  main: MainScope;
  events: EventsScope;
  http: HttpScope;
  server: ServerScope;
  location: LocationScope;
  upstream: UpstreamScope;
}

export type ContextName = keyof Scopes;

/** What a directive handler may call back into: compiling a nested block. */
export interface CompileContext {
  run<C extends ContextName>(context: C, scope: Scopes[C], directives: readonly Directive[]): void;
}
