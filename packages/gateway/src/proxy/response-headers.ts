import { asciiLower } from '../variables.js';
import { httpDate } from './error-pages.js';

/**
 * Upstream response headers as the client sees them: hop-by-hop headers removed (Node frames
 * the body itself), the ones nginx hides by default removed, our own Server and Date first.
 */

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);
const HIDDEN = new Set(['date', 'server', 'x-pad']);

const isHidden = (lower: string): boolean => HIDDEN.has(lower) || lower.startsWith('x-accel-');

/** Rewrites `Location`/`Refresh` values (proxy_redirect); returns the value unchanged otherwise. */
export type RedirectRewriter = (name: 'location' | 'refresh', value: string) => string;

export interface ResponseHeaderOptions {
  readonly rewrite: RedirectRewriter | null;
  /** Value of the Connection header to send. */
  readonly connection: 'keep-alive' | 'close' | 'upgrade';
}

export function responseHeaders(raw: readonly string[], opts: ResponseHeaderOptions): string[] {
  const upgrade = opts.connection === 'upgrade';
  const front = ['Server', 'chat-gateway', 'Date', httpDate()];
  const rest: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    let value = raw[i + 1] as string;
    const lower = asciiLower(name);
    // A 101 must keep Upgrade: it names the protocol the client is switching to.
    if ((HOP_BY_HOP.has(lower) && !(upgrade && lower === 'upgrade')) || isHidden(lower)) continue;
    if (opts.rewrite && (lower === 'location' || lower === 'refresh')) value = opts.rewrite(lower, value);
    // nginx writes Content-Type and Content-Length before the headers it copies.
    if (lower === 'content-type' || lower === 'content-length') front.push(name, value);
    else rest.push(name, value);
  }
  front.push('Connection', opts.connection);
  return front.concat(rest);
}

/**
 * `proxy_redirect default` for `proxy_pass http://name`: a Location or Refresh URL starting
 * with `http://name/` is made relative to `/`; a rewritten Location is then made absolute
 * with the client's host and port, as nginx's absolute_redirect does.
 */
export function defaultRedirectRewriter(passUrl: string, host: string, localPort: number): RedirectRewriter {
  const prefix = `${passUrl}/`;
  return (name, value) => {
    if (name === 'location') {
      if (!value.startsWith(prefix)) return value;
      return `http://${host}${localPort === 80 ? '' : `:${localPort}`}/${value.slice(prefix.length)}`;
    }
    const at = value.toLowerCase().indexOf('url=');
    if (at < 0 || !value.startsWith(prefix, at + 4)) return value;
    return `${value.slice(0, at + 4)}/${value.slice(at + 4 + prefix.length)}`;
  };
}
