import { describe, expect, it } from 'vitest';
import os from 'node:os';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      PORT: 3000,
      HOST: '0.0.0.0',
      REDIS_URL: 'redis://127.0.0.1:6379',
      INSTANCE_ID: os.hostname(),
      HISTORY_MAX_PER_ROOM: 10_000,
      RATE_LIMIT_PER_SECOND: 5,
      RATE_LIMIT_BURST: 10,
      LOG_LEVEL: 'info',
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({ PORT: '4000', HOST: '127.0.0.1', REDIS_URL: 'rediss://cache:6380/2', INSTANCE_ID: 'chat-2', LOG_LEVEL: 'warn' });
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
    [{ INSTANCE_ID: 'chat 1' }, 'INSTANCE_ID must be 1-63 letters, digits, ".", "_" or "-" (got "chat 1")'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ RATE_LIMIT_BURST: '0' }, 'RATE_LIMIT_BURST must be an integer from 1 to 10000 (got "0")'],
    [{ HISTORY_MAX_PER_ROOM: 'lots' }, 'HISTORY_MAX_PER_ROOM must be an integer from 1 to 10000000 (got "lots")'],
  ])('rejects %j naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
