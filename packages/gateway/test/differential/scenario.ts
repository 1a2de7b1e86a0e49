import { setTimeout as sleep } from 'node:timers/promises';
import { exchange, RawConnection, type RawResponse } from './client.js';
import type { EngineName } from './harness.js';
import { normalizeResponse, normalizeUpstreamRequest, type NormalizedResponse } from './normalize.js';
import type { Behaviour, UpstreamKind, UpstreamSet } from './upstreams.js';

/**
 * A scenario: traffic sent to one engine, and what of the outcome is compared. Scenarios
 * sharing a configuration form a group; each group gets fresh processes of both engines.
 */

export interface Scenario {
  readonly name: string;
  /** Sends the traffic and returns the client-visible outcome (normalized). */
  run(cx: RunContext): Promise<unknown>;
  /**
   * What the upstreams saw, added to the outcome: `full` (every request: instance, connection,
   * line, headers, body), `picks` (just the sequence of instances), `none`.
   */
  readonly upstream?: 'full' | 'picks' | 'none';
  /** Also compare how many TCP connections each upstream instance accepted. */
  readonly connections?: boolean;
  /**
   * What the scenario claims about nginx, checked on nginx's outcome (and so, through the
   * comparison, on the gateway's). It keeps a scenario honest: both engines being equally
   * wrong about the feature cannot pass.
   */
  readonly expectNginx?: (outcome: Outcome) => void;
  /**
   * A deliberate, documented difference: `documented` is quoted from the README; `check`
   * asserts the difference as documented (instead of equality).
   */
  readonly difference?: {
    readonly documented: string;
    readonly check: (nginx: Outcome, gateway: Outcome) => void;
  };
  /**
   * A gateway bug this scenario found and that is reported but not fixed yet: `check` asserts
   * the present divergence exactly. Once the outcomes are equal the scenario counts as a match
   * (and says the annotation can go).
   */
  readonly bug?: {
    readonly description: string;
    readonly check: (nginx: Outcome, gateway: Outcome) => void;
  };
}

export interface Group {
  readonly name: string;
  /** For the per-feature counts of the summary. */
  readonly feature: string;
  /** Config template: `{{LISTEN}}`, `{{UPSTREAM_n}}`. */
  readonly config: string;
  readonly upstreams: readonly UpstreamKind[];
  /**
   * Words of the config the gateway may not support yet (`max_fails=`, `location ~`, ...).
   * If `-t` refuses the config, the refusal must point at a line holding one of them.
   */
  readonly needs?: readonly string[];
  /** More files next to the config (for `include`), by name; `{{UPSTREAM_n}}` is substituted. */
  readonly files?: Readonly<Record<string, string>>;
  readonly scenarios: readonly Scenario[];
}

/** What one request got: a response, or the connection closed without one. */
export type Reply = NormalizedResponse | 'closed';

export interface Outcome {
  readonly client: unknown;
  readonly upstream?: unknown;
  readonly connections?: Record<string, number>;
}

export interface RunContext {
  readonly engine: EngineName;
  readonly port: number;
  readonly upstreams: UpstreamSet;
  /** Sets what upstream instance `i` answers for the rest of this scenario. */
  behave(i: number, behaviour: Behaviour): void;
  /** Upstream instance `i` closes every new connection at once. */
  closeOnAccept(i: number): void;
  /** One request on its own connection; the normalized response, or `closed`. */
  send(request: string | Buffer | (string | Buffer)[], options?: { head?: boolean; timeoutMs?: number }): Promise<NormalizedResponse | 'closed'>;
  /** A raw connection to the engine. */
  open(): Promise<RawConnection>;
  normalize(r: RawResponse | 'closed'): NormalizedResponse | 'closed';
  /**
   * `n` requests, one after the other, on keep-alive client connections (a new one only when
   * the engine closes the current one). Returns the normalized responses.
   */
  sequence(n: number, request: (i: number) => string): Promise<(NormalizedResponse | 'closed')[]>;
  /** Sends a signal to the engine's (master) process. */
  signal(signal: NodeJS.Signals): void;
}

export function makeContext(engine: EngineName, port: number, upstreams: UpstreamSet, signal: (s: NodeJS.Signals) => void = () => {}): RunContext {
  const normalize = (r: RawResponse | 'closed'): NormalizedResponse | 'closed' => (r === 'closed' ? r : normalizeResponse(r, port));
  return {
    engine,
    port,
    upstreams,
    behave(i, behaviour) {
      (upstreams.instances[i] as { behaviour: Behaviour }).behaviour = behaviour;
    },
    closeOnAccept(i) {
      (upstreams.instances[i] as { closeOnAccept: boolean }).closeOnAccept = true;
    },
    async send(request, options) {
      return normalize(await exchange(port, request, options));
    },
    open: () => RawConnection.open(port),
    signal,
    normalize,
    async sequence(n, request) {
      const out: (NormalizedResponse | 'closed')[] = [];
      let conn: RawConnection | null = null;
      try {
        for (let i = 0; i < n; i++) {
          conn ??= await RawConnection.open(port);
          const text = request(i);
          conn.write(text);
          const r = await conn.readOutcome({ head: text.startsWith('HEAD ') });
          out.push(normalize(r));
          const closing = r === 'closed' || r.headers.some(([k, v]) => k.toLowerCase() === 'connection' && /close/i.test(v));
          if (closing) {
            conn.destroy();
            conn = null;
          }
        }
      } finally {
        conn?.destroy();
      }
      return out;
    },
  };
}

