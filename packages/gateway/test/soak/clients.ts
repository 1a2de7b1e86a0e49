import { connect } from 'node:net';
import WebSocket from 'ws';
import { MISBEHAVIOURS } from './upstreams.js';

/**
 * The soak's traffic: real `ws` clients and raw TCP HTTP clients against the gateway. Every
 * helper closes what it opened, so whatever stays open afterwards is the gateway's.
 */

// A liveness bound for one step; a healthy run takes milliseconds.
const STEP_MS = 15_000;

function within<T>(what: string, promise: Promise<T>, ms = STEP_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs `task(0..count-1)` with at most `parallel` in flight; rejects on the first failure. */
export async function inParallel(count: number, parallel: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
}

export function openWebSocket(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/`, { perMessageDeflate: false });
  ws.on('error', () => {}); // the events that matter are open, message and close
  return within(
    'WebSocket open',
    new Promise<WebSocket>((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('close', (code) => reject(new Error(`WebSocket closed (${code}) before it opened`)));
    }),
  );
}

function echo(ws: WebSocket, text: string): Promise<void> {
  const answered = new Promise<void>((resolve, reject) => {
    ws.once('message', (data: Buffer) => (data.toString() === text ? resolve() : reject(new Error(`echo was "${data.toString()}"`))));
  });
  ws.send(text);
  return within('WebSocket echo', answered);
}

/** How a connect/message/disconnect cycle ends. */
export const CYCLE_ENDINGS = ['client-close', 'client-reset', 'upstream-close', 'upstream-reset'] as const;
export type CycleEnding = (typeof CYCLE_ENDINGS)[number];

/** Connect, one message and its echo, then the given ending; resolves with the close code seen. */
export async function webSocketCycle(port: number, ending: CycleEnding, n: number): Promise<number> {
  const ws = await openWebSocket(port);
  await echo(ws, `message ${n}`);
  // Not events.once: a reset may also emit 'error', which must not count as a failure here.
  const closed = new Promise<number>((resolve) => ws.once('close', (code: number) => resolve(code)));
  switch (ending) {
    case 'client-close':
      ws.close(1000, 'done');
      break;
    case 'client-reset':
      // The client vanishes: nothing tells the gateway but the socket closing.
      ws.terminate();
      break;
    case 'upstream-close':
    case 'upstream-reset':
      ws.send(ending === 'upstream-close' ? 'close' : 'reset');
      break;
  }
  return within(`WebSocket close (${ending})`, closed);
}

/** The aborted exchanges: the upstream's misbehaviours plus two ways a client gives up. */
export const ABORT_KINDS = [...MISBEHAVIOURS, 'client-abort-body', 'client-abort-waiting'] as const;
export type AbortKind = (typeof ABORT_KINDS)[number];

/**
 * One HTTP exchange through the gateway; resolves with what the client saw: `status N`,
 * `cut-short` (the connection closed before a complete response: a head and part of the body,
 * or not even the head) or `client-aborted` (the client hung up on purpose).
 */
export function httpExchange(port: number, kind: AbortKind | 'ok'): Promise<string> {
  return within(
    `HTTP exchange ${kind}`,
    new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let received = Buffer.alloc(0);
      let result: string | null = null;
      const hangUp = () => {
        result = 'client-aborted';
        socket.destroy();
      };
      socket.on('error', () => {}); // a reset shows as 'close' with what arrived so far
      socket.on('connect', () => {
        if (kind === 'client-abort-body') {
          // Mid-request: the head and a tenth of the announced body, then gone.
          socket.write(`POST /silent HTTP/1.1\r\nHost: soak\r\nContent-Length: 10000\r\n\r\n${'b'.repeat(1000)}`, 'latin1');
          setTimeout(hangUp, 20);
        } else if (kind === 'client-abort-waiting') {
          // The request is complete; the client gives up before proxy_read_timeout.
          socket.write('GET /silent HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n', 'latin1');
          setTimeout(hangUp, 50);
        } else {
          socket.write(`GET /${kind} HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n`, 'latin1');
        }
      });
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        // Mid-response: the first dripped byte, then gone.
        if (kind === 'slow-drip' && parseResponse(received)?.bodyBytes) hangUp();
      });
      socket.on('close', () => {
        if (result) return resolve(result);
        const parsed = parseResponse(received);
        resolve(!parsed || parsed.bodyBytes < parsed.length ? 'cut-short' : `status ${parsed.status}`);
      });
    }),
  );
}

function parseResponse(bytes: Buffer): { status: number; length: number; bodyBytes: number } | null {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = bytes.subarray(0, end).toString('latin1');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
  const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
  return { status, length, bodyBytes: bytes.length - end - 4 };
}

/** What each abort kind must look like to the client. */
export const EXPECTED_OUTCOME: Readonly<Record<AbortKind, string>> = {
  reset: 'status 502',
  'reset-mid-body': 'cut-short',
  'half-close': 'status 502',
  'half-close-mid-body': 'cut-short',
  silent: 'status 504',
  'close-after-headers': 'cut-short',
  'slow-drip': 'client-aborted',
  'client-abort-body': 'client-aborted',
  'client-abort-waiting': 'client-aborted',
};
