import { spawnSync } from 'node:child_process';
import { findOnPath } from '@chat/devstack';

/**
 * wrk (Debian's package) generates the HTTP load: a C load generator stays far from being the
 * bottleneck, which a Node one would not. Installed here when missing and we are allowed to.
 */
export function ensureWrk(log: (line: string) => void): string {
  const found = process.env.WRK_BIN ?? findOnPath('wrk');
  if (found) return found;
  const hint = 'The HTTP workload needs wrk: apt-get install wrk (Debian/Ubuntu), brew install wrk (macOS), or set WRK_BIN.';
  if (process.getuid?.() !== 0 || !findOnPath('apt-get')) throw new Error(`wrk was not found on PATH. ${hint}`);
  log('bench: wrk is missing; installing it with apt-get install -y wrk');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'wrk'], { stdio: 'inherit', env, timeout: 300_000 });
  // A fresh machine may have no package lists yet.
  if (install().status !== 0 && (spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env, timeout: 300_000 }).status !== 0 || install().status !== 0)) {
    throw new Error(`installing wrk failed. ${hint}`);
  }
  const installed = findOnPath('wrk');
  if (!installed) throw new Error(`wrk is still not on PATH after installing it. ${hint}`);
  return installed;
}
