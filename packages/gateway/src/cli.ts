#!/usr/bin/env node
import './heap-tuning.js'; // first: V8 flags must be set before the code they tune runs
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseCliArgs, USAGE } from './cli-args.js';
import { ConfigError } from './config/errors.js';
import { loadConfig } from './config/load.js';
import type { GatewayConfig } from './config/types.js';
import cluster, { type Worker } from 'node:cluster';
import { createWriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createGateway } from './gateway.js';
import { errorLogLine, logs } from './logging.js';
import type { Logger } from './runtime.js';

/** `chat-gateway`: the command-line front end, with nginx's wording for -t and errors. */

const say = (line: string) => process.stderr.write(`chat-gateway: ${line}\n`);

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCliArgs(argv);
  if (!parsed.ok) {
    say(parsed.error);
    process.stderr.write('Run "chat-gateway -h" for usage.\n');
    return 1;
  }
  const options = parsed.options;
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  const file = resolve(options.configFile);
  let config: GatewayConfig;
  try {
    config = loadConfig(file);
  } catch (err) {
    say(`[emerg] ${err instanceof ConfigError ? err.message : String(err)}`);
    if (options.test) say(`configuration file ${file} test failed`);
    return 1;
  }
  if (options.test) {
    say(`the configuration file ${file} syntax is ok`);
    say(`configuration file ${file} test is successful`);
    return 0;
  }

  const run: RunOptions = { file, resolve: options.resolve, listen: options.listen };
  if (cluster.isWorker) return runWorker(config, run);
  const workers = workerCount(config);
  if (workers > 1) return runPrimary(config, workers, run);
  return runSingle(config, run);
}

interface RunOptions {
  readonly file: string;
  readonly resolve: ReadonlyMap<string, string>;
  readonly listen: string | undefined;
}

// nginx waits for ever without worker_shutdown_timeout; the gateway bounds a graceful stop.
const DEFAULT_SHUTDOWN_MS = 60_000;
const shutdownBound = (config: GatewayConfig) => config.workerShutdownTimeoutMs ?? DEFAULT_SHUTDOWN_MS;

/** `worker_processes N | auto`. */
function workerCount(config: GatewayConfig): number {
  return config.workerProcesses === 'auto' ? availableParallelism() : Math.max(1, config.workerProcesses);
}

