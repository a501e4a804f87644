-- CreateEnum
CREATE TYPE "OtpStatus" AS ENUM ('pending', 'approved', 'expired', 'max_attempts_reached', 'canceled');

-- AlterTable
ALTER TABLE "messages" ADD COLUMN     "country" TEXT;

-- CreateTable
CREATE TABLE "opt_outs" (
    "phone" TEXT NOT NULL,
    "opted_out" BOOLEAN NOT NULL,
    "reason" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "opt_outs_pkey" PRIMARY KEY ("phone")
);

-- CreateTable
CREATE TABLE "recipients" (
    "user_id" TEXT NOT NULL,
    "phone" TEXT,
    "preferences" JSONB NOT NULL DEFAULT '{}',
    "locale" TEXT,
    "timezone" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "recipients_pkey" PRIMARY KEY ("user_id")
);

-- CreateTable
CREATE TABLE "otps" (
    "id" UUID NOT NULL,
    "to" TEXT NOT NULL,
    "user_id" TEXT,
    "purpose" TEXT NOT NULL,
    "code_hash" TEXT NOT NULL,
    "status" "OtpStatus" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "max_attempts" INTEGER NOT NULL,
    "message_id" UUID,
    "api_key" TEXT,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "approved_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "otps_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "prefix_blocks" (
    "id" BIGSERIAL NOT NULL,
    "prefix" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "observed" INTEGER NOT NULL,
    "baseline" DOUBLE PRECISION NOT NULL,
    "blocked_until" TIMESTAMPTZ(3) NOT NULL,
    "lifted_at" TIMESTAMPTZ(3),
    "lifted_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "prefix_blocks_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "recipients_phone_idx" ON "recipients"("phone");

-- CreateIndex
CREATE INDEX "otps_to_purpose_status_idx" ON "otps"("to", "purpose", "status");

-- CreateIndex
CREATE INDEX "prefix_blocks_prefix_blocked_until_idx" ON "prefix_blocks"("prefix", "blocked_until");
