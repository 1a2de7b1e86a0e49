import { describe, expect, it } from 'vitest';
import { createPeer, type Peer, type RoundRobin } from '../src/upstream/balancer.js';
import { ConsistentHash, crc32, IpHash, KeyHash, LeastConn } from '../src/upstream/hashing.js';
import { requestVariables, type Template } from '../src/variables.js';

/** `$arg_k` as a compiled template. */
const ARG_K: Template = { source: '$arg_k', constant: null, parts: [(r) => /(?:^|&)k=([^&]*)/.exec(r.args)?.[1] ?? ''] };

const servers = () => [
  createPeer('127.0.0.1:41001', '127.0.0.1', 41001),
  createPeer('127.0.0.1:41002', '127.0.0.1', 41002, { weight: 2 }),
  createPeer('127.0.0.1:41003', '127.0.0.1', 41003),
];

function picks(balancer: RoundRobin, requests: Parameters<typeof requestVariables>[0][]): string[] {
  return requests.map((init) => {
    const sel = balancer.begin(requestVariables(init));
    const peer = balancer.pick(sel) as Peer;
    balancer.release(sel, 'ok');
    return String(peer.port);
  });
}

// Recorded from nginx 1.x with the same upstream blocks (weights 1, 2, 1) and keys key0..key39 /
// clients 127.0.X.1 for X = 0..29.
const NGINX = {
  hash: '3 1 2 2 2 2 1 3 1 3 1 3 2 2 2 2 3 1 3 1 2 2 3 1 1 3 2 2 2 2 2 2 1 3 3 1 2 2 2 2',
  consistent: '2 1 3 1 2 2 1 2 1 2 2 1 2 2 3 3 2 2 3 2 3 3 3 2 2 3 2 2 2 1 1 3 2 2 1 2 3 3 1 1',
  ipHash: '1 2 2 3 1 2 2 3 1 2 2 3 1 2 2 3 1 2 2 3 1 2 2 3 1 2 2 3 1 2',
};
const expand = (s: string) => s.split(' ').map((d) => `4100${d}`);
const keys = Array.from({ length: 40 }, (_, k) => ({ args: `k=key${k}` }));

describe("nginx's hashing balancers", () => {
  it('computes the standard CRC-32', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(crc32('')).toBe(0);
  });

  it('hash KEY picks the same servers as nginx', () => {
    expect(picks(new KeyHash(servers(), ARG_K), keys)).toEqual(expand(NGINX.hash));
  });

  it('hash KEY consistent picks the same servers as nginx', () => {
    expect(picks(new ConsistentHash(servers(), ARG_K), keys)).toEqual(expand(NGINX.consistent));
  });

  it('ip_hash picks the same servers as nginx (first three octets)', () => {
    const clients = Array.from({ length: 30 }, (_, x) => ({ remoteAddress: `127.0.${x}.1` }));
    expect(picks(new IpHash(servers()), clients)).toEqual(expand(NGINX.ipHash));
    expect(picks(new IpHash(servers()), [{ remoteAddress: '10.1.2.3' }, { remoteAddress: '10.1.2.200' }])).toEqual(
      picks(new IpHash(servers()), [{ remoteAddress: '10.1.2.99' }, { remoteAddress: '10.1.2.1' }]),
    );
  });

  it('moves only the keys of a removed server with consistent hashing', () => {
    const full = new ConsistentHash(servers(), ARG_K);
    const reduced = new ConsistentHash(servers().filter((p) => p.port !== 41003), ARG_K);
    for (let k = 0; k < 200; k++) {
      const before = full.serverFor(`key${k}`);
      if (before !== '127.0.0.1:41003') expect(reduced.serverFor(`key${k}`)).toBe(before);
    }
  });

  it('skips a failed server and falls back to the next hash', () => {
    let clock = 1000;
    const peers = servers();
    const balancer = new KeyHash(peers, ARG_K, () => clock);
    const first = picks(balancer, [{ args: 'k=key0' }])[0];
    const failing = peers.find((p) => String(p.port) === first) as Peer;
    const sel = balancer.begin(requestVariables({ args: 'k=key0' }));
    balancer.pick(sel);
    balancer.release(sel, 'failed');
    expect(picks(balancer, [{ args: 'k=key0' }])[0]).not.toBe(String(failing.port));
    clock += 11;
    expect(picks(balancer, [{ args: 'k=key0' }])[0]).toBe(first);
  });
});

describe('least_conn', () => {
  it('picks the server with the fewest requests in flight, weighted, round-robin among equals', () => {
    const peers = [createPeer('a:1', '10.0.0.1', 1), createPeer('b:1', '10.0.0.2', 1), createPeer('c:1', '10.0.0.3', 1, { weight: 2 })];
    const lc = new LeastConn(peers);
    const held = [];
    for (let i = 0; i < 4; i++) {
      const sel = lc.begin();
      held.push({ sel, peer: lc.pick(sel) as Peer });
    }
    // Equal (zero) load: smooth round robin among all; then c (weight 2) takes two for one.
    expect(held.map((h) => h.peer.server)).toEqual(['c:1', 'a:1', 'b:1', 'c:1']);
    const release = held.find((h) => h.peer.server === 'a:1');
    if (release) lc.release(release.sel, 'ok');
    const sel = lc.begin();
    expect(lc.pick(sel)?.server).toBe('a:1');
  });
});
