import { DelayedError, type Job } from 'bullmq';
import {
  MessageSealer,
  Prisma,
  UnsealError,
  type Config,
  type Logger,
  type PrismaClient,
  type WebhookJob,
} from '@smsq/shared';
import { Webhook } from 'standardwebhooks';
import { retryDelayMs, webhookEvent, type DeliveryRow } from './event.js';
import { endpointVerdict, isSuccess } from './verdict.js';
import type { SendSignals } from '../send/signals.js';
import type { PostResult, WebhookPoster } from './outbound.js';
import { CLAIM_SQL } from './relay.js';

/** An endpoint failing every attempt for this long is disabled. */
const DISABLE_AFTER_MS = 24 * 3600_000;
/** A group that finds its endpoint's other group still going in this process comes back after about this. */
const BUSY_RETRY_MS = 250;
/**
 * Failures in a row after which an endpoint is paused: a dead endpoint's deliveries then wait in
 * Postgres (the relay leaves them) instead of each costing a failed request. A flaky one (10 % timeouts)
 * almost never fails this often in a row.
 */
const PAUSE_AFTER_FAILURES = 5;
const MAX_PAUSE_MS = 300_000;

export interface WebhookDeps {
  config: Config;
  prisma: PrismaClient;
  logger: Logger;
  poster: WebhookPoster;
  /** Told of every attempt (metrics). */
  signals: SendSignals;
  /** Called when a group is settled: the relay may claim the endpoint's next one at once. */
  groupSettled(): void;
}

export type AttemptOutcome = 'succeeded' | 'http_error' | 'network_error' | 'gone';

interface Endpoint {
  url: string;
  enabled: boolean;
  pausedUntil: Date | null;
  sealedSecret: string;
  sealedPreviousSecret: string | null;
  previousSecretUntil: Date | null;
  failingSince: Date | null;
}

interface LoadedDelivery extends DeliveryRow {
  attempts: number;
}

/** The endpoint, and those of the group's deliveries that are still open and still carry this claim. */
async function load(
  prisma: PrismaClient,
  job: WebhookJob,
): Promise<{ endpoint?: Endpoint; deliveries: LoadedDelivery[] }> {
  const [endpoint] = await prisma.$queryRaw<Endpoint[]>`
    SELECT url, enabled, paused_until AS "pausedUntil", sealed_secret AS "sealedSecret",
           sealed_previous_secret AS "sealedPreviousSecret", previous_secret_until AS "previousSecretUntil",
           failing_since AS "failingSince"
    FROM webhook_endpoints WHERE id = ${job.endpointId}::uuid`;
  if (!endpoint) return { deliveries: [] };
  const deliveries = await prisma.$queryRaw<LoadedDelivery[]>`
    SELECT d.id, d.type, d.endpoint_id AS "endpointId", d.message_id AS "messageId", d.otp_id AS "otpId",
           d.status, d.error_code AS "errorCode", d.occurred_at AS "occurredAt", d.attempts,
           m.category::text AS category, m.segments, m.price::text AS price, m.price_unit AS "priceUnit",
           coalesce(m.reference, o.reference) AS reference, coalesce(m."to", o."to") AS "to", o.purpose
    FROM webhook_deliveries d
    LEFT JOIN messages m ON m.id = d.message_id
    LEFT JOIN otps o ON o.id = d.otp_id
    WHERE d.id = ANY(${job.deliveryIds}::uuid[]) AND d.state IN ('pending', 'failed')
      AND ${CLAIM_SQL} = ${job.claim}
    ORDER BY d.created_at`;
  return { endpoint, deliveries };
}

/** `items` through `work`, in order, at most `limit` at a time. */
async function pooled<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/**
 * Sends one group of deliveries to their endpoint: each signed as Standard Webhooks with the endpoint's
 * secret (and, during a rotation's overlap, the previous one too), at most WEBHOOK_ENDPOINT_CONCURRENCY
 * at a time, then every attempt recorded and every delivery settled in one statement. The delivery row,
 * not the job, counts the attempts; a failed one waits in Postgres until its retry time, when the relay
 * claims it again into a new group.
 */
