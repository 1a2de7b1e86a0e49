import { cidrMatch, formatAddr, parseAddr, parseAddrPort, type InetAddress } from '../config/inet.js';
import type { RealIpConfig } from '../config/realip-directives.js';
import { asciiLower, isValidClientHeaderName, type RequestVariables } from '../variables.js';

/**
 * ngx_http_realip_module: when the peer is a trusted proxy, the client address is the one the
 * proxy reports. nginx's algorithm (ngx_http_get_forwarded_addr): starting from the peer, as
 * long as the current address is trusted, take the rightmost address left in the header; with
 * `real_ip_recursive off` only one step is taken. Only a trusted peer can change the address,
 * so a client cannot spoof `$remote_addr` by sending the header itself.
 */

type Walk = { rc: 'declined' | 'ok' | 'done'; addr: InetAddress | null };

/**
 * Applies `config` to `vars`: true when the address was replaced (then nginx skips realip
 * at later levels of the same request).
 */
export function applyRealIp(config: RealIpConfig, vars: RequestVariables): boolean {
  const values = headerValues(config, vars.rawHeaders);
  if (values.length === 0) return false;
  // Node writes a scoped IPv6 peer as `fe80::1%eth0`; nginx matches its address alone.
  const peer = parseAddr(vars.peerAddress.split('%')[0] as string);
  const multi = config.header.kind === 'x-forwarded-for';
  const found = multi ? forwardedAddr(peer, values, config) : walk(peer, values[0] as string, config);
  if (found.rc === 'declined' || !found.addr) return false;
  vars.remoteAddress = formatAddr(found.addr.bytes);
  vars.remotePort = found.addr.port ? String(found.addr.port) : '';
  return true;
}

/** Every X-Forwarded-For header, or the first header of the configured name (nginx 1.22). */
function headerValues(config: RealIpConfig, raw: readonly string[]): string[] {
  const name = config.header.kind === 'x-forwarded-for' ? 'x-forwarded-for' : config.header.name;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const header = raw[i] as string;
    if (header.length !== name.length || !isValidClientHeaderName(header) || asciiLower(header) !== name) continue;
    out.push(raw[i + 1] as string);
    if (config.header.kind !== 'x-forwarded-for') break;
  }
  return out;
}

/** ngx_http_get_forwarded_addr() over several header lines: the last first, and on only when recursive. */
function forwardedAddr(peer: InetAddress | null, values: readonly string[], config: RealIpConfig): Walk {
  let current: Walk = { rc: 'declined', addr: peer };
  let found = false;
  for (let i = values.length - 1; i >= 0; i--) {
    current = walk(current.addr, values[i] as string, config);
    if (!config.recursive) break;
    if (current.rc === 'declined' && found) return { rc: 'done', addr: current.addr };
    if (current.rc !== 'ok') break;
    found = true;
  }
  return current;
}

/**
 * ngx_http_get_forwarded_addr_internal() over one header value, with nginx's exact scan: trailing
 * spaces and commas are skipped, the token runs back to the previous space or comma, and a token
 * that is not `addr[:port]` ends the walk (keeping the last good address).
 */
function walk(start: InetAddress | null, value: string, config: RealIpConfig): Walk {
  let addr = start;
  let found = false;
  let len = value.length;
  let p: number;
  do {
    if (!cidrMatch(addr, config.from)) return { rc: found ? 'done' : 'declined', addr };
    p = len - 1;
    for (; p > 0; p--, len--) if (value[p] !== ' ' && value[p] !== ',') break;
    for (; p > 0; p--) {
      if (value[p] === ' ' || value[p] === ',') {
        p++;
        break;
      }
    }
    // An empty value makes nginx read one byte before it, which never parses.
    const token = p < 0 ? '' : value.slice(p, len);
    const parsed = parseAddrPort(token);
    if (!parsed) return { rc: found ? 'done' : 'declined', addr };
    addr = parsed;
    found = true;
    len = p - 1;
  } while (config.recursive && p > 0);
  return { rc: 'ok', addr };
}
