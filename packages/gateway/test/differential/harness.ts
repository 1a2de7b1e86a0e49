import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canConnect, freePort, requireBinary, spawnManaged, untilReady, waitUntil, type ManagedProcess } from '@chat/devstack';

/**
 * The two engines of the differential suite, started on the same configuration text: real
 * nginx (Debian's package, in a private prefix directory) and the built `chat-gateway` CLI.
 * A config template names its addresses with placeholders: `{{LISTEN}}` is the engine's own
 * listen address and `{{UPSTREAM_n}}` is upstream instance n (the same instances for both
 * engines). Everything else in the text is byte for byte the same for both.
 */

export const packageDir = fileURLToPath(new URL('../..', import.meta.url));
/** The built CLI; `DIFF_GATEWAY_CLI` points the suite at another build (e.g. a baseline). */
export const gatewayCli = process.env.DIFF_GATEWAY_CLI ?? path.join(packageDir, 'dist/cli.js');

export type EngineName = 'nginx' | 'gateway';

export interface Engine {
  readonly name: EngineName;
  readonly port: number;
  readonly configFile: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/** The config text for one engine: placeholders replaced by real addresses. */
export function renderConfig(template: string, listen: string, upstreams: readonly string[]): string {
  return template.replace(/\{\{(LISTEN|UPSTREAM_(\d+))\}\}/g, (_all, what: string, n?: string) => {
    if (what === 'LISTEN') return listen;
    const address = upstreams[Number(n)];
    if (address === undefined) throw new Error(`the config names {{UPSTREAM_${n}}} but the group has ${upstreams.length} upstreams`);
    return address;
  });
}

let workDir: string | null = null;

/** A private directory for this run's configs and nginx prefixes (removed by `removeWorkDir`). */
export function runDir(): string {
  if (!workDir) {
    workDir = mkdtempSync(path.join(os.tmpdir(), 'chat-gateway-differential-'));
    // nginx workers drop root privileges; they must be able to reach their prefix.
    chmodSync(workDir, 0o755);
  }
  return workDir;
}

export function removeWorkDir(): void {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = null;
}

/** Writes `text` as `<group>/<engine>.conf` (or `<group>/<name>` for another file) in the run directory. */
export function writeConfig(group: string, engine: EngineName | string, text: string): string {
  const dir = path.join(runDir(), group.replace(/[^a-z0-9-]+/gi, '_'));
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  const file = path.join(dir, engine === 'nginx' || engine === 'gateway' ? `${engine}.conf` : engine);
  writeFileSync(file, text);
  return file;
}

export async function startNginx(configFile: string, port: number): Promise<Engine> {
  const bin = requireBinary('nginx', 'NGINX_BIN', 'Install it (Debian/Ubuntu: apt-get install nginx).');
  const prefix = path.dirname(configFile);
  mkdirSync(path.join(prefix, 'logs'), { recursive: true });
  const proc = spawnManaged('nginx', bin, [
    '-p', prefix,
    '-c', configFile,
    '-e', 'stderr',
    '-g', `daemon off; pid ${path.join(prefix, 'nginx.pid')};`,
  ]);
  await untilReady(proc, waitUntil(`nginx on port ${port}`, () => canConnect(port)));
  return { name: 'nginx', port, configFile, process: proc, stop: () => proc.stop(5_000) };
}

export async function startGateway(configFile: string, port: number): Promise<Engine> {
  const proc = spawnManaged('gateway', process.execPath, [gatewayCli, '-c', configFile]);
  await untilReady(proc, waitUntil(`the gateway on port ${port}`, () => canConnect(port)));
  return { name: 'gateway', port, configFile, process: proc, stop: () => proc.stop(5_000) };
}

export interface ConfigTest {
  readonly code: number;
  readonly stderr: string;
}

/** `chat-gateway -t -c FILE`. */
export function testGatewayConfig(configFile: string): ConfigTest {
  const result = spawnSync(process.execPath, [gatewayCli, '-t', '-c', configFile], { encoding: 'utf8', timeout: 15_000 });
  return { code: result.status ?? -1, stderr: result.stderr };
}

/** `nginx -t` on the same file, to prove a scenario's config is valid for nginx. */
export function testNginxConfig(configFile: string): ConfigTest {
  const bin = requireBinary('nginx', 'NGINX_BIN', 'Install it (Debian/Ubuntu: apt-get install nginx).');
  const prefix = path.dirname(configFile);
  mkdirSync(path.join(prefix, 'logs'), { recursive: true });
  const result = spawnSync(bin, ['-t', '-p', prefix, '-c', configFile, '-e', 'stderr', '-g', `pid ${path.join(prefix, 'nginx.pid')};`], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { code: result.status ?? -1, stderr: result.stderr };
}

/**
 * How the gateway refuses a feature it does not implement yet: `-t` exits 1 with
 * `[emerg] ... is not supported by chat-gateway yet in FILE:LINE` (or, for a variable it does
 * not know yet, `unknown "name" variable in FILE:LINE`; for a directive it has no entry for
 * yet, `unknown directive "name" in FILE:LINE`). The suite only accepts these for configs
 * that real nginx runs, so the variable or directive does exist in nginx.
 */
export interface Refusal {
  readonly message: string;
  readonly file: string;
  readonly line: number;
}

export function parseRefusal(stderr: string): Refusal | null {
  const m =
    /\[emerg\] (.+ is not supported by chat-gateway yet) in (.+):(\d+)\n/.exec(stderr) ??
    /\[emerg\] (unknown "[a-z_0-9]+" variable) in (.+):(\d+)\n/.exec(stderr) ??
    /\[emerg\] (unknown directive "[a-z_0-9]+") in (.+):(\d+)\n/.exec(stderr);
  if (!m) return null;
  return { message: m[1] as string, file: m[2] as string, line: Number(m[3]) };
}

export { freePort };
