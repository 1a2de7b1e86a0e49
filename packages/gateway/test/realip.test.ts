import { afterEach, describe, expect, it } from 'vitest';
import { binaryAddr, formatAddr, parseAddrPort, parseCidr, parseInet4, parseInet6 } from '../src/config/inet.js';
import { parseConfigText } from '../src/index.js';
import { applyRealIp } from '../src/limits/realip.js';
import type { RealIpConfig } from '../src/config/realip-directives.js';
import { evaluate, requestVariables, type Template } from '../src/variables.js';
import { cleanup, FILE, httpRequest, lines, pairs, startGateway, startUpstream, configErrorOf } from './helpers.js';

afterEach(cleanup);

const http = (...body: string[]) => lines('events {}', 'http {', ...body, '  server { listen 80; location / { proxy_pass http://app; } }', '}');

const errorOf = (text: string): string => configErrorOf(text).message;

/** The realip settings of the first location of a config with `directives` at http level. */
function realipOf(...directives: string[]) {
  const realip = parseConfigText(http(...directives.map((d) => `  ${d}`)), FILE).servers[0]?.locations[0]?.realip;
  if (!realip) throw new Error('no realip');
  return realip;
}

/** `$remote_addr` and `$remote_port` after realip, for a peer and raw headers. */
function resolve(directives: string[], headers: string[], peer = '127.0.0.1') {
  const vars = requestVariables({ remoteAddress: peer, remotePort: '40000', rawHeaders: headers });
  const changed = applyRealIp(realipOf(...directives), vars);
  return { changed, addr: vars.remoteAddress, port: vars.remotePort, peer: vars.peerAddress };
}

const hex = (bytes: Uint8Array | null) => (bytes ? Buffer.from(bytes).toString('hex') : null);

