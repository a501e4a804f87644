import { Worker } from 'bullmq';
import {
  MessageSealer,
  SEND_QUEUE,
  createQueues,
  STATUS_QUEUE,
  WEBHOOK_QUEUE,
  type Config,
  type Logger,
  type PrismaClient,
  type SendJob,
  type StatusJob,
  type TwilioClient,
  type WebhookJob,
  warmUpTwilioClient,
} from '@smsq/shared';
import { SendRateLimiter } from './send/limiter/send-rate-limiter.js';
import type { RedisClient } from '@smsq/shared';
import { fullJitterBackoff } from './send/backoff.js';
import { startReconciler } from './reconcile/reconciler.js';
import { createSendProcessor } from './send/processor.js';
import { senderKey } from './send/sender.js';
import { SendSignals } from './send/signals.js';
import { createStatusProcessor } from './status/processor.js';
import { createWebhookProcessor } from './webhooks/deliver.js';
import { WebhookPoster } from './webhooks/outbound.js';
import { startWebhookRelay } from './webhooks/relay.js';

export interface WorkerDeps {
  config: Config;
  prisma: PrismaClient;
  redis: RedisClient;
  twilio: TwilioClient;
  logger: Logger;
}

export interface Workers {
  send: Worker<SendJob>;
  status: Worker<StatusJob>;
  webhooks: Worker<WebhookJob>;
  /** The MPS limits shared by all workers, and what the send processor reports about them. */
  limiter: SendRateLimiter;
  signals: SendSignals;
  /** Senders whose limits the metrics show: the configured one and every override. */
  senders: string[];
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
  const limiter = new SendRateLimiter(redis, {
    prefix: config.queuePrefix,
    senderMps: config.senderMps,
    senderMpsOverrides: config.senderMpsOverrides,
    accountMps: config.accountMps,
    recoveryMs: config.rateRecoveryMs,
  });
  const signals = new SendSignals();
  const reconciler = startReconciler({ ...deps, queues }, signals);
  // What the first send would load after its slot was granted is loaded now; sends wait for it.
  const twilioReady = warmUpTwilioClient(deps.twilio);
  // A failure shows again in each send that waits for it, as the request's own error would.
  twilioReady.catch((err: Error) => logger.error({ err: err.message }, 'could not load the Twilio HTTP layer'));
  const processorDeps = { ...deps, limiter, signals, twilioReady, sealer: new MessageSealer(config.otpSecret) };
  const send = new Worker<SendJob>(SEND_QUEUE, createSendProcessor(processorDeps), {
    ...common,
    concurrency: config.workerConcurrency,
    settings: { backoffStrategy: (attemptsMade: number) => fullJitterBackoff(attemptsMade) },
  });
  const status = new Worker<StatusJob>(STATUS_QUEUE, createStatusProcessor(processorDeps), {
    ...common,
    concurrency: Math.max(10, config.workerConcurrency),
  });
  const poster = new WebhookPoster(config.webhooks);
  // A queue and a worker of their own: however slow an endpoint, sends never wait behind it.
  const relay = startWebhookRelay({ ...deps, queues });
  const webhookProcessor = createWebhookProcessor({ ...deps, poster, signals, groupSettled: relay.kick });
  const webhooks = new Worker<WebhookJob>(WEBHOOK_QUEUE, webhookProcessor, {
    ...common,
    concurrency: config.webhooks.concurrency,
  });
  for (const w of [send, status, webhooks]) {
    w.on('error', (err) => logger.error({ err: err.message, queue: w.name }, 'worker error'));
    w.on('failed', (job, err) =>
      logger.warn({ queue: w.name, jobId: job?.id, error: err.message, attemptsMade: job?.attemptsMade }, 'job failed'),
    );
  }
  return {
    send,
    status,
    webhooks,
    limiter,
    signals,
    senders: [...new Set([senderKey(config), ...config.senderMpsOverrides.keys()])],
    async close(timeoutMs = 20_000) {
      await Promise.all([reconciler.stop(), relay.stop()]);
      const graceful = Promise.all([send.close(), status.close(), webhooks.close()]);
      const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
      if ((await Promise.race([graceful, timer])) === 'timeout') {
        logger.warn('in-flight jobs did not finish in time; handing them back');
        await Promise.all([send.close(true), status.close(true), webhooks.close(true)]);
      }
      await Promise.all([queues.close(), poster.close()]);
    },
  };
}
