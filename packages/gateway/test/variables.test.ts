import { describe, expect, it } from 'vitest';
import { clientAddress } from '../src/proxy/request.js';
import { parseConfigText } from '../src/index.js';
import { evaluate, type RequestVariables } from '../src/variables.js';
import { FILE, lines } from './helpers.js';

/** Compiles `values` as proxy_set_header values (after `preamble` in http{}) and evaluates them. */
function evaluator(values: string[], preamble: string[] = [], passTo = 'http://app') {
  const config = parseConfigText(
    lines(
      'events {}',
      'http {',
      ...preamble,
      '  server { location / {',
      `    proxy_pass ${passTo};`,
      ...values.map((v, i) => `    proxy_set_header X-${i} ${v};`),
      '  } }',
      '}',
    ),
    FILE,
  );
  const proxy = config.servers[0]?.locations[0]?.proxy;
  if (!proxy) throw new Error('no proxy');
  return (vars: Partial<RequestVariables> = {}) => {
    const r: RequestVariables = {
      rawHeaders: [],
      remoteAddress: '10.1.2.3',
      remotePort: '51000',
      host: 'example.com',
      proxyHost: proxy.proxyHost,
      cache: [],
      ...vars,
    };
    return proxy.headers.map((h) => evaluate(h.value, r));
  };
}

describe('variables', () => {
  it('evaluates the builtin variables', () => {
    const run = evaluator(['$host', '$remote_addr', '$remote_port', '$proxy_host', '$proxy_add_x_forwarded_for', '$HOST']);
    expect(run()).toEqual(['example.com', '10.1.2.3', '51000', 'app', '10.1.2.3', 'example.com']);
    expect(run({ rawHeaders: ['X-Forwarded-For', '1.1.1.1', 'x-forwarded-for', '2.2.2.2, 3.3.3.3'] })[4]).toBe(
      '1.1.1.1, 2.2.2.2, 3.3.3.3, 10.1.2.3',
    );
  });

  it('computes $proxy_host from proxy_pass, omitting :80', () => {
    expect(evaluator(['$proxy_host'], [], 'http://backend:80')()).toEqual(['backend']);
    expect(evaluator(['$proxy_host'], [], 'http://backend:8080')()).toEqual(['backend:8080']);
    expect(evaluator(['$proxy_host'], ['  upstream pool { server a:1; }'], 'http://pool')()).toEqual(['pool']);
  });

  it('reads request headers through $http_name', () => {
    const run = evaluator(['$http_user_agent', '$http_x_multi', '$http_cookie', '$http_absent', '"[$http_x_under_score]"']);
    const raw = ['User-Agent', 'ua/1', 'X-Multi', 'a', 'x-multi', 'b', 'Cookie', 'a=1', 'Cookie', 'b=2', 'X_Under_Score', 'hidden'];
    // Headers with "_" in their name are ignored by nginx (underscores_in_headers off).
    expect(run({ rawHeaders: raw })).toEqual(['ua/1', 'a, b', 'a=1; b=2', '', '[]']);
  });

  it('interpolates $var and ${var} inside text', () => {
    const run = evaluator(['"a-$host-b"', '"${host}suffix"', '"$host$remote_port"', '"$1$9x"', 'plain']);
    expect(run()).toEqual(['a-example.com-b', 'example.comsuffix', 'example.com51000', 'x', 'plain']);
  });

  it('evaluates maps: exact match, case-insensitive, default, variables in values', () => {
    const run = evaluator(
      ['$mapped', '$no_default', '$chained'],
      [
        '  map $http_upgrade $mapped {',
        '    default fallback-$host;',
        "    ''      empty;",
        '    WebSocket ws;',
        '    \\default literal-default;',
        '  }',
        '  map $http_x $no_default { a 1; }',
        // Defined after its use in the location above and using another map: both allowed.
        '  map $mapped $chained { ws yes; default no; }',
      ],
    );
    expect(run({ rawHeaders: ['Upgrade', 'websocket'] })).toEqual(['ws', '', 'yes']);
    expect(run({ rawHeaders: ['Upgrade', 'WEBSOCKET'] })).toEqual(['ws', '', 'yes']);
    expect(run()).toEqual(['empty', '', 'no']);
    expect(run({ rawHeaders: ['Upgrade', 'h2c'] })).toEqual(['fallback-example.com', '', 'no']);
    expect(run({ rawHeaders: ['Upgrade', 'default', 'X', 'A'] })).toEqual(['literal-default', '1', 'no']);
  });

  it('evaluates a map once per request', () => {
    const run = evaluator(['$m', '$m'], ['  map $http_x $m { default $http_x; }']);
    const cache: RequestVariables['cache'] = [];
    expect(run({ rawHeaders: ['X', 'first'], cache })).toEqual(['first', 'first']);
    expect(cache).toContain('first');
  });

  it('strips the IPv4-mapped prefix from $remote_addr', () => {
    expect(clientAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(clientAddress('::1')).toBe('::1');
    expect(clientAddress(undefined)).toBe('');
  });
});
