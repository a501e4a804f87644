import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PrismaClient, Queues } from '@smsq/shared';
import { PumpingRefusal } from '../pumping/guard.js';
import type { KeyRegistry } from '../access/key-registry.js';
import type { DailyBudget } from '../caps/daily-budget.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** What this request did to the SMS-pumping guard's blocks, for the metrics. */
    pumping?: { prefix: string; blocked?: 'guard' | 'operator'; refused?: true };
    /** Messages this request recorded, by category (single and batch sends), for the metrics. */
    acceptedCategories?: string[];
  }
}

type AnyQueue = Queues['send'] | Queues['status'] | Queues['webhooks'];

const WEBHOOKS = '/webhooks/twilio/';
const JOB_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'failed'] as const;

/** When a waiting job became due: a `sendAt` message waits only from its send time on. */
const dueAt = (job: { timestamp: number; opts: { delay?: number } }) => job.timestamp + (job.opts.delay ?? 0);

/**
 * The job that has waited longest of those next in line: the oldest plain waiting job and the head of
 * the prioritized set (per-priority heads would need BullMQ's internal key layout).
 */
async function oldestWaitingAgeSeconds(queue: AnyQueue, now: number): Promise<number> {
  const heads = (await Promise.all([queue.getWaiting(0, 0), queue.getPrioritized(0, 0)])).flat();
  const oldest = Math.min(...heads.filter(Boolean).map(dueAt));
  return Number.isFinite(oldest) ? Math.max(0, (now - oldest) / 1000) : 0;
}

function registerQueueGauges(registry: Registry, queues: Queues, onError: (err: Error) => void) {
  const byLabel = Object.entries({ send: queues.send, status: queues.status, webhooks: queues.webhooks });
  // Read from Redis at scrape time; a Redis outage drops these series instead of failing the scrape.
  new Gauge({
    name: 'smsq_queue_jobs',
    help: 'Jobs in a queue by state; waiting + prioritized is the backlog',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const counts = await Promise.all(byLabel.map(([, queue]) => queue.getJobCounts(...JOB_STATES)));
        byLabel.forEach(([label], i) => {
          for (const state of JOB_STATES) this.set({ queue: label, state }, counts[i]![state] ?? 0);
        });
      } catch (err) {
        this.reset();
        onError(err as Error);
      }
    },
  });
  new Gauge({
    name: 'smsq_queue_oldest_waiting_age_seconds',
    help: 'How long the job at the head of the queue has been waiting to run',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const now = Date.now();
        const ages = await Promise.all(byLabel.map(([, queue]) => oldestWaitingAgeSeconds(queue, now)));
        byLabel.forEach(([label], i) => this.set({ queue: label }, ages[i]!));
      } catch (err) {
        this.reset();
        onError(err as Error);
      }
    },
  });
}

/** How far back `smsq_messages_recent` looks: long enough to see a trend, short enough for an index scan. */
const RECENT_WINDOW = '1 hour';

/**
 * Messages by status and category, read from Postgres (the truth) at scrape time, over the last hour so
 * the query stays an index range scan however large the table grows.
 */
function registerMessageGauge(registry: Registry, prisma: PrismaClient, onError: (err: Error) => void) {
  new Gauge({
    name: 'smsq_messages_recent',
    help: `Messages created in the last ${RECENT_WINDOW}, by current status and category`,
    labelNames: ['status', 'category'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const rows = await prisma.$queryRaw<{ status: string; category: string; n: bigint }[]>`
          SELECT status::text AS status, category::text AS category, count(*) AS n FROM messages
          WHERE created_at > now() - ${RECENT_WINDOW}::interval AND NOT test GROUP BY 1, 2`;
        for (const r of rows) this.set({ status: r.status, category: r.category }, Number(r.n));
      } catch (err) {
        onError(err as Error);
      }
    },
  });
}

/** Each budgeted service's segments used today, read from Redis at scrape time. */
function registerBudgetGauge(
  registry: Registry,
  budget: DailyBudget,
  keys: KeyRegistry,
  onError: (err: Error) => void,
) {
  new Gauge({
    name: 'smsq_budget_used_segments',
    help: "Segments a service has used of today's budget (UTC day), live traffic only",
    labelNames: ['service'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const s of keys.budgeted()) this.set({ service: s.name }, await budget.used(s.id));
      } catch (err) {
        onError(err as Error);
      }
    },
  });
  new Gauge({
    name: 'smsq_budget_limit_segments',
    help: "A service's daily segment budget",
    labelNames: ['service'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of keys.budgeted()) this.set({ service: s.name }, s.dailySegmentLimit!);
    },
  });
}

/**
 * Prometheus metrics on GET /metrics, all named `smsq_*`. A registry per app, so several apps in one
 * process (tests) never collide. Wrapped in fastify-plugin so its hooks see every route.
 */
