import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/index.js';
import { errorLogLine, logs } from '../src/logging.js';
import { cleanup, closedPort, FILE, httpRequest, lines, startGateway, startUpstream } from './helpers.js';

afterEach(cleanup);
const dir = mkdtempSync(join(tmpdir(), 'gateway-logs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readLog(path: string, count: number): Promise<string[]> {
  for (let i = 0; i < 50; i++) {
    let text = '';
    try {
      text = readFileSync(path, 'latin1');
    } catch {
      /* not yet */
    }
    const got = text.split('\n').filter(Boolean);
    if (got.length >= count) return got;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`expected ${count} lines in ${path}`);
}

describe('access_log and log_format', () => {
  it('writes the combined format by default, and custom formats with escaping and "-"', async () => {
    const up = await startUpstream((_req, res) => res.end('hello'));
    const dead = await closedPort();
    const combined = join(dir, 'combined.log');
    const custom = join(dir, 'custom.log');
    const json = join(dir, 'json.log');
    const { port } = await startGateway(
      lines(
        'events {}',
        'http {',
        '  log_format main \'$request_method $uri $status $body_bytes_sent up=$upstream_addr st=$upstream_status ua="$http_user_agent" ref=$http_referer a=$arg_a\';',
        '  log_format js escape=json \'{"ua":"$http_user_agent","s":$status}\';',
        `  access_log ${combined};`,
        '  upstream pool { server dead:1; server app:1; }',
        '  server {',
        '    location / {',
        '      proxy_pass http://pool;',
        `      access_log ${custom} main;`,
        `      access_log ${json} js;`,
        '    }',
        '    location /quiet { access_log off; return 204; }',
        '    location /plain { return 200 ok; }',
        '  }',
        '}',
      ),
      { 'app:1': up.port, 'dead:1': dead },
    );
    await httpRequest(port, '/x?a=1', { headers: { 'User-Agent': 'say "hi"\u00e9' } });
    await httpRequest(port, '/quiet');
    await httpRequest(port, '/plain', { headers: { 'User-Agent': 'ua', Referer: 'http://r/' } });
    const [line] = await readLog(custom, 1);
    expect(line).toBe(
      `GET /x 200 5 up=127.0.0.1:${dead}, 127.0.0.1:${up.port} st=502, 200 ua="say \\x22hi\\x22\\xE9" ref=- a=1`,
    );
    expect((await readLog(json, 1))[0]).toBe('{"ua":"say \\"hi\\"\u00e9","s":200}');
    const [plain] = await readLog(combined, 1);
    expect(plain).toMatch(/^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET \/plain HTTP\/1\.1" 200 2 "http:\/\/r\/" "ua"$/);
  });

  it('reports unknown formats and bad escaping', () => {
    const http = (...body: string[]) => lines('events {}', 'http {', ...body, '}');
    expect(() => parseConfigText(http('  access_log /tmp/x nope;'), FILE)).toThrow(`unknown log format "nope" in ${FILE}:3`);
    expect(() => parseConfigText(http('  log_format a escape=xml x;'), FILE)).toThrow(`unknown log format escaping "xml" in ${FILE}:3`);
    expect(() => parseConfigText(http('  log_format combined x;'), FILE)).toThrow(`duplicate "log_format" name "combined" in ${FILE}:3`);
    expect(() => parseConfigText(http('  server { error_log /tmp/e; }'), FILE)).toThrow('not supported');
    expect(() => parseConfigText(lines('error_log /tmp/e loud;', 'events {}'), FILE)).toThrow(`invalid log level "loud" in ${FILE}:1`);
    expect(parseConfigText(lines('error_log logs/e.log warn;', 'events {}'), FILE).errorLog).toMatchObject({
      path: '/etc/chat-gateway/logs/e.log',
      level: 'warn',
    });
  });

  it('formats error log lines like nginx and filters by level', () => {
    expect(errorLogLine('error', 'boom', new Date(2026, 0, 2, 3, 4, 5))).toBe(`2026/01/02 03:04:05 [error] ${process.pid}#0: boom\n`);
    expect([logs('error', 'warn'), logs('warn', 'warn'), logs('warn', 'error'), logs('info', 'warn')]).toEqual([false, true, true, true]);
  });
});

describe('stub_status', () => {
  it("answers nginx's exact text", async () => {
    const { port } = await startGateway(lines('events {}', 'http { server { location = /status { stub_status; } } }'));
    await httpRequest(port, '/status');
    const res = await httpRequest(port, '/status');
    expect(res.headers['content-type']).toBe('text/plain');
    expect(res.body).toMatch(/^Active connections: 1 \nserver accepts handled requests\n 2 2 2 \nReading: 0 Writing: 1 Waiting: 0 \n$/);
    expect((await httpRequest(port, '/status', { method: 'POST' })).status).toBe(405);
  });
});
