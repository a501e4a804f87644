import { Coalescer, oneCallOrEach, sendJob, type CategoryName, type PrismaClient, type Queues } from '@smsq/shared';
import { insertMessages, type IdempotencyRow, type MessageRow } from './insert.js';

/**
 * Enough to fill one statement or one Redis transaction without making any single one slow; two flushes
 * of a kind at once, so one slow statement does not hold every request behind it.
 */
const BATCHING = { maxBatch: 256, maxInFlight: 2 };

export interface SendToEnqueue {
  messageId: string;
  category: CategoryName;
  delayMs: number;
}

interface InsertGroup {
  rows: MessageRow[];
  keys: IdempotencyRow[];
}

/**
 * The intake's round trips to Postgres and Redis, shared by every request in flight: opt-out lookups,
 * inserts and enqueues travel together when requests overlap (group commit), so a busy API pays one
 * statement or one Redis call for many messages instead of one each. A request's messages (one, or a
 * batch's) stay one unit: they go into one statement and one `addBulk`, all or none, and a unit that fails
 * in a group is tried again alone, so a duplicate Idempotency-Key fails only its own request.
 */
export class IntakeStore {
  private readonly optOuts: Coalescer<string, boolean>;
  private readonly inserts: Coalescer<InsertGroup, void>;
  private readonly sends: Coalescer<SendToEnqueue[], void>;

  constructor(prisma: PrismaClient, queues: Queues) {
    this.optOuts = new Coalescer(async (phones) => {
      const rows = await prisma.$queryRaw<{ phone: string }[]>`
          SELECT phone FROM opt_outs WHERE phone = ANY(${phones}::text[]) AND opted_out`;
      const out = new Set(rows.map((r) => r.phone));
      return phones.map((p) => ({ ok: true, value: out.has(p) }));
    }, BATCHING);
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

  isOptedOut(phone: string): Promise<boolean> {
    return this.optOuts.submit(phone);
  }

  /** The messages with their `queued` events (and Idempotency-Keys), committed together before this resolves. */
  insert(rows: MessageRow[], keys: IdempotencyRow[]): Promise<void> {
    return this.inserts.submit({ rows, keys });
  }

  /** The messages' send jobs, added together (BullMQ's addBulk is one MULTI). */
  enqueue(sends: SendToEnqueue[]): Promise<void> {
    return this.sends.submit(sends);
  }
}
