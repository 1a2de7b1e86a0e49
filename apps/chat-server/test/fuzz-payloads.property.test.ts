import { randomUUID } from 'node:crypto';
import { clientEventSchemas, clientIdPattern, limits, roomPattern, type ClientEvent } from '@chat/protocol';
import { connectClient, nextEvent, type ChatClient } from '@chat/devstack';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { noRateLimit, startCluster, type Cluster } from './cluster.js';

// Property-based fuzzing of what a Socket.IO client can send: every client event with arbitrary
// payloads and ack arrangements, arbitrary event names, raw Socket.IO packets and handshake auth,
// against two real chat server processes sharing a real Redis. Every ack must be valid per the
// protocol, the servers must stay up and log no error, and bystanders must keep chatting.
// Fixed seeds (FUZZ_SEED overrides them); FUZZ_RUNS=N multiplies the runs.
const SCALE = Math.max(1, Number(process.env.FUZZ_RUNS ?? 1));
const settings = (runs: number, seed: number) => ({ numRuns: runs * SCALE, seed: Number(process.env.FUZZ_SEED ?? seed), endOnFailure: true });
/** A liveness bound for an ack that must come, not a timing claim. */
const ACK_BOUND_MS = 10_000;

// --- what a valid ack looks like ---------------------------------------------------------------

const room = z.string().regex(roomPattern);
const user = z.object({ id: z.string().min(1), name: z.string().min(1) }).strict();
const message = z
  .object({ id: z.string().regex(/^\d+-\d+$/), room, author: user, text: z.string().min(1), ts: z.number(), instance: z.string() })
  .strict();
const ok = <T extends z.ZodRawShape>(shape: T) => z.object({ ok: z.literal(true), ...shape }).strict();
const okAck: Record<ClientEvent, z.ZodType> = {
  'room:join': ok({ room, messages: z.array(message) }),
  'room:leave': ok({}),
  'message:send': ok({ message }),
  'rooms:list': ok({ rooms: z.array(z.object({ room, members: z.number().int().min(0), lastMessage: message.optional() }).strict()) }),
  'history:fetch': ok({ messages: z.array(message) }),
  typing: ok({}),
};
/** `unavailable` (Redis down) cannot happen here, and `internal` means a handler threw: a bug. */
const failedAck = z
  .object({ ok: z.literal(false), error: z.object({ code: z.enum(['invalid', 'not_joined', 'rate_limited']), message: z.string().min(1) }).strict() })
  .strict();

const EVENTS = Object.keys(clientEventSchemas) as ClientEvent[];
const isClientEvent = (name: unknown): name is ClientEvent => typeof name === 'string' && Object.hasOwn(clientEventSchemas, name);

// --- the cluster, the fuzzer and the bystanders ---------------------------------------------

let cluster: Cluster;
/** Server output lines that mean something went wrong: pino errors/fatals, anything on stderr. */
const faults: string[] = [];
let fuzzer: ChatClient;
/** Two users on different instances who keep talking while the fuzzer works. */
let speaker: ChatClient;
let listener: ChatClient;
const WATCH_ROOM = 'fuzz-watch';

beforeAll(async () => {
  cluster = await startCluster(2, noRateLimit);
  for (const server of cluster.servers) {
    let partial = '';
    server.child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (/"level":(50|60)/.test(line)) faults.push(`${server.instance}: ${line}`);
    });
    server.child.stderr?.on('data', (chunk: Buffer) => faults.push(`${server.instance} stderr: ${chunk.toString('utf8')}`));
  }
  speaker = (await cluster.connect(cluster.servers[0]!, 'speaker')).socket;
  listener = (await cluster.connect(cluster.servers[1]!, 'listener')).socket;
  for (const socket of [speaker, listener]) expect((await socket.emitWithAck('room:join', { room: WATCH_ROOM })).ok).toBe(true);
  fuzzer = (await cluster.connect(cluster.servers[0]!, 'fuzzer')).socket;
});

afterAll(async () => {
  fuzzer?.close();
  await cluster?.stop();
});

/** A payload too large for maxHttpBufferSize legitimately closes the fuzzer's connection. */
beforeEach(async () => {
  if (!fuzzer.connected) await freshFuzzer();
});

async function freshFuzzer(): Promise<void> {
  fuzzer.close();
  fuzzer = (await cluster.connect(cluster.servers[0]!, 'fuzzer')).socket;
}

/** The fuzzer's socket without the protocol's types: it sends what the types forbid. */
const loose = (socket: ChatClient) => socket as unknown as { emit(event: unknown, ...args: unknown[]): void };

