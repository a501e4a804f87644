-- Services and their API keys (docs/api.md, "Services and keys"). A calling service owns its messages, OTPs,
-- idempotency keys and stats; `api_key` on those rows holds the service's name (API_KEYS' entry names
-- are services of that name). A key is stored only as a hash of its secret.
CREATE TABLE "services" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "daily_segment_limit" INTEGER,
    "from" TEXT,
    "messaging_service_sid" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "services_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "services_name_key" ON "services"("name");

CREATE TABLE "api_keys" (
    "id" TEXT NOT NULL,
    "service_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "scopes" TEXT[],
    "description" TEXT,
    "expires_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "api_keys_service_id_idx" ON "api_keys"("service_id");
CREATE INDEX "api_keys_updated_at_idx" ON "api_keys"("updated_at");
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_service_id_fkey" FOREIGN KEY ("service_id") REFERENCES "services"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "audit_events" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "key_id" TEXT NOT NULL,
    "service" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target" TEXT,
    "detail" JSONB,
    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- Test-key traffic: the same pipeline, never Twilio, never in live stats, caps, budgets or the guard.
ALTER TABLE "messages" ADD COLUMN "test" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "messages" ADD COLUMN "messaging_service_sid" TEXT;
ALTER TABLE "otps" ADD COLUMN "test" BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX "messages_api_key_id_idx" ON "messages"("api_key", "id");
