import { DelayedError, type Job } from 'bullmq';
import { MessageSealer, UnsealError, type Config, type Logger, type PrismaClient, type WebhookJob } from '@smsq/shared';
import { Webhook } from 'standardwebhooks';
import { retryDelayMs, webhookEvent, type DeliveryRow } from './event.js';
import type { SendSignals } from '../send/signals.js';
import type { PostResult, WebhookPoster } from './outbound.js';
import { webhookJobId } from './relay.js';

/** An endpoint failing every attempt for this long is disabled. */
const DISABLE_AFTER_MS = 24 * 3600_000;
/** A job that finds its endpoint at its concurrency limit comes back after about this long. */
const BUSY_RETRY_MS = 250;
/**
 * Failures in a row after which an endpoint is paused: a dead endpoint's deliveries then wait in
 * Postgres (the relay leaves them) instead of each costing a job and a failed request. A flaky one
 * (10 % timeouts) almost never fails this often in a row.
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
}

export type AttemptOutcome = 'succeeded' | 'http_error' | 'network_error' | 'gone';

interface LoadedDelivery extends DeliveryRow {
  state: string;
  pausedUntil: Date | null;
  enqueuedAt: Date | null;
  attempts: number;
  url: string;
  enabled: boolean;
  sealedSecret: string;
  sealedPreviousSecret: string | null;
  previousSecretUntil: Date | null;
  failingSince: Date | null;
}

async function load(prisma: PrismaClient, id: string): Promise<LoadedDelivery | undefined> {
  const rows = await prisma.$queryRaw<LoadedDelivery[]>`
    SELECT d.id, d.type, d.endpoint_id AS "endpointId", d.message_id AS "messageId", d.otp_id AS "otpId",
           d.status, d.error_code AS "errorCode", d.occurred_at AS "occurredAt", d.state, d.attempts,
           d.enqueued_at AS "enqueuedAt",
           e.url, e.enabled, e.sealed_secret AS "sealedSecret", e.sealed_previous_secret AS "sealedPreviousSecret",
           e.previous_secret_until AS "previousSecretUntil", e.failing_since AS "failingSince",
           e.paused_until AS "pausedUntil",
           m.category::text AS category, m.segments, m.price::text AS price, m.price_unit AS "priceUnit",
           coalesce(m.reference, o.reference) AS reference, coalesce(m."to", o."to") AS "to", o.purpose
    FROM webhook_deliveries d
    JOIN webhook_endpoints e ON e.id = d.endpoint_id
    LEFT JOIN messages m ON m.id = d.message_id
    LEFT JOIN otps o ON o.id = d.otp_id
    WHERE d.id = ${id}::uuid`;
  return rows[0];
}

/** Per worker process: how many requests each endpoint has in flight, so a slow one holds only its own. */
class EndpointSlots {
  private readonly inFlight = new Map<string, number>();
  constructor(private readonly max: number) {}
  take(endpointId: string): boolean {
    const n = this.inFlight.get(endpointId) ?? 0;
    if (n >= this.max) return false;
    this.inFlight.set(endpointId, n + 1);
    return true;
  }
  release(endpointId: string): void {
    const n = (this.inFlight.get(endpointId) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(endpointId);
    else this.inFlight.set(endpointId, n);
  }
}

/**
 * Sends one delivery: signed as Standard Webhooks with the endpoint's secret (and, during a rotation's
 * overlap, the previous one too), every attempt recorded. The delivery row, not the job, counts the
 * attempts, so a job re-created after Redis lost it carries on where the last one stopped. Retries are
 * the job moved back to the delayed set until the row's next_attempt_at.
 */
export function createWebhookProcessor(deps: WebhookDeps) {
  const { config, prisma } = deps;
  const sealer = new MessageSealer(config.otpSecret, 'webhook secret');
  const slots = new EndpointSlots(config.webhooks.endpointConcurrency);
  const maxAttempts = config.webhooks.retryDelaysMs.length + 1;

  return async (job: Job<WebhookJob>, token?: string): Promise<string> => {
    const d = await load(prisma, job.data.deliveryId);
    if (!d || d.state === 'succeeded' || d.state === 'dead') return 'settled';
    // Claimed again since this job was made (a replay, or a job thought lost): the newer job carries it.
    if (!d.enqueuedAt || job.id !== webhookJobId(d.id, d.enqueuedAt)) return 'superseded';
    if (!d.enabled) {
      await prisma.$executeRaw`
        UPDATE webhook_deliveries SET state = 'dead', last_error = 'endpoint disabled', next_attempt_at = NULL
        WHERE id = ${d.id}::uuid AND state IN ('pending', 'failed')`;
      return 'endpoint disabled';
    }
    if (d.pausedUntil && d.pausedUntil.getTime() > Date.now()) {
      // Paused after failing again and again: back to the outbox, claimed again once the pause ends.
      await prisma.$executeRaw`
        UPDATE webhook_deliveries SET enqueued_at = NULL WHERE id = ${d.id}::uuid AND state IN ('pending', 'failed')`;
      return 'paused';
    }
    if (!slots.take(d.endpointId)) {
      await job.moveToDelayed(Date.now() + BUSY_RETRY_MS * (1 + Math.random()), token);
      throw new DelayedError();
    }
    let result: PostResult;
    try {
      const body = JSON.stringify(webhookEvent(d));
      const now = new Date();
      const secrets = [sealer.open(d.endpointId, d.sealedSecret)];
      if (d.sealedPreviousSecret && d.previousSecretUntil && d.previousSecretUntil > now) {
        // Sealed under an OTP_SECRET since replaced: the overlap is lost, the current secret still signs.
        try {
          secrets.push(sealer.open(d.endpointId, d.sealedPreviousSecret));
        } catch (err) {
          if (!(err instanceof UnsealError)) throw err;
        }
      }
      const signature = secrets.map((s) => new Webhook(s).sign(d.id, now, body)).join(' ');
      result = await deps.poster.post(
        d.url,
        {
          'webhook-id': d.id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': signature,
        },
        body,
      );
    } finally {
      slots.release(d.endpointId);
    }

    const ok = result.status !== undefined && result.status >= 200 && result.status < 300;
    const gone = result.status === 410;
    const attempts = d.attempts + 1;
    const delay = ok || gone ? undefined : retryDelayMs(attempts, config.webhooks.retryDelaysMs);
    const state = ok ? 'succeeded' : delay === undefined || attempts >= maxAttempts ? 'dead' : 'failed';
    const nextAt = state === 'failed' ? new Date(Date.now() + delay!) : null;
    deps.signals.emit(
      'webhookAttempt',
      ok ? 'succeeded' : gone ? 'gone' : result.status !== undefined ? 'http_error' : 'network_error',
      result.latencyMs / 1000,
    );
    await prisma.$executeRaw`
      WITH attempt AS (
        INSERT INTO webhook_attempts (delivery_id, response_status, error, latency_ms)
        VALUES (${d.id}::uuid, ${result.status ?? null}::int, ${result.error ?? null}, ${result.latencyMs})
      )
      UPDATE webhook_deliveries
      SET state = ${state}, attempts = attempts + 1, next_attempt_at = ${nextAt}::timestamptz,
          last_response_status = ${result.status ?? null}::int, last_error = ${result.error ?? null},
          delivered_at = CASE WHEN ${ok} THEN now() ELSE delivered_at END
      WHERE id = ${d.id}::uuid`;
    if (ok) {
      if (d.failingSince) {
        await prisma.$executeRaw`
          UPDATE webhook_endpoints SET failing_since = NULL, consecutive_failures = 0, paused_until = NULL
          WHERE id = ${d.endpointId}::uuid`;
      }
    } else {
      // 410 Gone: the receiver says the endpoint is no more. 24 h of nothing but failures: the same.
      await prisma.$executeRaw`
        UPDATE webhook_endpoints
        SET failing_since = coalesce(failing_since, now()),
            consecutive_failures = consecutive_failures + 1,
            -- From the 5th failure in a row: paused for a quarter of the time it has been failing, at
            -- least the first retry delay and at most 5 min, so a long outage is probed rarely and a
            -- short one is noticed soon after it ends.
            paused_until = CASE WHEN consecutive_failures + 1 >= ${PAUSE_AFTER_FAILURES}
              THEN now() + least(${MAX_PAUSE_MS} * interval '1 millisecond',
                                 greatest(${config.webhooks.retryDelaysMs[0] ?? 5000} * interval '1 millisecond',
                                          (now() - coalesce(failing_since, now())) / 4))
              ELSE paused_until END,
            enabled = CASE WHEN ${gone} OR coalesce(failing_since, now()) < now() - ${DISABLE_AFTER_MS} * interval '1 millisecond'
                           THEN false ELSE enabled END,
            disabled_reason = CASE
              WHEN NOT enabled THEN disabled_reason
              WHEN ${gone} THEN 'the endpoint answered 410 Gone'
              WHEN coalesce(failing_since, now()) < now() - ${DISABLE_AFTER_MS} * interval '1 millisecond'
                THEN 'every attempt failed for 24 h'
              ELSE disabled_reason END,
            updated_at = now()
        WHERE id = ${d.endpointId}::uuid`;
    }
    if (state !== 'failed') return state;
    await job.moveToDelayed(nextAt!.getTime(), token);
    throw new DelayedError();
  };
}
