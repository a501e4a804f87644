-- Delivery events to calling services (docs/api.md, "Webhooks"): endpoints, an outbox of deliveries
-- written by triggers in the same transaction as the status change they report, and every attempt.

-- The caller's own reference, returned wherever a message or an OTP is shown and in every event.
ALTER TABLE "messages" ADD COLUMN "reference" TEXT;
ALTER TABLE "otps" ADD COLUMN "reference" TEXT;

CREATE TABLE "webhook_endpoints" (
    "id" UUID NOT NULL,
    -- The owner, as for messages: the service's name, and whether its test keys made it.
    "api_key" TEXT NOT NULL,
    "test" BOOLEAN NOT NULL DEFAULT false,
    "url" TEXT NOT NULL,
    "events" TEXT[] NOT NULL,
    "description" TEXT,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "disabled_reason" TEXT,
    -- whsec_… secrets, sealed with a key derived from OTP_SECRET; the previous one signs beside the
    -- new one until previous_secret_until.
    "sealed_secret" TEXT NOT NULL,
    "sealed_previous_secret" TEXT,
    "previous_secret_until" TIMESTAMPTZ(3),
    -- Since when every attempt failed (null after a success): 24 h of that disables the endpoint.
    "failing_since" TIMESTAMPTZ(3),
    -- Attempts failed in a row; from 5 on, the endpoint is paused until paused_until (a circuit
    -- breaker: a dead endpoint's deliveries wait in Postgres instead of each failing on its own).
    "consecutive_failures" INTEGER NOT NULL DEFAULT 0,
    "paused_until" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "webhook_endpoints_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "webhook_endpoints_owner_idx" ON "webhook_endpoints"("api_key", "test");

CREATE TABLE "webhook_deliveries" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "endpoint_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "message_id" UUID,
    "otp_id" UUID,
    -- The status the event reports, and when it happened.
    "status" TEXT,
    "error_code" INTEGER,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- pending (never tried), failed (will be retried), succeeded, dead (gave up).
    "state" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    -- Set by the relay once the delivery is on the queue; null: the relay has yet to move it. The job's id
    -- carries it, so a delivery claimed again (lost by Redis, or replayed) is a new job.
    "enqueued_at" TIMESTAMPTZ(3),
    "next_attempt_at" TIMESTAMPTZ(3),
    "last_response_status" INTEGER,
    "last_error" TEXT,
    "delivered_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "webhook_deliveries_endpoint_idx" ON "webhook_deliveries"("endpoint_id", "created_at");
-- The relay's and the reconciler's work lists stay small: only what is not settled. The relay reads
-- each endpoint's unclaimed deliveries apart, so a paused endpoint's backlog is never scanned.
CREATE INDEX "webhook_deliveries_unrelayed_idx" ON "webhook_deliveries"("endpoint_id", "created_at") WHERE "enqueued_at" IS NULL;
CREATE INDEX "webhook_deliveries_open_idx" ON "webhook_deliveries"("next_attempt_at")
    WHERE "state" IN ('pending', 'failed') AND "enqueued_at" IS NOT NULL;
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_endpoint_id_fkey"
    FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoints"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "webhook_attempts" (
    "id" BIGSERIAL NOT NULL,
    "delivery_id" UUID NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "response_status" INTEGER,
    "error" TEXT,
    "latency_ms" INTEGER NOT NULL,
    CONSTRAINT "webhook_attempts_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "webhook_attempts_delivery_idx" ON "webhook_attempts"("delivery_id", "id");
ALTER TABLE "webhook_attempts" ADD CONSTRAINT "webhook_attempts_delivery_id_fkey"
    FOREIGN KEY ("delivery_id") REFERENCES "webhook_deliveries"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The outbox is filled here, not by each writer: every status change of a message appends a
-- message_event (the API's queued, the worker's sending and submitted, callbacks, the reconciler,
-- cancels), so one statement-level trigger sees them all, in the writer's own transaction.
CREATE FUNCTION smsq_message_event_webhooks() RETURNS trigger AS $$
BEGIN
  -- Without any enabled endpoint (most deployments, or none yet), a status change pays one look at the
  -- small endpoints table and no join.
  IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled) THEN
    RETURN NULL;
  END IF;
  INSERT INTO webhook_deliveries (endpoint_id, type, message_id, status, error_code, occurred_at)
  SELECT w.id, 'message.' || e.status, e.message_id, e.status::text, e.error_code, e.at
  FROM new_events e
  JOIN messages m ON m.id = e.message_id
  JOIN webhook_endpoints w ON w.api_key = m.api_key AND w.test = m.test AND w.enabled
    AND ('message.' || e.status) = ANY (w.events)
  WHERE e.status::text IN ('submitted', 'sent', 'delivered', 'undelivered', 'failed', 'expired', 'canceled');
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER message_event_webhooks AFTER INSERT ON "message_events"
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION smsq_message_event_webhooks();

-- An OTP's end: verified, attempts used up, expired.
CREATE FUNCTION smsq_otp_webhooks() RETURNS trigger AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled) THEN
    RETURN NULL;
  END IF;
  INSERT INTO webhook_deliveries (endpoint_id, type, otp_id, message_id, status, occurred_at)
  SELECT w.id, t.type, o.id, o.message_id, o.status::text, o.updated_at
  FROM new_otps o
  JOIN old_otps p ON p.id = o.id
  CROSS JOIN LATERAL (SELECT CASE o.status::text
      WHEN 'approved' THEN 'otp.verified'
      WHEN 'max_attempts_reached' THEN 'otp.failed'
      WHEN 'expired' THEN 'otp.expired' END AS type) t
  JOIN webhook_endpoints w ON w.api_key = o.api_key AND w.test = o.test AND w.enabled AND t.type = ANY (w.events)
  WHERE o.status IS DISTINCT FROM p.status AND t.type IS NOT NULL;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER otp_webhooks AFTER UPDATE ON "otps"
    REFERENCING OLD TABLE AS old_otps NEW TABLE AS new_otps FOR EACH STATEMENT EXECUTE FUNCTION smsq_otp_webhooks();

-- The reconciler's sweep of OTPs past their expiry (their otp.expired event) reads only pending ones.
CREATE INDEX "otps_pending_expiry_idx" ON "otps"("expires_at") WHERE "status" = 'pending';
