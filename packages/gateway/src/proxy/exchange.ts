import type { IncomingMessage } from 'node:http';
import { NEXT_UPSTREAM, type ProxyConfig } from '../config/types.js';
import { ResponseParser, type ParserEvents, type ResponseHead } from '../http1/response-parser.js';
import type { GatewayRuntime } from '../runtime.js';
import type { PeerSelection, ReleaseState } from '../upstream/balancer.js';
import type { UpstreamGroup } from '../upstream/group.js';
import { UpstreamConnection, type ConnectionOwner } from '../upstream/connection.js';
import { seconds, type RequestVariables } from '../variables.js';
import { pumpRequestBody, type BodyPump } from './body.js';
import { acceptsHandshake } from './websocket-handshake.js';

/**
 * One request to an upstream group, from picking a server to the end of the response:
 * connect (or reuse a keepalive connection), send, read the response, and when that fails
 * before anything reached the client, try the next server as nginx's ngx_http_upstream_next()
 * does under `proxy_next_upstream` (default `error timeout`).
 */

export type RequestBody =
  | { readonly kind: 'none' }
  /** `limit`: client_max_body_size in bytes (Infinity: none). */
  | { readonly kind: 'stream'; readonly source: IncomingMessage; readonly chunked: boolean; readonly limit: number }
  | { readonly kind: 'buffer'; readonly data: Buffer };

export type UpstreamPolicy = Pick<
  ProxyConfig,
  'connectTimeoutMs' | 'sendTimeoutMs' | 'readTimeoutMs' | 'nextUpstream' | 'nextUpstreamTries' | 'nextUpstreamTimeoutMs'
>;

export interface ExchangeRequest {
  readonly head: string;
  readonly body: RequestBody;
  /** POST, LOCK, PATCH: retried after being sent only with `non_idempotent`. */
  readonly nonIdempotent: boolean;
  readonly headRequest: boolean;
  /** The client asked to upgrade; a 101 hands the socket over instead of relaying a body. */
  readonly upgrade: boolean;
  /** For an upgrade: the `Sec-WebSocket-Accept` a 101 must carry (the client's handshake). */
  readonly websocketAccept?: string;
  /** Nothing in the request forbids keeping the connection (HTTP/1.1, no `Connection: close`). */
  readonly keepAlive: boolean;
  /** The location's proxy_*_timeout and proxy_next_upstream* settings (its ProxyConfig). */
  readonly policy: UpstreamPolicy;
  /** For log lines: `"GET / HTTP/1.1"`, client address. */
  readonly describe: string;
  /** Where `$upstream_addr`, `$upstream_status` and `$upstream_response_time` are recorded. */
  readonly vars?: RequestVariables;
}

/** The response body as it arrives. The consumer assigns the callbacks in `response()`. */
export interface ResponseBody {
  onData: (chunk: Buffer) => void;
  onEnd: () => void;
  /** The upstream failed after the head was relayed: the client connection must be dropped. */
  onAbort: () => void;
  pause(): void;
  resume(): void;
}

export interface ExchangeHandlers {
  response(head: ResponseHead, body: ResponseBody): void;
  /** A 101 that accepts the handshake: `upstream` is the caller's from now on (set its owner). */
  upgraded(head: ResponseHead, upstream: UpstreamConnection, leftover: Buffer): void;
  /** No usable response: 502 (error, no live upstreams) or 504 (timeout). */
  failed(status: 502 | 504): void;
  /** The request body exceeded client_max_body_size before any response came. */
  tooLarge(): void;
}

type FailureKind = 'error' | 'timeout' | 'invalid';

/** ngx_http_upstream_next_errors: statuses `proxy_next_upstream` can act on. */
const STATUS_FT: Readonly<Record<number, number>> = {
  500: NEXT_UPSTREAM.http_500,
  502: NEXT_UPSTREAM.http_502,
  503: NEXT_UPSTREAM.http_503,
  504: NEXT_UPSTREAM.http_504,
  403: NEXT_UPSTREAM.http_403,
  404: NEXT_UPSTREAM.http_404,
  429: NEXT_UPSTREAM.http_429,
};