const printAddresses = (addresses: readonly AddressInfo[]) => {
  for (const a of addresses) say(`listening on ${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
};

/** Re-reads the file for a reload; logs and returns null when it is bad (the old one stays). */
function reread(file: string, log: Logger): GatewayConfig | null {
  try {
    return loadConfig(file);
  } catch (err) {
    log('emerg', err instanceof ConfigError ? err.message : String(err));
    return null;
  }
}

/** One process: serves itself; SIGHUP reloads in place, SIGQUIT drains, SIGTERM/SIGINT stop. */
async function runSingle(initial: GatewayConfig, run: RunOptions): Promise<number> {
  let config = initial;
  const log = errorLogger(config);
  const gateway = createGateway(config, { resolve: run.resolve, listen: run.listen, log });
  const stopped = stopSignal();
  try {
    printAddresses(await gateway.listen());
  } catch (err) {
    say(`[emerg] ${(err as Error).message}`);
    return 1;
  }
  process.on('SIGHUP', () => {
    const next = reread(run.file, log);
    if (!next) return;
    gateway.reload(next).then(
      () => {
        config = next;
        log('notice', 'reconfiguring');
      },
      (err: unknown) => log('emerg', (err as Error).message),
    );
  });
  const how = await stopped;
  if (how === 'graceful') await gateway.drain(shutdownBound(config));
  else await gateway.close();
  return 0;
}

/** Resolves with how to stop: SIGQUIT is graceful, SIGTERM and SIGINT are fast (as nginx). */
function stopSignal(): Promise<'fast' | 'graceful'> {
  return new Promise((done) => {
    process.once('SIGTERM', () => done('fast'));
    process.once('SIGINT', () => done('fast'));
    process.once('SIGQUIT', () => done('graceful'));
  });
}

type ToWorker = { type: 'reload' } | { type: 'quit' } | { type: 'stop' };
type FromWorker = { type: 'ready'; addresses: AddressInfo[] };

/**
 * The primary of `worker_processes N`: forks N cluster workers that share the listening sockets
 * (the kernel spreads connections, like nginx workers without reuseport), restarts a worker that
 * dies, and turns signals into messages: SIGHUP checks the file and makes every worker reload,
 * SIGQUIT drains them, SIGTERM/SIGINT stop them at once.
 */
async function runPrimary(initial: GatewayConfig, count: number, run: RunOptions): Promise<number> {
  let config = initial;
  const log = errorLogger(config);
  // Workers accept on the shared sockets themselves, as nginx workers do.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ exec: process.argv[1] as string, args: process.argv.slice(2) });
  let stopping = false;
  const retiring = new Set<Worker>();
  const stopped = stopSignal();

  /** Forks a worker; resolves with its addresses once it listens, null if it died first. */
  const fork = (): Promise<AddressInfo[] | null> =>
    new Promise((resolve) => {
      const worker = cluster.fork();
      const onExit = () => resolve(null);
      worker.once('exit', onExit);
      worker.on('message', (m: FromWorker) => {
        if (m?.type !== 'ready') return;
        worker.off('exit', onExit);
        resolve(m.addresses);
      });
    });

  // The first worker alone, so that a start-up error is printed once; the addresses are
  // printed when every worker listens.
  const addresses = await fork();
  if (!addresses) return 1;
  cluster.on('exit', (worker, code, signal) => {
    if (stopping || retiring.delete(worker)) return;
    log('alert', `worker process ${worker.process.pid} exited ${signal ? `on signal ${signal}` : `with code ${code}`}`);
    void fork();
  });
  for (let i = 1; i < count; i++) await fork();
  printAddresses(addresses);

  const send = (worker: Worker, message: ToWorker) => {
    if (worker.isConnected()) worker.send(message);
  };
  const alive = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !retiring.has(w));

  process.on('SIGHUP', () => {
    const next = reread(run.file, log);
    if (!next) return;
    config = next;
    const want = workerCount(next);
    const current = alive();
    for (const worker of current) send(worker, { type: 'reload' });
    for (let i = current.length; i < want; i++) void fork();
    for (const worker of current.slice(want)) {
      retiring.add(worker);
      send(worker, { type: 'quit' });
    }
  });

  const how = await stopped;
  stopping = true;
  const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
  const exited = Promise.all(workers.map((w) => new Promise<void>((r) => (w.isDead() ? r() : w.once('exit', () => r())))));
  for (const worker of workers) send(worker, { type: how === 'graceful' ? 'quit' : 'stop' });
  const bound = how === 'graceful' ? shutdownBound(config) + 5_000 : 5_000;
  const timer = setTimeout(() => {
    for (const worker of workers) worker.process.kill('SIGKILL');
  }, bound);
  await exited;
  clearTimeout(timer);
  return 0;
}

/** A cluster worker: serves, reports its addresses, and obeys the primary's messages. */
async function runWorker(initial: GatewayConfig, run: RunOptions): Promise<number> {
  let config = initial;
  const log = errorLogger(config);
  const gateway = createGateway(config, { resolve: run.resolve, listen: run.listen, log });
  // Terminal signals reach the whole process group: the primary decides.
  for (const signal of ['SIGINT', 'SIGQUIT', 'SIGHUP'] as const) process.on(signal, () => {});
  let addresses: AddressInfo[];
  try {
    addresses = await gateway.listen();
  } catch (err) {
    say(`[emerg] ${(err as Error).message}`);
    return 1;
  }
  return new Promise<number>((resolve) => {
    const stop = (how: 'fast' | 'graceful') => {
      const done = how === 'graceful' ? gateway.drain(shutdownBound(config)) : gateway.close();
      void done.then(() => resolve(0));
    };
    process.on('message', (m: ToWorker) => {
      if (m?.type === 'stop') stop('fast');
      else if (m?.type === 'quit') stop('graceful');
      else if (m?.type === 'reload') {
        const next = reread(run.file, log);
        if (!next) return;
        gateway.reload(next).then(
          () => {
            config = next;
          },
          (err: unknown) => log('emerg', (err as Error).message),
        );
      }
    });
    // The primary is gone: stop at once, as an orphaned nginx worker would.
    process.once('disconnect', () => stop('fast'));
    process.once('SIGTERM', () => stop('fast'));
    process.send?.({ type: 'ready', addresses } satisfies FromWorker);
  });
}

/** `error_log PATH LEVEL` when configured (nginx's line format), else `chat-gateway: [level] ...` on stderr. */
function errorLogger(config: GatewayConfig): Logger {
  const target = config.errorLog;
  if (!target) return (level, message) => say(`[${level}] ${message}`);
  const stream = target.path === 'stderr' ? process.stderr : createWriteStream(target.path, { flags: 'a' });
  stream.on('error', (err) => say(`[alert] error_log "${target.path}": ${err.message}`));
  return (level, message) => {
    if (logs(target.level, level)) stream.write(errorLogLine(level, message));
  };
}

// Every connection has its own error handling; this is the last line of defence, so that one
// unexpected failure is logged instead of taking down every other connection.
process.on('uncaughtException', (err) => say(`[alert] uncaught exception: ${err.stack ?? err.message}`));
process.on('unhandledRejection', (err) => say(`[alert] unhandled rejection: ${String(err)}`));

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(`[emerg] ${(err as Error).message ?? String(err)}`);
    process.exit(1);
  },
);