/**
 * After every case: both servers alive and silent about errors, the fuzzer's own connection (if
 * it survived) still answers, Object.prototype of the server is intact (a `room` inherited from a
 * polluted prototype would make `{}` a valid join), and the bystanders still get each other's
 * messages across instances.
 */
async function everythingStillWorks(): Promise<void> {
  for (const server of cluster.servers) {
    expect(server.child.exitCode, `${server.instance} exited`).toBeNull();
    expect(server.child.signalCode, `${server.instance} was killed`).toBeNull();
  }
  expect(faults).toEqual([]);
  // The case may have closed the fuzzer's connection (oversized or unparsable input): then a
  // fresh connection must work.
  let listed = await emit({ event: 'rooms:list', args: [{}], ack: true });
  if (listed.kind === 'disconnected') {
    await freshFuzzer();
    listed = await emit({ event: 'rooms:list', args: [{}], ack: true });
  }
  expect(listed.kind === 'ack' && okAck['rooms:list'].safeParse(listed.response[0]).success, JSON.stringify(listed)).toBe(true);
  expect(await speaker.timeout(ACK_BOUND_MS).emitWithAck('room:join', {} as never)).toEqual({
    ok: false,
    error: { code: 'invalid', message: 'room: must be a string' },
  });
  const text = `still here ${randomUUID()}`;
  const heard = nextEvent(listener, 'message:new', (m) => m.text === text, ACK_BOUND_MS);
  const sent = await speaker.timeout(ACK_BOUND_MS).emitWithAck('message:send', { room: WATCH_ROOM, text });
  expect(sent.ok).toBe(true);
  await heard;
}

// --- payloads ------------------------------------------------------------------------------

/** An own property even for `__proto__` (an object literal would set the prototype instead). */
function objectOf(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

const KEYS = ['room', 'text', 'clientId', 'before', 'after', 'limit', 'typing', 'name', 'userId', '__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '_placeholder', 'num'];

/** Mostly `usual`, sometimes `odd`: most payloads get past validation into the handlers. */
const mostly = <T, U>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<U>) => fc.oneof({ arbitrary: usual, weight: 4 }, odd);

const validRoom = fc.oneof(fc.constantFrom('lobby', WATCH_ROOM, 'fuzz', '0', 'x'.repeat(64)), fc.stringMatching(roomPattern));
const oddRoom = fc.oneof(
  fc.constantFrom('x'.repeat(65), 'Lobby', '-a', 'a b', '', ' lobby', 'lobby\n', '__proto__', 'constructor', 'é', 'a\u0000'),
  fc.string({ maxLength: 12 }),
);
const validText = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }).map((t) => `m${t}`),
  fc.constantFrom('x'.repeat(limits.textMaxLength), ` ${'y'.repeat(limits.textMaxLength)} `, 'é'.repeat(limits.textMaxLength), '\u202e evil', 'a\u0000b'),
);
const oddText = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', ' ', '\n\t', 'x'.repeat(limits.textMaxLength + 1), '😀'.repeat(limits.textMaxLength / 2 + 1)),
);
/** Larger than maxHttpBufferSize: the server may close the connection, and must stay up. */
const huge = fc.constantFrom('z'.repeat(64 * 1024), 'z'.repeat(20 * 1024));
const messageId = fc.oneof(fc.constantFrom('0-0', '1-1', '999999999999999-999999999999999', '1700000000000-0', '-', '1-', '9'.repeat(16) + '-0'), fc.string({ maxLength: 12 }));
const scalar = fc.oneof(
  fc.boolean(),
  fc.integer(),
  fc.double(), // NaN, ±Infinity and -0 included: JSON turns them into null or 0, as Socket.IO sends them
  fc.constantFrom(null, undefined, 0, -1, 1, 100, 101, 1.5, 1e21, Number.MAX_SAFE_INTEGER + 2),
  fc.string({ maxLength: 16 }),
);
const binary = fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes));

const { value, object } = fc.letrec<{ value: unknown; array: unknown[]; object: Record<string, unknown> }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, validRoom, oddRoom, oddText, binary, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 8 })), tie('value')), { maxLength: 5 }).map(objectOf),
}));

/** Absent (an `undefined` field is dropped by JSON), valid, or wrong. */
const optional = <T, U>(valid: fc.Arbitrary<T>, odd: fc.Arbitrary<U>) =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: valid, weight: 2 }, odd);