const noop = () => {};

export class UpstreamExchange implements ConnectionOwner, ParserEvents, ResponseBody {
  private readonly selection: PeerSelection;
  private conn: UpstreamConnection | null = null;
  private cached = false;
  private pump: BodyPump | null = null;
  private parser: ResponseParser | null = null;
  /** Some of the client's body was consumed: it cannot be sent again. */
  private bodyConsumed = false;
  private bodySent = false;
  private connected = false;
  private headSeen = false;
  private lastHead: ResponseHead | null = null;
  private finished = false;
  private readonly startTime = Date.now();
  private attemptStart = 0;

  // The response body's consumer side (ResponseBody), assigned in `response()`.
  onData: (chunk: Buffer) => void = noop;
  onEnd: () => void = noop;
  onAbort: () => void = noop;

  constructor(
    private readonly group: UpstreamGroup,
    private readonly request: ExchangeRequest,
    private readonly handlers: ExchangeHandlers,
    private readonly runtime: GatewayRuntime,
  ) {
    this.selection = group.balancer.begin(request.vars);
    const limit = request.policy.nextUpstreamTries;
    if (limit && this.selection.tries > limit) this.selection.tries = limit;
  }

  start(): void {
    this.attempt();
  }

  /** The client went away: drop the upstream side. */
  abort(): void {
    if (this.finished) return;
    this.finished = true;
    this.teardown(true);
    this.releasePeer('ok');
  }

  // --- ResponseBody: flow control from the client side ---------------------------------

  pause(): void {
    // Once the response is complete the connection may already serve another request.
    if (this.finished) return;
    // While the client is slow, the upstream is not "idle": suspend the read timeout.
    this.conn?.socket.pause();
    this.conn?.clearTimeout();
  }

  resume(): void {
    if (this.finished) return;
    this.conn?.socket.resume();
    this.conn?.setTimeout(this.request.policy.readTimeoutMs);
  }

  // --- one try ---------------------------------------------------------------------------

  private attempt(): void {
    const peer = this.group.balancer.pick(this.selection);
    if (!peer) {
      const name = this.group.config.name;
      this.runtime.log('error', `no live upstreams while connecting to upstream "${name}", request: ${this.request.describe}`);
      this.record('upstreamAddr', name);
      this.finishFailed(502);
      return;
    }
    this.record('upstreamAddr', peer.name);
    this.attemptStart = Date.now();
    const reused = this.group.pool?.take(peer) ?? null;
    if (reused) {
      this.cached = true;
      this.use(reused);
      this.onConnected();
      return;
    }
    this.cached = false;
    const conn = UpstreamConnection.open(peer, this);
    this.runtime.track(conn.socket);
    this.use(conn);
    conn.setTimeout(this.request.policy.connectTimeoutMs);
  }

  private use(conn: UpstreamConnection): void {
    this.conn = conn;
    conn.owner = this;
    this.connected = false;
    this.bodySent = false;
    conn.requests++;
    this.parser = new ResponseParser(this, this.request.headRequest);
  }

  // --- ConnectionOwner: the upstream socket's events --------------------------------------

  upstreamConnect(): void {
    this.onConnected();
  }

  upstreamData(_conn: UpstreamConnection, chunk: Buffer): void {
    try {
      this.parser?.push(chunk);
    } catch (err) {
      this.onFailure('invalid', `upstream sent invalid response: ${(err as Error).message}`);
    }
  }

  upstreamEnd(): void {
    try {
      this.parser?.end();
    } catch (err) {
      this.onFailure('error', (err as Error).message);
    }
  }

  upstreamError(_conn: UpstreamConnection, err: Error): void {
    this.onFailure('error', `${err.message} while ${this.doing()} upstream`);
  }

  upstreamClose(): void {
    this.onFailure('error', `upstream prematurely closed connection while ${this.doing()} upstream`);
  }

  upstreamTimeout(): void {
    this.onFailure('timeout', `upstream timed out while ${this.doing()} upstream`);
  }

