// Chat end to end: socket.io-client users in rooms, sending at a fixed aggregate rate that steps up.
// Latency is send -> receipt by room members connected to *other* chat servers (the Redis path);
// the send time travels in the message text.
import { connectClient, type ChatClient } from '@chat/devstack';
import type { Message } from '@chat/protocol';
import { percentiles } from '../stats.js';
import { phase, runGenerator, sleep } from './harness.js';

export interface ChatParams {
  /** Front door URL, or (direct) every chat server's URL: clients are spread round robin. */
  urls: string[];
  clients: number;
  rooms: number;
  /** Aggregate messages per second, in increasing order; the first is the fixed rate reported. */
  rates: number[];
  stepMs: number;
  warmupMs: number;
  /** A step is sustained when cross-instance delivery p99 stays under this. */
  p99LimitMs: number;
}

export interface ChatStep {
  rate: number;
  /** What the generator actually managed to send per second. */
  sentPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  delivered: number;
  expected: number;
  ackFailures: number;
  sustained: boolean;
}

export interface ChatResult {
  clients: number;
  connectSeconds: number;
  instances: Record<string, number>;
  steps: ChatStep[];
  /** Highest step rate sustained (p99 under the limit, ≥ 99.9% delivered, no failed acks); 0 if none. */
  maxSustainedRate: number;
}

/**
 * The loopback address client `i` connects from: 100 clients per address (127.0.0.2, .3, ...;
 * Linux routes all of 127/8), as real users come from many addresses. infra/nginx.conf lets one
 * address start 300 sessions at once, then 10 a second, so a thousand users from one address
 * would be throttled while they connect.
 */
function sourceAddress(i: number): string {
  const group = Math.floor(i / 100);
  return `127.0.${Math.floor(group / 250)}.${2 + (group % 250)}`;
}

interface Member {
  socket: ChatClient;
  instance: string;
  room: string;
}

runGenerator<ChatParams>(async (params) => {
  const connectStart = performance.now();
  const members: Member[] = new Array(params.clients);
  let nextIndex = 0;
  const connectOne = async () => {
    while (nextIndex < params.clients) {
      const i = nextIndex++;
      const room = `bench-${i % params.rooms}`;
      const { socket, session } = await connectClient(params.urls[i % params.urls.length]!, `bench-${i}`, {
        timeout: 20_000,
        transportOptions: { websocket: { localAddress: sourceAddress(i) } },
      });
      const ack = await socket.timeout(20_000).emitWithAck('room:join', { room });
      if (!ack.ok) throw new Error(`room:join failed: ${ack.error.message}`);
      members[i] = { socket, instance: session.instance, room };
    }
  };
  await Promise.all(Array.from({ length: 50 }, connectOne));
  const connectSeconds = (performance.now() - connectStart) / 1000;

  // Expected cross-instance deliveries of a message from `member`: room members on other instances.
  const perRoomInstance = new Map<string, Map<string, number>>();
  const instances: Record<string, number> = {};
  for (const m of members) {
    const counts = perRoomInstance.get(m.room) ?? new Map<string, number>();
    counts.set(m.instance, (counts.get(m.instance) ?? 0) + 1);
    perRoomInstance.set(m.room, counts);
    instances[m.instance] = (instances[m.instance] ?? 0) + 1;
  }
  const roomSize = (room: string) => [...perRoomInstance.get(room)!.values()].reduce((a, b) => a + b, 0);
  const crossTargets = (m: Member) => roomSize(m.room) - perRoomInstance.get(m.room)!.get(m.instance)!;

  // Latency samples and delivery counts of the current step (step 0 is the warm-up).
  let samples: number[] = [];
  let delivered = 0;
  let currentStep = -1;
  for (const m of members) {
    m.socket.on('message:new', (message: Message) => {
      if (message.instance === m.instance || !message.text.startsWith('bench:')) return;
      const [, step, sentAt] = message.text.split(':');
      if (Number(step) !== currentStep) return;
      delivered++;
      samples.push(performance.now() - Number(sentAt));
    });
  }

  let sender = 0;
  /** Sends at `rate` for `ms`; returns how many were sent, expected deliveries and failed acks. */
  const sendAt = async (rate: number, ms: number, step: number) => {
    let sent = 0;
    let expected = 0;
    const acks: Promise<boolean>[] = [];
    const start = performance.now();
    while (performance.now() - start < ms) {
      const due = Math.floor(((performance.now() - start) / 1000) * rate);
      for (; sent < due; sent++) {
        const m = members[sender++ % members.length]!;
        expected += crossTargets(m);
        const text = `bench:${step}:${performance.now().toFixed(3)}`;
        acks.push(
          m.socket
            .timeout(10_000)
            .emitWithAck('message:send', { room: m.room, text })
            .then((ack) => ack.ok, () => false),
        );
      }
      await sleep(5);
    }
    const elapsed = (performance.now() - start) / 1000;
    const failures = (await Promise.all(acks)).filter((ok) => !ok).length;
    return { sent, sentPerSecond: sent / elapsed, expected, failures };
  };

  currentStep = 0;
  await sendAt(params.rates[0]!, params.warmupMs, 0);

  const steps: ChatStep[] = [];
  let step = 0;
  const runStep = async (rate: number): Promise<ChatStep> => {
    samples = [];
    delivered = 0;
    currentStep = ++step;
    phase('measure-start', `${rate} msg/s`);
    const sent = await sendAt(rate, params.stepMs, step);
    phase('measure-end', `${rate} msg/s`);
    // Deliveries still in flight count, as long as they come within a bounded grace period.
    const graceEnd = performance.now() + 3_000;
    while (delivered < sent.expected && performance.now() < graceEnd) await sleep(20);
    // Not delivered at all counts as infinitely late.
    const missing = sent.expected - delivered;
    const all = missing > 0 ? samples.concat(new Array<number>(missing).fill(Number.POSITIVE_INFINITY)) : samples;
    const [p50, p99] = percentiles(all, [50, 99]);
    const sustained =
      p99! < params.p99LimitMs && delivered >= sent.expected * 0.999 && sent.failures === 0 && sent.sentPerSecond >= rate * 0.95;
    return { rate, sentPerSecond: sent.sentPerSecond, p50Ms: p50!, p99Ms: p99!, delivered, expected: sent.expected, ackFailures: sent.failures, sustained };
  };
  for (const rate of params.rates) {
    let result = await runStep(rate);
    // One retry: on a shared machine a single noisy second shouldn't end the climb.
    if (!result.sustained) result = await runStep(rate);
    steps.push(result);
    if (!result.sustained) break;
  }

  for (const m of members) m.socket.close();
  await sleep(200);
  const maxSustainedRate = Math.max(0, ...steps.filter((s) => s.sustained).map((s) => s.rate));
  return { clients: members.length, connectSeconds, instances, steps, maxSustainedRate } satisfies ChatResult;
});