/** Runs one scenario on one engine: fresh upstream recordings, traffic, then the outcome. */
export async function observe(
  scenario: Scenario,
  engine: EngineName,
  port: number,
  upstreams: UpstreamSet,
  signal?: (s: NodeJS.Signals) => void,
): Promise<Outcome> {
  upstreams.reset();
  const started = Date.now();
  const client = await scenario.run(makeContext(engine, port, upstreams, signal));
  if (process.env.DIFF_DEBUG) console.log(`${scenario.name} on ${engine}: ${Date.now() - started} ms`);
  // Let in-flight upstream traffic (a retry, a close) land before reading the recordings.
  await sleep(30);
  const mode = scenario.upstream ?? 'full';
  const outcome: { client: unknown; upstream?: unknown; connections?: Record<string, number> } = { client };
  if (mode === 'full') outcome.upstream = upstreams.requests.map((r) => normalizeUpstreamRequest(r, port));
  if (mode === 'picks') outcome.upstream = upstreams.requests.map((r) => r.instance).join(' ');
  if (scenario.connections) {
    outcome.connections = Object.fromEntries(upstreams.instances.map((u) => [u.name, u.connections]));
  }
  upstreams.reset();
  if (process.env.DIFF_DEBUG) console.log(JSON.stringify(outcome, null, 1).slice(0, Number(process.env.DIFF_DEBUG) || 3000));
  return outcome;
}

// --- request builders -------------------------------------------------------------------------

export interface RequestOptions {
  readonly method?: string;
  /** `null`: no Host header at all. */
  readonly host?: string | null;
  readonly headers?: readonly [string, string][];
  readonly body?: string;
  readonly version?: '1.0' | '1.1';
}

/** An HTTP/1.x request as text. A body gets a Content-Length unless a header frames it. */
export function request(target: string, options: RequestOptions = {}): string {
  const version = options.version ?? '1.1';
  let text = `${options.method ?? 'GET'} ${target} HTTP/${version}\r\n`;
  const host = options.host === undefined ? 'test.example' : options.host;
  if (host !== null) text += `Host: ${host}\r\n`;
  const headers = options.headers ?? [];
  for (const [n, v] of headers) text += `${n}: ${v}\r\n`;
  const framed = headers.some(([n]) => /^(content-length|transfer-encoding)$/i.test(n));
  if (options.body !== undefined && !framed) text += `Content-Length: ${Buffer.byteLength(options.body, 'latin1')}\r\n`;
  return `${text}\r\n${options.body ?? ''}`;
}

/** A body as chunked transfer coding, in pieces of `size` bytes. */
export function chunked(body: string, size: number): string {
  let out = '';
  for (let at = 0; at < body.length; at += size) {
    const piece = body.slice(at, at + size);
    out += `${piece.length.toString(16)}\r\n${piece}\r\n`;
  }
  return `${out}0\r\n\r\n`;
}

/** Deterministic filler text of `n` bytes. */
export function filler(n: number, seed = 'abcdefghijklmnopqrstuvwxyz0123456789'): string {
  return seed.repeat(Math.ceil(n / seed.length)).slice(0, n);
}

/** The statuses of a list of outcomes, compactly (`200 x 999, 502`). */
export function statuses(list: readonly (NormalizedResponse | 'closed')[]): string {
  const parts: string[] = [];
  let last = '';
  let run = 0;
  const flush = () => {
    if (run) parts.push(run > 1 ? `${last} x ${run}` : last);
  };
  for (const r of list) {
    const s = r === 'closed' ? 'closed' : String(r.status);
    if (s === last) run++;
    else {
      flush();
      last = s;
      run = 1;
    }
  }
  flush();
  return parts.join(', ');
}

/** Counts of each instance in a `picks` string. */
export function tally(picks: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of String(picks).split(' ').filter(Boolean)) out[p] = (out[p] ?? 0) + 1;
  return out;
}

/** The standard head of every config: one worker (determinism), small events block. */
export function conf(http: string): string {
  return `worker_processes 1;\nevents { worker_connections 1024; }\nhttp {\n${http}\n}\n`;
}

/** Sends a request that asks to upgrade; on a 101, checks that bytes come back through the tunnel. */
export async function tunnelAttempt(cx: RunContext, bytes: string): Promise<{ response: Reply; echoed: string | null }> {
  const conn = await cx.open();
  conn.write(bytes);
  const response = cx.normalize(await conn.readOutcome());
  let echoed: string | null = null;
  if (response !== 'closed' && response.status === 101) {
    conn.write('ping');
    echoed = (await conn.readBytes(4)).toString('latin1');
  }
  conn.destroy();
  return { response, echoed };
}
