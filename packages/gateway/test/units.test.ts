import { describe, expect, it } from 'vitest';
import { parseAddress } from '../src/config/addresses.js';
import { parseInteger, parseMilliseconds } from '../src/config/units.js';
import { escapeUri, normalizePath, splitRequestTarget, validateHost } from '../src/uri.js';

describe('nginx time syntax (ngx_parse_time)', () => {
  it.each([
    ['75s', 75_000],
    ['60', 60_000],
    ['500ms', 500],
    ['1m', 60_000],
    ['1h 30m', 5_400_000],
    ['1h30m', 5_400_000],
    ['1d2h', 93_600_000],
    ['1w', 604_800_000],
    ['2s 500ms', 2500],
    ['0', 0],
    ['10 ', 10_000],
    // nginx quirks, kept: a bare number after a space, a unit before any digit.
    ['5 5', 10_000],
    ['ms5', 5000],
  ])('%s = %d ms', (text, ms) => {
    expect(parseMilliseconds(text)).toBe(ms);
  });

  it.each(['', 's', '5x', '1M', '1y', '-1s', '1s 1m', '1m1h', '5 5s', '1.5s'])('rejects %j', (text) => {
    expect(parseMilliseconds(text)).toBeNull();
  });

  it('parses integers like ngx_atoi', () => {
    expect(parseInteger('0042')).toBe(42);
    expect(parseInteger('')).toBeNull();
    expect(parseInteger('+1')).toBeNull();
    expect(parseInteger('1 ')).toBeNull();
  });
});

describe('addresses (ngx_parse_url)', () => {
  it('parses listen forms', () => {
    const listen = (t: string) => parseAddress(t, { defaultPort: 80, listen: true });
    expect(listen('8080')).toEqual({ ok: true, value: { host: '*', port: 8080, portText: '8080', uri: '' } });
    expect(listen('127.0.0.1')).toMatchObject({ ok: true, value: { host: '127.0.0.1', port: 80 } });
    expect(listen('[::1]:81')).toMatchObject({ ok: true, value: { host: '[::1]', port: 81 } });
    expect(listen('0')).toEqual({ ok: false, err: 'invalid port' });
    expect(listen(':80')).toEqual({ ok: false, err: 'no host' });
    expect(listen('[::1')).toEqual({ ok: false, err: 'invalid host' });
    expect(listen('[zz]:80')).toEqual({ ok: false, err: 'invalid IPv6 address' });
    expect(parseAddress('127.0.0.1:0', { defaultPort: 80, listen: true, allowPortZero: true })).toMatchObject({ ok: true, value: { port: 0 } });
  });

  it('parses proxy_pass hosts with a URI part', () => {
    expect(parseAddress('chat', { defaultPort: 80, uriPart: true })).toMatchObject({ ok: true, value: { host: 'chat', port: 80, portText: '' } });
    expect(parseAddress('h:8080/x?y', { defaultPort: 80, uriPart: true })).toMatchObject({ ok: true, value: { host: 'h', port: 8080, uri: '/x?y' } });
    expect(parseAddress('h:8080/x', { defaultPort: 80 })).toEqual({ ok: false, err: 'invalid host' });
  });
});

describe('request targets', () => {
  it('normalizes paths the way location matching sees them', () => {
    expect(normalizePath('/a/b?x=/../..')).toBe('/a/b');
    expect(normalizePath('/a//b///c')).toBe('/a/b/c');
    expect(normalizePath('/a/./b/../c/')).toBe('/a/c/');
    expect(normalizePath('/a/..')).toBe('/');
    expect(normalizePath('/socket%2Eio/')).toBe('/socket.io/');
    expect(normalizePath('/%41%2f%42')).toBe('/A/B');
    expect(normalizePath('/x#frag')).toBe('/x');
    expect(normalizePath('/..')).toBeNull();
    expect(normalizePath('/a/../../b')).toBeNull();
    expect(normalizePath('/%zz')).toBeNull();
    expect(normalizePath('/%00')).toBeNull();
  });

  it('splits absolute-form targets', () => {
    expect(splitRequestTarget('/p?q')).toEqual({ host: null, target: '/p?q' });
    expect(splitRequestTarget('http://Example.com:81/p?q')).toEqual({ host: 'Example.com:81', target: '/p?q' });
    expect(splitRequestTarget('http://example.com')).toEqual({ host: 'example.com', target: '/' });
    expect(splitRequestTarget('*')).toBeNull();
    // nginx's request-line parser refuses user info and odd characters in the authority.
    expect(splitRequestTarget('http://user@evil.example/abs')).toBeNull();
    expect(splitRequestTarget('http://ev_il/')).toBeNull();
    expect(splitRequestTarget('http://[::1]:8080/x')).toEqual({ host: '[::1]:8080', target: '/x' });
  });

  it('validates hosts like ngx_http_validate_host', () => {
    expect(validateHost('Example.COM:8080')).toBe('example.com');
    expect(validateHost('example.com.')).toBe('example.com');
    expect(validateHost('[::1]:80')).toBe('[::1]');
    expect(validateHost('a..b')).toBeNull();
    expect(validateHost('a/b')).toBeNull();
    expect(validateHost('')).toBeNull();
    expect(validateHost(':80')).toBeNull();
  });

  it('escapes like ngx_escape_uri', () => {
    expect(escapeUri('/a b#c?d%e/é')).toBe('/a%20b%23c%3Fd%25e/%C3%A9'.replace('%C3%A9', '%E9'));
  });
});
