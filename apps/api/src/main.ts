import { createLogger, loadConfigOrExit } from '@smsq/shared';
import { buildApp } from './app.js';
import { createApiDeps } from './deps.js';

const config = loadConfigOrExit();
const logger = createLogger(config, 'api');
const deps = createApiDeps(config);
const app = await buildApp(deps, { logger });
await deps.queues.send.waitUntilReady().catch((err: Error) => logger.warn({ err: err.message }, 'redis not ready yet'));
await app.listen({ port: config.port, host: config.host });

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  // Stop taking requests and finish the ones in flight, then release the stores.
  const force = setTimeout(() => {
    logger.error('shutdown took too long; exiting');
    process.exit(1);
  }, 15_000);
  force.unref();
  await app.close();
  await deps.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
