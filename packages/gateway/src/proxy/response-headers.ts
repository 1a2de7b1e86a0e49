import type { AddHeaderSetting, ProxyConfig, RedirectRule } from '../config/types.js';
import { asciiLower, evaluate, execRegex, type RequestVariables } from '../variables.js';
import { httpDate } from './error-pages.js';

/**
 * Upstream response headers as the client sees them: hop-by-hop headers removed (Node frames
 * the body itself), the ones nginx hides by default or by `proxy_hide_header` removed (unless
 * `proxy_pass_header`), `proxy_redirect` applied, our own Server and Date first, `add_header`
 * last.
 */

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);
const HIDDEN = new Set(['date', 'server', 'x-pad']);

/** Which upstream headers are dropped: computed once per location. */
export interface HideFilter {
  readonly hide: ReadonlySet<string>;
  readonly pass: ReadonlySet<string>;
}

export const DEFAULT_FILTER: HideFilter = { hide: new Set(), pass: new Set() };

export function buildHideFilter(proxy: Pick<ProxyConfig, 'hideHeaders' | 'passHeaders'>): HideFilter {
  return { hide: new Set(proxy.hideHeaders), pass: new Set(proxy.passHeaders) };
}

function isHidden(lower: string, filter: HideFilter): boolean {
  if (filter.hide.has(lower)) return true;
  if (filter.pass.has(lower)) return false;
  return HIDDEN.has(lower) || lower.startsWith('x-accel-');
}

/** Rewrites `Location`/`Refresh` values (proxy_redirect); returns the value unchanged otherwise. */
export type RedirectRewriter = (name: 'location' | 'refresh', value: string) => string;

export interface ResponseHeaderOptions {
  readonly rewrite: RedirectRewriter | null;
  /** Value of the Connection header to send. */
  readonly connection: 'keep-alive' | 'close' | 'upgrade';
  readonly filter?: HideFilter;
  /** Evaluated `add_header` pairs, appended last. */
  readonly extra?: readonly string[];
}

export function responseHeaders(raw: readonly string[], opts: ResponseHeaderOptions): string[] {
  const upgrade = opts.connection === 'upgrade';
  const filter = opts.filter ?? DEFAULT_FILTER;
  let server = 'chat-gateway';
  let date: string | null = null;
  const front: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    let value = raw[i + 1] as string;
    const lower = asciiLower(name);
    // A 101 must keep Upgrade: it names the protocol the client is switching to.
    if ((HOP_BY_HOP.has(lower) && !(upgrade && lower === 'upgrade')) || isHidden(lower, filter)) continue;
    // proxy_pass_header Server / Date: the upstream's value takes the place of ours.
    if (lower === 'server') {
      server = value;
      continue;
    }
    if (lower === 'date') {
      date = value;
      continue;
    }
    if (opts.rewrite && (lower === 'location' || lower === 'refresh')) value = opts.rewrite(lower, value);
    // nginx writes Content-Type and Content-Length before the headers it copies.
    if (lower === 'content-type' || lower === 'content-length') front.push(name, value);
    else rest.push(name, value);
  }
  const out = ['Server', server, 'Date', date ?? httpDate()];
  for (const item of front) out.push(item);
  out.push('Connection', opts.connection);
  for (const item of rest) out.push(item);
  if (opts.extra) for (const item of opts.extra) out.push(item);
  return out;
}

/**
 * ngx_http_proxy_rewrite_redirect(): the first rule that matches rewrites a `Location` (from
 * its start) or `Refresh` (after `url=`); a string rule replaces the matched prefix, a regex
 * rule the whole rest. A rewritten `Location` that starts with `/` is made absolute with the
 * client's host and port, as nginx's absolute_redirect does.
 */
export function redirectRewriter(
  rules: readonly RedirectRule[],
  vars: RequestVariables,
  host: string,
  localPort: number,
): RedirectRewriter | null {
  if (rules.length === 0) return null;
  const apply = (value: string, at: number): string | null => {
    const subject = value.slice(at);
    for (const rule of rules) {
      if (rule.kind === 'string') {
        const from = evaluate(rule.from, vars);
        if (!subject.startsWith(from)) continue;
        return value.slice(0, at) + evaluate(rule.to, vars) + subject.slice(from.length);
      }
      if (execRegex(rule.regex, subject, vars)) return value.slice(0, at) + evaluate(rule.to, vars);
    }
    return null;
  };
  return (name, value) => {
    if (name === 'location') {
      const rewritten = apply(value, 0);
      if (rewritten === null) return value;
      return rewritten.startsWith('/') ? `http://${host}${localPort === 80 ? '' : `:${localPort}`}${rewritten}` : rewritten;
    }
    const at = value.toLowerCase().indexOf('url=');
    if (at < 0) return value;
    return apply(value, at + 4) ?? value;
  };
}

const NONE: readonly string[] = [];
const SAFE_STATUSES = new Set([200, 201, 204, 206, 301, 302, 303, 304, 307, 308]);

/** ngx_http_headers_filter: `add_header` for safe statuses, `always` ones for any; "" adds nothing. */
export function addHeaderPairs(list: readonly AddHeaderSetting[], status: number, vars: RequestVariables | undefined): readonly string[] {
  if (list.length === 0) return NONE;
  const safe = SAFE_STATUSES.has(status);
  const out: string[] = [];
  for (const h of list) {
    if (!safe && !h.always) continue;
    const value = vars ? evaluate(h.value, vars) : (h.value.constant ?? '');
    if (value !== '') out.push(h.name, value);
  }
  return out;
}