describe('nginx address syntax (ngx_inet.c)', () => {
  it('parses IPv4 like ngx_inet_addr, quirks included', () => {
    expect(hex(parseInet4('10.1.2.3'))).toBe('0a010203');
    expect(hex(parseInet4('1.2.3.'))).toBe('01020300');
    expect(hex(parseInet4('001.002.003.004'))).toBe('01020304');
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.a', ' 1.2.3.4', '255.255.255.255']) expect(parseInet4(bad)).toBeNull();
  });

  it('parses IPv6 like ngx_inet6_addr', () => {
    expect(hex(parseInet6('::1'))).toBe('00000000000000000000000000000001');
    expect(hex(parseInet6('2001:DB8::1'))).toBe('20010db8000000000000000000000001');
    expect(hex(parseInet6('::ffff:1.2.3.4'))).toBe('00000000000000000000ffff01020304');
    expect(hex(parseInet6('1:2:3:4:5:6:7:8'))).toBe('00010002000300040005000600070008');
    expect(hex(parseInet6('::'))).toBe('0'.repeat(32));
    for (const bad of ['', ':', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::', '1.2.3.4', '::1.2.3']) expect(parseInet6(bad)).toBeNull();
  });

  it('prints addresses like ngx_sock_ntop', () => {
    const text = (s: string) => formatAddr(parseInet6(s) as Uint8Array);
    expect(text('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(text('1:0:0:2:0:0:0:3')).toBe('1:0:0:2::3');
    expect(text('1:0:2:3:4:5:6:7')).toBe('1:0:2:3:4:5:6:7');
    expect(text('::ffff:10.0.0.1')).toBe('::ffff:10.0.0.1');
    expect(text('::10.0.0.1')).toBe('::10.0.0.1');
    expect(text('::1')).toBe('::1');
    expect(formatAddr(parseInet4('1.2.3.') as Uint8Array)).toBe('1.2.3.0');
  });

  it('parses addr[:port] like ngx_parse_addr_port', () => {
    expect(parseAddrPort('1.2.3.4:8080')).toEqual({ bytes: parseInet4('1.2.3.4'), port: 8080 });
    expect(parseAddrPort('[::1]:443')).toEqual({ bytes: parseInet6('::1'), port: 443 });
    expect(parseAddrPort('::1')?.port).toBe(0);
    for (const bad of ['1.2.3.4:0', '1.2.3.4:65536', '1.2.3.4:', '[::1]', '[::1]x', 'host:80', '']) expect(parseAddrPort(bad)).toBeNull();
  });

  it('parses CIDRs like ngx_ptocidr, noting low bits below the mask', () => {
    expect(parseCidr('10.0.0.0/8')?.exact).toBe(true);
    expect(parseCidr('10.0.0.1/8')).toMatchObject({ exact: false, cidr: { addr: parseInet4('10.0.0.0') } });
    expect(parseCidr('2001:db8::/32')?.exact).toBe(true);
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/x', 'name']) expect(parseCidr(bad)).toBeNull();
  });

  it('gives $binary_remote_addr as 4 or 16 bytes of the address realip settled on', () => {
    expect(binaryAddr(parseInet4('10.0.0.1') as Uint8Array)).toBe('\x0a\x00\x00\x01');
    const config = parseConfigText(http('  set_real_ip_from 127.0.0.1;', '  proxy_set_header X-Bin $binary_remote_addr;'), FILE);
    const header = config.servers[0]?.locations[0]?.proxy?.headers[0]?.value as Template;
    const vars = (peer: string, headers: string[] = []) => requestVariables({ remoteAddress: peer, rawHeaders: headers });
    expect(evaluate(header, vars('10.0.0.1'))).toBe('\x0a\x00\x00\x01');
    expect(evaluate(header, vars('::1'))).toBe(`${'\x00'.repeat(15)}\x01`);
    const proxied = vars('127.0.0.1', ['X-Real-IP', '203.0.113.9']);
    applyRealIp(config.servers[0]?.realip as RealIpConfig, proxied);
    expect(evaluate(header, proxied)).toBe('\xcb\x00\x71\x09');
  });
});

describe('realip configuration', () => {
  it.each([
    ['set_real_ip_from 10.0.0.0/33;', 'host not found in set_real_ip_from "10.0.0.0/33" in /etc/chat-gateway/nginx.conf:3'],
    ['set_real_ip_from proxy.internal;', '"set_real_ip_from" with a host name is not supported by chat-gateway yet in /etc/chat-gateway/nginx.conf:3'],
    ['real_ip_header proxy_protocol;', '"real_ip_header proxy_protocol" is not supported by chat-gateway yet in /etc/chat-gateway/nginx.conf:3'],
    ['real_ip_header X-Real-IP; real_ip_header X-Forwarded-For;', '"real_ip_header" directive is duplicate in /etc/chat-gateway/nginx.conf:3'],
    ['real_ip_recursive yes;', 'invalid value "yes" in "real_ip_recursive" directive, it must be "on" or "off" in /etc/chat-gateway/nginx.conf:3'],
    ['real_ip_recursive on; real_ip_recursive off;', '"real_ip_recursive" directive is duplicate in /etc/chat-gateway/nginx.conf:3'],
    ['set_real_ip_from 1.2.3.4 5.6.7.8;', 'invalid number of arguments in "set_real_ip_from" directive in /etc/chat-gateway/nginx.conf:3'],
  ])('refuses %s', (directive, message) => {
    expect(errorOf(http(`  ${directive}`))).toBe(message);
  });

  it('accepts addresses, CIDRs (low bits cleared), unix: and nginx\'s odd IPv4 forms', () => {
    const realip = realipOf('set_real_ip_from 10.0.0.1/8;', 'set_real_ip_from unix:;', 'set_real_ip_from 1.2.3.;', 'set_real_ip_from ::1;', 'real_ip_recursive ON;');
    expect(realip.from).toHaveLength(4);
    expect(realip.header).toEqual({ kind: 'header', name: 'x-real-ip' });
    expect(realip.recursive).toBe(true);
  });

  it('inherits set_real_ip_from, real_ip_header and real_ip_recursive independently', () => {
    const config = parseConfigText(
      lines(
        'events {}',
        'http {',
        '  set_real_ip_from 10.0.0.0/8;',
        '  real_ip_header X-Forwarded-For;',
        '  server {',
        '    real_ip_recursive on;',
        '    location /a { proxy_pass http://app; }',
        '    location /b { proxy_pass http://app; set_real_ip_from 192.168.0.0/16; real_ip_header X-Client; }',
        '  }',
        '  server { listen 81; set_real_ip_from 127.0.0.1; location / { proxy_pass http://app; } }',
        '}',
      ),
      FILE,
    );
    const [first, second] = config.servers;
    expect(first?.realip).toMatchObject({ header: { kind: 'x-forwarded-for' }, recursive: true });
    expect(first?.locations[0]?.realip).toEqual(first?.realip);
    expect(first?.locations[1]?.realip).toMatchObject({ from: [parseCidr('192.168.0.0/16')?.cidr], header: { kind: 'header', name: 'x-client' }, recursive: true });
    expect(second?.realip?.from).toEqual([parseCidr('127.0.0.1')?.cidr]);
    expect(parseConfigText(http(), FILE).servers[0]?.realip).toBeNull();
  });
});

describe('realip: the client address from a trusted proxy', () => {
  const xff = ['set_real_ip_from 127.0.0.1;', 'set_real_ip_from 10.0.0.0/8;', 'real_ip_header X-Forwarded-For;'];
  const recursive = [...xff, 'real_ip_recursive on;'];

  it('ignores the header when the peer is not trusted, so it cannot be spoofed', () => {
    expect(resolve(xff, ['X-Forwarded-For', '6.6.6.6'], '192.0.2.7')).toEqual({ changed: false, addr: '192.0.2.7', port: '40000', peer: '192.0.2.7' });
    expect(resolve(['set_real_ip_from 127.0.0.1;'], ['X-Real-IP', '6.6.6.6'], '192.0.2.7').changed).toBe(false);
  });

  it('takes X-Real-IP (the first one) from a trusted peer; the port is empty unless the header has one', () => {
    expect(resolve(['set_real_ip_from 127.0.0.1;'], ['X-Real-IP', '203.0.113.9', 'X-Real-IP', '198.51.100.1'])).toEqual({
      changed: true,
      addr: '203.0.113.9',
      port: '',
      peer: '127.0.0.1',
    });
    expect(resolve(['set_real_ip_from 127.0.0.1;'], ['x-real-ip', '[2001:DB8::7]:8443'])).toMatchObject({ addr: '2001:db8::7', port: '8443' });
  });

  it('without recursion takes the rightmost X-Forwarded-For address, trusted or not', () => {
    expect(resolve(xff, ['X-Forwarded-For', '203.0.113.9, 10.0.0.5'])).toMatchObject({ changed: true, addr: '10.0.0.5' });
    // Only the last header line counts.
    expect(resolve(xff, ['X-Forwarded-For', '203.0.113.9', 'X-Forwarded-For', '198.51.100.1'])).toMatchObject({ addr: '198.51.100.1' });
  });

  it('with recursion walks left past trusted hops to the first untrusted one, across header lines', () => {
    expect(resolve(recursive, ['X-Forwarded-For', '6.6.6.6, 203.0.113.9, 10.0.0.5,10.1.1.1'])).toMatchObject({ addr: '203.0.113.9' });
    expect(resolve(recursive, ['X-Forwarded-For', '6.6.6.6, 203.0.113.9', 'X-Forwarded-For', '10.0.0.5'])).toMatchObject({ addr: '203.0.113.9' });
    // Every hop trusted: the leftmost one.
    expect(resolve(recursive, ['X-Forwarded-For', '10.9.9.9, 10.0.0.5'])).toMatchObject({ addr: '10.9.9.9' });
  });

  it('stops at a token that is not an address, keeping the last good one', () => {
    expect(resolve(recursive, ['X-Forwarded-For', 'unknown, 10.0.0.5'])).toMatchObject({ changed: true, addr: '10.0.0.5' });
    expect(resolve(recursive, ['X-Forwarded-For', 'garbage'])).toMatchObject({ changed: false, addr: '127.0.0.1' });
    expect(resolve(xff, ['X-Forwarded-For', ''])).toMatchObject({ changed: false });
    // Trailing separators are skipped; a leading space on the first token breaks it, as in nginx.
    expect(resolve(xff, ['X-Forwarded-For', '203.0.113.9 ,, '])).toMatchObject({ addr: '203.0.113.9' });
    expect(resolve(xff, ['X-Forwarded-For', ' 203.0.113.9'])).toMatchObject({ changed: false });
  });

  it('reads a custom header and walks it too', () => {
    const custom = ['set_real_ip_from 127.0.0.1;', 'set_real_ip_from 10.0.0.0/8;', 'real_ip_header CF-Connecting-IP;', 'real_ip_recursive on;'];
    expect(resolve(custom, ['cf-connecting-ip', '203.0.113.9, 10.0.0.5'])).toMatchObject({ addr: '203.0.113.9' });
    // Invalid header names are ignored like nginx's ignore_invalid_headers.
    expect(resolve(['set_real_ip_from 127.0.0.1;', 'real_ip_header X_Client;'], ['X_Client', '203.0.113.9']).changed).toBe(false);
  });

  it('matches IPv6 peers and IPv4-mapped addresses against IPv4 ranges', () => {
    expect(resolve(['set_real_ip_from ::1;'], ['X-Real-IP', '203.0.113.9'], '::1')).toMatchObject({ addr: '203.0.113.9' });
    expect(resolve(['set_real_ip_from 10.0.0.0/8;', 'real_ip_header X-Forwarded-For;', 'real_ip_recursive on;'], ['X-Forwarded-For', '203.0.113.9, ::ffff:10.0.0.1'], '10.0.0.2')).toMatchObject({
      addr: '203.0.113.9',
    });
  });
});

describe('realip through the gateway', () => {
  it('sets $remote_addr, $remote_port, $proxy_add_x_forwarded_for and keeps the peer in $realip_remote_addr', async () => {
    const up = await startUpstream();
    const config = lines(
      'events {}',
      'http {',
      '  set_real_ip_from 127.0.0.1;',
      '  real_ip_header X-Forwarded-For;',
      '  server {',
      '    listen 80;',
      '    location / {',
      '      proxy_pass http://app:3000;',
      '      proxy_set_header X-Real-IP $remote_addr;',
      '      proxy_set_header X-Port "[$remote_port]";',
      '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      '      proxy_set_header X-Peer "$realip_remote_addr $realip_remote_port";',
      '    }',
      '    location /direct { return 200 "$remote_addr"; }',
      '  }',
      '}',
    );
    const { port } = await startGateway(config, { 'app:3000': up.port });
    await httpRequest(port, '/', { headers: { 'X-Forwarded-For': '6.6.6.6, 203.0.113.9' } });
    const seen = Object.fromEntries(pairs(up.requests[0]?.rawHeaders ?? []));
    expect(seen['X-Real-IP']).toBe('203.0.113.9');
    expect(seen['X-Port']).toBe('[]');
    expect(seen['X-Forwarded-For']).toBe('6.6.6.6, 203.0.113.9, 203.0.113.9');
    expect(seen['X-Peer']).toMatch(/^127\.0\.0\.1 \d+$/);
    // Server-level realip runs before `return`.
    expect((await httpRequest(port, '/direct', { headers: { 'X-Forwarded-For': '203.0.113.10' } })).body).toBe('203.0.113.10');
  });

  it('applies a location\'s realip after the location is found, but not to its `return`', async () => {
    const up = await startUpstream();
    const config = lines(
      'events {}',
      'http {',
      '  server {',
      '    listen 80;',
      '    set_real_ip_from 192.0.2.0/24;',
      '    location /proxied { set_real_ip_from 127.0.0.1; proxy_pass http://app:3000; proxy_set_header X-Real-IP $remote_addr; }',
      '    location /returned { set_real_ip_from 127.0.0.1; return 200 "$remote_addr"; }',
      '  }',
      '}',
    );
    const { port } = await startGateway(config, { 'app:3000': up.port });
    await httpRequest(port, '/proxied', { headers: { 'X-Real-IP': '203.0.113.9' } });
    expect(Object.fromEntries(pairs(up.requests[0]?.rawHeaders ?? []))['X-Real-IP']).toBe('203.0.113.9');
    expect((await httpRequest(port, '/returned', { headers: { 'X-Real-IP': '203.0.113.9' } })).body).toBe('127.0.0.1');
  });
});
