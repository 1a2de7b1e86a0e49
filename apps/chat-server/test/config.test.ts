import { describe, expect, it } from 'vitest';
import os from 'node:os';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config.ALLOWED_ORIGINS).toEqual([
      'http://localhost:8080',
      'http://127.0.0.1:8080',
      'http://localhost:8081',
      'http://127.0.0.1:8081',
    ]);
    expect(config.TRUSTED_PROXIES.check('172.18.0.5', 'ipv4')).toBe(true);
    expect(config.TRUSTED_PROXIES.check('::1', 'ipv6')).toBe(true);
    expect(config.TRUSTED_PROXIES.check('8.8.8.8', 'ipv4')).toBe(false);
    expect(config).toMatchObject({
      MAX_CONNECTIONS_PER_ADDRESS: 100,
      PORT: 3000,
      HOST: '0.0.0.0',
      REDIS_URL: 'redis://127.0.0.1:6379',
      INSTANCE_ID: os.hostname().split('.')[0],
      HISTORY_MAX_PER_ROOM: 10_000,
      RATE_LIMIT_PER_SECOND: 5,
      RATE_LIMIT_BURST: 10,
      MAX_HTTP_BUFFER_SIZE: 16_384,
      LOG_LEVEL: 'info',
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '4000',
      HOST: '127.0.0.1',
      REDIS_URL: 'rediss://cache:6380/2',
      INSTANCE_ID: 'chat-2',
      LOG_LEVEL: 'warn',
      ALLOWED_ORIGINS: ' https://chat.example.com , * ',
      MAX_HTTP_BUFFER_SIZE: '65536',
    });
    expect(config.MAX_HTTP_BUFFER_SIZE).toBe(65_536);
    expect(config.ALLOWED_ORIGINS).toEqual(['https://chat.example.com', '*']);
    expect(config).toMatchObject({ PORT: 4000, HOST: '127.0.0.1', REDIS_URL: 'rediss://cache:6380/2', INSTANCE_ID: 'chat-2', LOG_LEVEL: 'warn' });
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '' }).PORT).toBe(3000);
  });

  it.each([
    [{ PORT: 'http' }, 'PORT must be an integer from 0 to 65535 (got "http")'],
    [{ PORT: '65536' }, 'PORT must be an integer from 0 to 65535 (got "65536")'],
    [{ PORT: '-1' }, 'PORT must be an integer from 0 to 65535 (got "-1")'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL must be a redis:// or rediss:// URL (got "localhost:6379")'],
    [{ INSTANCE_ID: 'chat 1' }, 'INSTANCE_ID must be 1-63 letters, digits, "_" or "-" (got "chat 1")'],
    [{ INSTANCE_ID: 'chat.1' }, 'INSTANCE_ID must be 1-63 letters, digits, "_" or "-" (got "chat.1")'],
    [{ ALLOWED_ORIGINS: 'http://ok:1,evil.com' }, 'ALLOWED_ORIGINS must be a comma-separated list of origins like http://localhost:8080 ("evil.com" is not one)'],
    [{ ALLOWED_ORIGINS: 'http://ok:1/path' }, '("http://ok:1/path" is not one)'],
    [{ TRUSTED_PROXIES: '10.0.0.0/33' }, 'TRUSTED_PROXIES must be a comma-separated list of IP addresses or CIDR ranges ("10.0.0.0/33" is not one)'],
    [{ MAX_CONNECTIONS_PER_ADDRESS: '0' }, 'MAX_CONNECTIONS_PER_ADDRESS must be an integer from 1 to 1000000 (got "0")'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ RATE_LIMIT_BURST: '0' }, 'RATE_LIMIT_BURST must be an integer from 1 to 10000 (got "0")'],
    [{ HISTORY_MAX_PER_ROOM: 'lots' }, 'HISTORY_MAX_PER_ROOM must be an integer from 1 to 10000000 (got "lots")'],
    [{ MAX_HTTP_BUFFER_SIZE: '16383' }, 'MAX_HTTP_BUFFER_SIZE must be an integer from 16384 to 1048576 (got "16383")'],
    [{ MAX_HTTP_BUFFER_SIZE: '64k' }, 'MAX_HTTP_BUFFER_SIZE must be an integer from 16384 to 1048576 (got "64k")'],
    [{ MAX_HTTP_BUFFER_SIZE: '2097152' }, 'MAX_HTTP_BUFFER_SIZE must be an integer from 16384 to 1048576 (got "2097152")'],
  ])('rejects %j naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
