import { Queue, type ConnectionOptions, type DefaultJobOptions, type JobsOptions } from 'bullmq';
import { CATEGORY_PRIORITY, type CategoryName } from './categories.js';
import type { StatusCallback } from './message-store.js';

/**
 * Queue names carry a Redis Cluster hash tag, so each queue's keys share a slot while different queues
 * can live on different nodes; QUEUE_PREFIX comes first so several stacks can share one Redis.
 */
export const SEND_QUEUE = '{send}';
export const STATUS_QUEUE = '{status}';
export const WEBHOOK_QUEUE = '{webhooks}';

/** Only the id travels through Redis: bodies (and OTP codes) stay in Postgres. */
export interface SendJob {
  messageId: string;
  /**
   * Set by the worker: attempts up to this number certainly did not reach Twilio (refused for speed,
   * connection refused), so a retry need not look for them at Twilio first.
   */
  notAtTwilioUpTo?: number;
}

/**
 * A Twilio status callback the API queued for the worker to apply: a 30001 (the worker slows the sender
 * down), or any callback while the API could not apply it in Postgres itself.
 */
export interface StatusJob extends StatusCallback {
  receivedAt: string;
}

/** Retries use the worker's `jitter` backoff strategy (exponential, full jitter). */
const SEND_JOB_OPTIONS: DefaultJobOptions = {
  backoff: { type: 'jitter', delay: 1000 },
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/**
 * A message's send job, wherever it is enqueued (API, batch, reconciler): the message id is the job id, so
 * enqueuing twice is a no-op; priority by category; a scheduled message waits in the delayed set.
 */
export function sendJobOptions(messageId: string, category: CategoryName, delayMs: number): JobsOptions {
  return { jobId: messageId, priority: CATEGORY_PRIORITY[category], delay: delayMs > 0 ? delayMs : undefined };
}

/** A message's send job as `addBulk` takes it (see sendJobOptions). */
export function sendJob(messageId: string, category: CategoryName, delayMs: number) {
  return { name: 'send', data: { messageId } satisfies SendJob, opts: sendJobOptions(messageId, category, delayMs) };
}

const STATUS_JOB_OPTIONS: DefaultJobOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: { age: 600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/**
 * The deliveries the relay claimed for one endpoint in one go: their outbox rows (webhook_deliveries) are
 * the truth, and only those still carrying this claim are sent.
 */
export interface WebhookJob {
  endpointId: string;
  /** The claim's time in microseconds since the epoch, as text (enqueued_at on each row). */
  claim: string;
  deliveryIds: string[];
}

export interface Queues {
  send: Queue<SendJob>;
  status: Queue<StatusJob>;
  /** Delivery events to callers, apart from sending, so a slow endpoint never holds a send back. */
  webhooks: Queue<WebhookJob>;
  close(): Promise<void>;
}

export function createQueues(connection: ConnectionOptions, prefix: string, sendAttempts = 8): Queues {
  const send = new Queue<SendJob>(SEND_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: { ...SEND_JOB_OPTIONS, attempts: sendAttempts },
  });
  const status = new Queue<StatusJob>(STATUS_QUEUE, { connection, prefix, defaultJobOptions: STATUS_JOB_OPTIONS });
  const webhooks = new Queue<WebhookJob>(WEBHOOK_QUEUE, {
    connection,
    prefix,
    // The outbox row keeps the outcome and every attempt; the job is only the means.
    defaultJobOptions: { removeOnComplete: { age: 3600, count: 10_000 }, removeOnFail: { age: 7 * 24 * 3600 } },
  });
  return {
    send,
    status,
    webhooks,
    async close() {
      await Promise.all([send.close(), status.close(), webhooks.close()]);
    },
  };
}
