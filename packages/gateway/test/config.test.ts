import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/parser.js';
import { loadConfig, parseConfigText } from '../src/index.js';
import { FILE, lines, configErrorOf } from './helpers.js';

const INFRA = fileURLToPath(new URL('../../../infra/nginx.conf', import.meta.url));

const errorOf = configErrorOf;

const http = (...body: string[]) => lines('events {}', 'http {', ...body, '}');

describe('parser', () => {
  it('splits directives, blocks, quotes and escapes like nginx', () => {
    const tree = parseConfig(
      lines(
        '# a comment',
        'a 1 "two words" \'single\' "esc \\" \\\\ \\n\\t\\r" \\x "";  # trailing comment',
        'b $var ${var}x a#b {',
        '  c;',
        '}',
      ),
      FILE,
    );
    expect(tree).toHaveLength(2);
    const [a, b] = tree;
    expect(a?.name).toBe('a');
    expect(a?.args).toEqual(['1', 'two words', 'single', 'esc " \\ \n\t\r', '\\x', '']);
    expect(a?.words.map((w) => w.quoted)).toEqual([false, true, true, true, false, true]);
    expect(a?.line).toBe(2);
    expect(b?.args).toEqual(['$var', '${var}x', 'a#b']);
    expect(b?.children?.map((c) => c.name)).toEqual(['c']);
    expect(b?.children?.[0]?.line).toBe(4);
    expect(b?.endLine).toBe(5);
  });

  it('reports a directive at the line of its terminator, as nginx does', () => {
    const [d] = parseConfig(lines('multi', '  line', '  directive;'), FILE);
    expect(d?.line).toBe(3);
  });

  it.each([
    ['an unterminated double quote', lines('events {}', 'a "open;', 'b;'), 'unexpected end of file, expecting ";" or "}" in /etc/chat-gateway/nginx.conf:4'],
    ['an unterminated single quote', "a 'x", 'unexpected end of file, expecting ";" or "}" in /etc/chat-gateway/nginx.conf:1'],
    ['a stray }', lines('events {}', '}'), 'unexpected "}" in /etc/chat-gateway/nginx.conf:2'],
    ['a } after arguments', lines('a b }'), 'unexpected "}" in /etc/chat-gateway/nginx.conf:1'],
    ['a stray ;', lines('events {}', ';'), 'unexpected ";" in /etc/chat-gateway/nginx.conf:2'],
    ['a stray {', lines('{'), 'unexpected "{" in /etc/chat-gateway/nginx.conf:1'],
    ['an unclosed block', lines('events {}', 'http {', '  server {', '  }'), 'unexpected end of file, expecting "}" in /etc/chat-gateway/nginx.conf:5'],
    ['a missing ;', 'events {}\nworker_processes 1', 'unexpected end of file, expecting ";" or "}" in /etc/chat-gateway/nginx.conf:2'],
    ['text glued to a quote', lines('a "b"c;'), 'unexpected "c" in /etc/chat-gateway/nginx.conf:1'],
  ])('rejects %s', (_name, text, message) => {
    expect(errorOf(text).message).toBe(message);
  });
});

