/**
 * An incremental HTTP/1.x response parser for the upstream side. Node's http client cannot
 * send HTTP/1.0 request lines or leave headers exactly as nginx computes them, so the
 * gateway speaks HTTP to upstreams itself; this is the reading half.
 */

export interface ResponseHead {
  readonly statusCode: number;
  readonly statusMessage: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly minorVersion: number;
  /** Flat list as in Node's rawHeaders: name, value, name, value, ... */
  readonly rawHeaders: readonly string[];
  /** HTTP/1.0, or `Connection: close`: the connection cannot carry another request. */
  readonly connectionClose: boolean;
  /** The body ends when the connection does (no length, not chunked). */
  readonly closeDelimited: boolean;
  /** The head has a Content-Length (also for HEAD, 204 and 304, where it frames nothing). */
  readonly hasContentLength: boolean;
}

/** The upstream broke HTTP; nginx logs "upstream sent invalid ..." and answers 502. */
export class UpstreamProtocolError extends Error {
  override readonly name = 'UpstreamProtocolError';
}

export interface ParserEvents {
  /** A final response head (1xx other than 101 are skipped). */
  onHead(head: ResponseHead): void;
  onBody(chunk: Buffer): void;
  /** The body is complete; `extraBytes` when the upstream sent more than the response. */
  onComplete(extraBytes: boolean): void;
}

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Done,
  Upgraded,
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const INVALID_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/;
// nginx's default proxy_buffer_size (one page): a larger response head is "too big".
const DEFAULT_MAX_HEAD_BYTES = 4096;
const MAX_CHUNK_LINE = 4096;
const EMPTY = Buffer.alloc(0);

export class ResponseParser {
  private state = State.Head;
  private head: Buffer = EMPTY;
  private scanFrom = 0;
  private remaining = 0;
  private line = '';
  private stopped = false;
  /** Bytes that followed a 101 head: the first bytes of the upgraded stream. */
  upgradeLeftover: Buffer = EMPTY;

  constructor(
    private readonly events: ParserEvents,
    /** The request was HEAD: no response has a body. */
    private readonly headRequest: boolean,
    private readonly maxHeadBytes = DEFAULT_MAX_HEAD_BYTES,
  ) {}

  /** Stops delivering events (the consumer went away). */
  stop(): void {
    this.stopped = true;
  }

  get done(): boolean {
    return this.state === State.Done;
  }

  get sawHead(): boolean {
    return this.state !== State.Head;
  }

  /** Feeds bytes from the socket. Throws UpstreamProtocolError. */
  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length && !this.stopped) {
      switch (this.state) {
        case State.Head:
          off = this.readHead(chunk, off);
          break;
        case State.Length:
        case State.ChunkData: {
          const n = Math.min(this.remaining, chunk.length - off);
          this.events.onBody(chunk.subarray(off, off + n));
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            if (this.state === State.Length) this.complete(chunk, off);
            else this.state = State.ChunkDataEnd;
          }
          break;
        }
        case State.ChunkSize:
        case State.ChunkDataEnd:
        case State.Trailers:
          off = this.readChunkLine(chunk, off);
          break;
        case State.UntilClose:
          this.events.onBody(off === 0 ? chunk : chunk.subarray(off));
          off = chunk.length;
          break;
        case State.Upgraded:
          this.upgradeLeftover = Buffer.concat([this.upgradeLeftover, chunk.subarray(off)]);
          return;
        case State.Done:
          return;
      }
    }
  }

  /** The upstream closed its side. Throws when a response was cut short. */
  end(): void {
    if (this.stopped || this.state === State.Done || this.state === State.Upgraded) return;
    if (this.state === State.UntilClose) {
      this.state = State.Done;
      this.events.onComplete(false);
      return;
    }
    const where = this.state === State.Head ? 'response header' : 'upstream';
    throw new UpstreamProtocolError(`upstream prematurely closed connection while reading ${where}`);
  }

  private complete(chunk: Buffer, off: number): void {
    this.state = State.Done;
    this.events.onComplete(off < chunk.length);
  }

  private readHead(chunk: Buffer, off: number): number {
    const start = this.head.length;
    this.head = start === 0 && off === 0 ? chunk : Buffer.concat([this.head, chunk.subarray(off)]);
    const buf = this.head;
    // The head ends at an empty line; nginx accepts bare LF line endings too.
    let end = -1;
    let i = this.scanFrom;
    for (; i < buf.length; i++) {
      if (buf[i] !== 10) continue;
      const next = buf[i + 1];
      if (next === undefined) break; // rescan from this LF when more bytes arrive
      if (next === 10) {
        end = i + 2;
        break;
      }
      if (next === 13) {
        const after = buf[i + 2];
        if (after === undefined) break;
        if (after === 10) {
          end = i + 3;
          break;
        }
      }
    }
    if (end < 0) {
      this.scanFrom = i;
      if (buf.length > this.maxHeadBytes) throw new UpstreamProtocolError('upstream sent too big header');
      return chunk.length;
    }
    if (end > this.maxHeadBytes) throw new UpstreamProtocolError('upstream sent too big header');

    const consumedFromChunk = off + (end - start);
    this.head = EMPTY;
    this.scanFrom = 0;
    const head = parseHead(buf.toString('latin1', 0, end), this.headRequest);

    if (head.statusCode === 101) {
      this.state = State.Upgraded;
      this.upgradeLeftover = Buffer.from(chunk.subarray(consumedFromChunk));
      this.events.onHead(head.head);
      return chunk.length;
    }
    if (head.statusCode < 200) return consumedFromChunk; // 100/102/103: wait for the final head

    this.events.onHead(head.head);
    switch (head.framing.kind) {
      case 'none':
        this.complete(chunk, consumedFromChunk);
        break;
      case 'length':
        this.remaining = head.framing.length;
        this.state = State.Length;
        if (this.remaining === 0) this.complete(chunk, consumedFromChunk);
        break;
      case 'chunked':
        this.state = State.ChunkSize;
        break;
      case 'close':
        this.state = State.UntilClose;
        break;
    }
    return consumedFromChunk;
  }

  private readChunkLine(chunk: Buffer, off: number): number {
    const lf = chunk.indexOf(10, off);
    const stop = lf < 0 ? chunk.length : lf;
    this.line += chunk.toString('latin1', off, stop);
    if (this.line.length > MAX_CHUNK_LINE) throw new UpstreamProtocolError('upstream sent invalid chunked response');
    if (lf < 0) return chunk.length;
    const text = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line;
    this.line = '';
    const next = lf + 1;

    if (this.state === State.ChunkDataEnd) {
      if (text !== '') throw new UpstreamProtocolError('upstream sent invalid chunked response');
      this.state = State.ChunkSize;
    } else if (this.state === State.ChunkSize) {
      const m = /^([0-9A-Fa-f]{1,13})[ \t]*(?:;.*)?$/.exec(text);
      if (!m) throw new UpstreamProtocolError('upstream sent invalid chunked response');
      this.remaining = parseInt(m[1] as string, 16);
      this.state = this.remaining === 0 ? State.Trailers : State.ChunkData;
    } else if (text === '') {
      // Trailers are read and dropped, as nginx does for proxied responses.
      this.complete(chunk, next);
    }
    return next;
  }
}

