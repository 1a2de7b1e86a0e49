import { expect } from 'vitest';
import type { RawConnection } from '../differential/client.js';
import type { GroupName } from './groups.js';
import { describeOutcome, HOST, outcome, play, type Traffic } from './traffic.js';
import { hold, switchesAnything, switchesWithAccept, websocketServer, type RecordingUpstreams, type SeenRequest, type UpstreamBehaviour } from './upstream.js';

/**
 * The hostile requests, as data. Each case is sent to real nginx and to the gateway on the
 * same configuration (its group). `nginx` is nginx's outcome, asserted on nginx itself; the
 * gateway must produce the same outcome, or the documented one (`gateway`) whose README
 * sentence is quoted.
 * `forwarded` is how many request heads the upstream may see (0: a rejected request must not
 * reach it at all); a request for `/smuggled` must never reach it, in any case.
 *
 * Outcomes (see traffic.ts): `400 close` = a 400, then the connection is closed; `200 open` =
 * a 200 on a connection that stays usable (a probe request on it gets the next answer);
 * `closed` = closed without a response; `101 tunnel`; `no answer` (nothing in 10 s).
 */

export type Category =
  | 'framing'
  | 'smuggling'
  | 'chunks'
  | 'bytes'
  | 'header names'
  | 'request line'
  | 'targets'
  | 'host'
  | 'injection'
  | 'header volume'
  | 'upgrade'
  | 'timeouts'
  | 'sizes'
  | 'realip'
  | 'rate limits';

export interface CaseContext {
  readonly port: number;
  readonly upstreams: RecordingUpstreams;
  open(): Promise<RawConnection>;
}

/** Request heads the upstream may see: exactly n, or a range (for a race the README documents). */
export type Forwarded = number | { readonly min: number; readonly max: number };

/**
 * How the gateway may differ from nginx, with the README sentence that says so:
 * - `better`: the gateway is stricter or safer than nginx; nginx's outcome is accepted too.
 * - `difference`: a documented trade-off; nginx's outcome is accepted too.
 * - `required`: nginx's own outcome is unsafe (an h2c tunnel...): only this one counts.
 */
export interface Documented {
  readonly outcome: string;
  readonly forwarded?: Forwarded;
  readonly documented: string;
  readonly kind: 'better' | 'difference' | 'required';
}

export interface AdversarialCase {
  readonly name: string;
  readonly group: GroupName;
  readonly category: Category;
  /** The client's bytes (with pauses for slow clients). */
  readonly send?: Traffic;
  /** Responses expected on the connection before the probe (default 1). */
  readonly responses?: number;
  /** Traffic that needs more than one connection; returns the outcome text. */
  readonly run?: (cx: CaseContext) => Promise<string>;
  /** What the upstream answers (default: 200 naming the request). */
  readonly upstream?: UpstreamBehaviour;
  readonly nginx: string;
  readonly forwarded: Forwarded;
  /** More about what reached the upstream, checked for both engines. */
  readonly check?: (seen: readonly SeenRequest[]) => void;
  readonly gateway?: Documented;
}

// --- building blocks ----------------------------------------------------------------------------

