import type { LimitZone } from '../config/limit-directives.js';
import { LimitConnZoneState } from './limit-conn.js';
import { LimitReqZoneState } from './limit-req.js';

/**
 * The state of every limit zone of one running gateway process. nginx keeps zones in shared
 * memory for all its workers and across reloads; here each worker process has its own, and a
 * reload keeps a zone's state when its name, kind, size and key are unchanged (nginx refuses a
 * reload that changes a zone's key; the gateway starts that zone afresh).
 */
export class LimitZones {
  private readonly byName = new Map<string, { zone: LimitZone; req?: LimitReqZoneState; conn?: LimitConnZoneState }>();

  req(zone: LimitZone): LimitReqZoneState {
    const entry = this.entry(zone);
    entry.req ??= new LimitReqZoneState(zone.rate, zone.size);
    // A reload may change the rate of a kept zone, as in nginx.
    entry.req.rate = zone.rate;
    return entry.req;
  }

  conn(zone: LimitZone): LimitConnZoneState {
    const entry = this.entry(zone);
    entry.conn ??= new LimitConnZoneState(zone.size);
    return entry.conn;
  }

  private entry(zone: LimitZone) {
    const entry = this.byName.get(zone.name);
    if (entry?.zone === zone) return entry;
    const kept = entry && entry.zone.kind === zone.kind && entry.zone.size === zone.size && entry.zone.key?.source === zone.key?.source;
    const next = kept ? { ...entry, zone } : { zone };
    this.byName.set(zone.name, next);
    return next;
  }
}

const perGateway = new WeakMap<object, LimitZones>();

/** The zones of the gateway `owner` (its runtime object) identifies. */
export function limitZonesOf(owner: object): LimitZones {
  let zones = perGateway.get(owner);
  if (!zones) {
    zones = new LimitZones();
    perGateway.set(owner, zones);
  }
  return zones;
}
