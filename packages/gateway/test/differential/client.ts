import { connect, type Socket } from 'node:net';

/**
 * A raw TCP client: it writes exactly the bytes it is given (HTTP/1.0 without Host, duplicated
 * headers, odd targets are all possible) and parses what comes back by hand, so that framing
 * (length, chunked, close) is visible too.
 */

export interface RawResponse {
  readonly version: string;
  readonly status: number;
  readonly reason: string;
  readonly headers: [string, string][];
  readonly body: Buffer;
  readonly framing: 'none' | 'length' | 'chunked' | 'close';
}

export interface ReadOptions {
  /** The request was HEAD: no body follows whatever the headers say. */
  readonly head?: boolean;
  readonly timeoutMs?: number;
}

export class RawConnection {
  private buffer = Buffer.alloc(0);
  private ended = false;
  private waiters: (() => void)[] = [];
  readonly opened: Promise<void>;
  closedAt: number | null = null;

  private constructor(private readonly socket: Socket) {
    this.opened = new Promise((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    const onEnd = () => {
      if (this.closedAt === null) this.closedAt = Date.now();
      this.ended = true;
      this.wake();
    };
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<RawConnection> {
    const conn = new RawConnection(connect({ port, host: '127.0.0.1', noDelay: true }));
    await conn.opened;
    return conn;
  }

  write(data: string | Buffer): void {
    if (typeof data === 'string') this.socket.write(data, 'latin1');
    else this.socket.write(data);
  }

  /** Half-closes the client side (FIN). */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  get isClosed(): boolean {
    return this.ended;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `check` returns a value or the deadline passes (then throws). */
  private async until<T>(what: string, check: () => T | null, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== null) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Reads one complete response. Throws if the connection closes first (see `readOutcome`). */
  async readResponse(options: ReadOptions = {}): Promise<RawResponse> {
    return this.until(
      'a response',
      () => {
        const parsed = parseResponse(this.buffer, this.ended, options.head ?? false);
        if (parsed === 'incomplete') {
          if (this.ended) throw new Error(`connection closed before a complete response (${this.buffer.length} bytes)`);
          return null;
        }
        this.buffer = this.buffer.subarray(parsed.consumed);
        return parsed.response;
      },
      options.timeoutMs ?? 10_000,
    );
  }

  /** A response, or `closed` if the server closed the connection without (a complete) one. */
  async readOutcome(options: ReadOptions = {}): Promise<RawResponse | 'closed'> {
    try {
      return await this.readResponse(options);
    } catch (err) {
      if (this.ended) return 'closed';
      throw err;
    }
  }

  /** Exactly `n` bytes (tunnel traffic). */
  async readBytes(n: number, timeoutMs = 10_000): Promise<Buffer> {
    return this.until(
      `${n} bytes`,
      () => {
        if (this.buffer.length >= n) {
          const out = this.buffer.subarray(0, n);
          this.buffer = this.buffer.subarray(n);
          return out;
        }
        if (this.ended) throw new Error(`connection closed after ${this.buffer.length} of ${n} bytes`);
        return null;
      },
      timeoutMs,
    );
  }

  /** Waits for the server to close; resolves with the time it took, or null after `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<number | null> {
    const start = Date.now();
    try {
      await this.until('the close', () => (this.ended ? true : null), timeoutMs);
      return (this.closedAt ?? Date.now()) - start;
    } catch {
      return null;
    }
  }

  /** Whatever arrived and was not consumed. */
  takeBuffered(): Buffer {
    const out = this.buffer;
    this.buffer = Buffer.alloc(0);
    return out;
  }
}

/** One request on its own connection: write, read one response (or the close), hang up. */
export async function exchange(port: number, request: string | Buffer | (string | Buffer)[], options: ReadOptions = {}) {
  const conn = await RawConnection.open(port);
  try {
    for (const piece of Array.isArray(request) ? request : [request]) conn.write(piece);
    return await conn.readOutcome(options);
  } finally {
    conn.destroy();
  }
}

type Parsed = { response: RawResponse; consumed: number } | 'incomplete';

export function parseResponse(buf: Buffer, ended: boolean, head: boolean): Parsed {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return 'incomplete';
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const statusLine = lines.shift() ?? '';
  const m = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!m) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
  const version = m[1] as string;
  const status = Number(m[2]);
  const reason = m[3] ?? '';
  const headers: [string, string][] = lines.map((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon), line.slice(colon + 1).trim()];
  });
  const find = (name: string) => headers.find(([n]) => n.toLowerCase() === name)?.[1];
  let at = end + 4;
  const done = (body: Buffer, framing: RawResponse['framing'], consumed: number): Parsed => ({
    response: { version, status, reason, headers, body: Buffer.from(body), framing },
    consumed,
  });
  if (head || status === 204 || status === 304 || (status >= 100 && status < 200)) return done(Buffer.alloc(0), 'none', at);
  if (find('transfer-encoding')?.toLowerCase() === 'chunked') {
    const pieces: Buffer[] = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', at);
      if (lineEnd < 0) return 'incomplete';
      const size = parseInt(buf.subarray(at, lineEnd).toString('latin1'), 16);
      at = lineEnd + 2;
      if (size === 0) {
        const trailerEnd = buf.indexOf('\r\n', at);
        if (trailerEnd < 0) return 'incomplete';
        return done(Buffer.concat(pieces), 'chunked', trailerEnd + 2);
      }
      if (buf.length < at + size + 2) return 'incomplete';
      pieces.push(buf.subarray(at, at + size));
      at += size + 2;
    }
  }
  const length = find('content-length');
  if (length !== undefined) {
    const n = Number(length);
    if (buf.length < at + n) return 'incomplete';
    return done(buf.subarray(at, at + n), 'length', at + n);
  }
  if (!ended) return 'incomplete';
  return done(buf.subarray(at), 'close', buf.length);
}
