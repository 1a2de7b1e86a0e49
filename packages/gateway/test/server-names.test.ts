import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, httpRequest, lines, rawExchange, startGateway } from './helpers.js';

afterEach(cleanup);

describe('server_name', () => {
  it('picks the server like nginx: exact, *.x, x.*, regex, then the default server', async () => {
    const { port } = await startGateway(
      lines(
        'events {}',
        'http {',
        '  server { listen 80; return 200 first; }',
        '  server { listen 80; server_name example.com www.example.com; return 200 "exact $server_name"; }',
        '  server { listen 80; server_name *.example.com; return 200 star; }',
        '  server { listen 80; server_name *.deep.example.com; return 200 deeper; }',
        '  server { listen 80; server_name www.example.*; return 200 tail; }',
        '  server { listen 80; server_name ~^(?<user>[a-z]+)\\.users\\.test$; return 200 "user $user"; }',
        '  server { listen 80 default_server; server_name .other.org ""; return 200 "default $host"; }',
        '}',
      ),
    );
    const at = async (host: string) => (await httpRequest(port, '/', { headers: { Host: host } })).body;
    expect(await at('example.com')).toBe('exact example.com');
    expect(await at('WWW.Example.COM.')).toBe('exact example.com');
    expect(await at('a.example.com')).toBe('star');
    expect(await at('a.deep.example.com')).toBe('deeper');
    expect(await at('www.example.org')).toBe('tail');
    expect(await at('alice.users.test')).toBe('user alice');
    expect(await at('other.org')).toBe('default other.org');
    expect(await at('x.other.org')).toBe('default x.other.org');
    expect(await at('unknown.net')).toBe('default unknown.net');
    // No Host at all (HTTP/1.0): the "" name, and $host is the server name.
    expect(await rawExchange(port, 'GET / HTTP/1.0\r\n\r\n')).toMatch(/\r\n\r\ndefault \.other\.org$/);
  });

  it('rejects a wildcard in the middle', async () => {
    await expect(startGateway(lines('events {}', 'http { server { server_name www.*.com; } }'))).rejects.toThrow(
      'invalid server name or wildcard "www.*.com"',
    );
  });
});
