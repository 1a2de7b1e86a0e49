import type { EventEmitter } from 'node:events';
import type { PreparedRequest } from '../proxy/request.js';
import type { GatewayRuntime } from '../runtime.js';
import { headerValue, type RequestVariables } from '../variables.js';
import { limitConnections } from './limit-conn.js';
import { limitRequests, monotonicMs, type Report } from './limit-req.js';
import { limitZonesOf } from './zones.js';

/**
 * nginx's preaccess phase after realip: limit_req, then limit_conn, for a request that reached
 * a location (or none); `return`, redirects and malformed requests never get here, as in nginx.
 * `next` gets the request as it may go on: unchanged, or a refusal with the configured status,
 * after limit_req's delay if there is one. What limit_conn counts is held until `closer` emits
 * 'close': the end of the response, or of the WebSocket tunnel.
 */
export function admit(
  prepared: PreparedRequest,
  runtime: GatewayRuntime,
  closer: EventEmitter & { readonly closed?: boolean },
  next: (admitted: PreparedRequest) => void,
): void {
  const limits = prepared.limits;
  if (!limits) {
    next(prepared);
    return;
  }
  const zones = limitZonesOf(runtime);
  const { vars, addHeaders, accessLogs } = prepared;
  const report: Report = (level, message) => runtime.log(level, `${message}, ${errorContext(vars)}`);
  const refuse = (status: number): PreparedRequest => ({ kind: 'reply', status, vars, addHeaders, accessLogs, limits: null });

  const countConnection = (): PreparedRequest => {
    if (limits.conn.rules.length === 0) return prepared;
    const counted = limitConnections(limits.conn, (zone) => zones.conn(zone), vars, report);
    if (counted.status === 'REJECTED') return refuse(limits.conn.status);
    if (closer.closed) counted.release();
    else closer.once('close', counted.release);
    return prepared;
  };

  const limited = limits.req.rules.length === 0 ? null : limitRequests(limits.req, (zone) => zones.req(zone), vars, monotonicMs(), report);
  if (limited?.status === 'REJECTED') {
    next(refuse(limits.req.status));
    return;
  }
  if (!limited?.delayMs) {
    next(countConnection());
    return;
  }
  // Held like nginx's delayed request; a client that leaves meanwhile is not proxied.
  const cancel = () => clearTimeout(timer);
  const timer = setTimeout(() => {
    closer.off('close', cancel);
    next(countConnection());
  }, limited.delayMs);
  closer.once('close', cancel);
}

/** The tail of nginx's error log lines about a request. */
function errorContext(vars: RequestVariables): string {
  const host = headerValue(vars.rawHeaders, 'host');
  const request = `${vars.method} ${vars.requestUri} HTTP/${vars.httpVersion}`;
  return `client: ${vars.remoteAddress}, server: ${vars.serverName}, request: "${request}"${host === undefined ? '' : `, host: "${host}"`}`;
}
