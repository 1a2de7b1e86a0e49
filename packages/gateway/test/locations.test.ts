import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/index.js';
import { buildDirectory } from '../src/proxy/dynamic-pass.js';
import { buildVirtualServer, matchLocation } from '../src/proxy/routing.js';
import { requestVariables } from '../src/variables.js';
import { cleanup, FILE, httpRequest, lines, rawExchange, startGateway, startUpstream } from './helpers.js';

afterEach(cleanup);

/** Which location (by its line) answers each path, for the server in `body`. */
function matcher(...body: string[]) {
  const config = parseConfigText(lines('events {}', 'http {', '  server {', ...body, '  }', '}'), FILE);
  const server = buildVirtualServer(config.servers[0] as never, new Map(), buildDirectory([]));
  return (path: string) => {
    const vars = requestVariables({ uri: path });
    const m = matchLocation(server, path, vars);
    if (!m) return null;
    const name = `${m.location.config.modifier}${m.location.config.prefix}`;
    return m.redirect ? `301 ${name}` : vars.captures ? `${name} [${[...vars.captures].slice(1).join(',')}]` : name;
  };
}

describe('location matching', () => {
  it('follows nginx: exact, then longest prefix, ^~ stops regexes, regexes in order', () => {
    const find = matcher(
      '    location = / {}',
      '    location / {}',
      '    location /documents/ {}',
      '    location ^~ /images/ {}',
      '    location ~* \\.(gif|jpg|jpeg)$ {}',
      '    location ~ ^/documents/(\\w+)\\.pdf$ {}',
    );
    // The example from nginx's documentation of "location".
    expect(find('/')).toBe('=/');
    expect(find('/index.html')).toBe('/');
    expect(find('/documents/document.html')).toBe('/documents/');
    expect(find('/images/1.gif')).toBe('^~/images/');
    expect(find('/documents/1.jpg')).toBe('~*\\.(gif|jpg|jpeg)$ [jpg]');
    expect(find('/documents/1.JPG')).toBe('~*\\.(gif|jpg|jpeg)$ [JPG]');
    expect(find('/documents/report.pdf')).toBe('~^/documents/(\\w+)\\.pdf$ [report]');
  });

  it('searches nested locations of the longest prefix before the regexes of the outer level', () => {
    const find = matcher(
      '    location /api/ {',
      '      location /api/v1/ {}',
      '      location ~ \\.json$ {}',
      '    }',
      '    location ~ ^/api/v1/special {}',
      '    location ^~ /static/ {',
      '      location ~ \\.css$ {}',
      '    }',
    );
    expect(find('/api/x')).toBe('/api/');
    expect(find('/api/x.json')).toBe('~\\.json$ []');
    // The nested prefix wins over nothing, but the outer regex still runs after it.
    expect(find('/api/v1/special')).toBe('~^/api/v1/special []');
    expect(find('/api/v1/other')).toBe('/api/v1/');
    expect(find('/static/a.css')).toBe('~\\.css$ []');
    expect(find('/static/a.js')).toBe('^~/static/');
    expect(find('/other')).toBeNull();
  });

  it('redirects /prefix to /prefix/ only for proxied locations without a better match', () => {
    const find = matcher('    location /app/ { proxy_pass http://a; }', '    location /b/ {}', '    location = /c/ { proxy_pass http://a; }');
    expect(find('/app')).toBe('301 /app/');
    expect(find('/b')).toBeNull();
    expect(find('/c')).toBe('301 =/c/');
  });
});

describe('proxy_pass with a URI part and return', () => {
  it('replaces the location prefix with the URI part', async () => {
    const up = await startUpstream();
    const { port } = await startGateway(
      lines(
        'events {}',
        'http {',
        '  server {',
        '    location /api/ { proxy_pass http://app:1/v2/; }',
        '    location = /exact { proxy_pass http://app:1/other; }',
        '    location /root/ { proxy_pass http://app:1/; }',
        '    location ~ ^/re/(.*)$ { proxy_pass http://app:1; }',
        '  }',
        '}',
      ),
      { 'app:1': up.port },
    );
    const sent = async (path: string) => {
      await httpRequest(port, path);
      return up.requests.at(-1)?.url;
    };
    expect(await sent('/api/users?id=1')).toBe('/v2/users?id=1');
    expect(await sent('/api/a%20b/../c')).toBe('/v2/c');
    expect(await sent('/api/a%20b')).toBe('/v2/a%20b');
    expect(await sent('/exact?x')).toBe('/other?x');
    expect(await sent('/root/deep/path')).toBe('/deep/path');
    expect(await sent('/re/raw%41?q')).toBe('/re/raw%41?q');
  });

  it('answers return with text, redirects and error pages, at server and location level', async () => {
    const { port } = await startGateway(
      lines(
        'events {}',
        'http {',
        '  server {',
        '    location /text { return 200 "hello $arg_name"; }',
        '    location /moved { return 301 /new$is_args$args; }',
        '    location /away { return https://example.com/; }',
        '    location /gone { return 410; }',
        '    location /close { return 444; }',
        '  }',
        '}',
      ),
    );
    const text = await httpRequest(port, '/text?name=bob');
    expect([text.status, text.body, text.headers['content-type']]).toEqual([200, 'hello bob', 'text/plain']);
    const moved = await httpRequest(port, '/moved?a=1');
    expect([moved.status, moved.headers.location]).toEqual([301, `http://127.0.0.1:${port}/new?a=1`]);
    expect(moved.body).toContain('301 Moved Permanently');
    const away = await httpRequest(port, '/away');
    expect([away.status, away.headers.location]).toEqual([302, 'https://example.com/']);
    const gone = await httpRequest(port, '/gone');
    expect([gone.status, gone.body.includes('410 Gone')]).toEqual([410, true]);
    expect(await rawExchange(port, 'GET /close HTTP/1.1\r\nHost: x\r\n\r\n')).toBe('');
  });
});

describe('nested locations', () => {
  it('inherit proxy settings but not proxy_pass', async () => {
    const up = await startUpstream((req, res) => res.end(`${req.url} ${req.headers['x-level']}`));
    const { port } = await startGateway(
      lines(
        'events {}',
        'http {',
        '  server {',
        '    location /app/ {',
        '      proxy_set_header X-Level outer;',
        '      proxy_pass http://app:1;',
        '      location /app/inner/ { proxy_pass http://app:1; }',
        '      location /app/static/ { }',
        '      location ~ \\.php$ { proxy_pass http://app:1; proxy_set_header X-Level regex; }',
        '    }',
        '  }',
        '}',
      ),
      { 'app:1': up.port },
    );
    expect((await httpRequest(port, '/app/x')).body).toBe('/app/x outer');
    expect((await httpRequest(port, '/app/inner/y')).body).toBe('/app/inner/y outer');
    expect((await httpRequest(port, '/app/inner/y.php')).body).toBe('/app/inner/y.php regex');
    expect((await httpRequest(port, '/app/static/z')).status).toBe(404);
  });
});
