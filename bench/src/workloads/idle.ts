import { runGenerator } from '../generator-host.js';
import type { EchoResult } from '../generators/echo.js';
import type { IdleResult } from '../generators/idle.js';
import { rssKiB } from '../procstat.js';
import { observe, type Workload } from './types.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Workload 4: many idle WebSockets held through the door. The proxy's memory per connection is its
 * RSS delta over a fresh process (nginx: its workers), and every connection must still echo at the end.
 */
export function idleWorkload(connections: number): Workload {
  return {
    id: 'idle',
    kind: 'idle',
    title: `${connections.toLocaleString('en-US')} idle WebSocket connections`,
    metrics: [
      { id: 'idle.kib', label: `Idle WS (${connections.toLocaleString('en-US')}): proxy memory per connection`, unit: 'KiB', better: 'lower', doors: ['nginx', 'gateway'] },
      { id: 'idle.lost', label: `Idle WS (${connections.toLocaleString('en-US')}): connections lost`, unit: 'conns', better: 'lower' },
    ],
    async measure(door, { env, settings }) {
      const observed = observe(door, env, 'echo');
      // A fresh proxy, warmed up by a little traffic so code loading isn't counted as per-connection memory.
      await door.restart();
      await runGenerator<EchoResult>('echo', { target: { port: door.port, path: '/echo' }, connections: 20, warmupMs: 100, durationMs: 300 }, observed, {
        timeoutMs: 30_000,
      });
      await sleep(500);
      const baseline = rssKiB(door.proxyPids());
      let held = 0;
      const { result } = await runGenerator<IdleResult>(
        'idle',
        { target: { port: door.port, path: '/echo' }, connections },
        observed,
        {
          timeoutMs: 240_000,
          onEvent: async (name, _data, tell) => {
            if (name !== 'opened') return;
            await sleep(settings.idle.holdMs);
            held = rssKiB(door.proxyPids());
            tell('verify');
          },
        },
      );
      const lost = result.failedToOpen + result.droppedWhileHeld + result.silent;
      const notes: string[] = [];
      if (result.failedToOpen) notes.push(`${result.failedToOpen} failed to open (first: ${result.firstError})`);
      if (result.droppedWhileHeld) notes.push(`${result.droppedWhileHeld} dropped while held`);
      if (result.silent) notes.push(`${result.silent} did not echo at the end`);
      const values: Record<string, number> = { 'idle.lost': lost };
      if (door.name !== 'direct') values['idle.kib'] = (held - baseline) / Math.max(1, result.opened);
      return { values, cpu: null, notes };
    },
  };
}