  private doing(): string {
    return !this.connected ? 'connecting to' : !this.bodySent ? 'sending request to' : 'reading response header from';
  }

  private onConnected(): void {
    const conn = this.conn as UpstreamConnection;
    const socket = conn.socket;
    this.connected = true;
    // proxy_send_timeout while the request is being written, then proxy_read_timeout.
    conn.setTimeout(this.request.policy.sendTimeoutMs);
    let flushed = socket.write(this.request.head, 'latin1');
    const body = this.request.body;
    if (body.kind === 'buffer') flushed = socket.write(body.data);
    if (body.kind !== 'stream') {
      if (flushed) this.requestSent();
      else socket.once('drain', () => this.requestSent());
      return;
    }
    this.bodyConsumed = true;
    this.pump = pumpRequestBody(body.source, socket, body.chunked, body.limit, {
      done: () => {
        this.pump = null;
        this.requestSent();
      },
      tooLarge: () => {
        this.pump = null;
        if (this.headSeen) return this.onFailure('error', 'client intended to send too large body');
        this.finished = true;
        this.teardown(true);
        this.releasePeer('ok');
        this.notify(() => this.handlers.tooLarge());
      },
    });
  }

  private requestSent(): void {
    if (this.finished || this.bodySent) return;
    this.bodySent = true;
    if (!this.headSeen) this.conn?.setTimeout(this.request.policy.readTimeoutMs);
  }

  // --- ParserEvents: the response as it is parsed -----------------------------------------

  onHead(head: ResponseHead): void {
    const conn = this.conn as UpstreamConnection;
    const parser = this.parser as ResponseParser;
    if (head.statusCode === 101) {
      if (!this.request.upgrade) {
        this.onFailure('invalid', 'upstream sent "101 Switching Protocols" to a request that did not ask to upgrade');
        return;
      }
      const accept = this.request.websocketAccept;
      if (accept === undefined || !acceptsHandshake(head, accept)) {
        this.onFailure('invalid', 'upstream sent "101 Switching Protocols" without the "Sec-WebSocket-Accept" of the handshake');
        return;
      }
      this.headSeen = true;
      this.finished = true;
      this.recordAttempt(101);
      parser.stop();
      this.teardown(false);
      // The server stays in use (max_conns, least_conn) for as long as the tunnel lives.
      conn.socket.once('close', () => this.releasePeer('ok'));
      // The tunnel owns the connection now: hold on to nothing else for its lifetime.
      this.conn = null;
      this.parser = null;
      try {
        this.handlers.upgraded(head, conn, parser.upgradeLeftover);
      } catch (err) {
        this.runtime.log('error', `${(err as Error).message} while relaying, request: ${this.request.describe}`);
        conn.destroy();
      }
      return;
    }
    if (this.nextForStatus(head.statusCode, parser)) return;
    this.headSeen = true;
    this.lastHead = head;
    this.recordAttempt(head.statusCode);
    this.notify(() => this.handlers.response(head, this));
  }

  onBody(chunk: Buffer): void {
    try {
      this.onData(chunk);
    } catch (err) {
      this.relayFailed(err);
    }
  }

  onComplete(extraBytes: boolean): void {
    if (this.finished) return;
    this.finished = true;
    const conn = this.conn as UpstreamConnection;
    const parser = this.parser as ResponseParser;
    const reusable =
      this.group.pool !== null &&
      this.request.keepAlive &&
      !this.request.upgrade &&
      this.bodySent &&
      !extraBytes &&
      parser.done &&
      !this.lastHead?.connectionClose &&
      !this.lastHead?.closeDelimited;
    this.teardown(false);
    if (reusable) this.group.pool?.put(conn);
    else conn.destroy();
    this.releasePeer('ok');
    this.notify(this.onEnd);
  }