/** Shaped like a real payload: each field mostly right, sometimes missing, wrong or at its limit. */
const nearlyValid = fc
  .record({
    room: mostly(validRoom, fc.oneof(oddRoom, scalar)),
    text: mostly(validText, fc.oneof(oddText, scalar)),
    clientId: optional(fc.stringMatching(clientIdPattern), fc.oneof(fc.string({ maxLength: 70 }), scalar)),
    before: optional(fc.constant('1-0'), fc.oneof(messageId, scalar)),
    after: optional(fc.constant('1-0'), fc.oneof(messageId, scalar)),
    limit: optional(fc.integer({ min: 1, max: limits.fetchMax }), fc.oneof(fc.integer({ min: -2, max: limits.fetchMax + 2 }), scalar)),
    typing: mostly(fc.boolean(), scalar),
    extra: fc.oneof({ arbitrary: fc.constant({}), weight: 3 }, object),
  })
  .chain(({ extra, ...fields }) =>
    fc.oneof(
      { arbitrary: fc.constant({ ...extra, ...fields }), weight: 4 },
      // A `__proto__` own key carrying what would pollute Object.prototype.
      fc.constant(objectOf([...Object.entries({ ...extra, ...fields }), ['__proto__', { room: 'polluted', text: 'polluted', typing: true, limit: 1 }]])),
    ),
  );

const payload = fc.oneof({ arbitrary: nearlyValid, weight: 6 }, { arbitrary: value, weight: 3 }, huge);

const CLIENT_RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);
const eventName = fc.oneof(
  { arbitrary: fc.constantFrom(...EVENTS), weight: 8 },
  fc.constantFrom('error', 'message', 'session', 'message:new', 'presence:update', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'room:join ', 'ROOM:JOIN', '', 'e'.repeat(1000)),
  fc.string({ maxLength: 16 }).filter((name) => !CLIENT_RESERVED.has(name)),
  fc.integer(),
);

interface Emission {
  readonly event: string | number;
  readonly args: readonly unknown[];
  /** Whether the last argument is an ack callback. */
  readonly ack: boolean;
}

const emission: fc.Arbitrary<Emission> = fc.record({
  event: eventName,
  args: fc.oneof({ arbitrary: fc.tuple(payload), weight: 4 }, fc.array(payload, { maxLength: 3 })),
  ack: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, fc.constant(false)),
});

type Outcome = { kind: 'ack'; response: unknown[] } | { kind: 'disconnected' } | { kind: 'unacked' };

/** Acks that arrived for events the server does not handle (there must be none). */
const strayAcks: unknown[][] = [];
const tally = { ok: 0, failed: 0 };

/** Emits on the fuzzer's socket; resolves with the ack, or when the connection closed first. */
function emit({ event, args, ack }: Emission): Promise<Outcome> {
  const socket = loose(fuzzer);
  if (!ack) {
    socket.emit(event, ...args);
    return Promise.resolve({ kind: 'unacked' });
  }
  // Unknown events are never acked: their callback would wait for ever, so don't wait on it.
  if (!isClientEvent(event)) {
    socket.emit(event, ...args, (...response: unknown[]) => strayAcks.push(response));
    return Promise.resolve({ kind: 'unacked' });
  }
  if (!fuzzer.connected) return Promise.resolve({ kind: 'disconnected' });
  return new Promise((resolve, reject) => {
    const settle = (outcome: Outcome) => {
      clearTimeout(timer);
      fuzzer.off('disconnect', onDisconnect);
      resolve(outcome);
    };
    const onDisconnect = () => settle({ kind: 'disconnected' });
    const timer = setTimeout(() => reject(new Error(`no ack for "${event}" within ${ACK_BOUND_MS} ms`)), ACK_BOUND_MS);
    fuzzer.once('disconnect', onDisconnect);
    socket.emit(event, ...args, (...response: unknown[]) => settle({ kind: 'ack', response }));
  });
}

/** The property: an ack (if one was asked for) that the protocol allows, and everything still works. */
async function ackIsValid(e: Emission): Promise<void> {
  const outcome = await emit(e);
  if (outcome.kind === 'ack') {
    expect(outcome.response).toHaveLength(1);
    const [response] = outcome.response;
    if (okAck[e.event as ClientEvent].safeParse(response).success) tally.ok++;
    else if (failedAck.safeParse(response).success) tally.failed++;
    else expect.fail(`"${String(e.event)}" acked with ${JSON.stringify(response)}`);
  }
  await everythingStillWorks();
  expect(strayAcks).toEqual([]);
}

// --- raw Socket.IO packets and handshakes ----------------------------------------------------

