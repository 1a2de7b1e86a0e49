import { setTimeout as sleep } from 'node:timers/promises';
import { exchange, RawConnection, type RawResponse } from '../differential/client.js';

/**
 * Client traffic of the adversarial suite and how its outcome is written down: one short
 * string per connection, such as `400 close` (a 400, then the engine closed the connection),
 * `200 open` (a 200 on a connection that stays usable), `closed` (closed without a response),
 * `101 tunnel` or `no answer`. After the last expected response on an open connection a probe
 * request follows on the same connection: its answer must be the very next response, so a
 * response to a smuggled request cannot hide behind the expected ones.
 */

/** Bytes to write, or a pause between writes (slow clients). */
export type Step = string | Buffer | { readonly pauseMs: number };
export type Traffic = string | Buffer | readonly Step[];

export const HOST = 'test.example';
/** Targets of the suite's own requests; they are not counted as forwarded traffic. */
export const OWN_PREFIX = '/adv-';
const PROBE = `GET ${OWN_PREFIX}probe HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`;

/** How long an engine may take to react before the outcome is `no answer` (a liveness bound). */
export const ANSWER_MS = 10_000;
/**
 * How long a close announced by `Connection: close` may take to happen: nginx keeps reading
 * (and discarding) an unread body for lingering_timeout (5 s) before it closes.
 */
const CLOSE_MS = 8_000;

export async function play(conn: RawConnection, traffic: Traffic): Promise<void> {
  const steps: readonly Step[] = typeof traffic === 'string' || Buffer.isBuffer(traffic) ? [traffic] : traffic;
  for (const step of steps) {
    if (conn.isClosed) return;
    if (typeof step === 'string' || Buffer.isBuffer(step)) conn.write(step);
    else await sleep(step.pauseMs);
  }
}

const closes = (r: RawResponse) =>
  r.headers.some(([n, v]) => n.toLowerCase() === 'connection' && /\bclose\b/i.test(v)) ||
  (r.version === 'HTTP/1.0' && !r.headers.some(([n, v]) => n.toLowerCase() === 'connection' && /keep-alive/i.test(v)));

/** Reads one response; failures to parse become outcome words instead of exceptions. */
async function next(conn: RawConnection): Promise<RawResponse | string> {
  try {
    const r = await conn.readOutcome({ timeoutMs: ANSWER_MS });
    if (r !== 'closed') return r;
    const left = conn.takeBuffered();
    return left.length > 0 ? `closed after ${left.length} bytes without a status line` : 'closed';
  } catch (err) {
    const message = (err as Error).message;
    if (message.startsWith('timed out')) return 'no answer';
    if (message.startsWith('bad status line')) {
      await conn.waitClosed(CLOSE_MS);
      return `not HTTP/1.x: ${JSON.stringify(conn.takeBuffered().subarray(0, 24).toString('latin1'))}`;
    }
    throw err;
  }
}

/**
 * Plays `traffic` on a fresh connection and describes what came back: `responses` responses
 * are expected (interim 1xx are listed but not counted) before the probe.
 */
export async function outcome(port: number, traffic: Traffic, responses = 1): Promise<string> {
  const conn = await RawConnection.open(port);
  try {
    await play(conn, traffic);
    return await describeOutcome(conn, responses);
  } finally {
    conn.destroy();
  }
}

export async function describeOutcome(conn: RawConnection, responses = 1): Promise<string> {
  const parts: string[] = [];
  let counted = 0;
  for (;;) {
    const r = await next(conn);
    if (typeof r === 'string') {
      parts.push(r);
      break;
    }
    if (r.status === 101) {
      parts.push('101 tunnel');
      break;
    }
    if (r.status >= 100 && r.status < 200) {
      parts.push(String(r.status));
      continue;
    }
    if (closes(r)) {
      parts.push((await conn.waitClosed(CLOSE_MS)) === null ? `${r.status} close announced but the connection stays open` : `${r.status} close`);
      break;
    }
    parts.push(`${r.status} open`);
    if (++counted < responses) continue;
    conn.write(PROBE);
    const probe = await next(conn);
    const probeOk = typeof probe !== 'string' && probe.status === 200 && probe.body.toString('latin1') === `GET ${OWN_PREFIX}probe\n`;
    if (!probeOk) parts.push(`then ${typeof probe === 'string' ? probe : `${probe.status} ${JSON.stringify(probe.body.toString('latin1').slice(0, 40))}`} instead of the probe's answer`);
    break;
  }
  return parts.join(', ');
}

/** A plain request on a fresh connection, answered 200: the engine is alive and serving. */
export async function healthy(port: number): Promise<boolean> {
  try {
    const r = await exchange(port, `GET ${OWN_PREFIX}health HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`, { timeoutMs: ANSWER_MS });
    return r !== 'closed' && r.status === 200;
  } catch {
    return false;
  }
}
