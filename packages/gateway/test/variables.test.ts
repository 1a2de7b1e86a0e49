import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/index.js';
import { clientAddress, evaluate, requestVariables, type RequestVariables } from '../src/variables.js';
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
    const r = requestVariables({
      remoteAddress: '10.1.2.3',
      remotePort: '51000',
      host: 'example.com',
      proxyHost: proxy.proxyHost,
      ...vars,
    });
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

describe('map regular expressions', () => {
  const preamble = [
    '  map $arg_sid $chat_upstream {',
    '    default chat;',
    '    "~^chat-1\\." chat_1;',
    '    "~^chat-2\\." chat_2;',
    '    exact.x exact;',
    '    "~^(?<inst>chat-\\d+)\\.(\\w+)$" other-$inst-$2;',
    '    "~*^UPPER-(.*)$" upper-$1;',
    '    "~^$" never;',
    '  }',
  ];

  it('tries exact strings first, then regexes in order, then the default', () => {
    const run = evaluator(['$chat_upstream'], preamble);
    const at = (args: string) => run({ args })[0];
    expect(at('sid=chat-1.abc')).toBe('chat_1');
    expect(at('x=1&sid=chat-2.abc')).toBe('chat_2');
    expect(at('sid=chat-9.abc')).toBe('other-chat-9-abc');
    expect(at('sid=EXACT.X')).toBe('exact');
    expect(at('sid=upper-Yes')).toBe('upper-Yes');
    expect(at('sid=Chat-1.abc')).toBe('chat');
    // An empty value never reaches the regexes (ngx_http_map_find).
    expect(at('sid=')).toBe('chat');
    expect(at('')).toBe('chat');
  });

  it('makes the captures usable afterwards, as $1 and by name', () => {
    const run = evaluator(['$chat_upstream', '$inst', '$1', '$2'], preamble);
    expect(run({ args: 'sid=chat-7.zz' })).toEqual(['other-chat-7-zz', 'chat-7', 'chat-7', 'zz']);
    // Named captures are empty until a regex that sets them matched.
    const lazy = evaluator(['$inst', '$chat_upstream', '$inst'], preamble);
    expect(lazy({ args: 'sid=chat-7.zz' })).toEqual(['', 'other-chat-7-zz', 'chat-7']);
  });

  it('translates PCRE-only syntax', () => {
    const run = evaluator(['$m'], ['  map $http_x $m { "~^(?P<a>[]x]+)\\z" $a; "~\\Ay$" y; default no; }']);
    expect(run({ rawHeaders: ['X', ']x]'] })).toEqual([']x]']);
    expect(run({ rawHeaders: ['X', 'y'] })).toEqual(['y']);
    expect(run({ rawHeaders: ['X', 'zy'] })).toEqual(['no']);
  });
});

describe('request variables', () => {
  it('reads query arguments and cookies like nginx', () => {
    const run = evaluator(['$arg_sid', '$arg_SID', '$arg_a', '$args', '$is_args', '$cookie_sid', '$cookie_b', '$cookie_none']);
    const raw = ['Cookie', 'xsid=1; sid=abc', 'Cookie', 'b = 2 ;c=3'];
    expect(run({ args: 'xsid=0&sid=chat-1.x&a&A=5', rawHeaders: raw })).toEqual([
      'chat-1.x', 'chat-1.x', '5', 'xsid=0&sid=chat-1.x&a&A=5', '?', 'abc', '2 ', '',
    ]);
    expect(run()).toEqual(['', '', '', '', '', '', '', '']);
  });

  it('exposes the request line and the connection', () => {
    const run = evaluator(['$request_method', '$request_uri', '$uri', '$scheme', '$server_port', '$remote_port', '$request', '$server_protocol', '$status']);
    expect(
      run({ method: 'POST', requestUri: '/a%20b?x=1', uri: '/a b', args: 'x=1', local: { localPort: 8080 }, httpVersion: '1.1' }),
    ).toEqual(['POST', '/a%20b?x=1', '/a b', 'http', '8080', '51000', 'POST /a%20b?x=1 HTTP/1.1', 'HTTP/1.1', '000']);
    expect(run({ status: 204 })[8]).toBe('204');
  });

  it('formats $request_time with milliseconds', () => {
    const run = evaluator(['$request_time']);
    expect(run({ startMs: Date.now() - 1500 })[0]).toMatch(/^1\.5\d\d$/);
  });
});
