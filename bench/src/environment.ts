// Everything the workloads run against: the backends, the bench config, and the three front doors.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  canConnect,
  freePort,
  paths,
  spawnManaged,
  startChatServer,
  startGateway,
  startNginx,
  startRedis,
  untilReady,
  waitUntil,
  type ManagedProcess,
} from '@chat/devstack';
import { writeBenchConfig } from './nginx-config.js';
import { childPids } from './procstat.js';

export type DoorName = 'direct' | 'nginx' | 'gateway';
export const doorNames: readonly DoorName[] = ['direct', 'nginx', 'gateway'];

export interface Door {
  name: DoorName;
  /** Where the echo/HTTP workloads connect: the front door, or the backend itself for `direct`. */
  port: number;
  /** Where chat clients connect (direct: every chat server, spread round robin). */
  chatUrls: string[];
  /** The processes doing the proxying (nginx: its workers); none for `direct`. */
  proxyPids(): number[];
  /** A fresh proxy process on the same port, for a clean memory baseline. */
  restart(): Promise<void>;
}

export interface Environment {
  configFile: string;
  configExtras: string[];
  configRejected: { directive: string; reason: string }[];
  doors: Door[];
  backendPids(workload: 'echo' | 'chat'): number[];
  stop(): Promise<void>;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const chatInstances = 3;

/** The gateway is usable when its CLI is built; a build older than its sources is used with a warning. */
export function gatewayStatus(): { available: boolean; warning: string | null } {
  if (!existsSync(paths.gatewayCli)) return { available: false, warning: null };
  const built = statSync(paths.gatewayCli).mtimeMs;
  const src = path.join(path.dirname(paths.gatewayCli), '../src');
  const newest = existsSync(src)
    ? Math.max(0, ...readdirSync(src, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => statSync(path.join(e.parentPath, e.name)).mtimeMs))
    : 0;
  return { available: true, warning: newest > built ? 'packages/gateway/dist is older than its sources: run `npm run build` to bench the current gateway' : null };
}

async function distinctPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

export interface EnvironmentOptions {
  doors: readonly DoorName[];
  workerConnections: number;
  echo: (line: string) => void;
}

/** Starts Redis, chat-1..3, the echo backend, then nginx and the gateway on one shared config. */
export async function startEnvironment(options: EnvironmentOptions): Promise<Environment> {
  const started: ManagedProcess[] = [];
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'chat-bench-'));
  const stopAll = async () => {
    for (const proc of started.reverse()) await proc.stop().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    // All ports up front, and everything listening for the whole run: a port reserved but unbound
    // could be taken as an ephemeral source port by the tens of thousands of client connections.
    const [backendPort, nginxPort, gatewayPort, ...chatPorts] = await distinctPorts(3 + chatInstances);

    const redis = await startRedis({ echo: options.echo });
    started.push(redis);
    const chatEnv = {
      ALLOWED_ORIGINS: '*',
      // Bench clients come from a few loopback addresses, and each user sends far more than a human.
      MAX_CONNECTIONS_PER_ADDRESS: '20000',
      RATE_LIMIT_PER_SECOND: '1000',
      RATE_LIMIT_BURST: '10000',
      LOG_LEVEL: 'error',
    };
    const chatServers = await Promise.all(
      chatPorts.map((port, i) => startChatServer({ instance: `chat-${i + 1}`, redisUrl: redis.url, port, env: chatEnv, echo: options.echo })),
    );
    started.push(...chatServers);

    const backend = spawnManaged('echo-backend', process.execPath, [path.join(here, 'backends/echo-server.js'), String(backendPort)], {
      echo: options.echo,
    });
    await untilReady(backend, waitUntil('the echo backend', () => canConnect(backendPort!)));
    started.push(backend);

    const gateway = gatewayStatus();
    const configFile = path.join(tmp, 'nginx.conf');
    const { extras, rejected } = writeBenchConfig(
      configFile,
      { nginxPort: nginxPort!, chatPorts, backendPort: backendPort!, workerConnections: options.workerConnections },
      // Probed whenever the gateway exists, so nginx reads the same file with or without --doors gateway.
      gateway.available,
    );

    const doors: Door[] = [];
    for (const name of options.doors) {
      if (name === 'direct') {
        doors.push({
          name,
          port: backendPort!,
          chatUrls: chatServers.map((s) => s.url),
          proxyPids: () => [],
          restart: async () => undefined,
        });
        continue;
      }
      // nginx gets the file as written (its listen is nginx's port, so devstack's copy is identical);
      // the gateway gets the same file with --listen for its own port.
      const start =
        name === 'nginx'
          ? () => startNginx({ config: configFile, port: nginxPort, echo: options.echo })
          : () => startGateway({ config: configFile, port: gatewayPort, echo: options.echo });
      let proc = await start();
      started.push({ ...proc, stop: (grace) => proc.stop(grace) });
      doors.push({
        name,
        port: name === 'nginx' ? nginxPort! : gatewayPort!,
        chatUrls: [proc.url],
        proxyPids: () => (name === 'nginx' ? childPids(proc.child.pid!) : [proc.child.pid!, ...childPids(proc.child.pid!)]),
        restart: async () => {
          await proc.stop();
          proc = await start();
        },
      });
    }

    return {
      configFile,
      configExtras: extras,
      configRejected: rejected,
      doors,
      backendPids: (workload) =>
        workload === 'echo' ? [backend.child.pid!] : [redis.child.pid!, ...chatServers.map((s) => s.child.pid!)],
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * A separate gateway under `node --cpu-prof`, for profiling (startGateway can't pass node flags,
 * and NODE_OPTIONS refuses --cpu-prof). V8 writes the profile when the gateway exits on SIGTERM.
 */
export async function startProfiledGateway(configFile: string, profileDir: string, name: string): Promise<ManagedProcess & { port: number }> {
  const port = await freePort();
  const args = ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}`, paths.gatewayCli, '-c', configFile, '--listen', `127.0.0.1:${port}`];
  const proc = spawnManaged('gateway (profiled)', process.execPath, args);
  await untilReady(proc, waitUntil(`the profiled gateway on port ${port}`, () => canConnect(port)));
  return { ...proc, port };
}
