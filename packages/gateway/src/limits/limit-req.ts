import type { LimitReqRule, LimitSettings, LimitZone } from '../config/limit-directives.js';
import type { LogLevel } from '../runtime.js';
import { evaluate, type RequestVariables, type Template } from '../variables.js';
import { stateBytes } from './zone-memory.js';

/**
 * ngx_http_limit_req_module's leaky bucket, with nginx's integer arithmetic: per key, `excess`
 * counts requests above the rate in thousandths; each request adds 1000 after the time since
 * the previous one drained `rate * ms / 1000`. Above `burst` a request is refused; above
 * `delay` it waits until the excess would have drained.
 */

/** A monotonic millisecond clock with an epoch-sized origin, like ngx_current_msec. */
export function monotonicMs(): number {
  return Math.floor(performance.timeOrigin + performance.now());
}

/** ngx_http_limit_req_node_t: one key's bucket. */
interface Bucket {
  excess: number;
  /** When it was last accounted (0: created by a lookup that did not account). */
  last: number;
  readonly bytes: number;
}

type Lookup =
  | { readonly rc: 'busy' | 'ok' | 'error'; readonly excess: number }
  | { readonly rc: 'again'; readonly excess: number; readonly bucket: Bucket };

// A limit_req node is nginx's rbtree node (32 bytes) plus 48 bytes of state, then the key.
const NODE_BYTES = 80;

/** nginx's clock-skew guard: a clock that went back more than a minute counts as 1 ms. */
function elapsed(now: number, last: number): number {
  const ms = now - last;
  return ms < -60_000 ? 1 : Math.max(ms, 0);
}

/**
 * The buckets of one `limit_req_zone`, least recently used first. When the zone's memory is
 * exhausted the least recently used bucket is dropped; every new bucket first drops up to two
 * idle, drained ones (ngx_http_limit_req_expire).
 */
export class LimitReqZoneState {
  private readonly buckets = new Map<string, Bucket>();
  private used = 0;

  constructor(
    /** Requests per second times 1000 (updated when a reload keeps the zone). */
    public rate: number,
    private readonly capacity: number,
  ) {}

  get keys(): number {
    return this.buckets.size;
  }

  /** ngx_http_limit_req_lookup(): `account` is true for the location's last limit only. */
  lookup(key: string, burst: number, account: boolean, now: number): Lookup {
    const bucket = this.buckets.get(key);
    if (bucket) {
      this.buckets.delete(key);
      this.buckets.set(key, bucket);
      const ms = elapsed(now, bucket.last);
      const excess = Math.max(0, bucket.excess - Math.floor((this.rate * ms) / 1000) + 1000);
      if (excess > burst) return { rc: 'busy', excess };
      if (!account) return { rc: 'again', excess, bucket };
      bucket.excess = excess;
      if (ms) bucket.last = now;
      return { rc: 'ok', excess };
    }
    this.expire(false, now);
    const created: Bucket = { excess: 0, last: account ? now : 0, bytes: stateBytes(NODE_BYTES + key.length) };
    while (this.used + created.bytes > this.capacity && this.buckets.size > 0) this.expire(true, now);
    if (this.used + created.bytes > this.capacity) return { rc: 'error', excess: 0 };
    this.buckets.set(key, created);
    this.used += created.bytes;
    return account ? { rc: 'ok', excess: 0 } : { rc: 'again', excess: 0, bucket: created };
  }

  /** Brings a bucket a non-last limit looked up to now (part of ngx_http_limit_req_account). */
  account(bucket: Bucket, now: number): number {
    const ms = elapsed(now, bucket.last);
    bucket.excess = Math.max(0, bucket.excess - Math.floor((this.rate * ms) / 1000) + 1000);
    if (ms) bucket.last = now;
    return bucket.excess;
  }