const CRLF = '\r\n';
const head = (line: string, headers: readonly string[]) => `${line}${CRLF}${headers.map((h) => h + CRLF).join('')}${CRLF}`;
/** A request with `Host: test.example` first. */
const req = (line: string, headers: readonly string[] = [], body = '') => head(line, [`Host: ${HOST}`, ...headers]) + body;
const get = (target: string, headers: readonly string[] = []) => req(`GET ${target} HTTP/1.1`, headers);
const post = (target: string, headers: readonly string[], body: string) => req(`POST ${target} HTTP/1.1`, headers, body);
/** The request an attacker hides; it must never reach an upstream. */
const SMUGGLED = `GET /smuggled HTTP/1.1${CRLF}Host: ${HOST}${CRLF}${CRLF}`;
const chunk = (data: string) => `${data.length.toString(16)}${CRLF}${data}${CRLF}`;
const LAST_CHUNK = `0${CRLF}${CRLF}`;
const len = (s: string) => String(Buffer.byteLength(s, 'latin1'));
const wsKey = 'dGhlIHNhbXBsZSBub25jZQ==';
const wsHeaders = ['Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${wsKey}`, 'Sec-WebSocket-Version: 13'];
const h2c = ['Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA', 'Connection: Upgrade, HTTP2-Settings'];

const headerValue = (r: SeenRequest | undefined, name: string) => r?.headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
const only = (seen: readonly SeenRequest[]) => {
  expect(seen).toHaveLength(1);
  return seen[0] as SeenRequest;
};

// --- README sentences quoted for documented outcomes --------------------------------------------

const MALFORMED_BODY_STREAMED =
  'A body that turns out malformed (a bad chunk) or stops arriving after part of it was streamed ends the request on both sides';
const NODE_METHODS = "Node's method list";
const CONNECT_405 = '`CONNECT` answered 405';
const EARLY_CONTINUE = 'Node sends `100 Continue` when the request arrives, not when the body is first read.';
const STRICT_PARSER = "The client-side parser is stricter than nginx's: it answers 400 and closes the connection";
const CHUNK_LIMIT_BY_BYTES = 'A chunked body is held to `client_max_body_size` by the bytes that arrive';
const VERSIONLESS_400 = 'A request line without a version followed by header lines is answered 400 and closed.';
const BARE_HTTP09 = 'A bare HTTP/0.9 request line (`GET /path`, no version, no headers) is never answered';
const WEBSOCKET_ONLY =
  'Only WebSocket is tunnelled, and only for a well-formed handshake (GET, no body, `Sec-WebSocket-Key`, `Sec-WebSocket-Version: 13`; else 400) answered by a `101` with the matching `Sec-WebSocket-Accept` (else 502).';
const OTHER_UPGRADES_PLAIN =
  'A request with another `Upgrade` (`h2c`, ...) is a plain request whose connection is closed after the response. nginx tunnels whatever the configuration forwards and the upstream switches to.';

// --- the cases ----------------------------------------------------------------------------------

const framing: AdversarialCase[] = [
  {
    name: 'CL.TE: Content-Length and Transfer-Encoding: chunked, a request behind the last chunk',
    group: 'core',
    category: 'smuggling',
    send: post('/cl-te', ['Content-Length: ' + len(LAST_CHUNK + SMUGGLED), 'Transfer-Encoding: chunked'], LAST_CHUNK + SMUGGLED),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    name: 'TE.CL: Transfer-Encoding: chunked then Content-Length, a request inside the chunk',
    group: 'core',
    category: 'smuggling',
    send: post('/te-cl', ['Transfer-Encoding: chunked', 'Content-Length: 4'], chunk(SMUGGLED) + LAST_CHUNK),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    name: 'TE.TE: Transfer-Encoding: xchunked next to Content-Length',
    group: 'core',
    category: 'smuggling',
    send: post('/xchunked', ['Content-Length: ' + len(SMUGGLED), 'Transfer-Encoding: xchunked'], SMUGGLED),
    nginx: '501 close',
    forwarded: 0,
  },
  {
    name: 'TE.TE: Transfer-Encoding: xchunked alone',
    group: 'core',
    category: 'smuggling',
    send: post('/xchunked', ['Transfer-Encoding: xchunked'], chunk(SMUGGLED) + LAST_CHUNK),
    nginx: '501 close',
    forwarded: 0,
  },
  {
    name: 'TE.TE: Transfer-Encoding: chunked, identity next to Content-Length',
    group: 'core',
    category: 'smuggling',
    send: post('/identity', ['Content-Length: ' + len(SMUGGLED), 'Transfer-Encoding: chunked, identity'], SMUGGLED),
    nginx: '501 close',
    forwarded: 0,
  },
  {
    name: 'TE.TE: Transfer-Encoding: identity, chunked (chunked last, as the RFC wants)',
    group: 'core',
    category: 'smuggling',
    send: post('/identity', ['Transfer-Encoding: identity, chunked'], chunk(SMUGGLED) + LAST_CHUNK),
    nginx: '501 close',
    forwarded: 0,
  },
  {
    name: 'TE.TE: two Transfer-Encoding headers, chunked and x',
    group: 'core',
    category: 'smuggling',
    send: post('/two-te', ['Transfer-Encoding: chunked', 'Transfer-Encoding: x'], chunk('hello') + LAST_CHUNK),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    name: 'TE.TE: "Transfer-Encoding :" (space before the colon) next to Content-Length',
    group: 'core',
    category: 'smuggling',
    send: post('/space', ['Content-Length: ' + len(LAST_CHUNK + SMUGGLED), 'Transfer-Encoding : chunked'], LAST_CHUNK + SMUGGLED),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    name: 'TE.TE: "  chunked  " (extra spaces around the value) next to Content-Length',
    group: 'core',
    category: 'smuggling',
    send: post('/spaces', ['Content-Length: ' + len(LAST_CHUNK + SMUGGLED), 'Transfer-Encoding:   chunked  '], LAST_CHUNK + SMUGGLED),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    // nginx skips only spaces before a value: to nginx this coding is "\tchunked", unknown.
    name: 'TE.TE: "\\tchunked" (a tab before the value) next to Content-Length',
    group: 'core',
    category: 'smuggling',
    send: post('/tab', ['Content-Length: ' + len(LAST_CHUNK + SMUGGLED), 'Transfer-Encoding:\tchunked'], LAST_CHUNK + SMUGGLED),
    nginx: '501 close',
    forwarded: 0,
  },
  {
    name: 'TE.TE: Transfer-Encoding folded onto the previous header line (obs-fold) next to Content-Length',
    group: 'core',
    category: 'smuggling',
    send: post('/fold', ['X-Pad: x', ' Transfer-Encoding: chunked', 'Content-Length: ' + len(LAST_CHUNK + SMUGGLED)], LAST_CHUNK + SMUGGLED),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    name: 'TE.TE: Transfer-Encoding: CHUNKED (upper case) next to Content-Length',
    group: 'core',
    category: 'smuggling',
    send: post('/upper', ['Transfer-Encoding: CHUNKED', 'Content-Length: 4'], chunk(SMUGGLED) + LAST_CHUNK),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    name: 'Transfer-Encoding: chunked in an HTTP/1.0 request',
    group: 'core',
    category: 'smuggling',
    send: req('POST /te10 HTTP/1.0', ['Transfer-Encoding: chunked'], chunk(SMUGGLED) + LAST_CHUNK),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    name: 'a second request hidden in a Content-Length body is only body',
    group: 'core',
    category: 'smuggling',
    send: post('/carrier', ['Content-Length: ' + len(SMUGGLED)], SMUGGLED),
    nginx: '200 open',
    forwarded: 1,
    check: (seen) => expect(only(seen).body.toString('latin1')).toBe(SMUGGLED),
  },
  {
    name: 'a GET with a Content-Length body holding a request: one request upstream',
    group: 'core',
    category: 'smuggling',
    send: req('GET /get-body HTTP/1.1', ['Content-Length: ' + len(SMUGGLED)], SMUGGLED),
    nginx: '200 open',
    forwarded: 1,
    check: (seen) => expect(only(seen).body.toString('latin1')).toBe(SMUGGLED),
  },
  {
    name: 'two Content-Length headers with the same value',
    group: 'core',
    category: 'framing',
    send: post('/dup-cl', ['Content-Length: 5', 'Content-Length: 5'], 'hello'),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    name: 'two Content-Length headers with different values',
    group: 'core',
    category: 'framing',
    send: post('/dup-cl', ['Content-Length: 5', 'Content-Length: ' + len('hello' + SMUGGLED)], 'hello' + SMUGGLED),
    nginx: '400 close',
    forwarded: 0,
  },
  ...(
    [
      ['a list', '5, 5'],
      ['negative', '-1'],
      ['a plus sign', '+5'],
      ['hexadecimal', '0x5'],
      ['an inner space', '5 5'],
      ['empty', ''],
      ['overflowing 64 bits', '99999999999999999999999'],
    ] as const
  ).map(
    ([what, value]): AdversarialCase => ({
      name: `Content-Length ${what}: "${value}"`,
      group: 'core',
      category: 'framing',
      send: post('/bad-cl', [`Content-Length: ${value}`], 'hello'),
      nginx: '400 close',
      forwarded: 0,
    }),
  ),
];

const chunks: AdversarialCase[] = [
  {
    name: 'chunk size that is not hexadecimal',
    group: 'core',
    category: 'chunks',
    send: post('/chunks', ['Transfer-Encoding: chunked'], `zz${CRLF}hello${CRLF}${LAST_CHUNK}`),
    nginx: '400 close',
    forwarded: 0,
    gateway: { outcome: '400 close', forwarded: { min: 0, max: 1 }, documented: MALFORMED_BODY_STREAMED, kind: 'difference' },
  },
  {
    name: 'chunk size overflowing 64 bits',
    group: 'core',
    category: 'chunks',
    send: post('/chunks', ['Transfer-Encoding: chunked'], `fffffffffffffffff${CRLF}hello${CRLF}${LAST_CHUNK}`),
    nginx: '400 close',
    forwarded: 0,
    gateway: { outcome: '400 close', forwarded: { min: 0, max: 1 }, documented: MALFORMED_BODY_STREAMED, kind: 'difference' },
  },
  {
    name: 'negative chunk size',
    group: 'core',
    category: 'chunks',
    send: post('/chunks', ['Transfer-Encoding: chunked'], `-5${CRLF}hello${CRLF}${LAST_CHUNK}`),
    nginx: '400 close',
    forwarded: 0,
    gateway: { outcome: '400 close', forwarded: { min: 0, max: 1 }, documented: MALFORMED_BODY_STREAMED, kind: 'difference' },
  },
  {
    name: 'chunk data longer than its size, a request in the excess',
    group: 'core',
    category: 'chunks',
    send: post('/chunks', ['Transfer-Encoding: chunked'], `5${CRLF}hello${SMUGGLED}${CRLF}${LAST_CHUNK}`),
    nginx: '400 close',
    forwarded: 0,
    gateway: { outcome: '400 close', forwarded: { min: 0, max: 1 }, documented: MALFORMED_BODY_STREAMED, kind: 'difference' },
  },
  {
    name: 'junk after the chunk size',
    group: 'core',
    category: 'chunks',
    send: post('/chunks', ['Transfer-Encoding: chunked'], `5 x${CRLF}hello${CRLF}${LAST_CHUNK}`),
    // nginx takes white space after the size as the start of an extension.
    nginx: '200 open',
    forwarded: 1,
    gateway: { outcome: '400 close', forwarded: { min: 0, max: 1 }, documented: STRICT_PARSER, kind: 'better' },
  },
  {
    name: 'a chunk size declaring more than client_max_body_size (1 MiB by default)',
    group: 'core',
    category: 'chunks',
    // The chunk's bytes follow, past the limit: the gateway counts them as they arrive.
    send: post('/chunks', ['Transfer-Encoding: chunked'], `200000${CRLF}${'x'.repeat(1024 * 1024 + 1)}`),
    nginx: '413 close',
    forwarded: 0,
    gateway: { outcome: '413 close', forwarded: { min: 0, max: 1 }, documented: CHUNK_LIMIT_BY_BYTES, kind: 'difference' },
  },
];

const bytes: AdversarialCase[] = [
  {
    name: 'bare LF line endings',
    group: 'core',
    category: 'bytes',
    send: `GET /lf HTTP/1.1\nHost: ${HOST}\n\n`,
    nginx: '200 open',
    forwarded: 1,
    gateway: { outcome: '400 close', forwarded: 0, documented: STRICT_PARSER, kind: 'better' },
  },
  {
    name: 'bare CR inside a header line',
    group: 'core',
    category: 'bytes',
    send: get('/cr', ['X-A: a\rX-Injected: 1']),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    name: 'bare CR inside the request line',
    group: 'core',
    category: 'bytes',
    send: req('GET /cr\r HTTP/1.1'),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    name: 'obs-fold: a header value continued on the next line',
    group: 'core',
    category: 'bytes',
    send: get('/fold', ['X-Folded: a', ' b']),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    name: 'NUL byte in a header value',
    group: 'core',
    category: 'bytes',
    send: get('/nul', ['X-A: a\0b']),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    name: 'NUL byte in a header name',
    group: 'core',
    category: 'bytes',
    send: get('/nul', ['X-\0A: b']),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    name: 'NUL byte in the request target',
    group: 'core',
    category: 'bytes',
    send: req('GET /a\0b HTTP/1.1'),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    name: 'control character (0x01) in a header value',
    group: 'core',
    category: 'bytes',
    send: get('/ctl', ['X-A: a\x01b']),
    nginx: '200 open',
    forwarded: 1,
    gateway: { outcome: '400 close', forwarded: 0, documented: STRICT_PARSER, kind: 'better' },
  },
];

const headerNames: AdversarialCase[] = [
  {
    name: 'header name with a space ("X Evil")',
    group: 'core',
    category: 'header names',
    send: get('/names', ['X Evil: 1']),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    name: 'header name with an underscore is dropped (ignore_invalid_headers)',
    group: 'core',
    category: 'header names',
    send: get('/names', ['X_Evil: 1', 'X-Good: 1']),
    nginx: '200 open',
    forwarded: 1,
    check: (seen) => {
      expect(headerValue(only(seen), 'x_evil')).toEqual([]);
      expect(headerValue(only(seen), 'x-good')).toEqual(['1']);
    },
  },
  {
    name: 'header name with a parenthesis ("X(evil)")',
    group: 'core',
    category: 'header names',
    send: get('/names', ['X(evil): 1']),
    nginx: '200 open',
    forwarded: 1,
    gateway: { outcome: '400 close', forwarded: 0, documented: STRICT_PARSER, kind: 'better' },
    check: (seen) => expect(headerValue(only(seen), 'x(evil)')).toEqual([]),
  },
  {
    name: 'empty header name (": value")',
    group: 'core',
    category: 'header names',
    send: get('/names', [': value']),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    name: 'header line without a colon',
    group: 'core',
    category: 'header names',
    send: get('/names', ['NoColonHere']),
    nginx: '200 open',
    forwarded: 1,
    gateway: { outcome: '400 close', forwarded: 0, documented: STRICT_PARSER, kind: 'better' },
  },
  {
    name: 'non-ASCII byte in a header name',
    group: 'core',
    category: 'header names',
    send: get('/names', ['X-Caf\xe9: 1']),
    nginx: '200 open',
    forwarded: 1,
    gateway: { outcome: '400 close', forwarded: 0, documented: STRICT_PARSER, kind: 'better' },
    check: (seen) => expect(only(seen).headers.some(([n]) => n.startsWith('X-Caf'))).toBe(false),
  },
];

const requestLine: AdversarialCase[] = [
  {
    name: 'lower-case method',
    group: 'core',
    category: 'request line',
    send: req('get /lower HTTP/1.1'),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    name: 'a method outside Node\'s list (FROB)',
    group: 'core',
    category: 'request line',
    send: req('FROB /frob HTTP/1.1'),
    nginx: '200 open',
    forwarded: 1,
    gateway: { outcome: '400 close', forwarded: 0, documented: NODE_METHODS, kind: 'difference' },
  },
  {
    name: 'TRACE',
    group: 'core',
    category: 'request line',
    send: req('TRACE /trace HTTP/1.1'),
    nginx: '405 close',
    forwarded: 0,
  },
  {
    name: 'CONNECT to an authority',
    group: 'core',
    category: 'request line',
    send: req('CONNECT evil.example:443 HTTP/1.1'),
    nginx: '400 close',
    forwarded: 0,
    gateway: { outcome: '405 close', documented: CONNECT_405, kind: 'difference' },
  },
  {
    name: 'HTTP/1.2 (an unknown minor version)',
    group: 'core',
    category: 'request line',
    send: req('GET /v12 HTTP/1.2'),
    nginx: '200 open',
    forwarded: 1,
    gateway: { outcome: '400 close', forwarded: 0, documented: STRICT_PARSER, kind: 'difference' },
  },
  {
    name: 'HTTP/2.0 in a text request line',
    group: 'core',
    category: 'request line',
    send: req('GET /v2 HTTP/2.0'),
    nginx: '505 close',
    forwarded: 0,
  },
  {
    name: 'HTTP/3.0 in a text request line',
    group: 'core',
    category: 'request line',
    send: req('GET /v3 HTTP/3.0'),
    nginx: '505 close',
    forwarded: 0,
  },
  {
    name: 'HTTP/2 connection preface on the HTTP/1 port',
    group: 'core',
    category: 'request line',
    send: Buffer.concat([Buffer.from(`PRI * HTTP/2.0${CRLF}${CRLF}SM${CRLF}${CRLF}`, 'latin1'), Buffer.from('000000040000000000', 'hex')]),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    name: 'several spaces between the request line parts',
    group: 'core',
    category: 'request line',
    send: req('GET  /spaces  HTTP/1.1'),
    nginx: '200 open',
    forwarded: 1,
  },
  {
    name: 'empty lines before the request line',
    group: 'core',
    category: 'request line',
    send: CRLF + CRLF + get('/after-empty-lines'),
    nginx: '200 open',
    forwarded: 1,
  },
  {
    name: 'request line without a version',
    group: 'core',
    category: 'request line',
    send: req('GET /no-version'),
    // HTTP/0.9 to nginx: the header lines are never read.
    nginx: 'closed after 16 bytes without a status line',
    forwarded: 1,
    gateway: { outcome: '400 close', forwarded: 0, documented: VERSIONLESS_400, kind: 'better' },
  },
];

const targets: AdversarialCase[] = [
  {
    name: 'absolute-form target naming another host: GET http://evil.example/',
    group: 'core',
    category: 'targets',
    send: get('http://evil.example/abs'),
    nginx: '200 open',
    forwarded: 1,
    // The upstream gets an origin-form target, and $host comes from the target.
    check: (seen) => {
      expect(only(seen).target).toBe('/abs');
      expect(headerValue(only(seen), 'host')).toEqual(['evil.example']);
    },
  },
  {
    name: 'absolute-form target with user info: GET http://user@evil.example/',
    group: 'core',
    category: 'targets',
    send: get('http://user@evil.example/abs'),
    nginx: '400 close',
    forwarded: 0,
  },
  { name: 'asterisk target: GET *', group: 'core', category: 'targets', send: req('GET * HTTP/1.1'), nginx: '400 close', forwarded: 0 },
  { name: 'asterisk target: OPTIONS *', group: 'core', category: 'targets', send: req('OPTIONS * HTTP/1.1'), nginx: '400 close', forwarded: 0 },
  { name: 'target without a leading slash', group: 'core', category: 'targets', send: req('GET relative HTTP/1.1'), nginx: '400 close', forwarded: 0 },
  { name: '../ traversal above the root', group: 'core', category: 'targets', send: get('/../../etc/passwd'), nginx: '400 close', forwarded: 0 },
  { name: 'encoded ../ traversal (%2e%2e)', group: 'core', category: 'targets', send: get('/%2e%2e/%2e%2e/etc/passwd'), nginx: '400 close', forwarded: 0 },
  { name: 'encoded slash traversal (..%2f)', group: 'core', category: 'targets', send: get('/static/..%2f..%2f..%2fetc/passwd'), nginx: '400 close', forwarded: 0 },
  { name: '%00 in the target', group: 'core', category: 'targets', send: get('/a%00b'), nginx: '400 close', forwarded: 0 },
  { name: 'bad percent escape (%zz)', group: 'core', category: 'targets', send: get('/a%zzb'), nginx: '400 close', forwarded: 0 },
  {
    name: 'overlong target: 9000 bytes (over large_client_header_buffers 4 8k)',
    group: 'core',
    category: 'targets',
    send: get(`/${'a'.repeat(9000)}`),
    nginx: '414 close',
    forwarded: 0,
  },
  {
    name: 'overlong target: 40 KiB',
    group: 'core',
    category: 'targets',
    send: get(`/${'a'.repeat(40 * 1024)}`),
    nginx: '414 close',
    forwarded: 0,
  },
];

const host: AdversarialCase[] = [
  { name: 'duplicate Host', group: 'core', category: 'host', send: get('/dup-host', [`Host: evil.example`]), nginx: '400 close', forwarded: 0 },
  { name: 'Host with a space', group: 'core', category: 'host', send: req('GET /h HTTP/1.1').replace(`Host: ${HOST}`, 'Host: evil example'), nginx: '400 close', forwarded: 0 },
  { name: 'Host with a slash', group: 'core', category: 'host', send: req('GET /h HTTP/1.1').replace(`Host: ${HOST}`, 'Host: evil.example/x'), nginx: '400 close', forwarded: 0 },
  { name: 'Host with ".."', group: 'core', category: 'host', send: req('GET /h HTTP/1.1').replace(`Host: ${HOST}`, 'Host: evil..example'), nginx: '400 close', forwarded: 0 },
  { name: 'empty Host', group: 'core', category: 'host', send: req('GET /h HTTP/1.1').replace(`Host: ${HOST}`, 'Host: '), nginx: '400 close', forwarded: 0 },
  {
    name: 'Host with a bare CR and a second header behind it',
    group: 'core',
    category: 'host',
    send: req('GET /h HTTP/1.1').replace(`Host: ${HOST}`, `Host: ${HOST}\rX-Injected: 1`),
    nginx: '400 close',
    forwarded: 0,
  },
  { name: 'HTTP/1.1 without Host', group: 'core', category: 'host', send: head('GET /h HTTP/1.1', []), nginx: '400 close', forwarded: 0 },
];

const injection: AdversarialCase[] = [
  {
    name: 'encoded CRLF (%0d%0a) in the target stays encoded upstream',
    group: 'core',
    category: 'injection',
    send: get('/x%0d%0aX-Injected:%201'),
    nginx: '200 open',
    forwarded: 1,
    check: (seen) => {
      expect(only(seen).target).toBe('/x%0d%0aX-Injected:%201');
      expect(headerValue(only(seen), 'x-injected')).toEqual([]);
    },
  },
  {
    name: 'a pipelined second request after a complete one is answered in order',
    group: 'core',
    category: 'injection',
    send: get('/first') + get('/second'),
    responses: 2,
    nginx: '200 open, 200 open',
    forwarded: 2,
    check: (seen) => expect(seen.map((r) => r.target)).toEqual(['/first', '/second']),
  },
];

const manyHeaders = (n: number, line: (i: number) => string) => Array.from({ length: n }, (_, i) => line(i));
const volume: AdversarialCase[] = [
  {
    name: '500 headers (10 KiB) are all forwarded',
    group: 'core',
    category: 'header volume',
    send: get('/many', manyHeaders(500, (i) => `X-H${i}: v`)),
    nginx: '200 open',
    forwarded: 1,
    check: (seen) => expect(only(seen).headers.filter(([n]) => n.startsWith('X-H'))).toHaveLength(500),
  },
  {
    // Small, but more than nginx's max_headers (1000; Debian's 1.22.1 has it): "client sent too many header lines".
    name: '2500 tiny header lines (15 KiB)',
    group: 'core',
    category: 'header volume',
    send: get('/many', manyHeaders(2500, () => 'A: b')),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    name: '4000 headers (40 KiB, over large_client_header_buffers 4 8k)',
    group: 'core',
    category: 'header volume',
    send: get('/many', manyHeaders(4000, (i) => `X-Header-${i}: v`)),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    name: 'one 12 KiB header line (over an 8 KiB buffer)',
    group: 'core',
    category: 'header volume',
    send: get('/long-header', [`X-Long: ${'x'.repeat(12 * 1024)}`]),
    nginx: '400 close',
    forwarded: 0,
  },
];

const upgrade: AdversarialCase[] = [
  {
    name: 'h2c upgrade through a location that forwards any Upgrade',
    group: 'core',
    category: 'upgrade',
    send: get('/ws/h2c', h2c),
    upstream: switchesAnything,
    nginx: '101 tunnel',
    forwarded: 1,
    gateway: { outcome: '502 close', documented: OTHER_UPGRADES_PLAIN, kind: 'required' },
  },
  {
    name: 'h2c upgrade through a location that forwards no Upgrade',
    group: 'core',
    category: 'upgrade',
    send: get('/h2c', h2c),
    upstream: switchesAnything,
    nginx: '200 open',
    forwarded: 1,
    check: (seen) => expect(headerValue(only(seen), 'upgrade')).toEqual([]),
    gateway: { outcome: '200 close', documented: OTHER_UPGRADES_PLAIN, kind: 'difference' },
  },
  {
    name: 'upstream 101 with a wrong Sec-WebSocket-Accept',
    group: 'core',
    category: 'upgrade',
    send: get('/ws/bad-accept', wsHeaders),
    upstream: switchesWithAccept([['Sec-WebSocket-Accept', 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=']]),
    nginx: '101 tunnel',
    forwarded: 1,
    gateway: { outcome: '502 close', documented: WEBSOCKET_ONLY, kind: 'required' },
  },
  {
    name: 'upstream 101 without Sec-WebSocket-Accept',
    group: 'core',
    category: 'upgrade',
    send: get('/ws/no-accept', wsHeaders),
    upstream: switchesWithAccept([]),
    nginx: '101 tunnel',
    forwarded: 1,
    gateway: { outcome: '502 close', documented: WEBSOCKET_ONLY, kind: 'required' },
  },
  {
    name: 'WebSocket handshake without Sec-WebSocket-Key',
    group: 'core',
    category: 'upgrade',
    send: get('/ws/no-key', ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13']),
    upstream: websocketServer,
    nginx: '400 open',
    forwarded: 1,
    gateway: { outcome: '400 close', forwarded: 0, documented: WEBSOCKET_ONLY, kind: 'better' },
  },
  {
    name: 'WebSocket handshake with Sec-WebSocket-Version 8',
    group: 'core',
    category: 'upgrade',
    send: get('/ws/v8', ['Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${wsKey}`, 'Sec-WebSocket-Version: 8']),
    upstream: websocketServer,
    nginx: '426 open',
    forwarded: 1,
    gateway: { outcome: '400 close', forwarded: 0, documented: WEBSOCKET_ONLY, kind: 'better' },
  },
  {
    name: 'WebSocket handshake with POST',
    group: 'core',
    category: 'upgrade',
    send: post('/ws/post', [...wsHeaders, 'Content-Length: 0'], ''),
    upstream: websocketServer,
    nginx: '400 open',
    forwarded: 1,
    gateway: { outcome: '400 close', forwarded: 0, documented: WEBSOCKET_ONLY, kind: 'better' },
  },
  {
    name: 'a valid WebSocket handshake is tunnelled (control)',
    group: 'core',
    category: 'upgrade',
    run: async (cx) => {
      cx.upstreams.behave(websocketServer);
      const conn = await cx.open();
      try {
        await play(conn, get('/ws/ok', wsHeaders));
        const text = await describeOutcome(conn);
        if (text !== '101 tunnel') return text;
        conn.write('ping through');
        return `${text}, echo ${(await conn.readBytes(12)).toString('latin1')}`;
      } finally {
        conn.destroy();
      }
    },
    nginx: '101 tunnel, echo ping through',
    forwarded: 1,
  },
  {
    name: 'infra/nginx.conf: h2c upgrade on / is not forwarded as an upgrade',
    group: 'infra',
    category: 'upgrade',
    send: get('/h2c', h2c),
    upstream: switchesAnything,
    nginx: '200 open',
    forwarded: 1,
    check: (seen) => expect(headerValue(only(seen), 'upgrade')).toEqual([]),
    gateway: { outcome: '200 close', documented: OTHER_UPGRADES_PLAIN, kind: 'difference' },
  },
  {
    name: 'infra/nginx.conf: h2c upgrade on /socket.io/ is not forwarded as an upgrade',
    group: 'infra',
    category: 'upgrade',
    send: get('/socket.io/?EIO=4&transport=websocket', h2c),
    upstream: switchesAnything,
    nginx: '200 open',
    forwarded: 1,
    check: (seen) => expect(headerValue(only(seen), 'upgrade')).toEqual([]),
    gateway: { outcome: '200 close', documented: OTHER_UPGRADES_PLAIN, kind: 'difference' },
  },
  {
    name: 'infra/nginx.conf: upstream 101 with a wrong Sec-WebSocket-Accept on /socket.io/',
    group: 'infra',
    category: 'upgrade',
    send: get('/socket.io/?EIO=4&transport=websocket', wsHeaders),
    upstream: switchesWithAccept([['Sec-WebSocket-Accept', 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=']]),
    nginx: '101 tunnel',
    forwarded: 1,
    gateway: { outcome: '502 close', documented: WEBSOCKET_ONLY, kind: 'required' },
  },
  {
    name: 'infra/nginx.conf: WebSocket handshake without Sec-WebSocket-Key on /socket.io/',
    group: 'infra',
    category: 'upgrade',
    send: get('/socket.io/?EIO=4&transport=websocket', ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13']),
    upstream: websocketServer,
    nginx: '400 open',
    forwarded: 1,
    gateway: { outcome: '400 close', forwarded: 0, documented: WEBSOCKET_ONLY, kind: 'better' },
  },
  {
    name: 'infra/nginx.conf: a valid WebSocket handshake on /socket.io/ (control)',
    group: 'infra',
    category: 'upgrade',
    send: get('/socket.io/?EIO=4&transport=websocket', wsHeaders),
    upstream: websocketServer,
    nginx: '101 tunnel',
    forwarded: 1,
  },
];

const partialHead = `GET /slow HTTP/1.1${CRLF}Host: ${HOST}${CRLF}`;
const limits: AdversarialCase[] = [
  {
    // In this group because the gateway's answer is client_header_timeout (1 s here).
    name: 'HTTP/0.9 simple request',
    group: 'client limits',
    category: 'request line',
    send: `GET /http09${CRLF}`,
    // nginx proxies it and answers the HTTP/0.9 way: the body alone, then the close.
    nginx: 'closed after 12 bytes without a status line',
    forwarded: 1,
    gateway: { outcome: 'closed', forwarded: 0, documented: BARE_HTTP09, kind: 'difference' },
  },
  {
    name: 'slow headers: the head never ends (client_header_timeout 1s)',
    group: 'client limits',
    category: 'timeouts',
    send: partialHead,
    nginx: 'closed',
    forwarded: 0,
  },
  {
    name: 'slowloris: one header line every 300 ms (client_header_timeout 1s)',
    group: 'client limits',
    category: 'timeouts',
    send: [partialHead, ...Array.from({ length: 15 }, (_, i) => [{ pauseMs: 300 }, `X-Drip-${i}: 1${CRLF}`]).flat(), CRLF],
    nginx: 'closed',
    forwarded: 0,
  },
  {
    name: 'slow body: 10 of 100 bytes, then silence (client_body_timeout 1s)',
    group: 'client limits',
    category: 'timeouts',
    send: req('POST /slow-body HTTP/1.1', ['Content-Length: 100'], '0123456789'),
    nginx: 'closed',
    forwarded: 0,
    gateway: { outcome: 'closed', forwarded: { min: 0, max: 1 }, documented: MALFORMED_BODY_STREAMED, kind: 'difference' },
  },
  {
    name: 'Content-Length over client_max_body_size 1k',
    group: 'client limits',
    category: 'sizes',
    send: req('POST /big HTTP/1.1', ['Content-Length: 2000'], 'x'.repeat(2000)),
    nginx: '413 close',
    forwarded: 0,
  },
  {
    name: 'chunked body growing over client_max_body_size 1k',
    group: 'client limits',
    category: 'sizes',
    send: req('POST /big HTTP/1.1', ['Transfer-Encoding: chunked'], chunk('x'.repeat(700)) + chunk('y'.repeat(700)) + LAST_CHUNK),
    nginx: '413 close',
    forwarded: 0,
  },
  {
    name: 'Expect: 100-continue with a body over client_max_body_size 1k',
    group: 'client limits',
    category: 'sizes',
    send: req('POST /big HTTP/1.1', ['Content-Length: 5000', 'Expect: 100-continue']),
    nginx: '413 close',
    forwarded: 0,
    gateway: { outcome: '100, 413 close', documented: EARLY_CONTINUE, kind: 'difference' },
  },
  {
    name: 'request line of 2 KiB (large_client_header_buffers 2 1k)',
    group: 'client limits',
    category: 'sizes',
    send: get(`/${'a'.repeat(2048)}`),
    nginx: '414 close',
    forwarded: 0,
  },
  {
    name: 'one header line of 1.5 KiB (large_client_header_buffers 2 1k)',
    group: 'client limits',
    category: 'sizes',
    send: get('/long-header', [`X-Long: ${'x'.repeat(1536)}`]),
    nginx: '400 close',
    forwarded: 0,
  },
  {
    name: '40 header lines of 100 bytes (more than 1k + 2 x 1k)',
    group: 'client limits',
    category: 'sizes',
    send: get('/many', manyHeaders(40, (i) => `X-H${String(i).padStart(2, '0')}: ${'v'.repeat(90)}`)),
    nginx: '400 close',
    forwarded: 0,
  },
];

const realIp = (r: SeenRequest) => headerValue(r, 'x-real-ip');
const realip: AdversarialCase[] = [
  {
    name: 'spoofed X-Forwarded-For from an untrusted address',
    group: 'realip',
    category: 'realip',
    send: get('/untrusted/xff', ['X-Forwarded-For: 6.6.6.6']),
    nginx: '200 open',
    forwarded: 1,
    check: (seen) => {
      expect(realIp(only(seen))).toEqual(['127.0.0.1']);
      expect(headerValue(only(seen), 'x-forwarded-for')).toEqual(['6.6.6.6, 127.0.0.1']);
    },
  },
  {
    name: 'spoofed X-Real-IP from an untrusted address',
    group: 'realip',
    category: 'realip',
    send: get('/untrusted-xri/xri', ['X-Real-IP: 6.6.6.6']),
    nginx: '200 open',
    forwarded: 1,
    check: (seen) => expect(realIp(only(seen))).toEqual(['127.0.0.1']),
  },
  {
    name: 'trusted proxy: the rightmost untrusted address of the chain (real_ip_recursive)',
    group: 'realip',
    category: 'realip',
    send: get('/trusted/chain', ['X-Forwarded-For: 6.6.6.6, 7.7.7.7, 10.1.2.3']),
    nginx: '200 open',
    forwarded: 1,
    check: (seen) => expect(realIp(only(seen))).toEqual(['7.7.7.7']),
  },
  {
    name: 'trusted proxy sending a garbage X-Forwarded-For keeps the peer address',
    group: 'realip',
    category: 'realip',
    send: get('/trusted/garbage', ['X-Forwarded-For: not-an-address']),
    nginx: '200 open',
    forwarded: 1,
    check: (seen) => expect(realIp(only(seen))).toEqual(['127.0.0.1']),
  },
];

/** Requests one after the other, each on its own connection: `200, 200, 503`. */
async function statuses(cx: CaseContext, targets: readonly string[]): Promise<string> {
  const out: string[] = [];
  for (const target of targets) out.push((await outcome(cx.port, get(target, ['Connection: close']))).replace(/ close$/, ''));
  return out.join(', ');
}

const rate: AdversarialCase[] = [
  {
    name: 'burst beyond limit_req (1r/m, burst=2 nodelay): 5 requests',
    group: 'rate limits',
    category: 'rate limits',
    run: (cx) => statuses(cx, ['/burst/1', '/burst/2', '/burst/3', '/burst/4', '/burst/5']),
    nginx: '200, 200, 200, 503, 503',
    forwarded: 3,
  },
  {
    name: 'limit_req without burst, limit_req_status 429',
    group: 'rate limits',
    category: 'rate limits',
    run: (cx) => statuses(cx, ['/strict/1', '/strict/2', '/strict/3']),
    nginx: '200, 429, 429',
    forwarded: 1,
  },
  {
    name: 'a second connection beyond limit_conn 1 while the first request is in progress',
    group: 'rate limits',
    category: 'rate limits',
    run: async (cx) => {
      cx.upstreams.behave(hold);
      const first = await cx.open();
      try {
        first.write(get('/held/first'));
        const deadline = Date.now() + 10_000;
        while (cx.upstreams.seen.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        return await outcome(cx.port, get('/held/second', ['Connection: close']));
      } finally {
        first.destroy();
      }
    },
    nginx: '503 close',
    forwarded: 1,
  },
];

export const cases: readonly AdversarialCase[] = [
  ...framing,
  ...chunks,
  ...bytes,
  ...headerNames,
  ...requestLine,
  ...targets,
  ...host,
  ...injection,
  ...volume,
  ...upgrade,
  ...limits,
  ...realip,
  ...rate,
];
