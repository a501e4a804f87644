import {
  Coalescer,
  inRounds,
  oneCallOrEach,
  type CategoryName,
  type MessageStatusName,
  type PrismaClient,
} from '@smsq/shared';

/** What a send needs of its message, and whether the recipient has opted out (STOP) since it was accepted. */
export interface Sendable {
  id: string;
  status: MessageStatusName;
  to: string;
  from: string | null;
  body: string | null;
  /** Its service's Messaging Service, when it has one. */
  messagingServiceSid: string | null;
  /** Sent with a test key: settled here as Twilio would, never sent. */
  test: boolean;
  /** An OTP's text with its code, sealed (MessageSealer); `body` then holds it masked. */
  sealedBody: string | null;
  category: CategoryName;
  segments: number;
  attempts: number;
  createdAt: Date;
  expiresAt: Date;
  optedOut: boolean;
}

/** Messages to send, each with its recipient's opt-out, in one statement; undefined for an id not found. */
async function loadForSending(db: PrismaClient, messageIds: readonly string[]): Promise<(Sendable | undefined)[]> {
  const rows = await db.$queryRaw<Sendable[]>`
    SELECT m.id, m.status, m."to", m."from", m.messaging_service_sid AS "messagingServiceSid", m.test, m.body, m.sealed_body AS "sealedBody", m.category, m.segments, m.attempts,
      m.created_at AS "createdAt", m.expires_at AS "expiresAt",
      EXISTS (SELECT 1 FROM opt_outs o WHERE o.phone = m."to" AND o.opted_out) AS "optedOut"
    FROM messages m WHERE m.id = ANY(${messageIds as string[]}::uuid[])`;
  const byId = new Map(rows.map((r) => [r.id, r]));
  return messageIds.map((id) => byId.get(id));
}

export interface Claim {
  messageId: string;
  /** The attempts the caller saw when it read the message. */
  seenAttempts: number;
}

/**
 * Claims messages for one send attempt each: `queued`/`sending` → `sending` with attempts + 1, only if
 * attempts still equals what the caller saw. Two workers running the same job (BullMQ is at least once)
 * cannot both win the same attempt. Answers, per claim, the new attempt number, or undefined when it lost.
 */
async function claimForSending(db: PrismaClient, claims: readonly Claim[]): Promise<(number | undefined)[]> {
  return inRounds(
    claims,
    (c) => c.messageId,
    async (round) => {
      const rows = await db.$queryRaw<{ ord: bigint; attempts: number }[]>`
        WITH input AS (
          SELECT * FROM unnest(${round.map((c) => c.messageId)}::uuid[], ${round.map((c) => c.seenAttempts)}::int[])
            WITH ORDINALITY AS u(id, seen, ord)
        ), upd AS (
          UPDATE messages m SET status = 'sending', attempts = m.attempts + 1, updated_at = now()
          FROM input i
          WHERE m.id = i.id AND m.status IN ('queued','sending') AND m.attempts = i.seen
          RETURNING m.id, m.attempts, i.ord
        ), ev AS (
          INSERT INTO message_events (message_id, status, source) SELECT id, 'sending', 'worker' FROM upd
        )
        SELECT ord, attempts FROM upd`;
      const won = new Map(rows.map((r) => [Number(r.ord), r.attempts]));
      return round.map((_, k) => won.get(k + 1));
    },
  );
}

export interface Submission {
  messageId: string;
  twilioSid: string;
  from: string | null;
  segments: number | undefined;
}

/**
 * Records Twilio's acceptance of messages: the SID always (a callback may already have moved the status
 * on), the move to submitted (and its event) only from queued/sending, and an OTP's text with its code (sealed, or a caller's own body) is
 * dropped. Every final status sorts after submitted.
 */
async function recordSubmissions(db: PrismaClient, subs: readonly Submission[]): Promise<void[]> {
  return inRounds(
    subs,
    (s) => s.messageId,
    async (round) => {
      await db.$executeRaw`
        WITH input AS (
          SELECT * FROM unnest(${round.map((s) => s.messageId)}::uuid[], ${round.map((s) => s.twilioSid)}::text[],
                               ${round.map((s) => s.from)}::text[], ${round.map((s) => s.segments ?? null)}::int[])
            AS u(id, twilio_sid, "from", segments)
        ), old AS (
          SELECT m.id, m.status FROM messages m JOIN input i ON m.id = i.id ORDER BY m.id FOR UPDATE OF m
        ), upd AS (
          UPDATE messages m SET twilio_sid = i.twilio_sid, "from" = COALESCE(i."from", m."from"),
            segments = COALESCE(i.segments, m.segments), updated_at = now(),
            body = CASE WHEN m.category = 'otp' AND m.sealed_body IS NULL AND NOT m.test THEN NULL ELSE m.body END,
            sealed_body = NULL,
            status = CASE WHEN old.status < 'submitted' THEN 'submitted'::"MessageStatus" ELSE m.status END
          FROM input i JOIN old ON old.id = i.id WHERE m.id = i.id
          RETURNING m.id, old.status < 'submitted' AS moved
        )
        INSERT INTO message_events (message_id, status, source) SELECT id, 'submitted', 'worker' FROM upd WHERE moved`;
      return round.map(() => undefined);
    },
  );
}

/** Items per statement; a flush carries what the sends in flight asked for during the previous one. */
const MAX_BATCH = 100;

/**
 * The send path's three statements (read, claim, record the submission), each shared by the sends in
 * flight at once: one round trip carries the rows of many sends (a round trip costs about the same for 1
 * row or 50, and on a small machine its socket writes are much of a send's CPU). A read or a submission
 * whose statement fails is tried again for each send alone, so one bad row fails only its own send. A
 * claim is not: it is not idempotent (a claim whose statement committed but whose answer was lost would,
 * tried again, look taken by another run, and its send would be skipped), so a failed claim statement
 * fails every send in it, and BullMQ retries each.
 */
export class SendStore {
  private readonly loads: Coalescer<string, Sendable | undefined>;
  private readonly claims: Coalescer<Claim, number | undefined>;
  private readonly submissions: Coalescer<Submission, void>;

  constructor(prisma: PrismaClient) {
    this.loads = new Coalescer((ids) => oneCallOrEach(ids, (batch) => loadForSending(prisma, batch)), {
      maxBatch: MAX_BATCH,
    });
    this.claims = new Coalescer(
      async (claims) => (await claimForSending(prisma, claims)).map((value) => ({ ok: true as const, value })),
      { maxBatch: MAX_BATCH },
    );
    this.submissions = new Coalescer((subs) => oneCallOrEach(subs, (batch) => recordSubmissions(prisma, batch)), {
      maxBatch: MAX_BATCH,
    });
  }

  /** The message with its recipient's opt-out (loadForSending). */
  load(messageId: string): Promise<Sendable | undefined> {
    return this.loads.submit(messageId);
  }

  /** The attempt this send won, or undefined when another holds it (claimForSending). */
  claim(messageId: string, seenAttempts: number): Promise<number | undefined> {
    return this.claims.submit({ messageId, seenAttempts });
  }

  /** Twilio took the message (recordSubmissions). */
  recordSubmission(sub: Submission): Promise<void> {
    return this.submissions.submit(sub);
  }
}