  /** ngx_http_limit_req_expire(): `force` drops the least recently used bucket whatever its state. */
  private expire(force: boolean, now: number): void {
    for (let n = force ? 0 : 1; n < 3; n++) {
      const oldest = this.buckets.entries().next();
      if (oldest.done) return;
      const [key, bucket] = oldest.value;
      if (n !== 0) {
        const ms = Math.abs(now - bucket.last);
        if (ms < 60_000 || bucket.excess - Math.floor((this.rate * ms) / 1000) > 0) return;
      }
      this.buckets.delete(key);
      this.used -= bucket.bytes;
    }
  }
}

export type LimitReqStatus = 'PASSED' | 'DELAYED' | 'REJECTED' | 'DELAYED_DRY_RUN' | 'REJECTED_DRY_RUN';

export interface LimitReqResult {
  /** nginx's $limit_req_status; null when no limit applied (every key was empty). */
  readonly status: LimitReqStatus | null;
  /** How long to hold the request before going on (DELAYED only). */
  readonly delayMs: number;
}

export type Report = (level: LogLevel, message: string) => void;

const milli = (n: number) => `${Math.floor(n / 1000)}.${String(n % 1000).padStart(3, '0')}`;

/** ngx_http_limit_req_handler(): every limit of the location, in order, on one request. */
export function limitRequests(
  settings: LimitSettings<LimitReqRule>,
  stateOf: (zone: LimitZone) => LimitReqZoneState,
  vars: RequestVariables,
  now: number,
  report: Report,
): LimitReqResult {
  const rules = settings.rules;
  const dry = settings.dryRun ? ', dry run' : '';
  // Buckets of earlier limits, accounted once the last limit has passed.
  const pending: (Bucket | undefined)[] = [];
  let found: Lookup = { rc: 'ok', excess: 0 };
  let counted = false;
  let limit = rules[0] as LimitReqRule;
  let n = 0;
  for (; n < rules.length; n++) {
    limit = rules[n] as LimitReqRule;
    const key = evaluate(limit.zone.key as Template, vars);
    if (key.length === 0) continue;
    if (key.length > 65535) {
      report('error', `the value of the "${(limit.zone.key as Template).source}" key is more than 65535 bytes: "${key}"`);
      continue;
    }
    found = stateOf(limit.zone).lookup(key, limit.burst, n === rules.length - 1, now);
    counted = true;
    if (found.rc !== 'again') break;
    pending[n] = found.bucket;
  }
  if (!counted) return { status: null, delayMs: 0 };

  if (found.rc === 'busy' || found.rc === 'error') {
    if (found.rc === 'busy') report(settings.logLevel, `limiting requests${dry}, excess: ${milli(found.excess)} by zone "${limit.zone.name}"`);
    else report('alert', `could not allocate node in limit_req zone "${limit.zone.name}"`);
    return { status: settings.dryRun ? 'REJECTED_DRY_RUN' : 'REJECTED', delayMs: 0 };
  }

  // ngx_http_limit_req_account(): the longest delay any limit asks for.
  let excess = found.rc === 'again' ? 0 : found.excess;
  let delay = excess <= limit.delay ? 0 : Math.floor(((excess - limit.delay) * 1000) / limit.zone.rate);
  while (n--) {
    const bucket = pending[n];
    if (!bucket) continue;
    const rule = rules[n] as LimitReqRule;
    const e = stateOf(rule.zone).account(bucket, now);
    if (e <= rule.delay) continue;
    const d = Math.floor(((e - rule.delay) * 1000) / rule.zone.rate);
    if (d > delay) {
      delay = d;
      excess = e;
      limit = rule;
    }
  }
  if (!delay) return { status: 'PASSED', delayMs: 0 };
  report(delayLevel(settings.logLevel), `delaying request${dry}, excess: ${milli(excess)}, by zone "${limit.zone.name}"`);
  return settings.dryRun ? { status: 'DELAYED_DRY_RUN', delayMs: 0 } : { status: 'DELAYED', delayMs: delay };
}

/** nginx logs delays one level below refusals (info stays info). */
function delayLevel(level: LogLevel): LogLevel {
  return level === 'error' ? 'warn' : level === 'warn' ? 'notice' : 'info';
}
