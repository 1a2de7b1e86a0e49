import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DIRECTIVES } from '../src/config/directives.js';
import { ConfigError, parseConfigText } from '../src/index.js';
import { infraLikeConfig } from './helpers.js';

// Property-based fuzzing of the configuration reader: whatever the text, parseConfigText either
// compiles it or throws a ConfigError naming a line of the file at fault. Fixed seed, so a failure
// replays (FUZZ_SEED overrides it); FUZZ_RUNS=N multiplies the runs for a longer search.
const SCALE = Math.max(1, Number(process.env.FUZZ_RUNS ?? 1));
const settings = (runs: number, seed: number) => ({ numRuns: runs * SCALE, seed: Number(process.env.FUZZ_SEED ?? seed) });

// The main file lives in a directory of include targets, so `include` reaches real files.
const dir = mkdtempSync(join(tmpdir(), 'gateway-fuzz-'));
const FILE = join(dir, 'nginx.conf');
mkdirSync(join(dir, 'snippets'));
const includeFiles: Record<string, string> = {
  'snippets/headers.conf': 'proxy_http_version 1.1;\nproxy_set_header Host $host;\n',
  'snippets/servers.conf': 'server a:1;\nserver b:2 backup;\n',
  'snippets/bogus.conf': '\nbogus on;\n',
  'snippets/open.conf': 'location / {\n',
  'events.conf': 'events { worker_connections 16; }\n',
  // Includes itself: the nesting bound must stop it.
  'self.conf': 'include self.conf;\n',
};
for (const [name, text] of Object.entries(includeFiles)) writeFileSync(join(dir, name), text);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lineCount = (text: string) => text.split('\n').length;

/** Errors nginx itself reports without a line (whole-file and shared-memory checks). */
const LINELESS = [/^no "events" section in configuration$/, /^zero size shared memory zone "[^"]*"$/];

/** The property: success, or a ConfigError located in a line that exists. */
function compilesOrFailsAtALine(text: string): void {
  try {
    parseConfigText(text, FILE);
  } catch (err) {
    // Anything else (TypeError, SyntaxError, RangeError...) fails the property with this input.
    if (!(err instanceof ConfigError)) throw err;
    if (err.line === 0) {
      expect(LINELESS.some((re) => re.test(err.message)), err.message).toBe(true);
      return;
    }
    expect(err.message.endsWith(` in ${err.file}:${err.line}`)).toBe(true);
    const source = err.file === FILE ? text : readFileSync(err.file, 'latin1');
    expect(err.line).toBeLessThanOrEqual(lineCount(source));
  }
}

// --- the vocabulary ---------------------------------------------------------------------------

const name = fc.oneof(
  { arbitrary: fc.constantFrom(...Object.keys(DIRECTIVES)), weight: 6 },
  fc.constantFrom('bogus', 'Server', 'set', 'if', 'root', 'ssl_certificate', '__proto__', 'constructor'),
  fc.string({ unit: 'grapheme-ascii', maxLength: 6 }),
);

/** Arguments that lex cleanly, so that a directive reaches its handler. */
const WORDS = [
  // values
  'on', 'off', 'auto', 'default', 'default_server', 'backup', 'down', 'always', '1.0', '1.1', '2.0',
  'main', 'combined', 'escape=json', 'escape=none', 'escape=bogus', 'stderr', 'notice', 'debug', 'warn', 'crit',
  'error', 'timeout', 'invalid_header', 'http_502', 'http_404', 'non_idempotent',
  // location modifiers and names
  '=', '^~', '~', '~*', '@named', '/', '/api/', '/a/b', '*.example.com', '.example.org', '_', 'example.com',
  // addresses and URLs
  'http://app', 'http://app/', 'http://app:1/p/', 'http://$u', 'http://$host$request_uri', 'https://x', 'http://',
  'unix:/tmp/s.sock', '127.0.0.1:8080', '[::1]:80', '[::]:0', '*:80', '80', '0', '65535', '65536', '-1', 'a:1', 'app:3000',
  'weight=2', 'weight=0', 'max_fails=3', 'fail_timeout=5s', 'max_conns=1', 'resolve', 'consistent', '$remote_addr',
  // zones, limits, client buffers, real IP
  'zone=one:10m', 'zone=one', 'zone=:1m', 'rate=1r/s', 'rate=30r/m', 'rate=0r/s', 'burst=5', 'nodelay', 'delay=2', 'one',
  '$binary_remote_addr', 'X-Forwarded-For', 'X-Real-IP', 'proxy_protocol', '127.0.0.0/8', '::1/128', '10.0.0.0/33', '4', '8k', '0k',
  // numbers and units
  '10s', '1h 30m', '500ms', '1m', '64k', '1g', '0s', '99999999999999999999', '1y', 's', '10x',
  // variables and templates
  '$host', '$http_upgrade', '$arg_sid', '${host}x', '$', '${', '$1', '$9x', '$arg_', '$http_', '"$a $b"', '$connection_upgrade',
  // regular expressions
  '~^/a(?<n>.+)$', '~(unclosed', '~*\\.(png|jpg)$', '"~^chat-1\\."', '~[z-a]', '~(?<n>a)(?<n>b)', '(?<x>.)',
  // quoted and escaped, complete
  "''", '""', '"a b"', "'a;b'", '"{"', '"}"', '\\"', '\\\\', '\\n', '"\\t"', 'if=$x', 'buffer=32k', 'flush=1s', 'gzip',
];

