import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../src/index.js';
import { FILE, infraLikeConfig } from './helpers.js';

/** mulberry32: a small seeded generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
    '    location = / { return 200 "hi"; }',
    '    location ^~ /static/ { proxy_pass http://a/files/; proxy_redirect http://a/ /; }',
    '    location ~* \\.(png|jpg)$ { proxy_pass http://$u; proxy_next_upstream error http_502; }',
    '    location /api/ { location /api/v1/ { proxy_pass http://a; } }',
    '  }',
    '}',
  ].join('\n'),
];

/** Characters that matter to the lexer and the directives, to make mutations interesting. */
const SPECIALS = '{};"\'\\$#~*^=@ \n\t()[]/:.0123456789abcxyz';

function mutate(text: string, next: () => number): string {
  const pick = (n: number) => Math.floor(next() * n);
  let out = text;
  const edits = 1 + pick(4);
  for (let i = 0; i < edits; i++) {
    const at = pick(out.length + 1);
    switch (pick(6)) {
      case 0: // delete a run
        out = out.slice(0, at) + out.slice(at + 1 + pick(8));
        break;
      case 1: // insert a special character
        out = out.slice(0, at) + SPECIALS[pick(SPECIALS.length)] + out.slice(at);
        break;
      case 2: {
        // duplicate a line
        const lines = out.split('\n');
        const l = pick(lines.length);
        lines.splice(l, 0, lines[l] ?? '');
        out = lines.join('\n');
        break;
      }
      case 3: {
        // swap two words
        const words = out.split(' ');
        const a = pick(words.length);
        const b = pick(words.length);
        [words[a], words[b]] = [words[b] as string, words[a] as string];
        out = words.join(' ');
        break;
      }
      case 4: // truncate
        out = out.slice(0, at);
        break;
      default: // a random byte
        out = out.slice(0, at) + String.fromCharCode(pick(256)) + out.slice(at);
    }
  }
  return out;
}

/** Compiles `text`; anything but success or a located ConfigError fails the test with the input. */
function check(text: string, label: string): void {
  try {
    parseConfigText(text, FILE);
  } catch (err) {
    if (!(err instanceof ConfigError)) {
      throw new Error(`${label}: ${String(err)}\n--- input ---\n${JSON.stringify(text)}`);
    }
    expect(typeof err.file).toBe('string');
    expect(err.line).toBeGreaterThanOrEqual(0);
    if (err.line > 0) expect(err.message.endsWith(` in ${err.file}:${err.line}`)).toBe(true);
  }
}

describe('configuration fuzzing (seeded)', () => {
  it('random byte strings only ever give a ConfigError with a location', () => {
    const next = random(0xc0ffee);
    for (let i = 0; i < 1500; i++) {
      const length = Math.floor(next() * 200);
      let text = '';
      for (let j = 0; j < length; j++) {
        text += next() < 0.5 ? SPECIALS[Math.floor(next() * SPECIALS.length)] : String.fromCharCode(Math.floor(next() * 256));
      }
      check(text, `random #${i}`);
    }
  });

  it('mutated valid configurations only ever give a ConfigError with a location', () => {
    const next = random(20261123);
    for (const seed of SEEDS) check(seed, 'seed');
    for (let i = 0; i < 3000; i++) {
      const seed = SEEDS[i % SEEDS.length] as string;
      check(mutate(seed, next), `mutation #${i}`);
    }
  });
});
