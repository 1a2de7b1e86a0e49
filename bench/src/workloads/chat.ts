import { runGenerator } from '../generator-host.js';
import type { ChatResult } from '../generators/chat.js';
import { observe, type Workload } from './types.js';

/**
 * Workload 5: the real chat end to end (Redis + chat-1..3), socket.io-client users in rooms through
 * the door; cross-instance delivery latency at a fixed rate, and the highest rate that keeps p99 under the limit.
 */
export function chatWorkload(clients: number, rooms: number, fixedRate: number, p99LimitMs: number): Workload {
  const who = `${clients.toLocaleString('en-US')} users`;
  return {
    id: 'chat',
    kind: 'chat',
    title: `Chat end to end: ${who} in ${rooms} rooms, 3 chat servers + Redis`,
    metrics: [
      { id: 'chat.p50', label: `Chat (${who}) at ${fixedRate} msg/s: delivery p50`, unit: 'ms', better: 'lower' },
      { id: 'chat.p99', label: `Chat (${who}) at ${fixedRate} msg/s: delivery p99`, unit: 'ms', better: 'lower' },
      { id: 'chat.max', label: `Chat (${who}): highest rate with p99 < ${p99LimitMs} ms`, unit: 'msg/s', better: 'higher' },
    ],
    async measure(door, { env, settings, log }) {
      const { rates, stepMs, warmupMs } = settings.chat;
      const { result, windows } = await runGenerator<ChatResult>(
        'chat',
        { urls: door.chatUrls, clients, rooms, rates, stepMs, warmupMs, p99LimitMs },
        observe(door, env, 'chat'),
        { timeoutMs: 180_000 + rates.length * 2 * (stepMs + 15_000) },
      );
      const fixed = result.steps[0]!;
      const steps = result.steps.map((s) => `${s.rate}: p99 ${Number.isFinite(s.p99Ms) ? s.p99Ms.toFixed(1) : 'lost'} ms${s.sustained ? '' : ' ✗'}`);
      log(`    ${door.name}: ${result.clients} users connected in ${result.connectSeconds.toFixed(1)} s; steps ${steps.join(', ')}`);
      const notes: string[] = [];
      for (const s of result.steps) {
        if (s.ackFailures) notes.push(`${s.ackFailures} failed sends at ${s.rate} msg/s`);
        if (s.delivered < s.expected) notes.push(`${s.expected - s.delivered} of ${s.expected} deliveries missing at ${s.rate} msg/s`);
      }
      if (result.steps.length === rates.length && result.steps.at(-1)!.sustained) {
        notes.push(`every step up to ${rates.at(-1)} msg/s was sustained: the real limit is higher`);
      }
      // The load check uses the busiest window the generator sustained.
      const busiest = windows.reduce<(typeof windows)[number] | null>((a, w) => (!a || w.generator > a.generator ? w : a), null);
      return {
        values: { 'chat.p50': fixed.p50Ms, 'chat.p99': fixed.p99Ms, 'chat.max': result.maxSustainedRate },
        cpu: busiest,
        notes,
      };
    },
  };
}
