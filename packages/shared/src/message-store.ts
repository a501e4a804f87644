import type { Logger } from './logger.js';
import type { PrismaClient } from './prisma.js';
import { FINAL_STATUSES, STATUS_ORDER, fromTwilioStatus, type MessageStatusName } from './statuses.js';

type EventSourceName = 'api' | 'worker' | 'webhook';

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

/** Statuses as a SQL list: `('a','b')`. */
const sqlList = (statuses: Iterable<MessageStatusName>) => `(${[...statuses].map((s) => `'${s}'`).join(',')})`;
/** Final statuses never change. */
const FINAL_SQL = sqlList(FINAL_STATUSES);
/** Statuses in which a message may still be sent, so its text (an OTP's code) is still needed. */
const NOT_YET_SENT_SQL = sqlList(STATUS_ORDER.slice(0, STATUS_ORDER.indexOf('sending') + 1));

/**
 * advanceStatuses' statement: each Advance field travels as one array, spread into rows by unnest. "Never
 * backwards" is `m.status < to`: the status column is a Postgres enum declared in STATUS_ORDER's order.
 */
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
    body = CASE WHEN m.category = 'otp' AND m.sealed_body IS NULL AND NOT m.test AND i.to_status NOT IN ${NOT_YET_SENT_SQL}
           THEN NULL ELSE m.body END,
    sealed_body = CASE WHEN i.to_status NOT IN ${NOT_YET_SENT_SQL} THEN NULL ELSE m.sealed_body END,
    sent_at = CASE WHEN i.to_status IN ('sent','delivered','undelivered') THEN COALESCE(m.sent_at, now()) ELSE m.sent_at END,
    delivered_at = CASE WHEN i.to_status = 'delivered' THEN now() ELSE m.delivered_at END
  FROM input i
  WHERE m.id = i.id
    AND CASE WHEN i.only_from IS NULL
          THEN m.status < i.to_status AND m.status NOT IN ${FINAL_SQL}
          ELSE m.status::text = ANY(string_to_array(i.only_from, ',')) END
    AND (i.only_for_sid IS NULL OR m.twilio_sid IS NULL OR m.twilio_sid = i.only_for_sid)
  RETURNING m.id, i.to_status, i.source, i.error_code, i.ord
), ev AS (
  INSERT INTO message_events (message_id, status, source, error_code)
  SELECT id, to_status, source, error_code FROM upd
)
SELECT ord FROM upd`;

/**
 * Runs a multi-row statement over `items` in rounds in which each message appears once, so the caller's
 * order holds for one message's items: `UPDATE … FROM` changes a row once even when it joins several input
 * rows (and picks one arbitrarily). Each round goes in message-id order, so statements running at once
 * lock their rows in the same order and cannot deadlock each other. `statement` answers one result per
 * item of its round, in its order; the answer is one per item of `items`.
 */
export async function inRounds<T, R>(
  items: readonly T[],
  messageIdOf: (item: T) => string,
  statement: (round: T[]) => Promise<R[]>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let pending = items.map((_, i) => i);
  while (pending.length > 0) {
    const named = new Set<string>();
    const round: number[] = [];
    const later: number[] = [];
    for (const i of pending) {
      const id = messageIdOf(items[i]!);
      if (named.has(id)) later.push(i);
      else {
        named.add(id);
        round.push(i);
      }
    }
    round.sort((a, b) => (messageIdOf(items[a]!) < messageIdOf(items[b]!) ? -1 : 1));
    const answers = await statement(round.map((i) => items[i]!));
    round.forEach((i, k) => (results[i] = answers[k]!));
    pending = later;
  }
  return results;
}

/** Which rows of a multi-row statement (by their 1-based `ord` in its input) came back. */
function returned(count: number, ords: { ord: bigint }[]): boolean[] {
  const back = new Array<boolean>(count).fill(false);
  for (const { ord } of ords) back[Number(ord) - 1] = true;
  return back;
}

/**
 * Moves messages forward and records an event for each move. The status column is a Postgres enum
 * declared in lifecycle order, so `status < to` is the "never backwards" rule, and a final status never
 * changes. A repeated or late update matches no row and so adds no event. Answers, per advance, whether it
 * moved. The advances of one message (a `sent` and a `delivered` that came together) are applied in the
 * order given, each recording its own event if it moves (inRounds).
 * An OTP's sealed text (with the code) is only ever needed before the message is past sending (to send
 * it, or to find a lost attempt at Twilio), and is cleared then; so is the body of an `otp` message a
 * caller sent with its own text, which may hold a code in clear.
 */
export async function advanceStatuses(
  db: Pick<PrismaClient, '$queryRawUnsafe'>,
  advances: readonly Advance[],
): Promise<boolean[]> {
  return inRounds(
    advances,
    (a) => a.messageId,
    async (rows) =>
      returned(
        rows.length,
        await db.$queryRawUnsafe<{ ord: bigint }[]>(
          ADVANCE_SQL,
          rows.map((a) => a.messageId),
          rows.map((a) => a.to),
          rows.map((a) => a.source),
          rows.map((a) => a.onlyFrom?.join(',') ?? null),
          rows.map((a) => a.errorCode ?? null),
          rows.map((a) => a.errorMessage ?? null),
          rows.map((a) => a.twilioSid ?? null),
          rows.map((a) => a.onlyForSid ?? null),
        ),
      ),
  );
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
  // The rest (repeats, late ones, unknown or SID-only callbacks) are looked up in one query, not one each.
  const rest = callbacks.flatMap((c, i) => (outcomes[i] === 'applied' ? [] : [i]));
  if (rest.length === 0) return outcomes;
  const ids = rest.flatMap((i) => (callbacks[i]!.messageId ? [callbacks[i]!.messageId!] : []));
  const sids = rest.flatMap((i) => (callbacks[i]!.messageId ? [] : [callbacks[i]!.twilioSid]));
  const rows = await db.message.findMany({
    where: { OR: [{ id: { in: ids } }, { twilioSid: { in: sids } }] },
    select: { id: true, twilioSid: true },
  });
  const byId = new Map(rows.map((r) => [r.id, r]));
  const bySid = new Map(rows.flatMap((r) => (r.twilioSid ? [[r.twilioSid, r] as const] : [])));
  for (const i of rest) {
    const c = callbacks[i]!;
    const status = statuses[i];
    const row = c.messageId ? byId.get(c.messageId) : bySid.get(c.twilioSid);
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