export function createWebhookProcessor(deps: WebhookDeps) {
  const { config, prisma } = deps;
  const sealer = new MessageSealer(config.otpSecret, 'webhook secret');
  const maxAttempts = config.webhooks.retryDelaysMs.length + 1;
  /** The endpoints with a group going in this processor, so a slow one holds only its own slot. */
  const busy = new Set<string>();

  const signers = (endpointId: string, e: Endpoint, now: Date): Webhook[] => {
    const secrets = [sealer.open(endpointId, e.sealedSecret)];
    if (e.sealedPreviousSecret && e.previousSecretUntil && e.previousSecretUntil > now) {
      // Sealed under an OTP_SECRET since replaced: the overlap is lost, the current secret still signs.
      try {
        secrets.push(sealer.open(endpointId, e.sealedPreviousSecret));
      } catch (err) {
        if (!(err instanceof UnsealError)) throw err;
      }
    }
    return secrets.map((s) => new Webhook(s));
  };

  const post = (e: Endpoint, signing: Webhook[], d: LoadedDelivery): Promise<PostResult> => {
    const body = JSON.stringify(webhookEvent(d));
    const now = new Date();
    return deps.poster.post(
      e.url,
      {
        'webhook-id': d.id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signing.map((w) => w.sign(d.id, now, body)).join(' '),
      },
      body,
    );
  };

  return async (job: Job<WebhookJob>, token?: string): Promise<string> => {
    // A job of the one-delivery form an earlier version queued: the migration handed its rows back.
    if (!Array.isArray(job.data.deliveryIds)) return 'obsolete';
    const { endpointId, claim } = job.data;
    if (busy.has(endpointId)) {
      await job.moveToDelayed(Date.now() + BUSY_RETRY_MS * (1 + Math.random()), token);
      throw new DelayedError();
    }
    busy.add(endpointId);
    try {
      return await deliverGroup(endpointId, claim, job.data);
    } finally {
      busy.delete(endpointId);
      deps.groupSettled();
    }
  };

  async function deliverGroup(endpointId: string, claim: string, group: WebhookJob): Promise<string> {
    const { endpoint: e, deliveries } = await load(prisma, group);
    if (!e || deliveries.length === 0) return 'settled';
    const ids = deliveries.map((d) => d.id);
    if (!e.enabled) {
      await prisma.$executeRaw`
        UPDATE webhook_deliveries SET state = 'dead', last_error = 'endpoint disabled', next_attempt_at = NULL
        WHERE id = ANY(${ids}::uuid[]) AND state IN ('pending', 'failed') AND ${CLAIM_SQL} = ${claim}`;
      return 'endpoint disabled';
    }
    if (e.pausedUntil && e.pausedUntil.getTime() > Date.now()) {
      // Paused after failing again and again: back to the outbox, claimed again once the pause ends.
      await prisma.$executeRaw`
        UPDATE webhook_deliveries SET enqueued_at = NULL
        WHERE id = ANY(${ids}::uuid[]) AND state IN ('pending', 'failed') AND ${CLAIM_SQL} = ${claim}`;
      return 'paused';
    }
    const signing = signers(endpointId, e, new Date());
    // The circuit breaker within the group: once the endpoint has failed PAUSE_AFTER_FAILURES times in a
    // row, the rest of the group is not tried; it goes back to the outbox, where the pause keeps it. (An
    // endpoint already failing gets groups of one from the relay.) A 410 Gone stops the group too: the
    // endpoint is disabled, and the next job finds it so.
    let inARow = 0;
    let gone = false;
    const tried: { d: LoadedDelivery; r: PostResult }[] = [];
    const untried: string[] = [];
    await pooled(deliveries, config.webhooks.endpointConcurrency, async (d) => {
      if (gone || inARow >= PAUSE_AFTER_FAILURES) return void untried.push(d.id);
      const r = await post(e, signing, d);
      inARow = isSuccess(r) ? 0 : inARow + 1;
      gone ||= r.status === 410;
      tried.push({ d, r });
    });
    const settled = tried.map(({ d, r }) => {
      const ok = isSuccess(r);
      const gone = r.status === 410;
      const attempts = d.attempts + 1;
      const delay = ok || gone ? undefined : retryDelayMs(attempts, config.webhooks.retryDelaysMs);
      const state = ok ? 'succeeded' : delay === undefined || attempts >= maxAttempts ? 'dead' : 'failed';
      deps.signals.emit(
        'webhookAttempt',
        ok ? 'succeeded' : gone ? 'gone' : r.status !== undefined ? 'http_error' : 'network_error',
        r.latencyMs / 1000,
      );
      return { id: d.id, ...r, state, nextAt: state === 'failed' ? new Date(Date.now() + delay!) : null };
    });
    // Every attempt and every delivery's new state in one statement; a delivery replayed meanwhile (its
    // claim changed) keeps its attempt in the log but is left to its new claim.
    const record = prisma.$executeRaw`
      WITH r AS (
        SELECT * FROM unnest(${settled.map((s) => s.id)}::uuid[], ${settled.map((s) => s.status ?? null)}::int[],
                             ${settled.map((s) => s.error ?? null)}::text[], ${settled.map((s) => s.latencyMs)}::int[],
                             ${settled.map((s) => s.state)}::text[], ${settled.map((s) => s.nextAt)}::timestamptz[])
          AS r(id, status, error, latency_ms, state, next_at)
      ), attempt AS (
        INSERT INTO webhook_attempts (delivery_id, response_status, error, latency_ms)
        SELECT id, status, error, latency_ms FROM r
      ), untried AS (
        UPDATE webhook_deliveries SET enqueued_at = NULL
        WHERE id = ANY(${untried}::uuid[]) AND ${CLAIM_SQL} = ${claim}
      )
      UPDATE webhook_deliveries d
      SET state = r.state, attempts = d.attempts + 1, next_attempt_at = r.next_at,
          -- A failed one goes back to the relay, which claims it again once next_attempt_at comes.
          enqueued_at = CASE WHEN r.state = 'failed' THEN NULL ELSE d.enqueued_at END,
          last_response_status = r.status, last_error = r.error,
          delivered_at = CASE WHEN r.state = 'succeeded' THEN now() ELSE d.delivered_at END
      FROM r WHERE d.id = r.id AND ${CLAIM_SQL} = ${claim}`;

    const v = endpointVerdict(tried.map((t) => t.r));
    if (!v.gone && v.failuresInARow === 0 && !e.failingSince) {
      await record;
      return 'recorded';
    }
    // Failures after the group's last success (all of them, if none succeeded) count on from the
    // endpoint's; a success starts the count, and the failing stretch, again.
    const failures = Prisma.sql`CASE WHEN ${v.anySucceeded} THEN 0 ELSE consecutive_failures END + ${v.failuresInARow}`;
    const failingSince = Prisma.sql`CASE WHEN ${v.anySucceeded} THEN now() ELSE coalesce(failing_since, now()) END`;
    const failingLong = Prisma.sql`(NOT ${v.anySucceeded} AND failing_since < now() - ${DISABLE_AFTER_MS} * interval '1 millisecond')`;
    const judge = prisma.$executeRaw`
      UPDATE webhook_endpoints
      SET failing_since = CASE WHEN ${v.failuresInARow} = 0 THEN NULL ELSE ${failingSince} END,
          consecutive_failures = ${failures},
          -- From the 5th failure in a row: paused for a quarter of the time it has been failing, at least
          -- the first retry delay and at most 5 min, so a long outage is probed rarely and a short one is
          -- noticed soon after it ends.
          paused_until = CASE
            WHEN ${failures} >= ${PAUSE_AFTER_FAILURES}
              THEN now() + least(${MAX_PAUSE_MS} * interval '1 millisecond',
                                 greatest(${config.webhooks.retryDelaysMs[0] ?? 5000} * interval '1 millisecond',
                                          (now() - ${failingSince}) / 4))
            -- A success ends a pause; a few failures leave one that another group set as it is.
            WHEN ${v.anySucceeded} THEN NULL
            ELSE paused_until END,
          -- 410 Gone: the receiver says the endpoint is no more. 24 h of nothing but failures: the same.
          enabled = CASE WHEN ${v.gone} OR ${failingLong} THEN false ELSE enabled END,
          disabled_reason = CASE
            WHEN NOT enabled THEN disabled_reason
            WHEN ${v.gone} THEN 'the endpoint answered 410 Gone'
            WHEN ${failingLong} THEN 'every attempt failed for 24 h'
            ELSE disabled_reason END,
          updated_at = now()
      WHERE id = ${endpointId}::uuid`;
    // Together: untried deliveries back in the outbox before the pause that keeps them there would let
    // another process's relay claim them for a dead endpoint.
    await prisma.$transaction([record, judge]);
    return 'recorded';
  }
}
