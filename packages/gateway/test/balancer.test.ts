import { describe, expect, it } from 'vitest';
import { createPeer, RoundRobin, type PeerOptions } from '../src/upstream/balancer.js';

type Spec = number | Partial<PeerOptions> & { backup?: boolean };

function balancer(specs: Spec[], now: () => number = () => 0) {
  const peers = specs.map((s, i) => createPeer(`s${i}:80`, `10.0.0.${i}`, 80, typeof s === 'number' ? { weight: s } : s));
  const primary = peers.filter((_, i) => !(typeof specs[i] === 'object' && (specs[i] as { backup?: boolean }).backup));
  const backup = peers.filter((p) => !primary.includes(p));
  return { rr: new RoundRobin(primary, backup, now), peers };
}

/** The servers picked by `n` successive requests that all succeed. */
function sequence(rr: RoundRobin, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const sel = rr.begin();
    const peer = rr.pick(sel);
    out.push(peer?.server ?? 'none');
    if (peer) rr.release(sel, 'ok');
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
      rr.release(sel, 'failed');
    }
    expect(tried.sort()).toEqual(['s0:80', 's1:80', 's2:80']);
    expect(sel.tries).toBe(0);
  });

  it('skips a failed server for fail_timeout (10 s), then uses it again', () => {
    let clock = 1_000;
    const { rr } = balancer([1, 1], () => clock);
    const sel = rr.begin();
    expect(rr.pick(sel)?.server).toBe('s0:80');
    rr.release(sel, 'failed');
    expect(sequence(rr, 3)).toEqual(['s1:80', 's1:80', 's1:80']);
    clock += 10;
    expect(sequence(rr, 3)).toEqual(['s1:80', 's1:80', 's1:80']);
    clock += 1;
    expect(sequence(rr, 4)).toContain('s0:80');
  });

  it('needs max_fails failures within fail_timeout to skip a server; max_fails=0 never skips', () => {
    let clock = 1_000;
    const { rr } = balancer([{ maxFails: 2, failTimeout: 5 }, { maxFails: 0 }, 1], () => clock);
    const fail = (server: string) => {
      for (;;) {
        const sel = rr.begin();
        const peer = rr.pick(sel);
        if (peer?.server === server) return rr.release(sel, 'failed');
        rr.release(sel, 'ok');
      }
    };
    fail('s0:80');
    expect(sequence(rr, 6)).toContain('s0:80');
    fail('s0:80');
    expect(sequence(rr, 6)).not.toContain('s0:80');
    fail('s1:80');
    fail('s1:80');
    expect(sequence(rr, 6)).toContain('s1:80');
    clock += 6;
    expect(sequence(rr, 6)).toContain('s0:80');
  });

  it('answers "no live upstreams" while every server is failed, without resetting them (nginx >= 1.11)', () => {
    let clock = 1_000;
    const { rr, peers } = balancer([1, 1], () => clock);
    for (const _ of peers) {
      const sel = rr.begin();
      rr.pick(sel);
      rr.release(sel, 'failed');
    }
    expect(rr.pick(rr.begin())).toBeNull();
    expect(rr.pick(rr.begin())).toBeNull();
    clock += 11;
    expect(rr.pick(rr.begin())).not.toBeNull();
  });

  it('always uses a single server, whatever its failures', () => {
    const { rr } = balancer([1]);
    for (let i = 0; i < 3; i++) {
      const sel = rr.begin();
      expect(rr.pick(sel)?.server).toBe('s0:80');
      rr.release(sel, 'failed');
      expect(sel.tries).toBe(0);
    }
  });

  it('never uses a down server and does not count it as a try', () => {
    const { rr } = balancer([1, { down: true }, 1]);
    expect(sequence(rr, 4)).toEqual(['s0:80', 's2:80', 's0:80', 's2:80']);
    expect(rr.begin().tries).toBe(2);
    expect(sequence(balancer([{ down: true }]).rr, 1)).toEqual(['none']);
  });

  it('uses backup servers only when no primary server can be picked', () => {
    let clock = 1_000;
    const { rr } = balancer([1, 1, { backup: true }, { backup: true, weight: 2 }], () => clock);
    expect(sequence(rr, 4)).toEqual(['s0:80', 's1:80', 's0:80', 's1:80']);
    // One request that fails on both primaries moves on to the backups.
    const sel = rr.begin();
    expect(sel.tries).toBe(4);
    const order: string[] = [];
    for (let peer = rr.pick(sel); peer; peer = sel.tries > 0 ? rr.pick(sel) : null) {
      order.push(peer.server);
      rr.release(sel, peer.server.startsWith('s3') ? 'ok' : 'failed');
      if (peer.server.startsWith('s3')) break;
    }
    expect(order).toEqual(['s0:80', 's1:80', 's3:80']);
    expect(sequence(rr, 3)).toEqual(['s2:80', 's3:80', 's3:80']);
    clock += 11;
    expect(sequence(rr, 4)).toEqual(expect.arrayContaining(['s0:80', 's1:80']));
  });

  it('honours max_conns while requests are in flight', () => {
    const { rr } = balancer([{ maxConns: 1 }, { maxConns: 1 }]);
    const a = rr.begin();
    const b = rr.begin();
    const c = rr.begin();
    expect(rr.pick(a)?.server).toBe('s0:80');
    expect(rr.pick(b)?.server).toBe('s1:80');
    expect(rr.pick(c)).toBeNull();
    rr.release(a, 'ok');
    expect(rr.pick(c)?.server).toBe('s0:80');
  });
});
