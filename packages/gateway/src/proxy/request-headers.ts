import type { ProxyConfig } from '../config/types.js';
import { asciiLower, evaluate, isValidClientHeaderName, type RequestVariables, type Template } from '../variables.js';

/**
 * The headers sent upstream, computed as ngx_http_proxy_module does: first the effective
 * proxy_set_header list in configuration order, then nginx's own defaults that the list did
 * not override, then the client's headers in their original order except every name in the
 * two lists. A header whose value evaluates to "" is not sent.
 */

/** Values only the proxy knows per request (nginx's $proxy_internal_* variables). */
type Internal = 'body-length' | 'chunked';

interface PlanEntry {
  readonly name: string;
  readonly value: Template | Internal;
  readonly isConnection: boolean;
}

export interface HeaderPlan {
  readonly entries: readonly PlanEntry[];
  /** Lowercased names never copied from the client. */
  readonly skip: ReadonlySet<string>;
}

const constant = (text: string): Template => ({ source: text, constant: text, parts: [text] });
const PROXY_HOST: Template = { source: '$proxy_host', constant: null, parts: [(r) => r.proxyHost] };

// ngx_http_proxy_headers[]: what nginx sends unless proxy_set_header says otherwise.
const DEFAULTS: readonly { name: string; value: Template | Internal }[] = [
  { name: 'Host', value: PROXY_HOST },
  { name: 'Connection', value: constant('close') },
  { name: 'Content-Length', value: 'body-length' },
  { name: 'Transfer-Encoding', value: 'chunked' },
  { name: 'TE', value: constant('') },
  { name: 'Keep-Alive', value: constant('') },
  { name: 'Expect', value: constant('') },
  { name: 'Upgrade', value: constant('') },
];

export function buildHeaderPlan(proxy: ProxyConfig): HeaderPlan {
  const entries: PlanEntry[] = [];
  const skip = new Set<string>();
  const add = (name: string, value: Template | Internal) => {
    const lower = asciiLower(name);
    skip.add(lower);
    // A value that is empty in the configuration is dropped right away, as nginx does.
    if (typeof value !== 'string' && value.constant === '') return;
    entries.push({ name, value, isConnection: lower === 'connection' });
  };
  for (const h of proxy.headers) add(h.name, h.value);
  const userNames = new Set(proxy.headers.map((h) => asciiLower(h.name)));
  for (const d of DEFAULTS) if (!userNames.has(asciiLower(d.name))) add(d.name, d.value);
  return { entries, skip };
}

export interface RequestBodyInfo {
  /** Value for Content-Length ("" for none). */
  readonly length: string;
  readonly chunked: boolean;
}

export interface RenderedHead {
  readonly head: string;
  /** The request itself forbids reusing the connection (HTTP/1.0 or `Connection: close`). */
  readonly connectionClose: boolean;
}

export function renderRequestHead(
  method: string,
  target: string,
  version: '1.0' | '1.1',
  plan: HeaderPlan,
  vars: RequestVariables,
  body: RequestBodyInfo,
): RenderedHead {
  let head = `${method} ${target} HTTP/${version}\r\n`;
  let connectionClose = version === '1.0';
  for (const entry of plan.entries) {
    let value: string;
    if (entry.value === 'body-length') value = body.length;
    else if (entry.value === 'chunked') value = body.chunked ? 'chunked' : '';
    else value = evaluate(entry.value, vars);
    if (value === '') continue;
    if (entry.isConnection && /(?:^|,)[ \t]*close[ \t]*(?:,|$)/i.test(value)) connectionClose = true;
    head += `${entry.name}: ${value}\r\n`;
  }
  const raw = vars.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (!isValidClientHeaderName(name) || plan.skip.has(asciiLower(name))) continue;
    head += `${name}: ${raw[i + 1] as string}\r\n`;
  }
  return { head: `${head}\r\n`, connectionClose };
}
