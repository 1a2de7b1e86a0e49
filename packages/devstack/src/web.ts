import type { FrontDoor } from './gateway.js';
import { paths } from './paths.js';
import { freePort } from './ports.js';
import { spawnManaged, untilReady, type SpawnOptions } from './process.js';
import { httpGet, waitUntil } from './wait.js';

/** The built Next.js app (`next start`), ready once it serves `/`. */
export async function startWeb(options: SpawnOptions & { port?: number; host?: string } = {}): Promise<FrontDoor> {
  const port = options.port ?? (await freePort());
  const host = options.host ?? '127.0.0.1';
  const proc = spawnManaged('web', process.execPath, [paths.nextBin, 'start', '--port', String(port), '--hostname', host], {
    ...options,
    cwd: paths.webApp,
    env: { NEXT_TELEMETRY_DISABLED: '1', ...options.env },
  });
  const url = `http://127.0.0.1:${port}`;
  await untilReady(proc, waitUntil('the web app', async () => (await httpGet(url)).status === 200, 30_000));
  return { ...proc, port, url };
}