describe('compile', () => {
  it('loads infra/nginx.conf', () => {
    const config = loadConfig(INFRA);
    expect(config.file).toBe(INFRA);
    expect(config.workerProcesses).toBe('auto');
    expect(config.workerConnections).toBe(4096);
    const groups = config.upstreams.map((u) => [u.name, u.keepalive, u.servers.map((s) => s.address)]);
    expect(groups).toContainEqual(['chat', 64, ['chat-1:3000', 'chat-2:3000', 'chat-3:3000']]);
    expect(groups).toContainEqual(['web', 16, ['web:3000']]);
    const [server] = config.servers;
    expect(server?.listens.map((l) => [l.host, l.port])).toEqual([['*', 8080]]);
    const [socketIo, root] = server?.locations ?? [];
    expect(socketIo?.prefix).toBe('/socket.io/');
    expect(socketIo?.proxy).toMatchObject({
      url: 'http://$chat_upstream',
      upstream: null,
      httpVersion: '1.1',
      readTimeoutMs: 75_000,
      redirects: [],
    });
    expect(socketIo?.proxy?.headers.map((h) => [h.name, h.value.source])).toEqual([
      ['Host', '$host'],
      ['X-Real-IP', '$remote_addr'],
      ['X-Forwarded-For', '$proxy_add_x_forwarded_for'],
      ['Upgrade', '$websocket_upgrade'],
      ['Connection', '$connection_upgrade'],
    ]);
    expect(root?.proxy?.upstream?.name).toBe('web');
  });

  it('applies nginx defaults and inheritance', () => {
    const config = parseConfigText(
      http(
        '  proxy_set_header X-Level http;',
        '  proxy_read_timeout "1h 30m";',
        '  server {',
        '    listen 127.0.0.1:8080 default_server;',
        '    location /inherit { proxy_pass http://backend:8081; }',
        '    location /own { proxy_pass http://Backend:80; proxy_set_header X-Own yes; proxy_read_timeout 500ms; }',
        '  }',
      ),
      FILE,
    );
    expect(config.workerProcesses).toBe(1);
    expect(config.workerConnections).toBe(512);
    const [inherit, own] = config.servers[0]?.locations ?? [];
    expect(inherit?.proxy).toMatchObject({ httpVersion: '1.0', readTimeoutMs: 5_400_000, proxyHost: 'backend:8081' });
    expect(inherit?.proxy?.redirects.map((r) => (r.kind === 'string' ? [r.from.source, r.to.source] : []))).toEqual([
      ['http://backend:8081/', '/'],
    ]);
    expect(inherit?.proxy?.headers.map((h) => h.name)).toEqual(['X-Level']);
    // A level that sets any proxy_set_header replaces the inherited list entirely.
    expect(own?.proxy?.headers.map((h) => h.name)).toEqual(['X-Own']);
    expect(own?.proxy).toMatchObject({ readTimeoutMs: 500, proxyHost: 'Backend' });
    // Two proxy_pass to different ports make two implicit upstreams.
    expect(config.upstreams.map((u) => [u.name, u.implicit, u.servers[0]?.port])).toEqual([
      ['backend', true, 8081],
      ['Backend', true, 80],
    ]);
    expect(config.servers[0]?.listens[0]).toMatchObject({ host: '127.0.0.1', port: 8080, defaultServer: true });
  });

  it('expands include files and globs relative to the main file, with their own file:line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-include-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'conf.d', 'b.conf'), lines('server { listen 9002; }'));
    writeFileSync(join(dir, 'conf.d', 'a.conf'), lines('server { listen 9001; }'));
    writeFileSync(join(dir, 'conf.d', 'skip.txt'), 'garbage');
    writeFileSync(join(dir, 'upstreams.conf'), lines('upstream u { server a:1; }'));
    writeFileSync(join(dir, 'map.inc'), lines('x 1;', 'y 2;'));
    const main = join(dir, 'nginx.conf');
    writeFileSync(
      main,
      lines('events {}', 'http {', '  include upstreams.conf;', '  include conf.d/*.conf;', '  include none/*.conf;', '  map $host $b { include map.inc; }', '}'),
    );
    const config = loadConfig(main);
    expect(config.servers.map((s) => s.listens[0]?.port)).toEqual([9001, 9002]);
    expect(config.upstreams[0]?.name).toBe('u');

    writeFileSync(join(dir, 'conf.d', 'c.conf'), lines('', 'bogus;'));
    expect(() => loadConfig(main)).toThrow(`unknown directive "bogus" in ${join(dir, 'conf.d', 'c.conf')}:2`);
    writeFileSync(main, lines('events {}', 'include missing.conf;'));
    expect(() => loadConfig(main)).toThrow(`open() "${join(dir, 'missing.conf')}" failed (ENOENT: no such file or directory) in ${main}:2`);
    writeFileSync(main, lines('events {}', 'include a b;'));
    expect(() => loadConfig(main)).toThrow(`invalid number of arguments in "include" directive in ${main}:2`);
    writeFileSync(main, lines('events {}', 'include nginx.conf;'));
    expect(() => loadConfig(main)).toThrow('include nesting is too deep');
  });

  it('reads a file from disk and reports a missing one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-config-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const good = join(dir, 'good.conf');
    writeFileSync(good, lines('events {}', 'http { server { listen 9; } }'));
    expect(loadConfig(good).servers[0]?.listens[0]?.port).toBe(9);

    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, lines('events {}', 'foo;'));
    expect(() => loadConfig(bad)).toThrow(`unknown directive "foo" in ${bad}:2`);

    const missing = join(dir, 'missing.conf');
    expect(() => loadConfig(missing)).toThrow(`open() "${missing}" failed (ENOENT: no such file or directory)`);
  });

  const F = '/etc/chat-gateway/nginx.conf';
  it.each([
    ['unknown directive', lines('events {}', 'foo bar;'), `unknown directive "foo" in ${F}:2`],
    ['wrong argument count', http('  upstream u {', '    server a:1;', '    keepalive;', '  }'), `invalid number of arguments in "keepalive" directive in ${F}:5`],
    ['too many arguments', lines('events {}', 'worker_processes 1 2;'), `invalid number of arguments in "worker_processes" directive in ${F}:2`],
    ['directive in the wrong context', http('  proxy_pass http://a;'), `"proxy_pass" directive is not allowed here in ${F}:3`],
    ['block directive without a block', lines('events {}', 'http;'), `directive "http" has no opening "{" in ${F}:2`],
    ['simple directive with a block', http('  server { listen 80 { } }'), `directive "listen" is not terminated by ";" in ${F}:3`],
    ['duplicate http', lines('events {}', 'http {}', 'http {}'), `"http" directive is duplicate in ${F}:3`],
    ['missing events', lines('http {}'), 'no "events" section in configuration'],
    ['bad worker_processes', lines('events {}', 'worker_processes many;'), `"worker_processes" directive invalid value in ${F}:2`],
    ['bad worker_connections', lines('events { worker_connections -1; }'), `invalid number "-1" in ${F}:1`],
    ['unknown variable', http('  proxy_set_header X-A $nope;'), `unknown "nope" variable in ${F}:3`],
    ['invalid variable name', http('  proxy_set_header X-A "a$";'), `invalid variable name in ${F}:3`],
    ['unclosed ${', http('  proxy_set_header X-A ${host;'), `the closing bracket in "host" variable is missing in ${F}:3`],
    ['bad time value', http('  proxy_read_timeout 5x;'), `"proxy_read_timeout" directive invalid value in ${F}:3`],
    ['months in a time', http('  proxy_read_timeout 1M;'), `"proxy_read_timeout" directive invalid value in ${F}:3`],
    ['duplicate proxy_read_timeout', http('  proxy_read_timeout 1s;', '  proxy_read_timeout 2s;'), `"proxy_read_timeout" directive is duplicate in ${F}:4`],
    ['bad proxy_http_version', http('  proxy_http_version 2.0;'), `invalid value "2.0" in ${F}:3`],
    ['listen port out of range', http('  server {', '    listen 70000;', '  }'), `invalid port in "70000" of the "listen" directive in ${F}:4`],
    ['listen port not a number', http('  server { listen 127.0.0.1:http; }'), `invalid port in "127.0.0.1:http" of the "listen" directive in ${F}:3`],
    ['listen with a path', http('  server { listen 127.0.0.1:80/x; }'), `invalid host in "127.0.0.1:80/x" of the "listen" directive in ${F}:3`],
    ['listen with an unknown parameter', http('  server { listen 80 fast; }'), `invalid parameter "fast" in ${F}:3`],
    ['listen twice in a server', http('  server {', '    listen 8080;', '    listen *:8080;', '  }'), `a duplicate listen 0.0.0.0:8080 in ${F}:5`],
    ['two default servers', http('  server { listen 80 default_server; }', '  server { listen 80 default_server; }'), `a duplicate default server for 0.0.0.0:80 in ${F}:4`],
    ['proxy_pass with a URI in a regex location', http('  server { location ~ ^/a { proxy_pass http://a/x; } }'), `"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block in ${F}:3`],
    ['proxy_pass to https', http('  server { location / { proxy_pass https://a; } }'), `"proxy_pass" to https is not supported by chat-gateway yet in ${F}:3`],
    ['proxy_pass with another scheme', http('  server { location / { proxy_pass ftp://a; } }'), `invalid URL prefix in ${F}:3`],
    ['proxy_redirect default with a variable proxy_pass', http('  server { location / { proxy_pass http://$host; proxy_redirect default; } }'), `"proxy_redirect default" cannot be used with "proxy_pass" directive with variables in ${F}:3`],
    ['proxy_pass with an unknown variable', http('  server { location / { proxy_pass http://$nope; } }'), `unknown "nope" variable in ${F}:3`],
    ['proxy_pass with a bad port', http('  server { location / { proxy_pass http://a:x; } }'), `invalid port in upstream "a:x" in ${F}:3`],
    ['duplicate proxy_pass', http('  server { location / {', '    proxy_pass http://a;', '    proxy_pass http://b;', '  } }'), `"proxy_pass" directive is duplicate in ${F}:5`],
    ['a port on an upstream name', http('  upstream u { server a:1; }', '  server { location / { proxy_pass http://u:8080; } }'), `upstream "u" may not have port 8080 in ${F}:4`],
    ['duplicate upstream', http('  upstream u { server a:1; }', '  upstream U { server a:1; }'), `duplicate upstream "U" in ${F}:4`],
    ['empty upstream', http('  upstream u {', '  }'), `no servers are inside upstream in ${F}:4`],
    ['bad max_fails', http('  upstream u { server a:1 max_fails=x; }'), `invalid parameter "max_fails=x" in ${F}:3`],
    ['fail_timeout in ms', http('  upstream u { server a:1 fail_timeout=5ms; }'), `invalid parameter "fail_timeout=5ms" in ${F}:3`],
    ['bad max_conns', http('  upstream u { server a:1 max_conns=-1; }'), `invalid parameter "max_conns=-1" in ${F}:3`],
    ['unsupported server parameter', http('  upstream u { server a:1 slow_start=10s; }'), `the "slow_start=10s" parameter of the "server" directive is not supported by chat-gateway yet in ${F}:3`],
    ['bad proxy_next_upstream', http('  proxy_next_upstream error bogus;'), `invalid value "bogus" in ${F}:3`],
    ['bad proxy_next_upstream_tries', http('  proxy_next_upstream_tries x;'), `invalid number in ${F}:3`],
    ['bad proxy_connect_timeout', http('  proxy_connect_timeout 1x;'), `"proxy_connect_timeout" directive invalid value in ${F}:3`],
    ['bad keepalive_requests', http('  upstream u { server a:1; keepalive_requests x; }'), `invalid number in ${F}:3`],
    ['keepalive_timeout at main level', lines('keepalive_timeout 5s;', 'events {}'), `"keepalive_timeout" directive is not allowed here in ${F}:1`],
    ['backup with ip_hash', http('  upstream u { ip_hash; server a:1 backup; }'), `balancing method does not support parameter "backup" in ${F}:3`],
    ['backup before hash', http('  upstream u {', '    server a:1 backup;', '    hash $uri;', '  }'), `balancing method does not support parameter "backup" in ${F}:4`],
    ['bad hash flag', http('  upstream u { hash $uri ring; server a:1; }'), `invalid parameter "ring" in ${F}:3`],
    ['least_conn with an argument', http('  upstream u { least_conn 1; server a:1; }'), `invalid number of arguments in "least_conn" directive in ${F}:3`],
    ['bad server weight', http('  upstream u { server a:1 weight=0; }'), `invalid parameter "weight=0" in ${F}:3`],
    ['bad upstream server port', http('  upstream u { server a:0; }'), `invalid port in upstream "a:0" in ${F}:3`],
    ['bad keepalive', http('  upstream u { server a:1; keepalive 0; }'), `invalid value "0" in "keepalive" directive in ${F}:3`],
    ['duplicate location', http('  server {', '    location /a {}', '    location /a {}', '  }'), `duplicate location "/a" in ${F}:5`],
    ['location regex that does not compile', http('  server { location ~ ( {} }'), `pcre2_compile() failed: Unterminated group in "(" in ${F}:3`],
    ['duplicate ^~ and prefix location', http('  server {', '    location /a {}', '    location ^~ /a {}', '  }'), `duplicate location "/a" in ${F}:5`],
    ['named location', http('  server { location @x {} }'), `named location is not supported by chat-gateway yet in ${F}:3`],
    ['bad return code', http('  server { return 1000; }'), `invalid return code "1000" in ${F}:3`],
    ['return text not a code', http('  server { return /x; }'), `invalid return code "/x" in ${F}:3`],
    ['unknown location modifier', http('  server { location == /a {} }'), `invalid location modifier "==" in ${F}:3`],
    ['nested location outside its parent', http('  server { location /a { location /b {} } }'), `location "/b" is outside location "/a" in ${F}:3`],
    ['location inside an exact location', http('  server { location = /a { location /a/b {} } }'), `location "/a/b" cannot be inside the exact location "/a" in ${F}:3`],
    ['bad add_header flag', http('  add_header X-A b never;'), `invalid parameter "never" in ${F}:3`],
    ['proxy_redirect with a bad regex', http('  proxy_redirect ~( /;'), `pcre2_compile() failed: Unterminated group in "(" in ${F}:3`],
    ['proxy_redirect default before proxy_pass', http('  server { location / { proxy_redirect default; proxy_pass http://a; } }'), `"proxy_redirect default" should be placed after the "proxy_pass" directive in ${F}:3`],
    ['map value count', http('  map $a $b {', '    x y z;', '  }'), `invalid number of the map parameters in ${F}:4`],
    ['map block inside map', http('  map $a $b {', '    x {', '    }', '  }'), `unexpected "{" in ${F}:4`],
    ['map conflicting keys', http('  map $a $b {', '    Key 1;', '    key 2;', '  }'), `conflicting parameter "key" in ${F}:5`],
    ['map duplicate default', http('  map $a $b {', '    default 1;', '    default 2;', '  }'), `duplicate default map parameter in ${F}:5`],
    ['map target not a variable', http('  map $a b {}'), `invalid variable name "b" in ${F}:3`],
    ['map redefining a builtin', http('  map $a $host {}'), `the duplicate "host" variable in ${F}:3`],
    ['map regex that does not compile', http('  map $a $b {', '    ~^(x 1;', '  }'), `pcre2_compile() failed: Unterminated group in "^(x" in ${F}:4`],
    ['named capture redefining a builtin', http('  map $a $b { "~(?<host>x)" 1; }'), `the duplicate "host" variable in ${F}:3`],
  ])('reports %s', (_name, text, message) => {
    expect(errorOf(text).message).toBe(message);
  });

  it('carries file and line on the error', () => {
    const err = errorOf(lines('events {}', '', 'foo;'));
    expect([err.file, err.line, err.detail]).toEqual([FILE, 3, 'unknown directive "foo"']);
  });
});

