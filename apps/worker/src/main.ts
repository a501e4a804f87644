import {
  createLogger,
  createPrisma,
  createRedis,
  createTwilioClient,
  exitUnlessClusterAnswers,
  loadConfigOrExit,
  TwilioNotConfiguredError,
} from '@smsq/shared';
import { createWorkerMetrics } from './metrics.js';
import { startMetricsServer } from './metrics-server.js';
import { startWorkers } from './workers.js';

const config = loadConfigOrExit();
await exitUnlessClusterAnswers(config.redisClusterNodes);
const logger = createLogger(config, 'worker');
if (!config.twilio.phoneNumber && !config.twilio.messagingServiceSid) {
  process.stderr.write(
    'smsq: invalid configuration: TWILIO_PHONE_NUMBER or TWILIO_MESSAGING_SERVICE_SID must be set\n',
  );
  process.exit(78);
}
let twilio;
try {
  twilio = createTwilioClient(config.twilio);
} catch (err) {
  if (!(err instanceof TwilioNotConfiguredError)) throw err;
  process.stderr.write(`smsq: invalid configuration: ${err.message}\n`);
  process.exit(78);
}
// Each send holds a connection only for a few short statements, never across the Twilio call: 20 keep
// up with any concurrency, and a few workers stay within Postgres's default 100 connections.
const prisma = createPrisma(config.databaseUrl, Math.min(20, config.workerConcurrency + 5));
const redis = createRedis(config.redisUrl, 'worker', config.redisClusterNodes);
const workers = startWorkers({ config, prisma, redis, twilio, logger });
const metricsServer = await startMetricsServer(config.workerMetricsPort, config.host, createWorkerMetrics(workers));
logger.info({ concurrency: config.workerConcurrency }, 'worker started');

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  await workers.close();
  metricsServer.close();
  redis.disconnect();
  await prisma.$disconnect();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
