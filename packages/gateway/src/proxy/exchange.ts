import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { formatSocketAddress } from '../config/addresses.js';
import { ResponseParser, type ResponseHead } from '../http1/response-parser.js';
import { timerDelay, type GatewayRuntime } from '../runtime.js';
import type { PeerSelection } from '../upstream/balancer.js';
import type { UpstreamGroup } from '../upstream/group.js';
import type { UpstreamConnection } from '../upstream/pool.js';
import { CLIENT_MAX_BODY_SIZE, pumpRequestBody, type BodyPump } from './body.js';

/**
 * One request to an upstream group, from picking a server to the end of the response:
 * connect (or reuse a keepalive connection), send, read the response, and on a connection
 * error or timeout before the response head, try the next server as nginx's default
 * `proxy_next_upstream error timeout` does.
 */

export type RequestBody =
  | { readonly kind: 'none' }
  | { readonly kind: 'stream'; readonly source: IncomingMessage; readonly chunked: boolean }
  | { readonly kind: 'buffer'; readonly data: Buffer };

export interface ExchangeRequest {
  readonly head: string;
  readonly body: RequestBody;
  /** POST, LOCK, PATCH: not retried once sent. */
  readonly nonIdempotent: boolean;
  readonly headRequest: boolean;
  /** The client asked to upgrade; a 101 hands the socket over instead of relaying a body. */
  readonly upgrade: boolean;
  /** Nothing in the request forbids keeping the connection (HTTP/1.1, no `Connection: close`). */
  readonly keepAlive: boolean;
  readonly connectTimeoutMs: number;
  readonly readTimeoutMs: number;
  /** For log lines: `"GET / HTTP/1.1"`, client address. */
  readonly describe: string;
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
  upgraded(head: ResponseHead, socket: Socket, leftover: Buffer): void;
  /** No usable response: 502 (error, no live upstreams) or 504 (timeout). */
  failed(status: 502 | 504): void;
  /** The request body exceeded client_max_body_size before any response came. */
  tooLarge(): void;
}

type FailureKind = 'error' | 'timeout' | 'invalid';

const noop = () => {};

export class UpstreamExchange {
  private readonly selection: PeerSelection;
  private conn: UpstreamConnection | null = null;
  private cached = false;
  private detachSocket = noop;
  private pump: BodyPump | null = null;
  /** Some of the client's body was consumed: it cannot be sent again. */
  private bodyConsumed = false;
  private bodySent = false;
  private connected = false;
  private headSeen = false;
  private lastHead: ResponseHead | null = null;
  private finished = false;
  private readonly body: ResponseBody;

  constructor(
    private readonly group: UpstreamGroup,
    private readonly request: ExchangeRequest,
    private readonly handlers: ExchangeHandlers,
    private readonly runtime: GatewayRuntime,
  ) {
    this.selection = group.balancer.begin();
    this.body = {
      onData: noop,
      onEnd: noop,
      onAbort: noop,
      pause: () => {
        // While the client is slow, the upstream is not "idle": suspend the read timeout.
        this.conn?.socket.pause();
        this.conn?.socket.setTimeout(0);
      },
      resume: () => {
        this.conn?.socket.resume();
        this.conn?.socket.setTimeout(timerDelay(this.request.readTimeoutMs));
      },
    };
  }

  start(): void {
    this.attempt();
  }

  /** The client went away: drop the upstream side. */
  abort(): void {
    if (this.finished) return;
    this.finished = true;
    this.teardown(true);
    this.group.balancer.release(this.selection, false);
  }

  private attempt(): void {
    const peer = this.group.balancer.pick(this.selection);
    if (!peer) {
      const name = this.group.config.name;
      this.runtime.log('error', `no live upstreams while connecting to upstream "${name}", request: ${this.request.describe}`);
      this.finish502or504(502);
      return;
    }
    const reused = this.group.pool?.take(peer) ?? null;
    if (reused) {
      this.cached = true;
      this.use(reused);
      this.onConnected();
      return;
    }
    this.cached = false;
    const socket = connect({ host: peer.address, port: peer.port, noDelay: true });
    this.runtime.track(socket);
    this.use({ socket, peer, requests: 0, createdAt: Date.now() });
    socket.setTimeout(timerDelay(this.request.connectTimeoutMs));
  }