const duplicateHeader = (name: string) => new UpstreamProtocolError(`upstream sent duplicate header line: "${name}"`);

type Framing = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

function parseHead(text: string, headRequest: boolean): { statusCode: number; head: ResponseHead; framing: Framing } {
  const firstEnd = lineEnd(text, 0);
  const status = /^HTTP\/1\.([0-9]) ([0-9]{3})(?:[ \t](.*))?$/.exec(text.slice(0, firstEnd.end));
  if (!status) throw new UpstreamProtocolError('upstream sent no valid HTTP/1.0 header');
  const minorVersion = Number(status[1]);
  const statusCode = Number(status[2]);
  const statusMessage = status[3] ?? '';
  if (INVALID_VALUE_CHAR.test(statusMessage)) throw new UpstreamProtocolError('upstream sent invalid status line');

  const rawHeaders: string[] = [];
  let contentLength: string | undefined;
  let transferEncoding: string | undefined;
  let connectionClose = minorVersion === 0;
  for (let at = firstEnd.next; at < text.length; ) {
    const { end, next } = lineEnd(text, at);
    const line = text.slice(at, end);
    at = next;
    if (line === '') continue;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    const value = trimSpaces(line, colon + 1);
    if (!TOKEN.test(name) || INVALID_VALUE_CHAR.test(value)) throw new UpstreamProtocolError('upstream sent invalid header');
    // Only the three names that matter here are lowercased.
    const lower = name.length === 14 || name.length === 17 || name.length === 10 ? name.toLowerCase() : '';
    if (lower === 'content-length') {
      if (contentLength !== undefined) throw duplicateHeader(name);
      contentLength = value;
    } else if (lower === 'transfer-encoding') {
      if (transferEncoding !== undefined) throw duplicateHeader(name);
      transferEncoding = value;
    } else if (lower === 'connection' && /(?:^|,)[ \t]*close[ \t]*(?:,|$)/i.test(value)) {
      connectionClose = true;
    }
    rawHeaders.push(name, value);
  }

  let framing: Framing;
  if (headRequest || statusCode < 200 || statusCode === 204 || statusCode === 304) {
    framing = { kind: 'none' };
  } else if (transferEncoding !== undefined) {
    if (contentLength !== undefined) {
      throw new UpstreamProtocolError('upstream sent "Content-Length" and "Transfer-Encoding" headers at the same time');
    }
    if (transferEncoding.toLowerCase() !== 'chunked') throw new UpstreamProtocolError('upstream sent unknown "Transfer-Encoding"');
    framing = { kind: 'chunked' };
  } else if (contentLength !== undefined) {
    if (!/^[0-9]{1,15}$/.test(contentLength)) throw new UpstreamProtocolError('upstream sent invalid "Content-Length" header');
    framing = { kind: 'length', length: Number(contentLength) };
  } else {
    framing = { kind: 'close' };
  }

  return {
    statusCode,
    framing,
    head: {
      statusCode,
      statusMessage,
      minorVersion,
      rawHeaders,
      connectionClose,
      closeDelimited: framing.kind === 'close',
      hasContentLength: contentLength !== undefined,
    },
  };
}

/** The line starting at `at`: where it ends (before CRLF or a bare LF) and where the next starts. */
function lineEnd(text: string, at: number): { end: number; next: number } {
  const lf = text.indexOf('\n', at);
  if (lf < 0) return { end: text.length, next: text.length };
  return { end: lf > at && text.charCodeAt(lf - 1) === 13 ? lf - 1 : lf, next: lf + 1 };
}

/** `line` from `from`, without leading and trailing spaces and tabs (and nothing else). */
function trimSpaces(line: string, from: number): string {
  let start = from;
  let end = line.length;
  while (start < end && (line.charCodeAt(start) === 32 || line.charCodeAt(start) === 9)) start++;
  while (end > start && (line.charCodeAt(end - 1) === 32 || line.charCodeAt(end - 1) === 9)) end--;
  return line.slice(start, end);
}