/** Arguments that trouble the lexer. */
const QUOTING = ['"unterminated', "'unterminated", '"a"b', '"a"(', '~\\', '\\', '{', '}', ';', '#', '${'];

/** `include` targets, relative to the main file's directory: files, globs, a directory, nothing. */
const INCLUDES = [
  'snippets/headers.conf', 'snippets/servers.conf', 'snippets/bogus.conf', 'snippets/open.conf', 'events.conf', 'self.conf',
  'snippets/*.conf', 'snippets/[!b]*', 'snippets/?ogus.conf', 'snippets/[z-a].conf', 'missing.conf', 'snippets', '*', '[', '',
];

const word = fc.oneof(
  { arbitrary: fc.constantFrom(...WORDS), weight: 12 },
  fc.constantFrom(...INCLUDES),
  fc.integer({ min: -2, max: 70_000 }).map(String),
  fc.stringMatching(/^[a-z*?[\]!.-]{1,8}$/), // glob-ish include patterns
);
const arg = fc.oneof(
  { arbitrary: word, weight: 12 },
  fc.constantFrom(...QUOTING),
  fc.string({ unit: 'binary-ascii', maxLength: 8 }),
  fc.string({ unit: 'grapheme', maxLength: 4 }),
);

const space = fc.constantFrom(' ', ' ', '\n', '\t', '\r\n', '  # a comment\n', '\n\n');

/** A directive, a block, or an include, built from the vocabulary. */
const { statements } = fc.letrec<{ statements: string[]; statement: string }>((tie) => ({
  statements: fc.array(tie('statement'), { maxLength: 3 }),
  statement: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    {
      arbitrary: fc
        .tuple(name, fc.array(arg, { maxLength: 4 }), fc.constantFrom(...';'.repeat(12), '', '}'), space)
        .map(([n, args, end, sp]) => `${[n, ...args].join(' ')}${end}${sp}`),
      weight: 6,
    },
    {
      arbitrary: fc
        .tuple(name, fc.array(arg, { maxLength: 3 }), tie('statements'), space)
        .map(([n, args, body, sp]) => `${[n, ...args].join(' ')} {${sp}${body.join('')}}${sp}`),
      weight: 2,
    },
    {
      arbitrary: fc.tuple(fc.oneof({ arbitrary: fc.constantFrom(...INCLUDES), weight: 4 }, arg), space).map(([a, sp]) => `include ${a};${sp}`),
      weight: 1,
    },
  ),
}));

/** Statements placed where they are most likely to compile: main, http, server, location, upstream. */
const skeleton = fc
  .record({ main: statements, http: statements, server: statements, location: statements, upstream: statements, events: fc.boolean() })
  .map(
    (p) =>
      `${p.events ? 'events { worker_connections 64; }\n' : ''}${p.main.join('')}\n` +
      `http {\n${p.http.join('')}\n  upstream up { server a:1; ${p.upstream.join('')}}\n` +
      `  server {\n    listen 8080;\n${p.server.join('')}\n    location / {\n${p.location.join('')}\n    }\n  }\n}\n`,
  );

const TOKENS = ['{', '}', ';', '"', "'", '\\', '$', '#', '\n', ' ', '\t', '\r', '\0', '(', ')', '=', '~', '${', 'include', 'events', 'http', 'server', 'location'];
const tokenStream = fc
  .array(fc.oneof({ arbitrary: fc.constantFrom(...TOKENS), weight: 4 }, name, arg, fc.string({ unit: 'binary', maxLength: 3 })), { maxLength: 60 })
  .map((tokens) => tokens.join(''));

