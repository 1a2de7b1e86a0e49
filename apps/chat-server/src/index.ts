import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startChatServer } from './server.js';

/** Entry point: `node dist/index.js`, configured by PORT, HOST, REDIS_URL, INSTANCE_ID, LOG_LEVEL. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`chat-server: ${error.message}\n`);
    process.exit(1);
  }
  const logger = createLogger(config);
  // A stray rejection (say, a publish racing a Redis disconnect) is logged, never fatal: one
  // instance going down would drop every client it holds.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
  const server = await startChatServer(config, logger);

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    // Never hang: a stuck close must not keep a stopped instance alive.
    setTimeout(() => process.exit(1), 10_000).unref();
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`chat-server: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
