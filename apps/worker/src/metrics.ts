import type { Job, Worker } from 'bullmq';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Workers } from './workers.js';

/** Twilio's RestException carries its numeric code, a network error its own (ECONNREFUSED, …). */
function failureCode(err: Error): string {
  const { code } = err as { code?: unknown };
  return typeof code === 'number' || typeof code === 'string' ? String(code) : 'unknown';
}

/** BullMQ's own rule (Job.shouldRetryJob); `attemptsMade` already counts the attempt that failed. */
const willRetry = (job: Job, err: Error) =>
  err.name !== 'UnrecoverableError' && job.attemptsMade < (job.opts.attempts ?? 1);

/** When a send job became due: a `sendAt` message is late only from its send time on. */
const dueAt = (job: Job) => job.timestamp + (job.opts.delay ?? 0);

/**
 * The worker's Prometheus metrics, all named `smsq_*`, gathered from the workers' events and the
 * outcomes their processors return, in a registry of their own.
 */
export function createWorkerMetrics(
  workers: Pick<Workers, 'send' | 'status' | 'limiter' | 'signals' | 'senders'>,
): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'smsq_' });
  const registers = [registry];

  const jobs = new Counter({
    name: 'smsq_worker_jobs_total',
    help: 'Jobs finished, by queue and outcome (the processor result, or "failed" when out of tries)',
    labelNames: ['queue', 'outcome'],
    registers,
  });
  const retries = new Counter({
    name: 'smsq_worker_job_retries_total',
    help: 'Failed attempts that will be tried again',
    labelNames: ['queue'],
    registers,
  });
  const duration = new Histogram({
    name: 'smsq_worker_job_duration_seconds',
    help: 'Time one attempt took; on the send queue this is mostly the Twilio call',
    labelNames: ['queue'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const sendFailures = new Counter({
    name: 'smsq_send_attempt_failures_total',
    help: 'Send attempts that raised an error, by Twilio error code (or network error code)',
    labelNames: ['code'],
    registers,
  });
  const acceptToSubmit = new Histogram({
    name: 'smsq_send_accept_to_submit_seconds',
    help: 'From a message being accepted (or due, with sendAt) to Twilio taking it',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers,
  });

  const rateLimitWaits = new Counter({
    name: 'smsq_rate_limit_waits_total',
    help: 'Sends put back to wait for their turn under an MPS limit, by the limit that held them (sender, account)',
    labelNames: ['scope'],
    registers,
  });
  const slowDowns = new Counter({
    name: 'smsq_rate_limit_slowdowns_total',
    help: 'Times Twilio said "too fast" (20429, 21611, 30001) and a rate was halved, by scope and code',
    labelNames: ['scope', 'code'],
    registers,
  });
  new Gauge({
    name: 'smsq_rate_limit_mps',
    help: 'Segments per second allowed to Twilio: the configured limit, and the effective one after slow-downs',
    labelNames: ['scope', 'sender', 'kind'],
    registers,
    async collect() {
      // Read from Redis at scrape time; an outage drops these series rather than failing the whole scrape.
      const rates = await workers.limiter.rates(workers.senders).catch(() => undefined);
      this.reset();
      if (!rates) return;
      for (const [sender, r] of rates.senders) {
        this.set({ scope: 'sender', sender, kind: 'configured' }, r.limit);
        this.set({ scope: 'sender', sender, kind: 'effective' }, r.effective);
      }
      if (rates.account) {
        this.set({ scope: 'account', sender: '', kind: 'configured' }, rates.account.limit);
        this.set({ scope: 'account', sender: '', kind: 'effective' }, rates.account.effective);
      }
    },
  });
  workers.signals.on('rateLimitWait', (scope) => rateLimitWaits.inc({ scope }));
  workers.signals.on('slowDown', (scope, code) => slowDowns.inc({ scope, code: String(code ?? 'unknown') }));
  // Refused for speed: a failed attempt that goes back to wait without passing BullMQ's `failed` event.
  workers.signals.on('retryLater', (code) => {
    sendFailures.inc({ code: String(code ?? 'unknown') });
    retries.inc({ queue: 'send' });
  });

  const reconcilerActions = new Counter({
    name: 'smsq_reconciler_actions_total',
    help: 'Repairs by the reconciler: jobs requeued from Postgres, statuses fetched from Twilio, prices fetched',
    labelNames: ['action'],
    registers: [registry],
  });
  for (const action of ['requeued', 'refreshed', 'priced'] as const) reconcilerActions.inc({ action }, 0);
  workers.signals.on('reconciled', (report) => {
    for (const action of ['requeued', 'refreshed', 'priced'] as const)
      reconcilerActions.inc({ action }, report[action]);
  });

  const webhookAttempts = new Counter({
    name: 'smsq_webhook_attempts_total',
    help: 'Webhook deliveries tried, by outcome (succeeded, http_error, network_error, gone)',
    labelNames: ['outcome'],
    registers,
  });
  const webhookLatency = new Histogram({
    name: 'smsq_webhook_attempt_duration_seconds',
    help: "Time one webhook POST took, until the endpoint's answer or the error",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  for (const outcome of ['succeeded', 'http_error', 'network_error', 'gone']) webhookAttempts.inc({ outcome }, 0);
  workers.signals.on('webhookAttempt', (outcome, seconds) => {
    webhookAttempts.inc({ outcome });
    webhookLatency.observe(seconds);
  });

  // A monotonic clock from the `active` event: wall-clock steps cannot bend the figure.
  const startedAt = new WeakMap<Job, number>();
  const observeDuration = (queue: string, job: Job) => {
    const start = startedAt.get(job);
    if (start !== undefined) duration.observe({ queue }, (performance.now() - start) / 1000);
  };

  const byQueue: [string, Worker][] = [
    ['send', workers.send],
    ['status', workers.status],
  ];
  for (const [queue, worker] of byQueue) {
    worker.on('active', (job: Job) => startedAt.set(job, performance.now()));
    worker.on('completed', (job: Job, outcome: unknown) => {
      observeDuration(queue, job);
      jobs.inc({ queue, outcome: String(outcome) });
      if (queue === 'send' && outcome === 'submitted') acceptToSubmit.observe((Date.now() - dueAt(job)) / 1000);
    });
    worker.on('failed', (job: Job | undefined, err: Error) => {
      if (queue === 'send') sendFailures.inc({ code: failureCode(err) });
      if (!job) return;
      observeDuration(queue, job);
      if (willRetry(job, err)) retries.inc({ queue });
      else jobs.inc({ queue, outcome: 'failed' });
    });
  }
  return registry;
}