  private use(conn: UpstreamConnection): void {
    this.conn = conn;
    this.connected = false;
    conn.requests++;
    const socket = conn.socket;
    const parser = new ResponseParser(
      {
        onHead: (head) => this.onHead(head, parser),
        onBody: (chunk) => this.notify(() => this.body.onData(chunk)),
        onComplete: (extraBytes) => this.onComplete(parser, extraBytes),
      },
      this.request.headRequest,
    );

    const onConnect = () => this.onConnected();
    const onData = (chunk: Buffer) => {
      try {
        parser.push(chunk);
      } catch (err) {
        this.onFailure('invalid', (err as Error).message);
      }
    };
    const onEnd = () => {
      try {
        parser.end();
      } catch (err) {
        this.onFailure('error', (err as Error).message);
      }
    };
    const doing = () => (this.connected ? 'talking to' : 'connecting to');
    const onError = (err: Error) => this.onFailure('error', `${err.message} while ${doing()} upstream`);
    const onClose = () => this.onFailure('error', `upstream connection closed while ${doing()} upstream`);
    const onTimeout = () => this.onFailure('timeout', `upstream timed out while ${doing()} upstream`);

    socket.once('connect', onConnect);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('timeout', onTimeout);
    this.detachSocket = () => {
      socket.off('connect', onConnect);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off('timeout', onTimeout);
      this.detachSocket = noop;
    };
  }

  private onConnected(): void {
    const conn = this.conn as UpstreamConnection;
    const socket = conn.socket;
    this.connected = true;
    socket.setTimeout(timerDelay(this.request.readTimeoutMs));
    socket.write(this.request.head, 'latin1');
    const body = this.request.body;
    if (body.kind === 'buffer') socket.write(body.data);
    if (body.kind !== 'stream') {
      this.bodySent = true;
      return;
    }
    this.bodyConsumed = true;
    this.pump = pumpRequestBody(body.source, socket, body.chunked, CLIENT_MAX_BODY_SIZE, {
      done: () => {
        this.bodySent = true;
        this.pump = null;
      },
      tooLarge: () => {
        this.pump = null;
        if (this.headSeen) return this.onFailure('error', 'client intended to send too large body');
        this.finished = true;
        this.teardown(true);
        this.group.balancer.release(this.selection, false);
        this.notify(() => this.handlers.tooLarge());
      },
    });
  }

  private onHead(head: ResponseHead, parser: ResponseParser): void {
    const conn = this.conn as UpstreamConnection;
    if (head.statusCode === 101) {
      if (!this.request.upgrade) {
        this.onFailure('invalid', 'upstream sent "101 Switching Protocols" to a request that did not ask to upgrade');
        return;
      }
      this.headSeen = true;
      this.finished = true;
      parser.stop();
      this.teardown(false);
      conn.socket.pause();
      conn.socket.setTimeout(0);
      this.group.balancer.release(this.selection, false);
      this.notify(() => this.handlers.upgraded(head, conn.socket, parser.upgradeLeftover));
      return;
    }
    this.headSeen = true;
    this.lastHead = head;
    this.group.balancer.release(this.selection, false);
    this.notify(() => this.handlers.response(head, this.body));
  }

  private onComplete(parser: ResponseParser, extraBytes: boolean): void {
    if (this.finished) return;
    this.finished = true;
    const conn = this.conn as UpstreamConnection;
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
    else conn.socket.destroy();
    this.notify(() => this.body.onEnd());
  }

  private onFailure(kind: FailureKind, reason: string): void {
    if (this.finished) return;
    const peer = this.conn?.peer;
    const where = peer ? `upstream "${formatSocketAddress(peer.address, peer.port)}" (${peer.server})` : 'upstream';
    this.runtime.log('error', `${reason}, ${where}, request: ${this.request.describe}`);

    if (this.headSeen) {
      // Part of the response already went to the client: all we can do is cut it short.
      this.finished = true;
      this.teardown(true);
      this.notify(() => this.body.onAbort());
      return;
    }

    this.teardown(true);
    this.group.balancer.release(this.selection, true);
    // A dead keepalive connection does not count as a try (nginx: "peer.cached").
    if (this.cached && kind === 'error') this.selection.tries++;
    const sent = this.connected;
    const retry =
      kind !== 'invalid' &&
      this.selection.tries > 0 &&
      !this.bodyConsumed &&
      !(sent && this.request.nonIdempotent);
    if (retry) {
      this.attempt();
      return;
    }
    this.finish502or504(kind === 'timeout' ? 504 : 502);
  }

  private finish502or504(status: 502 | 504): void {
    this.finished = true;
    this.notify(() => this.handlers.failed(status));
  }

  /** Runs a consumer callback; a bug there is logged instead of escaping into socket events. */
  private notify(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.runtime.log('error', `${(err as Error).message} while relaying, request: ${this.request.describe}`);
      this.conn?.socket.destroy();
    }
  }

  /** Stops listening to the current upstream socket, optionally destroying it. */
  private teardown(destroy: boolean): void {
    this.detachSocket();
    this.pump?.detach();
    this.pump = null;
    if (destroy) this.conn?.socket.destroy();
  }
}