export default fp(
  async function metrics(
    app: FastifyInstance,
    opts: { queues: Queues; prisma: PrismaClient; budget: DailyBudget; keys: KeyRegistry },
  ) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'smsq_' });
    registerQueueGauges(registry, opts.queues, (err) =>
      app.log.warn({ err: err.message }, 'queue metrics unavailable'),
    );
    registerMessageGauge(registry, opts.prisma, (err) =>
      app.log.warn({ err: err.message }, 'message metrics unavailable'),
    );
    registerBudgetGauge(registry, opts.budget, opts.keys, (err) =>
      app.log.warn({ err: err.message }, 'budget metrics unavailable'),
    );

    const requests = new Counter({
      name: 'smsq_http_requests_total',
      help: 'HTTP requests by route template and status code',
      labelNames: ['method', 'route', 'status_code'],
      registers: [registry],
    });
    const duration = new Histogram({
      name: 'smsq_http_request_duration_seconds',
      help: 'HTTP request duration by route template',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    const accepted = new Counter({
      name: 'smsq_messages_accepted_total',
      help: 'Messages accepted for sending (POST /v1/messages and /v1/messages/batch), by category',
      labelNames: ['category'],
      registers: [registry],
    });
    const callbacks = new Counter({
      name: 'smsq_webhook_callbacks_total',
      help: 'Twilio webhook requests received, by endpoint and status code',
      labelNames: ['endpoint', 'status_code'],
      registers: [registry],
    });
    const signatureFailures = new Counter({
      name: 'smsq_webhook_signature_failures_total',
      help: 'Twilio webhook requests refused for a missing or wrong X-Twilio-Signature',
      labelNames: ['endpoint'],
      registers: [registry],
    });
    const inboundKeywords = new Counter({
      name: 'smsq_inbound_keywords_total',
      help: 'Inbound SMS keywords acted on (opt_out: STOP and the like, opt_in: START, help: HELP/INFO)',
      labelNames: ['keyword'],
      registers: [registry],
    });

    const otpSends = new Counter({
      name: 'smsq_otp_sends_total',
      help: 'OTPs accepted for sending (202 on POST /v1/otp)',
      registers: [registry],
    });
    const otpChecks = new Counter({
      name: 'smsq_otp_verifications_total',
      help: 'OTP checks (POST /v1/otp/verify) by resulting status and whether the code was valid',
      labelNames: ['status', 'valid'],
      registers: [registry],
    });
    const pumpingBlocks = new Counter({
      name: 'smsq_pumping_blocks_total',
      help: 'Destination prefixes blocked, by the SMS-pumping guard or by an operator',
      labelNames: ['prefix', 'by'],
      registers: [registry],
    });
    const pumpingRefusals = new Counter({
      name: 'smsq_pumping_refusals_total',
      help: 'OTP sends refused because their destination prefix is blocked',
      labelNames: ['prefix'],
      registers: [registry],
    });

    // A code refused for its range, whichever route sent it (POST /v1/otp, or an otp message).
    app.addHook('onError', async (req, _reply, err) => {
      if (err instanceof PumpingRefusal) {
        req.pumping = { prefix: err.prefix, refused: true, ...(err.tripped ? { blocked: 'guard' } : {}) };
      }
    });

    app.addHook('onResponse', async (req, reply) => {
      // The route template, not the URL: ids in paths would make a series per message.
      const route = req.routeOptions.url ?? 'unmatched';
      const status = String(reply.statusCode);
      requests.inc({ method: req.method, route, status_code: status });
      // Set by the routes once a template or recipient has resolved each message's category. Test-key
      // traffic never reaches Twilio and is counted nowhere live.
      const live = req.caller?.type !== 'test';
      if (live) for (const category of req.acceptedCategories ?? []) accepted.inc({ category });
      duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
      if (live && route === '/v1/otp' && reply.statusCode === 202) otpSends.inc();
      if (req.pumping?.blocked) pumpingBlocks.inc({ prefix: req.pumping.prefix, by: req.pumping.blocked });
      if (req.pumping?.refused) pumpingRefusals.inc({ prefix: req.pumping.prefix });
      if (route.startsWith(WEBHOOKS)) {
        const endpoint = route.slice(WEBHOOKS.length);
        callbacks.inc({ endpoint, status_code: status });
        if (reply.statusCode === 403) signatureFailures.inc({ endpoint });
        if (req.inboundKeyword && reply.statusCode === 200) inboundKeywords.inc({ keyword: req.inboundKeyword });
      }
    });

    // The verdict is only known from the answer itself.
    app.addHook('preSerialization', async (req, reply, payload: unknown) => {
      if (reply.statusCode === 200 && req.routeOptions.url === '/v1/otp/verify') {
        const { status, valid } = payload as { status?: unknown; valid?: unknown };
        if (typeof status === 'string') otpChecks.inc({ status, valid: String(valid === true) });
      }
      return payload;
    });

    app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
      return reply.type(registry.contentType).send(await registry.metrics());
    });
  },
  { name: 'metrics' },
);
