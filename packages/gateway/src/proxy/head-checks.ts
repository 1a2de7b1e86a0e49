import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HeadLimits } from '../config/client-directives.js';
import { errorPageBody, errorPageHeaders, rawHead, reasonPhrase } from './error-pages.js';

/**
 * The checks nginx makes while it reads a request head, before any server or location is
 * chosen, and the answers it gives: Node's parser has already refused malformed heads (see
 * `answerClientError`); what it accepted is held to nginx's header buffers, versions and
 * framing rules here.
 */

/** 494 is nginx's "Request Header Or Cookie Too Large": sent as 400 with a page of its own. */
export type HeadRefusal = 400 | 405 | 414 | 494 | 501 | 505;

/**
 * nginx's answer to a head Node accepted, or null to go on. nginx reads a head into
 * `client_header_buffer_size` and moves a line that does not fit into one of the
 * `large_client_header_buffers` (ngx_http_alloc_large_header_buffer): a line longer than one
 * large buffer, or a head needing more buffers than there are, is refused: 414 while in the
 * request line, 494 in the headers, as are more than `max_headers` header lines. Lines are
 * measured as `Name: value` plus CRLF, since Node keeps no other spacing. Then come
 * ngx_http_process_request_header's framing and method rules.
 */
export function refuseHead(req: IncomingMessage, limits: HeadLimits): HeadRefusal | null {
  const { count, size } = limits.largeBuffers;
  let room = limits.headerBufferSize;
  let used = 0;
  const fits = (length: number): boolean => {
    if (length <= room) {
      room -= length;
      return true;
    }
    if (length > size || used === count) return false;
    used++;
    room = size - length;
    return true;
  };
  const method = req.method ?? '';
  const url = req.url ?? '';
  if (!fits(method.length + 1 + url.length + ' HTTP/1.1\r\n'.length)) return 414;
  // ngx_http_parse_request_line: only HTTP/1.x (and 0.9) is spoken.
  if (req.httpVersionMajor > 1) return 505;
  // A request line without a version followed by header lines: nginx would proxy it as HTTP/0.9
  // and answer with a bare body; the gateway speaks no HTTP/0.9 and refuses it.
  if (req.httpVersionMajor === 0) return 400;
  const raw = req.rawHeaders;
  if (raw.length / 2 > limits.maxHeaders) return 494;
  for (let i = 0; i < raw.length; i += 2) {
    if (!fits((raw[i] as string).length + (raw[i + 1] as string).length + 4)) return 494;
  }
  if (!fits(2)) return 494;
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) {
    // "client sent duplicate header line": nginx takes one Transfer-Encoding, whatever it says.
    if (raw.filter((name, i) => i % 2 === 0 && name.toLowerCase() === 'transfer-encoding').length > 1) return 400;
    // "client sent HTTP/1.0 request with Transfer-Encoding header": a framing 1.0 does not have.
    if (req.httpVersionMinor === 0) return 400;
    // "client sent unknown Transfer-Encoding": nginx knows `chunked` alone.
    if (te.toLowerCase() !== 'chunked') return 501;
  }
  // "client sent TRACE method".
  if (method === 'TRACE') return 405;
  return null;
}

/** The largest head `refuseHead` can let through: Node's own limit is set to it. */
export function largestHead(limits: HeadLimits): number {
  return limits.headerBufferSize + limits.largeBuffers.count * limits.largeBuffers.size;
}

function refusal(status: HeadRefusal, method: string | undefined): { status: number; reason: string; headers: string[]; body: string } {
  const shown = status === 494 ? 400 : status;
  const body = method === 'HEAD' ? '' : errorPageBody(status);
  return { status: shown, reason: reasonPhrase(shown), headers: errorPageHeaders(status, false), body };
}

/** Answers a refused head and closes the connection, as nginx does. */
export function sendHeadRefusal(req: IncomingMessage, res: ServerResponse, status: HeadRefusal): void {
  const r = refusal(status, req.method);
  res.shouldKeepAlive = false;
  res.writeHead(r.status, r.reason, r.headers);
  res.end(r.body, 'latin1');
}

/** The same answer written raw, for a socket Node handed over (an upgrade request) or refused. */
export function rawHeadRefusal(status: HeadRefusal, method?: string): string {
  const r = refusal(status, method);
  return rawHead(r.status, r.reason, r.headers) + r.body;
}

type ParseError = NodeJS.ErrnoException & { reason?: string; bytesParsed?: number; rawPacket?: Buffer };

/** What Node's HTTP server keeps on a client socket: the response in progress, the request being parsed. */
type ServedSocket = Socket & { _httpMessage?: ServerResponse | null; parser?: { incoming?: IncomingMessage | null } | null };

/**
 * Node's 'clientError': a head or body its strict parser refused (llhttp; the lenient
 * `insecureHTTPParser` is never enabled), a head timeout, a reset. Timeouts and resets close
 * silently, as nginx's "client timed out" does; anything else gets nginx's status and a close.
 * A bad body belongs to a request already handed to the proxy: the connection is destroyed at
 * once, which aborts its upstream exchange before it sends anything more (that upstream
 * connection is never reused). A bad head is answered after the responses owed to the
 * requests before it, as nginx reads a pipelined request only then.
 */
export function answerClientError(err: ParseError, socket: ServedSocket): void {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const text = rawHeadRefusal(clientErrorStatus(err));
  const parsing = socket.parser?.incoming;
  if (parsing && !parsing.complete) {
    const res = socket._httpMessage;
    if (res?.req === parsing && !res.headersSent) socket.write(text, 'latin1');
    socket.destroy();
    return;
  }
  afterResponses(socket, () => {
    if (!socket.destroyed) socket.end(text, 'latin1');
  });
}

/** Runs `then` once the connection has sent every response it owes (Node answers in order). */
function afterResponses(socket: ServedSocket, then: () => void): void {
  const res = socket._httpMessage;
  if (!res) then();
  else res.once('finish', () => afterResponses(socket, then));
}

function clientErrorStatus(err: ParseError): HeadRefusal {
  const packet = err.rawPacket?.toString('latin1') ?? '';
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      // Past every buffer: still in the request line (no line end parsed yet) is a 414.
      return packet.slice(0, err.bytesParsed ?? 0).includes('\n') ? 494 : 414;
    case 'HPE_INVALID_VERSION': {
      // nginx: "HTTP/2.0" and above are 505; what Node refuses below that (1.2) is a 400.
      const major = /^[^\r\n]* HTTP\/(\d+)\./.exec(packet)?.[1];
      return major !== undefined && Number(major) > 1 ? 505 : 400;
    }
    case 'HPE_INVALID_TRANSFER_ENCODING': {
      // nginx: 501 for any Transfer-Encoding but `chunked` (spaces around it aside), even next
      // to a Content-Length; 400 for a `chunked` one next to a Content-Length, or two of them
      // (a duplicate header line, whatever their values).
      const values = transferEncodings(packet);
      return values.length === 1 && values[0]?.toLowerCase() !== 'chunked' ? 501 : 400;
    }
    default:
      return 400;
  }
}

/** The raw Transfer-Encoding values in a packet's head, without the spaces (not tabs) nginx skips. */
function transferEncodings(packet: string): string[] {
  const head = packet.split('\r\n\r\n')[0] ?? '';
  return [...head.matchAll(/\r\ntransfer-encoding:([^\r\n]*)/gi)].map((m) => (m[1] as string).replace(/^ +| +$/g, ''));
}
