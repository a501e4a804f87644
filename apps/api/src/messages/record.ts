import {
  Coalescer,
  Prisma,
  oneCallOrEach,
  sendJob,
  type CategoryName,
  type MessageSealer,
  type PrismaClient,
  type Queues,
} from '@smsq/shared';
import { isTest, type Caller } from '../access/caller.js';
import { unavailable, type ApiError } from '../errors.js';
import type { Admitted } from './admit.js';
import { boundedEnqueue } from './bounded-enqueue.js';

type MessageRow = Prisma.MessageCreateManyInput;
type Row = MessageRow;

/** Every field messageRow() fills, with its column and the Postgres array type its values travel as. */
const COLUMNS: readonly [keyof Row, string, string][] = [
  ['id', 'id', 'uuid'],
  ['to', '"to"', 'text'],
  ['country', 'country', 'text'],
  ['userId', 'user_id', 'text'],
  ['body', 'body', 'text'],
  ['sealedBody', 'sealed_body', 'text'],
  ['category', 'category', '"Category"'],
  ['template', 'template', 'text'],
  ['segments', 'segments', 'int'],
  ['encoding', 'encoding', 'text'],
  ['metadata', 'metadata', 'jsonb'],
  ['apiKey', 'api_key', 'text'],
  ['test', 'test', 'boolean'],
  ['from', '"from"', 'text'],
  ['messagingServiceSid', 'messaging_service_sid', 'text'],
  ['createdAt', 'created_at', 'timestamptz'],
  ['updatedAt', 'updated_at', 'timestamptz'],
  ['expiresAt', 'expires_at', 'timestamptz'],
  ['sendAt', 'send_at', 'timestamptz'],
  ['reference', 'reference', 'text'],
];
const KNOWN = new Set<string>(COLUMNS.map(([field]) => field));

const placeholders = (from: number, types: string[]) => types.map((t, i) => `$${from + i}::${t}[]`).join(', ');
const KEY_TYPES = ['text', 'text', 'text', 'uuid', 'timestamptz'];

/**
 * One statement, whatever the number of rows: the messages, their `queued` events and (when given)
 * their Idempotency-Keys, each column sent as one array and spread by unnest. Constant SQL with a
 * fixed number of parameters, so Postgres and Prisma do the same small amount of work for 1 row or
 * 1000 (createMany builds and binds one parameter per value). One statement is one transaction: all
 * rows or none.
 */
const SQL = `
WITH m AS (
  INSERT INTO messages (${COLUMNS.map(([, column]) => column).join(', ')})
  SELECT * FROM unnest(${placeholders(
    1,
    COLUMNS.map(([, , type]) => type),
  )})
  RETURNING id, created_at
), e AS (
  INSERT INTO message_events (message_id, status, source, at) SELECT id, 'queued', 'api', created_at FROM m
)
INSERT INTO idempotency_keys (api_key, key, body_hash, message_id, created_at)
SELECT * FROM unnest(${placeholders(COLUMNS.length + 1, KEY_TYPES)})`;

export interface IdempotencyRow {
  apiKey: string;
  key: string;
  bodyHash: string;
  messageId: string;
  createdAt: Date;
}

function columnValues(rows: Row[], field: keyof Row): unknown[] {
  return rows.map((r) => {
    const v = r[field];
    if (v === undefined || v === null) return null;
    if (v instanceof Date) return v.toISOString();
    if (field === 'metadata') return JSON.stringify(v);
    return v;
  });
}

/** Inserts messages with their `queued` events (and Idempotency-Keys) in one statement. */
async function insertMessages(
  prisma: Pick<PrismaClient, '$executeRawUnsafe'>,
  rows: Row[],
  keys: IdempotencyRow[] = [],
): Promise<void> {
  for (const field of Object.keys(rows[0] ?? {})) {
    // A field added to messageRow() must get its column here too, or it would be dropped silently.
    if (!KNOWN.has(field)) throw new Error(`insertMessages: no column for message field "${field}"`);
  }
  await prisma.$executeRawUnsafe(
    SQL,
    ...COLUMNS.map(([field]) => columnValues(rows, field)),
    keys.map((k) => k.apiKey),
    keys.map((k) => k.key),
    keys.map((k) => k.bodyHash),
    keys.map((k) => k.messageId),
    keys.map((k) => k.createdAt.toISOString()),
  );
}

/** A duplicate key: Prisma's P2002, or, from a raw statement such as insertMessages, P2010 carrying 23505. */
export function isUniqueViolation(err: unknown): boolean {
  if (!(err instanceof Prisma.PrismaClientKnownRequestError)) return false;
  const meta = err.meta as { driverAdapterError?: { cause?: { originalCode?: string } } } | undefined;
  return err.code === 'P2002' || meta?.driverAdapterError?.cause?.originalCode === '23505';
}

/**
 * Enough to fill one statement or one Redis transaction without making any single one slow; two flushes
 * of a kind at once, so one slow statement does not hold every request behind it.
 */
const BATCHING = { maxBatch: 256, maxInFlight: 2 };

