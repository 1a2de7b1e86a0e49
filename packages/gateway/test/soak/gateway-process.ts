import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { canConnect, freePort, spawnManaged, untilReady, waitUntil, type ManagedProcess } from '@chat/devstack';

/**
 * The built gateway CLI as its own process, so that its descriptors, sockets and heap are only
 * its own: `node --expose-gc [STEADY_HEAP] --import probe.mjs dist/cli.js -c FILE --listen ...`.
 * Descriptors are read from /proc; the heap comes from probe.mjs, which answers SIGUSR2.
 */

const packageDir = fileURLToPath(new URL('../..', import.meta.url));
/** The built CLI; `SOAK_GATEWAY_CLI` points the soak at another build (e.g. a baseline). */
const cli = process.env.SOAK_GATEWAY_CLI ?? path.join(packageDir, 'dist/cli.js');
const probe = pathToFileURL(fileURLToPath(new URL('probe.mjs', import.meta.url))).href;

/**
 * V8 without its compilers and without bytecode flushing. Optimised code, its deoptimisation
 * data and flushed-then-recompiled bytecode come and go with the compiler's own decisions:
 * with them the collected heap of identical runs differs by up to 4%, which is most of the 5%
 * allowed. Without them it is the same to 0.1% from run to run, so what the 5% rule measures
 * is the gateway's own objects. Which compiler runs a function does not change what a
 * function keeps alive.
 */
const STEADY_HEAP = ['--no-opt', '--no-sparkplug', '--no-maglev', '--no-flush-bytecode'];

export interface Sample {
  /** Open file descriptors (/proc/PID/fd). */
  readonly fds: number;
  /** Of those, sockets (`socket:[inode]`). */
  readonly sockets: number;
  /** V8 heap in use after two full collections, bytes. */
  readonly heapUsed: number;
  readonly rss: number;
  /** process._getActiveHandles().length */
  readonly handles: number;
  /** Listeners on every active handle and on `process`. */
  readonly listeners: number;
}

export interface SoakGateway {
  readonly port: number;
  readonly pid: number;
  readonly process: ManagedProcess;
  /** Descriptors only: cheap, for polling. */
  descriptors(): { fds: number; sockets: number };
  /** Descriptors plus a collected heap. */
  sample(): Promise<Sample>;
  /** The last lines the gateway printed (its error log), for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts the gateway on `configText` (its listen address is overridden to an ephemeral port). */
export async function startSoakGateway(configText: string, resolve: Record<string, number>): Promise<SoakGateway> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-gateway-soak-'));
  const configFile = path.join(dir, 'nginx.conf');
  writeFileSync(configFile, configText.replaceAll('{{DIR}}', dir));
  const port = await freePort();
  const args = ['--expose-gc', ...STEADY_HEAP, '--import', probe, cli, '-c', configFile, '--listen', `127.0.0.1:${port}`];
  for (const [name, to] of Object.entries(resolve)) args.push('--resolve', `${name}=127.0.0.1:${to}`);

  let waiting: ((line: string) => void) | null = null;
  const proc = spawnManaged('gateway', process.execPath, args, {
    echo: (line) => {
      const text = line.slice('[gateway] '.length);
      if (text.startsWith('soak-probe ') && waiting) waiting(text.slice('soak-probe '.length));
    },
  });
  await untilReady(proc, waitUntil(`the gateway on port ${port}`, () => canConnect(port)));
  const pid = proc.child.pid as number;

  const descriptors = () => {
    const dirPath = `/proc/${pid}/fd`;
    let fds = 0;
    let sockets = 0;
    for (const fd of readdirSync(dirPath)) {
      let target: string;
      try {
        target = readlinkSync(`${dirPath}/${fd}`);
      } catch {
        continue; // closed between the listing and the look
      }
      fds++;
      if (target.startsWith('socket:')) sockets++;
    }
    return { fds, sockets };
  };

  const heap = () =>
    new Promise<Omit<Sample, 'fds' | 'sockets'>>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`the gateway's probe did not answer:\n${proc.output()}`)), 10_000);
      waiting = (json) => {
        clearTimeout(timer);
        waiting = null;
        done(JSON.parse(json) as Omit<Sample, 'fds' | 'sockets'>);
      };
      proc.child.kill('SIGUSR2');
    });

  return {
    port,
    pid,
    process: proc,
    descriptors,
    async sample() {
      const measured = await heap();
      return { ...descriptors(), ...measured };
    },
    output: () => proc.output(),
    async stop() {
      await proc.stop(5_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
