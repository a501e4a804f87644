-- CreateEnum
CREATE TYPE "MessageStatus" AS ENUM ('queued', 'sending', 'submitted', 'sent', 'delivered', 'undelivered', 'failed', 'expired', 'canceled');

-- CreateEnum
CREATE TYPE "Category" AS ENUM ('otp', 'security', 'transaction', 'account', 'marketing');

-- CreateEnum
CREATE TYPE "EventSource" AS ENUM ('api', 'worker', 'webhook');

-- CreateTable
CREATE TABLE "messages" (
    "id" UUID NOT NULL,
    "status" "MessageStatus" NOT NULL DEFAULT 'queued',
    "to" TEXT NOT NULL,
    "from" TEXT,
    "body" TEXT,
    "category" "Category" NOT NULL,
    "template" TEXT,
    "user_id" TEXT,
    "segments" INTEGER NOT NULL,
    "encoding" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "twilio_sid" TEXT,
    "error_code" INTEGER,
    "error_message" TEXT,
    "price" DECIMAL(12,5),
    "price_unit" TEXT,
    "metadata" JSONB,
    "api_key" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sent_at" TIMESTAMPTZ(3),
    "delivered_at" TIMESTAMPTZ(3),
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "messages_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "message_events" (
    "id" BIGSERIAL NOT NULL,
    "message_id" UUID NOT NULL,
    "status" "MessageStatus" NOT NULL,
    "source" "EventSource" NOT NULL,
    "error_code" INTEGER,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "message_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "messages_twilio_sid_key" ON "messages"("twilio_sid");

-- CreateIndex
CREATE INDEX "messages_status_id_idx" ON "messages"("status", "id");

-- CreateIndex
CREATE INDEX "messages_to_id_idx" ON "messages"("to", "id");

-- CreateIndex
CREATE INDEX "messages_user_id_id_idx" ON "messages"("user_id", "id");

-- CreateIndex
CREATE INDEX "messages_category_id_idx" ON "messages"("category", "id");

-- CreateIndex
CREATE INDEX "messages_created_at_idx" ON "messages"("created_at");

-- CreateIndex
CREATE INDEX "message_events_message_id_id_idx" ON "message_events"("message_id", "id");

-- AddForeignKey
ALTER TABLE "message_events" ADD CONSTRAINT "message_events_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;
