import { setTimeout as sleep } from 'node:timers/promises';
import type WebSocket from 'ws';
import {
  ABORT_KINDS,
  CYCLE_ENDINGS,
  httpExchange,
  inParallel,
  openWebSocket,
  webSocketCycle,
  type AbortKind,
  type CycleEnding,
} from './clients.js';

/** The three soak scenarios, each returning what the clients saw so the test can check it. */

/** `count` WebSocket connect/message/disconnect cycles, the four endings in turn. */
export async function webSocketCycles(port: number, count: number, parallel = 32): Promise<Record<CycleEnding, Record<number, number>>> {
  const seen = Object.fromEntries(CYCLE_ENDINGS.map((e) => [e, {}])) as Record<CycleEnding, Record<number, number>>;
  await inParallel(count, parallel, async (i) => {
    const ending = CYCLE_ENDINGS[i % CYCLE_ENDINGS.length] as CycleEnding;
    const code = await webSocketCycle(port, ending, i);
    seen[ending][code] = (seen[ending][code] ?? 0) + 1;
  });
  return seen;
}

/**
 * `count` aborted exchanges, the kinds in turn; before each round of kinds, one good request
 * on a kept-alive upstream connection, so broken answers also arrive on reused connections.
 */
export async function abortedExchanges(port: number, count: number, parallel = 24): Promise<Record<AbortKind | 'ok', Record<string, number>>> {
  const seen: Record<string, Record<string, number>> = {};
  const note = (kind: string, outcome: string) => {
    const counts = (seen[kind] ??= {});
    counts[outcome] = (counts[outcome] ?? 0) + 1;
  };
  await inParallel(count, parallel, async (i) => {
    const kind = ABORT_KINDS[i % ABORT_KINDS.length] as AbortKind;
    if (i % ABORT_KINDS.length === 0) note('ok', await httpExchange(port, 'ok'));
    note(kind, await httpExchange(port, kind));
  });
  return seen as Record<AbortKind | 'ok', Record<string, number>>;
}

export interface HoldResult {
  readonly opened: number;
  /** Connections that closed while held. */
  readonly dropped: number;
  readonly pingRounds: number;
  /** Pings without a pong, over all rounds. */
  readonly missedPongs: number;
  /** Connections that echoed a message at the end of the hold. */
  readonly echoedAtEnd: number;
}

/**
 * Opens `count` WebSocket connections, holds them for `holdMs` with a ping on every connection
 * each `pingEveryMs`, checks each still echoes, calls `whileHeld` (to weigh the gateway with
 * everything open), then closes them all cleanly.
 */
export async function holdConnections(
  port: number,
  count: number,
  holdMs: number,
  pingEveryMs: number,
  whileHeld: () => Promise<void>,
): Promise<HoldResult> {
  const sockets: WebSocket[] = [];
  let dropped = 0;
  let closing = false;
  try {
    // Batches of 100 in flight, well inside the listen backlog.
    await inParallel(count, 100, async () => {
      const ws = await openWebSocket(port);
      ws.once('close', () => {
        if (!closing) dropped++;
      });
      sockets.push(ws);
    });

    // Rounds on a fixed schedule, however long each takes.
    const start = Date.now();
    const pingRounds = Math.floor(holdMs / pingEveryMs);
    let missedPongs = 0;
    for (let round = 1; round <= pingRounds; round++) {
      await sleep(Math.max(0, start + round * pingEveryMs - Date.now()));
      const pongs = await Promise.all(sockets.map((ws) => pong(ws, pingEveryMs * 3)));
      missedPongs += pongs.filter((ok) => !ok).length;
    }
    await sleep(Math.max(0, start + holdMs - Date.now()));

    let echoedAtEnd = 0;
    await inParallel(sockets.length, 200, async (i) => {
      const ws = sockets[i] as WebSocket;
      if (ws.readyState !== ws.OPEN) return;
      const text = `still here ${i}`;
      const back = new Promise<boolean>((resolve) => {
        ws.once('message', (data: Buffer) => resolve(data.toString() === text));
        ws.once('close', () => resolve(false));
      });
      ws.send(text);
      if (await back) echoedAtEnd++;
    });
    await whileHeld();
    return { opened: sockets.length, dropped, pingRounds, missedPongs, echoedAtEnd };
  } finally {
    closing = true;
    await Promise.all(
      sockets.map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === ws.CLOSED) return resolve();
            ws.once('close', () => resolve());
            ws.close(1000, 'done');
            // A close handshake that never completes still ends the connection.
            setTimeout(() => ws.terminate(), 10_000).unref();
          }),
      ),
    );
  }
}

/** Pings one connection; true once its pong comes back through the gateway. */
function pong(ws: WebSocket, timeoutMs: number): Promise<boolean> {
  if (ws.readyState !== ws.OPEN) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      ws.off('pong', onPong);
      ws.off('close', onClose);
      resolve(ok);
    };
    const onPong = () => done(true);
    const onClose = () => done(false);
    const timer = setTimeout(() => done(false), timeoutMs);
    ws.once('pong', onPong);
    ws.once('close', onClose);
    ws.ping();
  });
}
