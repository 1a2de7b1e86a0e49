import net from 'node:net';
import os from 'node:os';
import { z } from 'zod';

const port = z
  .string()
  .regex(/^\d{1,5}$/, 'must be an integer from 0 to 65535')
  .transform(Number)
  .refine((n) => n <= 65_535, 'must be an integer from 0 to 65535');

const intInRange = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `must be an integer from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be an integer from ${min} to ${max}`);

const positiveInt = (max: number) => intInRange(1, max);

const redisUrl = z.string().refine((value) => {
  try {
    return ['redis:', 'rediss:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}, 'must be a redis:// or rediss:// URL');

const list = (value: string) => value.split(',').map((item) => item.trim()).filter(Boolean);

/** Browser origins allowed to open a Socket.IO connection; `*` allows any. */
const origins = z.string().transform((value, ctx) => {
  const items = list(value);
  for (const item of items) {
    if (item === '*') continue;
    let origin: string | null = null;
    try {
      origin = new URL(item).origin;
    } catch {
      // reported below
    }
    if (origin !== item) ctx.addIssue({ code: 'custom', message: `must be a comma-separated list of origins like http://localhost:8080 ("${item}" is not one)` });
  }
  return items;
});

/** Addresses and CIDR ranges whose X-Forwarded-For / X-Real-IP is believed. */
const trustedProxies = z.string().transform((value, ctx) => {
  const blockList = new net.BlockList();
  for (const item of list(value)) {
    const [address = '', prefix] = item.split('/');
    const family = net.isIP(address) === 6 ? 'ipv6' : 'ipv4';
    const bits = prefix === undefined ? (family === 'ipv6' ? 128 : 32) : Number(prefix);
    if (!net.isIP(address) || !Number.isInteger(bits) || bits < 0 || bits > (family === 'ipv6' ? 128 : 32)) {
      ctx.addIssue({ code: 'custom', message: `must be a comma-separated list of IP addresses or CIDR ranges ("${item}" is not one)` });
      continue;
    }
    blockList.addSubnet(address, bits, family);
  }
  return blockList;
});

const demoOrigins = 'http://localhost:8080,http://127.0.0.1:8080,http://localhost:8081,http://127.0.0.1:8081';
const privateNetworks = '127.0.0.0/8,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7';

const envSchema = z.object({
  PORT: port.default(3000),
  /** 0.0.0.0 so a container is reachable; tests and the demo bind 127.0.0.1. */
  HOST: z.string().regex(/^[^\s]+$/, 'must be an address or host name without spaces').default('0.0.0.0'),
  REDIS_URL: redisUrl.default('redis://127.0.0.1:6379'),
  INSTANCE_ID: z
    .string()
    // No dots: engine session ids are `<instance>.<random>`, and front doors split on the dot.
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'must be 1-63 letters, digits, "_" or "-"')
    .default(() => os.hostname().split('.')[0] ?? 'chat'),
  ALLOWED_ORIGINS: origins.default(list(demoOrigins)),
  TRUSTED_PROXIES: trustedProxies.default(() => trustedProxies.parse(privateNetworks)),
  /** Concurrent Socket.IO connections one client address may hold on this instance. */
  MAX_CONNECTIONS_PER_ADDRESS: positiveInt(1_000_000).default(100),
  /** Messages kept per room; older ones are trimmed. */
  HISTORY_MAX_PER_ROOM: positiveInt(10_000_000).default(10_000),
  /** Token bucket per user: sustained messages per second, and burst size. */
  RATE_LIMIT_PER_SECOND: positiveInt(1_000).default(5),
  RATE_LIMIT_BURST: positiveInt(10_000).default(10),
  /**
   * Largest Engine.IO packet (bytes) a client may send; a larger one drops its connection. The
   * floor fits the largest valid protocol packet (2,000 characters of text, each JSON-escaped to
   * at most 6 bytes, about 12.2 KB); the ceiling is nginx's default client_max_body_size, past
   * which a front door refuses a long-polling POST before it gets here.
   */
  MAX_HTTP_BUFFER_SIZE: intInRange(16_384, 1_048_576).default(16_384),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.output<typeof envSchema>;

export class ConfigError extends Error {}

/** Reads the environment; a bad value is a ConfigError naming the variable and the value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "unset", as in most shells' `VAR= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = envSchema.safeParse(present);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = String(issue.path[0]);
    return `${name} ${issue.message} (got ${JSON.stringify(env[name])})`;
  });
  throw new ConfigError(`invalid environment:\n  ${lines.join('\n  ')}`);
}
