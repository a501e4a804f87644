import { Worker } from 'bullmq';
import {
  SEND_QUEUE,
  createQueues,
  STATUS_QUEUE,
  type Config,
  type Logger,
  type PrismaClient,
  type SendJob,
  type StatusJob,
  type TwilioClient,
} from '@smsq/shared';
import type { Redis } from 'ioredis';
import { fullJitterBackoff } from './backoff.js';
import { startReconciler } from './reconciler.js';
import { createSendProcessor } from './send-processor.js';
import { createStatusProcessor } from './status-processor.js';

export interface WorkerDeps {
  config: Config;
  prisma: PrismaClient;
  redis: Redis;
  twilio: TwilioClient;
  logger: Logger;
}

export interface Workers {
  send: Worker<SendJob>;
  status: Worker<StatusJob>;
  /** Stops taking jobs and waits for in-flight ones, up to `timeoutMs`; unfinished ones are handed back. */
  close(timeoutMs?: number): Promise<void>;
}

export function startWorkers(deps: WorkerDeps): Workers {
  const { config, redis, logger } = deps;
  // A killed worker's jobs are noticed one lock period later, not at BullMQ's default 30 s check.
  const common = {
    connection: redis,
    prefix: config.queuePrefix,
    lockDuration: config.workerLockMs,
    stalledInterval: config.workerLockMs,
  };
  const queues = createQueues(redis, config.queuePrefix, config.sendMaxAttempts);
  const reconciler = startReconciler({ ...deps, queues });
  const send = new Worker<SendJob>(SEND_QUEUE, createSendProcessor(deps), {
    ...common,
    concurrency: config.workerConcurrency,
    settings: { backoffStrategy: (attemptsMade: number) => fullJitterBackoff(attemptsMade) },
  });
  const status = new Worker<StatusJob>(STATUS_QUEUE, createStatusProcessor(deps), {
    ...common,
    concurrency: Math.max(10, config.workerConcurrency),
  });
  for (const w of [send, status]) {
    w.on('error', (err) => logger.error({ err: err.message, queue: w.name }, 'worker error'));
    w.on('failed', (job, err) =>
      logger.warn({ queue: w.name, jobId: job?.id, error: err.message, attemptsMade: job?.attemptsMade }, 'job failed'),
    );
  }
  return {
    send,
    status,
    async close(timeoutMs = 20_000) {
      await reconciler.stop();
      const graceful = Promise.all([send.close(), status.close()]);
      const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
      if ((await Promise.race([graceful, timer])) === 'timeout') {
        logger.warn('in-flight jobs did not finish in time; handing them back');
        await Promise.all([send.close(true), status.close(true)]);
      }
      await queues.close();
    },
  };
}
