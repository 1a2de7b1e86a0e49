import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireBinary } from './binaries.js';
import type { FrontDoor, GatewayOptions } from './gateway.js';
import { paths } from './paths.js';
import { freePort } from './ports.js';
import { spawnManaged, untilReady } from './process.js';
import { canConnect, waitUntil } from './wait.js';

/**
 * Real nginx can't be told "chat-1 is really 127.0.0.1:40001" on the command line, so we write a
 * copy of the config with the upstream addresses and the listen address substituted.
 */
export function substituteAddresses(config: string, resolve: Record<string, string>, listen: string): string {
  let out = config.replace(/^(\s*listen\s+)[^;]+;/gm, `$1${listen};`);
  for (const [from, to] of Object.entries(resolve)) {
    out = out.replace(new RegExp(`(\\bserver\\s+)${from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=[\\s;])`, 'g'), `$1${to}`);
  }
  return out;
}

/** Real nginx (Debian's package) on the same config as the gateway, in a private prefix directory. */
export async function startNginx(options: GatewayOptions = {}): Promise<FrontDoor & { prefix: string }> {
  const bin = requireBinary('nginx', 'NGINX_BIN', 'Install it (Debian/Ubuntu: apt-get install nginx).');
  const port = options.port ?? (await freePort());
  const host = options.host ?? '127.0.0.1';
  const prefix = mkdtempSync(path.join(os.tmpdir(), 'chat-nginx-'));
  // Workers run as an unprivileged user when started as root; they need to reach their temp dirs.
  chmodSync(prefix, 0o755);
  mkdirSync(path.join(prefix, 'logs'));
  const source = readFileSync(options.config ?? paths.nginxConf, 'utf8');
  const confFile = path.join(prefix, 'nginx.conf');
  writeFileSync(confFile, substituteAddresses(source, options.resolve ?? {}, `${host}:${port}`));

  const proc = spawnManaged(
    'nginx',
    bin,
    ['-p', prefix, '-c', confFile, '-e', 'stderr', '-g', `daemon off; pid ${path.join(prefix, 'nginx.pid')};`],
    options,
  );
  await untilReady(proc, waitUntil(`nginx on port ${port}`, () => canConnect(port)));
  const stop = proc.stop;
  return {
    ...proc,
    port,
    url: `http://127.0.0.1:${port}`,
    prefix,
    stop: async (graceMs) => {
      await stop(graceMs);
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}
