import { createLogger, exitUnlessClusterAnswers, loadConfigOrExit } from '@smsq/shared';
import { buildApp } from './app.js';
import { createApiDeps } from './deps.js';

const config = loadConfigOrExit();
await exitUnlessClusterAnswers(config.redisClusterNodes);
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
  // Fastify closes the keep-alive connections idle at close time; one busy then turns idle after its
  // response and would hold the close for the keep-alive timeout (72 s). Close those as they come free.
  const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
  await app.close();
  clearInterval(sweep);
  await deps.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