interface SendToEnqueue {
  messageId: string;
  category: CategoryName;
  delayMs: number;
}

interface InsertGroup {
  rows: MessageRow[];
  keys: IdempotencyRow[];
}

/** The `messages` row of an admitted message (its `queued` event goes with it in insertMessages). */
function messageRow(sealer: Pick<MessageSealer, 'seal'>, m: Admitted, caller: Caller, now: Date): MessageRow {
  // A test message's text is no secret (it never reaches a phone): its key may read it, code included.
  const test = isTest(caller);
  return {
    id: m.id,
    to: m.to,
    country: m.country,
    userId: m.userId,
    body: test ? (m.secretBody ?? m.body) : m.body,
    sealedBody: m.secretBody === undefined || test ? undefined : sealer.seal(m.id, m.secretBody),
    category: m.category,
    template: m.template,
    segments: m.segments,
    encoding: m.encoding,
    metadata: m.metadata as Prisma.InputJsonValue | undefined,
    apiKey: caller.service.name,
    test,
    from: caller.service.from ?? undefined,
    messagingServiceSid: caller.service.messagingServiceSid ?? undefined,
    createdAt: now,
    updatedAt: now,
    expiresAt: m.expiresAt,
    sendAt: m.sendAt,
    reference: m.reference,
  };
}

/** Per message: recorded and on its way, or refused with this error (nothing of it is kept). */
export type RecordOutcome = { ok: true } | { ok: false; error: ApiError };

/**
 * Records admitted messages and enqueues them, the requests in flight together (group commit): their
 * inserts share one statement and their jobs one `addBulk`, so a busy API pays one round trip for many
 * messages instead of one each. A request's messages (one, or a batch's) stay one unit: one statement
 * and one `addBulk`, all or none; a unit that fails in a group is tried again alone, so a duplicate
 * Idempotency-Key fails only its own request.
 */
export class MessageRecorder {
  private readonly inserts: Coalescer<InsertGroup, void>;
  private readonly sends: Coalescer<SendToEnqueue[], void>;

  constructor(
    private readonly prisma: PrismaClient,
    queues: Queues,
    private readonly sealer: MessageSealer,
  ) {
    this.inserts = new Coalescer(
      (groups) =>
        oneCallOrEach(groups, async (together) => {
          await insertMessages(
            prisma,
            together.flatMap((g) => g.rows),
            together.flatMap((g) => g.keys),
          );
          return together.map(() => undefined);
        }),
      BATCHING,
    );
    this.sends = new Coalescer(
      (groups) =>
        oneCallOrEach(groups, async (together) => {
          // The message id is the job id: a group tried again after an add that landed adds nothing twice.
          await queues.send.addBulk(together.flat().map((s) => sendJob(s.messageId, s.category, s.delayMs)));
          return together.map(() => undefined);
        }),
      BATCHING,
    );
  }

  /**
   * Records admitted messages (with their Idempotency-Keys) in one statement, then enqueues them with one
   * `addBulk`, for one message or a whole batch alike. What was not recorded gives its counts back. When
   * the enqueue fails, the messages still queued are removed again and refused, each giving its counts
   * back; those a worker already took are answered as accepted. If none was taken, or the removal itself
   * failed (a row left behind is sent by the reconciler and keeps its counts), the enqueue's error is
   * thrown. An insert's error (a duplicate Idempotency-Key) is thrown after every count was given back.
   */
  async record(messages: Admitted[], keys: IdempotencyRow[], caller: Caller, now: Date): Promise<RecordOutcome[]> {
    try {
      await this.inserts.submit({ rows: messages.map((m) => messageRow(this.sealer, m, caller, now)), keys });
    } catch (err) {
      await Promise.all(messages.map((m) => m.release()));
      throw err;
    }
    try {
      await boundedEnqueue(
        this.sends.submit(messages.map((m) => ({ messageId: m.id, category: m.category, delayMs: m.delayMs }))),
      );
      return messages.map(() => ({ ok: true }));
    } catch (err) {
      const removed = await this.deleteStillQueued(messages.map((m) => m.id));
      if (!removed) throw err;
      await Promise.all(messages.filter((m) => removed.has(m.id)).map((m) => m.release()));
      if (removed.size === messages.length) throw err;
      const refused = unavailable('the queue');
      return messages.map((m) => (removed.has(m.id) ? { ok: false, error: refused } : { ok: true }));
    }
  }

  /**
   * Removes the messages still `queued` and answers which it removed; undefined when it could not tell.
   * One no longer queued was taken by a worker: the add that failed had landed after all (its reply was
   * lost), and a message on its way must be answered as accepted, not deleted under the worker.
   */
  private async deleteStillQueued(ids: string[]): Promise<Set<string> | undefined> {
    try {
      const rows = await this.prisma.$queryRaw<{ id: string }[]>`
        DELETE FROM messages WHERE id = ANY(${ids}::uuid[]) AND status = 'queued' RETURNING id`;
      return new Set(rows.map((r) => r.id));
    } catch {
      return undefined;
    }
  }
}
