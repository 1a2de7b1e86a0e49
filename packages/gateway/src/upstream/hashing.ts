import type { Template } from '../variables.js';
import { evaluate, type RequestVariables } from '../variables.js';
import { RoundRobin, type Peer, type PeerSelection, type SecondsClock, nowSeconds } from './balancer.js';

/**
 * nginx's other balancing methods, on top of its round robin peers and failure accounting:
 * least_conn (ngx_http_upstream_least_conn_module.c), ip_hash
 * (ngx_http_upstream_ip_hash_module.c) and hash [consistent]
 * (ngx_http_upstream_hash_module.c), with the same arithmetic so that the same key picks the
 * same server as nginx for the same server list.
 */

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** ngx_crc32_update over latin1 text (one byte per char); `crc` starts at 0xffffffff. */
export function crc32Update(crc: number, text: string | Uint8Array): number {
  let c = crc;
  for (let i = 0; i < text.length; i++) {
    const byte = typeof text === 'string' ? text.charCodeAt(i) & 0xff : (text[i] as number);
    c = (CRC_TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  }
  return c >>> 0;
}

/** ngx_crc32_long: the CRC-32 (IEEE) of the whole text. */
export function crc32(text: string | Uint8Array): number {
  return (crc32Update(0xffffffff, text) ^ 0xffffffff) >>> 0;
}

/** The peer at weighted position `w` (nginx walks the list subtracting weights). */
function byWeight(peers: readonly Peer[], w: number): Peer {
  let i = 0;
  let rest = w;
  while (rest >= (peers[i] as Peer).weight) {
    rest -= (peers[i] as Peer).weight;
    i++;
  }
  return peers[i] as Peer;
}

function failed(peer: Peer, now: number): boolean {
  return peer.maxFails > 0 && peer.fails >= peer.maxFails && now - peer.checked <= peer.failTimeout;
}

/** ngx_http_upstream_get_least_conn_peer(). */
export class LeastConn extends RoundRobin {
  protected override pickFrom(sel: PeerSelection): Peer | null {
    const now = this.now();
    const peers = sel.list.peers;
    let best: Peer | null = null;
    let bestIndex = 0;
    let many = false;
    for (let i = 0; i < peers.length; i++) {
      const peer = peers[i] as Peer;
      if (sel.tried.has(peer) || !this.usable(peer, now)) continue;
      if (best === null || peer.conns * best.weight < best.conns * peer.weight) {
        best = peer;
        bestIndex = i;
        many = false;
      } else if (peer.conns * best.weight === best.conns * peer.weight) {
        many = true;
      }
    }
    if (best === null) return null;
    let total = 0;
    if (many) {
      for (let i = bestIndex; i < peers.length; i++) {
        const peer = peers[i] as Peer;
        if (sel.tried.has(peer) || peer.down) continue;
        if (peer.conns * best.weight !== best.conns * peer.weight) continue;
        if (!this.usable(peer, now)) continue;
        peer.currentWeight += peer.effectiveWeight;
        total += peer.effectiveWeight;
        if (peer.effectiveWeight < peer.weight) peer.effectiveWeight++;
        if (peer.currentWeight > best.currentWeight) best = peer;
      }
    }
    best.currentWeight -= total;
    if (now - best.checked > best.failTimeout) best.checked = now;
    sel.tried.add(best);
    return best;
  }
}

/** The bytes ip_hash hashes: the first three octets of IPv4, all sixteen of IPv6. */
export function ipHashBytes(address: string): number[] {
  if (address.includes('.') && !address.includes(':')) return address.split('.').slice(0, 3).map(Number);
  const bytes: number[] = [];
  const [head = '', tail = ''] = address.split('::');
  const parse = (part: string) => (part ? part.split(':') : []);
  const left = parse(head);
  const right = parse(tail);
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  for (const g of groups) {
    const v = parseInt(g, 16) || 0;
    bytes.push(v >> 8, v & 0xff);
  }
  return bytes.slice(0, 16);
}

/** Hashing balancers fall back to round robin after 20 tries, with one peer, or an empty key. */
abstract class Hashing extends RoundRobin {
  protected fallback(sel: PeerSelection): boolean {
    return (sel.hashTries ?? 0) > 20 || sel.list.peers.length < 2 || !sel.key;
  }
}

/** ngx_http_upstream_get_ip_hash_peer(). */
export class IpHash extends Hashing {
  override begin(vars?: RequestVariables): PeerSelection {
    const sel = super.begin(vars);
    sel.key = vars?.remoteAddress ?? '';
    sel.hash = 89;
    sel.hashTries = 0;
    return sel;
  }

  protected override pickFrom(sel: PeerSelection): Peer | null {
    if (this.fallback(sel)) return super.pickFrom(sel);
    const now = this.now();
    const bytes = ipHashBytes(sel.key as string);
    let hash = sel.hash ?? 89;
    const peers = sel.list.peers;
    for (;;) {
      for (const b of bytes) hash = (hash * 113 + b) % 6271;
      const peer = byWeight(peers, hash % sel.list.totalWeight);
      if (!sel.tried.has(peer) && !peer.down && !failed(peer, now) && !(peer.maxConns && peer.conns >= peer.maxConns)) {
        if (now - peer.checked > peer.failTimeout) peer.checked = now;
        sel.tried.add(peer);
        sel.hash = hash;
        return peer;
      }
      sel.hashTries = (sel.hashTries ?? 0) + 1;
      if (sel.hashTries > 20) return super.pickFrom(sel);
    }
  }
}

/** ngx_http_upstream_get_hash_peer(): `hash KEY`, compatible with Cache::Memcached. */
export class KeyHash extends Hashing {
  constructor(
    primary: readonly Peer[],
    private readonly key: Template,
    now: SecondsClock = nowSeconds,
  ) {
    super(primary, [], now);
  }

  override begin(vars?: RequestVariables): PeerSelection {
    const sel = super.begin(vars);
    sel.key = vars ? evaluate(this.key, vars) : '';
    sel.hash = 0;
    sel.hashTries = 0;
    sel.rehash = 0;
    return sel;
  }

  protected override pickFrom(sel: PeerSelection): Peer | null {
    if (this.fallback(sel)) return super.pickFrom(sel);
    const now = this.now();
    const peers = sel.list.peers;
    for (;;) {
      // ((crc32([REHASH] KEY) >> 16) & 0x7fff) + PREV_HASH, REHASH omitted the first time.
      let crc = 0xffffffff;
      if ((sel.rehash ?? 0) > 0) crc = crc32Update(crc, String(sel.rehash));
      crc = (crc32Update(crc, sel.key as string) ^ 0xffffffff) >>> 0;
      sel.hash = ((sel.hash ?? 0) + ((crc >>> 16) & 0x7fff)) >>> 0;
      sel.rehash = (sel.rehash ?? 0) + 1;
      const peer = byWeight(peers, sel.hash % sel.list.totalWeight);
      if (!sel.tried.has(peer) && !peer.down && !failed(peer, now) && !(peer.maxConns && peer.conns >= peer.maxConns)) {
        if (now - peer.checked > peer.failTimeout) peer.checked = now;
        sel.tried.add(peer);
        return peer;
      }
      sel.hashTries = (sel.hashTries ?? 0) + 1;
      if (sel.hashTries > 20) return super.pickFrom(sel);
    }
  }
}

interface Point {
  readonly hash: number;
  readonly server: string;
}

/** The ketama-like ring of `hash KEY consistent`: 160 points per weight unit and server. */
export function chashPoints(peers: readonly Peer[]): Point[] {
  const points: Point[] = [];
  const seen = new Set<Peer>();
  for (const peer of peers) {
    if (seen.has(peer)) continue;
    seen.add(peer);
    const server = peer.server;
    // HOST \0 PORT, the port being the digits after the last ':'.
    let host = server;
    let port = '';
    const m = /^(.*):([0-9]*)$/.exec(server);
    if (server.slice(0, 5).toLowerCase() === 'unix:') host = server.slice(5);
    else if (m) {
      host = m[1] as string;
      port = m[2] as string;
    }
    const base = crc32Update(crc32Update(crc32Update(0xffffffff, host), '\0'), port);
    const prev = new Uint8Array(4);
    for (let j = 0; j < peer.weight * 160; j++) {
      const hash = (crc32Update(base, prev) ^ 0xffffffff) >>> 0;
      points.push({ hash, server });
      // prev_hash is the previous point, little-endian.
      prev[0] = hash & 0xff;
      prev[1] = (hash >>> 8) & 0xff;
      prev[2] = (hash >>> 16) & 0xff;
      prev[3] = (hash >>> 24) & 0xff;
    }
  }
  points.sort((a, b) => a.hash - b.hash);
  const unique: Point[] = [];
  for (const p of points) if (unique.length === 0 || (unique[unique.length - 1] as Point).hash !== p.hash) unique.push(p);
  return unique;
}

/** First point >= hash (may be points.length, which wraps). */
function findPoint(points: readonly Point[], hash: number): number {
  let i = 0;
  let j = points.length;
  while (i < j) {
    const k = (i + j) >>> 1;
    const h = (points[k] as Point).hash;
    if (hash > h) i = k + 1;
    else if (hash < h) j = k;
    else return k;
  }
  return i;
}

/** ngx_http_upstream_get_chash_peer(): `hash KEY consistent`. */
export class ConsistentHash extends Hashing {
  private readonly points: Point[];

  constructor(
    primary: readonly Peer[],
    private readonly key: Template,
    now: SecondsClock = nowSeconds,
  ) {
    super(primary, [], now);
    this.points = chashPoints(primary);
  }

  override begin(vars?: RequestVariables): PeerSelection {
    const sel = super.begin(vars);
    sel.key = vars ? evaluate(this.key, vars) : '';
    sel.hash = findPoint(this.points, crc32(sel.key));
    sel.hashTries = 0;
    return sel;
  }

  /** The server (as written) a key maps to on the ring, ignoring failures. */
  serverFor(key: string): string {
    const points = this.points;
    return (points[findPoint(points, crc32(key)) % points.length] as Point).server;
  }

  protected override pickFrom(sel: PeerSelection): Peer | null {
    if (this.fallback(sel)) return super.pickFrom(sel);
    const now = this.now();
    const points = this.points;
    for (;;) {
      const server = (points[(sel.hash ?? 0) % points.length] as Point).server;
      let best: Peer | null = null;
      let total = 0;
      for (const peer of sel.list.peers) {
        if (sel.tried.has(peer) || peer.down || peer.server !== server || failed(peer, now)) continue;
        if (peer.maxConns && peer.conns >= peer.maxConns) continue;
        peer.currentWeight += peer.effectiveWeight;
        total += peer.effectiveWeight;
        if (peer.effectiveWeight < peer.weight) peer.effectiveWeight++;
        if (best === null || peer.currentWeight > best.currentWeight) best = peer;
      }
      if (best) {
        best.currentWeight -= total;
        if (now - best.checked > best.failTimeout) best.checked = now;
        sel.tried.add(best);
        return best;
      }
      sel.hash = (sel.hash ?? 0) + 1;
      sel.hashTries = (sel.hashTries ?? 0) + 1;
      if (sel.hashTries >= points.length) return null;
    }
  }
}
