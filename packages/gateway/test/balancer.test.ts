import { describe, expect, it } from 'vitest';
import { createPeer, RoundRobin, type Peer } from '../src/upstream/balancer.js';

function balancer(weights: number[], now: () => number = () => 0) {
  const peers = weights.map((w, i) => createPeer(`s${i}:80`, `10.0.0.${i}`, 80, w));
  return { rr: new RoundRobin(peers, now), peers };
}

/** The servers picked by `n` successive requests that all succeed. */
function sequence(rr: RoundRobin, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const sel = rr.begin();
    const peer = rr.pick(sel) as Peer;
    out.push(peer.server);
    rr.release(sel, false);
  }
  return out;
}

describe('round robin', () => {
  it('cycles through equal servers in order', () => {
    expect(sequence(balancer([1, 1, 1]).rr, 7)).toEqual(['s0:80', 's1:80', 's2:80', 's0:80', 's1:80', 's2:80', 's0:80']);
  });

  it('spreads weights smoothly (nginx: 5,1,1 gives a a b a c a a)', () => {
    expect(sequence(balancer([5, 1, 1]).rr, 7).map((s) => s[1])).toEqual(['0', '0', '1', '0', '2', '0', '0']);
    expect(sequence(balancer([2, 1, 1]).rr, 8).map((s) => s[1])).toEqual(['0', '1', '2', '0', '0', '1', '2', '0']);
  });

  it('tries each server at most once per request, then gives up', () => {
    const { rr } = balancer([1, 1, 1]);
    const sel = rr.begin();
    const tried: string[] = [];
    while (sel.tries > 0) {
      const peer = rr.pick(sel);
      if (!peer) break;
      tried.push(peer.server);
      rr.release(sel, true);
    }
    expect(tried.sort()).toEqual(['s0:80', 's1:80', 's2:80']);
    expect(sel.tries).toBe(0);
  });

  it('skips a failed server for fail_timeout (10 s), then uses it again', () => {
    let clock = 1_000_000;
    const { rr } = balancer([1, 1], () => clock);
    const sel = rr.begin();
    expect(rr.pick(sel)?.server).toBe('s0:80');
    rr.release(sel, true);
    expect(sequence(rr, 3)).toEqual(['s1:80', 's1:80', 's1:80']);
    clock += 10_001;
    expect(sequence(rr, 4)).toContain('s0:80');
  });

  it('marks every server live again when all have failed ("no live upstreams")', () => {
    const { rr, peers } = balancer([1, 1]);
    for (const _ of peers) {
      const sel = rr.begin();
      rr.pick(sel);
      rr.release(sel, true);
    }
    expect(rr.pick(rr.begin())).toBeNull();
    expect(peers.every((p) => p.fails === 0)).toBe(true);
    expect(rr.pick(rr.begin())).not.toBeNull();
  });

  it('always uses a single server, whatever its failures', () => {
    const { rr } = balancer([1]);
    for (let i = 0; i < 3; i++) {
      const sel = rr.begin();
      expect(rr.pick(sel)?.server).toBe('s0:80');
      rr.release(sel, true);
      expect(sel.tries).toBe(0);
    }
  });
});