describe('upstream and retry settings', () => {
  it('compiles server parameters, keepalive limits and proxy_next_upstream with inheritance', () => {
    const config = parseConfigText(
      lines(
        'events {}',
        'http {',
        '  proxy_next_upstream error timeout http_502 http_502;',
        '  proxy_connect_timeout 2s;',
        '  upstream u {',
        '    server a:1 weight=3 max_fails=0 fail_timeout=1m max_conns=7;',
        '    server b:1 backup;',
        '    server c:1 down;',
        '    keepalive 4; keepalive_timeout 5s; keepalive_requests 10; keepalive_time 1m;',
        '  }',
        '  server {',
        '    proxy_send_timeout 3s;',
        '    location / { proxy_pass http://u; proxy_next_upstream_tries 2; proxy_next_upstream_timeout 9s; }',
        '    location /off { proxy_pass http://u; proxy_next_upstream off http_500; }',
        '  }',
        '}',
      ),
      FILE,
    );
    const u = config.upstreams[0];
    expect(u?.servers.map((s) => [s.address, s.weight, s.maxFails, s.failTimeout, s.maxConns, s.backup, s.down])).toEqual([
      ['a:1', 3, 0, 60, 7, false, false],
      ['b:1', 1, 1, 10, 0, true, false],
      ['c:1', 1, 1, 10, 0, false, true],
    ]);
    expect([u?.keepaliveTimeoutMs, u?.keepaliveRequests, u?.keepaliveTimeMs]).toEqual([5000, 10, 60_000]);
    const [root, off] = config.servers[0]?.locations ?? [];
    expect(root?.proxy).toMatchObject({ connectTimeoutMs: 2000, sendTimeoutMs: 3000, readTimeoutMs: 60_000, nextUpstream: 0x2 | 0x4 | 0x20, nextUpstreamTries: 2, nextUpstreamTimeoutMs: 9000 });
    expect(off?.proxy?.nextUpstream).toBe(0x40000000);
  });
});