// --- mutations of real configurations ---------------------------------------------------------

const INFRA = readFileSync(fileURLToPath(new URL('../../../infra/nginx.conf', import.meta.url)), 'latin1');

const SEEDS: readonly string[] = [
  INFRA,
  infraLikeConfig(),
  [
    'worker_processes 2;',
    'events { worker_connections 10; }',
    'http {',
    '  log_format main \'$remote_addr "$request" $status\';',
    '  map $arg_sid $u { default a; "~^(?<n>x\\d+)\\." b_$n; ~*y c; }',
    '  upstream a { server a:1 weight=2 max_fails=3 fail_timeout=5s; server b:1 backup; keepalive 4; }',
    '  server {',
    '    listen 127.0.0.1:8080 default_server;',
    '    server_name example.com *.example.org ~^(?<sub>.+)\\.test$;',
    '    add_header X-A $status always;',
    '    include snippets/headers.conf;',
    '    location = / { return 200 "hi"; }',
    '    location ^~ /static/ { proxy_pass http://a/files/; proxy_redirect http://a/ /; }',
    '    location ~* \\.(png|jpg)$ { proxy_pass http://$u; proxy_next_upstream error http_502; }',
    '    location /api/ { location /api/v1/ { proxy_pass http://a; } }',
    '  }',
    '}',
  ].join('\n'),
];

/** Characters that matter to the lexer and the directives. */
const SPECIALS = '{};"\'\\$#~*^=@ \n\t\r()[]/:.0123456789abcxyz\0';

type Edit =
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'duplicateLine' | 'truncate'; at: number }
  | { kind: 'swapWords'; at: number; other: number };

const position = fc.nat({ max: 1 << 20 });
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: position,
    text: fc.oneof(fc.constantFrom(...SPECIALS), fc.constantFrom(...TOKENS), arg, fc.string({ unit: 'binary-ascii', maxLength: 2 })),
  }),
  fc.record({ kind: fc.constantFrom('duplicateLine' as const, 'truncate' as const), at: position }),
  fc.record({ kind: fc.constant('swapWords' as const), at: position, other: position }),
);

function applyEdit(text: string, e: Edit): string {
  const at = e.at % (text.length + 1);
  switch (e.kind) {
    case 'delete':
      return text.slice(0, at) + text.slice(at + e.length);
    case 'insert':
      return text.slice(0, at) + e.text + text.slice(at);
    case 'truncate':
      return text.slice(0, at);
    case 'duplicateLine': {
      const lines = text.split('\n');
      const l = e.at % lines.length;
      lines.splice(l, 0, lines[l] ?? '');
      return lines.join('\n');
    }
    case 'swapWords': {
      const words = text.split(' ');
      const a = e.at % words.length;
      const b = e.other % words.length;
      [words[a], words[b]] = [words[b] as string, words[a] as string];
      return words.join(' ');
    }
  }
}

const mutated = fc
  .tuple(fc.constantFrom(...SEEDS), fc.array(edit, { minLength: 1, maxLength: 6 }))
  .map(([seed, edits]) => edits.reduce(applyEdit, seed));

/** Counterexamples found so far, replayed first on every run. */
const FOUND: [string][] = [
  // A glob with an out-of-order range threw a SyntaxError (nginx: the glob matches nothing).
  ['events {}\ninclude snippets/[z-a].conf;\n'],
];

describe('configuration fuzzing (fast-check, fixed seeds)', () => {
  it('the seed configurations compile', () => {
    for (const seed of SEEDS) expect(() => parseConfigText(seed, FILE)).not.toThrow();
  });

  it('random token streams only ever give a located ConfigError', () => {
    fc.assert(fc.property(tokenStream, compilesOrFailsAtALine), settings(1500, 0xc0ffee));
  }, 20_000 * SCALE);

  it('random directives, blocks and includes in a config skeleton only ever give a located ConfigError', () => {
    fc.assert(fc.property(skeleton, compilesOrFailsAtALine), { ...settings(1500, 20261124), examples: FOUND });
  }, 20_000 * SCALE);

  it('mutated real configurations only ever give a located ConfigError', () => {
    fc.assert(fc.property(mutated, compilesOrFailsAtALine), settings(2000, 20261123));
  }, 20_000 * SCALE);
});
