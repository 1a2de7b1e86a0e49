import { asciiLower } from '../variables.js';
import type { DirectiveSpec, Placement } from './directives.js';
import { configError } from './errors.js';
import { parseCidr, type Cidr } from './inet.js';
import type { Directive } from './parser.js';
import type { HttpScope, LocationScope, ProxyDraft, ServerScope } from './scopes.js';
import { duplicate, flagValue } from './slots.js';

/**
 * ngx_http_realip_module's directives: which peers are trusted to report the client address
 * (`set_real_ip_from`), in which header (`real_ip_header`), and whether to walk past trusted
 * hops in X-Forwarded-For (`real_ip_recursive`). All three are valid at http, server and
 * location level and inherited independently, as in nginx.
 */

/** `X-Forwarded-For`: every such header, walked from the last; otherwise the first header of a name. */
export type RealIpHeader = { readonly kind: 'x-forwarded-for' } | { readonly kind: 'header'; readonly name: string };

export interface RealIpConfig {
  /** Trusted peers; realip is off without any. */
  readonly from: readonly Cidr[];
  readonly header: RealIpHeader;
  readonly recursive: boolean;
}

/** One level's settings; an undefined field inherits. */
export interface RealIpDraft {
  from?: Cidr[];
  header?: RealIpHeader;
  recursive?: boolean;
}

const X_REAL_IP: RealIpHeader = { kind: 'header', name: 'x-real-ip' };

function atEveryLevel(args: readonly [number, number], apply: (d: Directive, draft: RealIpDraft) => void): DirectiveSpec {
  const placement: Placement<HttpScope | ServerScope | LocationScope> = {
    block: false,
    args,
    handle: (d, scope) => apply(d, (scope.proxy.realip ??= {})),
  };
  return { http: placement, server: placement, location: placement };
}

/** ngx_http_realip_from(): an address, a CIDR, or `unix:` (any unix-domain peer). */
const setRealIpFrom = atEveryLevel([1, 1], (d, draft) => {
  const value = d.args[0] as string;
  const from = (draft.from ??= []);
  if (value === 'unix:') {
    from.push({ family: 'unix' });
    return;
  }
  const parsed = parseCidr(value);
  if (parsed) {
    // nginx only warns when the address has bits below the mask; they are cleared.
    from.push(parsed.cidr);
    return;
  }
  // Anything else nginx resolves as a host name at start-up; a `/` can never resolve.
  if (value.includes('/')) throw configError(`host not found in set_real_ip_from "${value}"`, d);
  throw configError('"set_real_ip_from" with a host name is not supported by chat-gateway yet', d);
});

/** ngx_http_realip(): the names are matched case-sensitively, as nginx does. */
const realIpHeader = atEveryLevel([1, 1], (d, draft) => {
  if (draft.header !== undefined) throw duplicate(d);
  const value = d.args[0] as string;
  if (value === 'proxy_protocol') throw configError('"real_ip_header proxy_protocol" is not supported by chat-gateway yet', d);
  if (value === 'X-Forwarded-For') draft.header = { kind: 'x-forwarded-for' };
  else if (value === 'X-Real-IP') draft.header = X_REAL_IP;
  else draft.header = { kind: 'header', name: asciiLower(value) };
});

const realIpRecursive = atEveryLevel([1, 1], (d, draft) => {
  draft.recursive = flagValue(d, draft.recursive);
});

export const REALIP_DIRECTIVES: Readonly<Record<string, DirectiveSpec>> = {
  set_real_ip_from: setRealIpFrom,
  real_ip_header: realIpHeader,
  real_ip_recursive: realIpRecursive,
};

/** The effective realip settings of a level (innermost first); null when no level trusts anyone. */
export function realIpOf(levels: readonly ProxyDraft[]): RealIpConfig | null {
  const first = <K extends keyof RealIpDraft>(key: K): RealIpDraft[K] => levels.find((l) => l.realip?.[key] !== undefined)?.realip?.[key];
  const from = first('from');
  if (!from) return null;
  return { from, header: first('header') ?? X_REAL_IP, recursive: first('recursive') ?? false };
}
