import { Prisma, type PrismaClient } from './prisma.js';
import type { MessageStatusName } from './statuses.js';

export type EventSourceName = 'api' | 'worker' | 'webhook';

export interface Advance {
  messageId: string;
  to: MessageStatusName;
  source: EventSourceName;
  /** Only move from these statuses (default: any earlier, non-final one). */
  onlyFrom?: readonly MessageStatusName[];
  errorCode?: number | undefined;
  errorMessage?: string | undefined;
  twilioSid?: string | undefined;
  /** Only move a message that has no Twilio SID yet or has this one. */
  onlyForSid?: string | undefined;
}

/**
 * Moves a message forward and records the event in one statement. The status column is a Postgres enum
 * declared in lifecycle order, so `status < $to` is the "never backwards" rule, and a final status never
 * changes. A repeated or late update matches no row and so adds no event. Returns whether it moved.
 * An OTP's body holds the code: it is cleared once the message is past sending (Twilio has it, or it
 * ended), and is only ever needed before that (to send it, or to find a lost attempt at Twilio).
 */
export async function advanceStatus(db: PrismaClient, a: Advance): Promise<boolean> {
  const to = Prisma.sql`${a.to}::"MessageStatus"`;
  const from = a.onlyFrom
    ? Prisma.sql`status = ANY(${a.onlyFrom as string[]}::"MessageStatus"[])`
    : Prisma.sql`status < ${to} AND status NOT IN ('delivered','undelivered','failed','expired','canceled')`;
  const rows = await db.$queryRaw<{ moved: bigint }[]>`
    WITH upd AS (
      UPDATE messages SET
        status = ${to},
        updated_at = now(),
        error_code = COALESCE(${a.errorCode ?? null}::int, error_code),
        error_message = COALESCE(${a.errorMessage ?? null}::text, error_message),
        twilio_sid = COALESCE(twilio_sid, ${a.twilioSid ?? null}::text),
        body = CASE WHEN category = 'otp' AND ${a.to} NOT IN ('queued','sending') THEN NULL ELSE body END,
        sent_at = CASE WHEN ${a.to} IN ('sent','delivered','undelivered') THEN COALESCE(sent_at, now()) ELSE sent_at END,
        delivered_at = CASE WHEN ${a.to} = 'delivered' THEN now() ELSE delivered_at END
      WHERE id = ${a.messageId}::uuid AND ${from}
        AND (${a.onlyForSid ?? null}::text IS NULL OR twilio_sid IS NULL OR twilio_sid = ${a.onlyForSid ?? null}::text)
      RETURNING id
    ), ev AS (
      INSERT INTO message_events (message_id, status, source, error_code)
      SELECT id, ${to}, ${a.source}::"EventSource", ${a.errorCode ?? null}::int FROM upd
    )
    SELECT count(*) AS moved FROM upd`;
  return (rows[0]?.moved ?? 0n) > 0n;
}

/**
 * Claims a message for one send attempt: `queued`/`sending` → `sending` with attempts + 1, only if
 * attempts still equals what the caller saw. Two workers running the same job (BullMQ is at least once)
 * cannot both win the same attempt. Returns the new attempt number, or undefined when it lost.
 */
export async function claimForSending(
  db: PrismaClient,
  messageId: string,
  seenAttempts: number,
): Promise<number | undefined> {
  const rows = await db.$queryRaw<{ attempts: number }[]>`
    WITH upd AS (
      UPDATE messages SET status = 'sending', attempts = attempts + 1, updated_at = now()
      WHERE id = ${messageId}::uuid AND status IN ('queued','sending') AND attempts = ${seenAttempts}
      RETURNING id, attempts
    ), ev AS (
      INSERT INTO message_events (message_id, status, source) SELECT id, 'sending', 'worker' FROM upd
    )
    SELECT attempts FROM upd`;
  return rows[0]?.attempts;
}

/**
 * Records Twilio's acceptance: the SID always (a callback may already have moved the status on), and an
 * OTP's body (the code) is dropped.
 */
export async function recordSubmission(
  db: PrismaClient,
  messageId: string,
  sub: { twilioSid: string; from: string | null; segments: number | undefined },
): Promise<void> {
  // One statement: the SID always; the move to submitted (and its event) only from queued/sending,
  // since a callback may already have moved the message on. Every final status sorts after submitted.
  await db.$executeRaw`
    WITH old AS (
      SELECT id, status FROM messages WHERE id = ${messageId}::uuid FOR UPDATE
    ), upd AS (
      UPDATE messages m SET twilio_sid = ${sub.twilioSid}, "from" = COALESCE(${sub.from}, m."from"),
        segments = COALESCE(${sub.segments ?? null}::int, m.segments), updated_at = now(),
        body = CASE WHEN m.category = 'otp' THEN NULL ELSE m.body END,
        status = CASE WHEN old.status < 'submitted' THEN 'submitted'::"MessageStatus" ELSE m.status END
      FROM old WHERE m.id = old.id
      RETURNING m.id, old.status < 'submitted' AS moved
    )
    INSERT INTO message_events (message_id, status, source) SELECT id, 'submitted', 'worker' FROM upd WHERE moved`;
}
