-- Webhook deliveries go out in groups, one job per endpoint and claim (docs/architecture.md, "Webhook
-- delivery"), and their retries wait in Postgres rather than as delayed jobs in Redis.

DROP INDEX "webhook_deliveries_unrelayed_idx";
DROP INDEX "webhook_deliveries_open_idx";

-- A claim is told apart by its time: to the microsecond, so two claims of one endpoint in a row never
-- share it (the job's id is the endpoint's and the claim's).
ALTER TABLE "webhook_deliveries" ALTER COLUMN "enqueued_at" TYPE TIMESTAMPTZ(6);

-- The relay's work list per endpoint: what is unclaimed, in the order it falls due (a new delivery at
-- once, a failed one at its retry time), so waiting retries are never scanned.
CREATE INDEX "webhook_deliveries_due_idx" ON "webhook_deliveries"("endpoint_id", (coalesce("next_attempt_at", "created_at")))
    WHERE "enqueued_at" IS NULL;

-- The claimed and unsettled, per endpoint: the relay counts them (it keeps at most two groups in flight
-- for an endpoint), and the search for lost claims reads them all (a bounded set: 200 an endpoint).
CREATE INDEX "webhook_deliveries_open_idx" ON "webhook_deliveries"("endpoint_id", "enqueued_at")
    WHERE "state" IN ('pending', 'failed') AND "enqueued_at" IS NOT NULL;

-- Every unsettled delivery goes back to the relay (a failed one at its retry time): the jobs an earlier
-- version queued, one per delivery, are dropped unread by the new processor.
UPDATE "webhook_deliveries" SET "enqueued_at" = NULL WHERE "state" IN ('pending', 'failed');
