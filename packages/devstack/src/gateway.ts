import { paths } from './paths.js';
import { freePort } from './ports.js';
import { spawnManaged, untilReady, type ManagedProcess, type SpawnOptions } from './process.js';
import { canConnect, waitUntil } from './wait.js';

export interface FrontDoor extends ManagedProcess {
  port: number;
  url: string;
}

export interface GatewayOptions extends SpawnOptions {
  /** Config file; infra/nginx.conf by default. */
  config?: string;
  /** Upstream addresses as written in the config -> where they really are, e.g. `chat-1:3000` -> `127.0.0.1:40001`. */
  resolve?: Record<string, string>;
  port?: number;
  /** Address to bind; loopback unless the demo asks for more. */
  host?: string;
}

/** The built gateway CLI, reading the config with `--resolve` mappings, ready once it accepts connections. */
export async function startGateway(options: GatewayOptions = {}): Promise<FrontDoor> {
  const port = options.port ?? (await freePort());
  const host = options.host ?? '127.0.0.1';
  const args = [paths.gatewayCli, '-c', options.config ?? paths.nginxConf, '--listen', `${host}:${port}`];
  for (const [from, to] of Object.entries(options.resolve ?? {})) args.push('--resolve', `${from}=${to}`);
  const proc = spawnManaged('gateway', process.execPath, args, options);
  await untilReady(proc, waitUntil(`the gateway on port ${port}`, () => canConnect(port)));
  return { ...proc, port, url: `http://127.0.0.1:${port}` };
}