/** Socket.IO packet text: type, attachments, namespace, ack id, JSON; each part possibly broken. */
const rawPacket = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '9', 'x', ''),
      fc.constantFrom('', '', '1-', '2-', '0-', '-', '99999999999999999999-'),
      fc.constantFrom('', '', '/', '/admin,', '/,', '/nope'),
      fc.oneof(fc.constant(''), fc.nat().map(String), fc.constant('99999999999999999999')),
      fc.oneof(
        fc.tuple(fc.oneof(eventName, fc.constantFrom('error', 'disconnecting', 'newListener')), payload).map(([name, p]) => JSON.stringify([name, p])),
        fc.constantFrom('', '[]', '{}', 'null', '"x"', '[1]', '[{"_placeholder":true,"num":0}]', '["room:join",{"_placeholder":true,"num":7}]', '[', '{"a":'),
        value.map((v) => JSON.stringify(v) ?? ''),
      ),
    )
    .map((parts) => parts.join('')),
  fc.string({ maxLength: 40 }),
  binary,
);

const handshakeAuth = fc.oneof(
  object,
  fc.record(
    {
      name: fc.oneof(
        fc.string({ maxLength: 40 }),
        fc.string({ unit: 'grapheme', maxLength: 34 }),
        fc.constantFrom(' Ada ', '\u202eAda', 'A\u0000', 'x'.repeat(limits.nameMaxLength), 'x'.repeat(limits.nameMaxLength + 1), 'e\u0301'),
        scalar,
      ),
      userId: fc.oneof(fc.stringMatching(clientIdPattern), scalar),
    },
    { requiredKeys: [] },
  ),
);

/** Counterexamples found so far (now fixed), replayed first on every run. */
const FOUND: [Emission][] = [
  // Redis refused `(0-0` as an exclusive end: an `internal` ack and an error log.
  [{ event: 'history:fetch', args: [{ room: 'lobby', before: '0-0' }], ack: true }],
  [{ event: 'history:fetch', args: [{ room: 'lobby', before: '00-000', after: '1-0' }], ack: true }],
];

describe('Socket.IO payload fuzzing (fast-check, fixed seeds)', () => {
  it('every client event with arbitrary payloads and ack arrangements gets a valid ack, and nothing breaks', async () => {
    await fc.assert(fc.asyncProperty(emission, ackIsValid), { ...settings(500, 20261126), examples: FOUND });
    // Both ways out were exercised: past validation into the handlers, and refused by it.
    expect(tally.ok).toBeGreaterThan(0);
    expect(tally.failed).toBeGreaterThan(0);
  }, 300_000 * SCALE);

  it('raw Socket.IO packets never take a server down', async () => {
    await fc.assert(
      fc.asyncProperty(rawPacket, async (packet) => {
        fuzzer.io.engine.write(packet as string);
        // The packet may legitimately end the session (`1` is the client leaving the namespace,
        // which the server does not answer): judge the server through a fresh connection.
        await freshFuzzer();
        await everythingStillWorks();
      }),
      settings(300, 20261127),
    );
  }, 300_000 * SCALE);

  it('arbitrary handshake auth gets a session with a valid name or a connect_error saying why', async () => {
    await fc.assert(
      fc.asyncProperty(handshakeAuth, async (auth) => {
        const outcome = await connectClient(cluster.servers[1]!.url, '', { auth: auth as Record<string, unknown> }).then(
          ({ socket, session }) => {
            socket.close();
            return session;
          },
          (error: Error) => error,
        );
        if (outcome instanceof Error) expect(outcome.message).toMatch(/^invalid handshake: /);
        else expect(user.safeParse(outcome.user).success).toBe(true);
        await everythingStillWorks();
      }),
      settings(150, 20261128),
    );
  }, 300_000 * SCALE);

  it('a __proto__ key in a payload changes nothing for anyone else', async () => {
    const polluting = JSON.parse('{"__proto__":{"room":"polluted","text":"polluted","typing":true}}') as unknown;
    expect(await fuzzer.timeout(ACK_BOUND_MS).emitWithAck('room:join', polluting as never)).toEqual({
      ok: false,
      error: { code: 'invalid', message: 'room: must be a string' },
    });
    expect(await fuzzer.timeout(ACK_BOUND_MS).emitWithAck('message:send', polluting as never)).toMatchObject({ ok: false, error: { code: 'invalid' } });
    // Still a plain room for a payload that names it next to a __proto__ key.
    const joined = await fuzzer.timeout(ACK_BOUND_MS).emitWithAck('room:join', JSON.parse('{"room":"proto-check","__proto__":{"room":"x"}}') as never);
    expect(joined).toEqual({ ok: true, room: 'proto-check', messages: [] });
    await everythingStillWorks();
  });
});
