import type { CategoryName } from './categories.js';
import type { Logger } from './logger.js';
import type { PrismaClient } from './prisma.js';
import { fromTwilioStatus, type MessageStatusName } from './statuses.js';

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

/** advanceStatuses' statement: each Advance field travels as one array, spread into rows by unnest. */
const ADVANCE_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::uuid[], $2::"MessageStatus"[], $3::"EventSource"[], $4::text[], $5::int[], $6::text[],
                       $7::text[], $8::text[])
    WITH ORDINALITY AS u(id, to_status, source, only_from, error_code, error_message, twilio_sid, only_for_sid, ord)
), upd AS (
  UPDATE messages m SET
    status = i.to_status,
    updated_at = now(),
    error_code = COALESCE(i.error_code, m.error_code),
    error_message = COALESCE(i.error_message, m.error_message),
    twilio_sid = COALESCE(m.twilio_sid, i.twilio_sid),
    body = CASE WHEN m.category = 'otp' AND i.to_status NOT IN ('queued','sending') THEN NULL ELSE m.body END,
    sent_at = CASE WHEN i.to_status IN ('sent','delivered','undelivered') THEN COALESCE(m.sent_at, now()) ELSE m.sent_at END,
    delivered_at = CASE WHEN i.to_status = 'delivered' THEN now() ELSE m.delivered_at END
  FROM input i
  WHERE m.id = i.id
    AND CASE WHEN i.only_from IS NULL
          THEN m.status < i.to_status AND m.status NOT IN ('delivered','undelivered','failed','expired','canceled')
          ELSE m.status::text = ANY(string_to_array(i.only_from, ',')) END
    AND (i.only_for_sid IS NULL OR m.twilio_sid IS NULL OR m.twilio_sid = i.only_for_sid)
  RETURNING m.id, i.to_status, i.source, i.error_code, i.ord
), ev AS (
  INSERT INTO message_events (message_id, status, source, error_code)
  SELECT id, to_status, source, error_code FROM upd
)
SELECT ord FROM upd`;

/**
 * Moves messages forward and records an event for each move, one statement per round. The status column
 * is a Postgres enum declared in lifecycle order, so `status < to` is the "never backwards" rule, and a
 * final status never changes. A repeated or late update matches no row and so adds no event. Answers, per
 * advance, whether it moved.
 * `UPDATE … FROM` changes a row once even when it joins several input rows (and picks one arbitrarily),
 * so a message named twice (a `sent` and a `delivered` that came together) goes in a later round: the
 * advances of one message are applied in the order given, each recording its own event if it moves.
 * An OTP's body holds the code: it is cleared once the message is past sending (Twilio has it, or it
 * ended), and is only ever needed before that (to send it, or to find a lost attempt at Twilio).
 */
export async function advanceStatuses(db: PrismaClient, advances: readonly Advance[]): Promise<boolean[]> {
  const moved = advances.map(() => false);
  let pending = advances.map((_, i) => i);
  while (pending.length > 0) {
    const named = new Set<string>();
    const round: number[] = [];
    const later: number[] = [];
    for (const i of pending) {
      const id = advances[i]!.messageId;
      if (named.has(id)) later.push(i);
      else {
        named.add(id);
        round.push(i);
      }
    }
    const rows = round.map((i) => advances[i]!);
    const done = await db.$queryRawUnsafe<{ ord: bigint }[]>(
      ADVANCE_SQL,
      rows.map((a) => a.messageId),
      rows.map((a) => a.to),
      rows.map((a) => a.source),
      rows.map((a) => a.onlyFrom?.join(',') ?? null),
      rows.map((a) => a.errorCode ?? null),
      rows.map((a) => a.errorMessage ?? null),
      rows.map((a) => a.twilioSid ?? null),
      rows.map((a) => a.onlyForSid ?? null),
    );
    for (const { ord } of done) moved[round[Number(ord) - 1]!] = true;
    pending = later;
  }
  return moved;
}

/** One advance (advanceStatuses): whether it moved. */
export async function advanceStatus(db: PrismaClient, a: Advance): Promise<boolean> {
  const [moved] = await advanceStatuses(db, [a]);
  return moved ?? false;
}

/** A Twilio status callback: our id from its URL (absent on a callback not sent by us) and its fields. */
export interface StatusCallback {
  messageId: string | undefined;
  twilioSid: string;
  twilioStatus: string;
  errorCode: number | undefined;
}

/** `unknown`: no message of ours, a status we do not map, or another Twilio message's SID (not applied). */
export type CallbackOutcome = 'applied' | 'unchanged' | 'unknown';

/**
 * Applies Twilio status callbacks; order and repeats do not matter, since statuses only move forward.
 * The common case is one statement for all of them: the callback names our message and its SID is the
 * message's (or none is known yet). Only the callbacks that moved nothing are looked at one by one.
 */
export async function applyStatusCallbacks(
  db: PrismaClient,
  callbacks: readonly StatusCallback[],
  logger: Pick<Logger, 'warn' | 'error'>,
): Promise<CallbackOutcome[]> {
  const statuses = callbacks.map((c) => fromTwilioStatus(c.twilioStatus));
  const outcomes = callbacks.map((): CallbackOutcome => 'unchanged');
  const direct = callbacks.flatMap((c, i) => (c.messageId !== undefined && statuses[i] !== undefined ? [i] : []));
  const moved = await advanceStatuses(
    db,
    direct.map((i) => {
      const c = callbacks[i]!;
      return {
        messageId: c.messageId!,
        to: statuses[i]!,
        source: 'webhook',
        errorCode: c.errorCode,
        twilioSid: c.twilioSid,
        onlyForSid: c.twilioSid,
      };
    }),
  );
  direct.forEach((i, k) => {
    if (moved[k]) outcomes[i] = 'applied';
  });
  for (const [i, c] of callbacks.entries()) {
    if (outcomes[i] === 'applied') continue;
    const status = statuses[i];
    const row = await db.message.findUnique({
      where: c.messageId ? { id: c.messageId } : { twilioSid: c.twilioSid },
      select: { id: true, twilioSid: true },
    });
    if (!row || !status) {
      logger.warn({ twilioSid: c.twilioSid, twilioStatus: c.twilioStatus }, 'status callback for no known message');
      outcomes[i] = 'unknown';
    } else if (row.twilioSid && row.twilioSid !== c.twilioSid) {
      // A second Twilio message for one of ours would be a duplicate send; never let it steer the status.
      logger.error({ messageId: row.id, twilioSid: c.twilioSid }, 'callback from another Twilio message');
      outcomes[i] = 'unknown';
    } else if (!c.messageId) {
      const applied = await advanceStatus(db, {
        messageId: row.id,
        to: status,
        source: 'webhook',
        errorCode: c.errorCode,
        twilioSid: c.twilioSid,
      });
      if (applied) outcomes[i] = 'applied';
    }
  }
  return outcomes;
}

/** What a send needs of its message, and whether the recipient has opted out (STOP) since it was accepted. */
export interface Sendable {
  id: string;
  status: MessageStatusName;
  to: string;
  from: string | null;
  body: string | null;
  category: CategoryName;
  segments: number;
  attempts: number;
  createdAt: Date;
  expiresAt: Date;
  optedOut: boolean;
}

/** A message to send with its recipient's opt-out, in one statement. */
export async function loadForSending(db: PrismaClient, messageId: string): Promise<Sendable | undefined> {
  const rows = await db.$queryRaw<Sendable[]>`
    SELECT m.id, m.status, m."to", m."from", m.body, m.category, m.segments, m.attempts,
      m.created_at AS "createdAt", m.expires_at AS "expiresAt",
      EXISTS (SELECT 1 FROM opt_outs o WHERE o.phone = m."to" AND o.opted_out) AS "optedOut"
    FROM messages m WHERE m.id = ${messageId}::uuid`;
  return rows[0];
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