  /** ngx_http_upstream_test_next(): a status listed in proxy_next_upstream moves to the next server. */
  private nextForStatus(status: number, parser: ResponseParser): boolean {
    const ft = STATUS_FT[status];
    if (ft === undefined) return false;
    const mask = this.connected && this.request.nonIdempotent ? ft | NEXT_UPSTREAM.non_idempotent : ft;
    if (this.selection.tries <= 1 || (this.request.policy.nextUpstream & mask) !== mask || this.bodyConsumed || this.timeUp()) {
      return false;
    }
    parser.stop();
    this.recordAttempt(status);
    this.teardown(true);
    // 403 and 404 are nginx's NGX_PEER_NEXT: tried, but not a failure of the server.
    this.releasePeer(status === 403 || status === 404 ? 'next' : 'failed');
    this.attempt();
    return true;
  }

  private onFailure(kind: FailureKind, reason: string): void {
    if (this.finished) return;
    const peer = this.conn?.peer;
    const where = peer ? `upstream "${peer.name}" (${peer.server})` : 'upstream';
    this.runtime.log('error', `${reason}, ${where}, request: ${this.request.describe}`);

    if (this.headSeen) {
      // Part of the response already went to the client: all we can do is cut it short.
      this.finished = true;
      this.teardown(true);
      this.releasePeer('ok');
      this.notify(this.onAbort);
      return;
    }

    const status = kind === 'timeout' ? 504 : 502;
    this.recordAttempt(status);
    this.teardown(true);
    this.releasePeer('failed');
    const ft = kind === 'timeout' ? NEXT_UPSTREAM.timeout : kind === 'invalid' ? NEXT_UPSTREAM.invalid_header : NEXT_UPSTREAM.error;
    // A dead keepalive connection does not count as a try (nginx: "peer.cached").
    if (this.cached && ft === NEXT_UPSTREAM.error) this.selection.tries++;
    const mask = this.connected && this.request.nonIdempotent ? ft | NEXT_UPSTREAM.non_idempotent : ft;
    const retry =
      this.selection.tries > 0 &&
      (this.request.policy.nextUpstream & mask) === mask &&
      !this.bodyConsumed &&
      !this.timeUp();
    if (retry) {
      this.attempt();
      return;
    }
    this.finishFailed(status);
  }

  /** proxy_next_upstream_timeout has passed since the first try. */
  private timeUp(): boolean {
    const limit = this.request.policy.nextUpstreamTimeoutMs;
    return limit > 0 && Date.now() - this.startTime >= limit;
  }

  private releasePeer(state: ReleaseState): void {
    const peer = this.selection.current;
    if (!peer) return;
    this.group.balancer.release(this.selection, state);
    if (state === 'failed' && peer.maxFails && peer.fails === peer.maxFails && this.group.balancer.peers.length > 1) {
      this.runtime.log('warn', `upstream server temporarily disabled, upstream "${peer.name}" (${peer.server})`);
    }
  }

  private finishFailed(status: 502 | 504): void {
    this.finished = true;
    this.notify(() => this.handlers.failed(status));
  }

  /** Appends to one of the `$upstream_*` variables (nginx joins the tries with ", "). */
  private record(key: 'upstreamAddr' | 'upstreamStatus' | 'upstreamResponseTime', value: string): void {
    const vars = this.request.vars;
    if (vars) vars[key] = vars[key] === '' ? value : `${vars[key]}, ${value}`;
  }

  private recordAttempt(status: number): void {
    this.record('upstreamStatus', String(status));
    this.record('upstreamResponseTime', seconds(Date.now() - this.attemptStart));
  }

  /** Runs a consumer callback; a bug there is logged instead of escaping into socket events. */
  private notify(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.relayFailed(err);
    }
  }

  private relayFailed(err: unknown): void {
    this.runtime.log('error', `${(err as Error).message} while relaying, request: ${this.request.describe}`);
    this.conn?.socket.destroy();
  }

  /** Stops taking events from the current upstream connection, optionally destroying it. */
  private teardown(destroy: boolean): void {
    const conn = this.conn;
    if (conn?.owner === this) conn.owner = null;
    this.pump?.detach();
    this.pump = null;
    if (destroy) {
      this.parser?.stop();
      conn?.destroy();
    }
  }
}
