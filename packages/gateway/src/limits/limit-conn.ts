import type { LimitConnRule, LimitSettings, LimitZone } from '../config/limit-directives.js';
import { evaluate, type RequestVariables, type Template } from '../variables.js';
import type { Report } from './limit-req.js';
import { stateBytes } from './zone-memory.js';

/**
 * ngx_http_limit_conn_module: per key, the requests in progress. A request is counted from the
 * moment it passes until it ends; for a WebSocket that is when the tunnel closes.
 */

// A limit_conn node is nginx's rbtree node (32 bytes) plus 4 bytes of state, then the key.
const NODE_BYTES = 36;

/** The counters of one `limit_conn_zone`; a key is forgotten when its count drops to 0. */
export class LimitConnZoneState {
  private readonly counts = new Map<string, number>();
  private used = 0;

  constructor(private readonly capacity: number) {}

  get keys(): number {
    return this.counts.size;
  }

  /** `busy`: at the limit; `full`: a new key does not fit in the zone (nginx refuses then too). */
  acquire(key: string, limit: number): 'ok' | 'busy' | 'full' {
    const count = this.counts.get(key);
    if (count === undefined) {
      const bytes = stateBytes(NODE_BYTES + key.length);
      if (this.used + bytes > this.capacity) return 'full';
      this.used += bytes;
      this.counts.set(key, 1);
      return 'ok';
    }
    if (count >= limit) return 'busy';
    this.counts.set(key, count + 1);
    return 'ok';
  }

  release(key: string): void {
    const count = this.counts.get(key);
    if (count === undefined) return;
    if (count > 1) {
      this.counts.set(key, count - 1);
      return;
    }
    this.counts.delete(key);
    this.used -= stateBytes(NODE_BYTES + key.length);
  }
}

export type LimitConnStatus = 'PASSED' | 'REJECTED' | 'REJECTED_DRY_RUN';

export interface LimitConnResult {
  /** nginx's $limit_conn_status; null when no limit applied (every key was empty). */
  readonly status: LimitConnStatus | null;
  /** Gives back what this request counts; safe to call more than once. */
  readonly release: () => void;
}

/**
 * ngx_http_limit_conn_handler(): every limit of the location, in order. A refusal gives back the
 * counts already taken, and so does a dry-run refusal (the request then goes on uncounted).
 */
export function limitConnections(
  settings: LimitSettings<LimitConnRule>,
  stateOf: (zone: LimitZone) => LimitConnZoneState,
  vars: RequestVariables,
  report: Report,
): LimitConnResult {
  const held: [LimitConnZoneState, string][] = [];
  const release = () => {
    for (const [state, key] of held.splice(0)) state.release(key);
  };
  let status: LimitConnStatus | null = null;
  for (const rule of settings.rules) {
    const key = evaluate(rule.zone.key as Template, vars);
    if (key.length === 0) continue;
    if (key.length > 255) {
      report('error', `the value of the "${(rule.zone.key as Template).source}" key is more than 255 bytes: "${key}"`);
      continue;
    }
    status = 'PASSED';
    const state = stateOf(rule.zone);
    const outcome = state.acquire(key, rule.conn);
    if (outcome !== 'ok') {
      if (outcome === 'busy') report(settings.logLevel, `limiting connections${settings.dryRun ? ', dry run,' : ''} by zone "${rule.zone.name}"`);
      else report('alert', `ngx_slab_alloc() failed: no memory in limit_conn_zone "${rule.zone.name}"`);
      release();
      return { status: settings.dryRun ? 'REJECTED_DRY_RUN' : 'REJECTED', release };
    }
    held.push([state, key]);
  }
  return { status, release };
}
