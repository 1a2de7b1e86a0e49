#!/usr/bin/env node
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseCliArgs, USAGE } from './cli-args.js';
import { ConfigError } from './config/errors.js';
import { loadConfig } from './config/load.js';
import type { GatewayConfig } from './config/types.js';
import { createGateway } from './gateway.js';

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

  const gateway = createGateway(config, {
    resolve: options.resolve,
    listen: options.listen,
    log: (level, message) => say(`[${level}] ${message}`),
  });
  let addresses: AddressInfo[];
  try {
    addresses = await gateway.listen();
  } catch (err) {
    say(`[emerg] ${(err as Error).message}`);
    return 1;
  }
  for (const a of addresses) say(`listening on ${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);

  // nginx's fast shutdown: stop everything now, then exit.
  await new Promise<void>((done) => {
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
  await gateway.close();
  return 0;
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
