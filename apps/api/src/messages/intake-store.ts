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

/**
 * The intake's round trips to Postgres and Redis, shared by every request in flight: the single-message
 * route's opt-out lookups, inserts and enqueues travel together when requests overlap (group commit),
 * so a busy API pays one statement or one Redis call for many messages instead of one each. A request
 * still gets its own answer: an insert that fails in a group is retried alone, so a duplicate
 * Idempotency-Key fails only its own request.
 */
export class IntakeStore {
  private readonly optOuts: Coalescer<string, boolean>;
  private readonly inserts: Coalescer<{ row: MessageRow; key: IdempotencyRow | undefined }, void>;
  private readonly sends: Coalescer<SendToEnqueue, void>;

  constructor(prisma: PrismaClient, queues: Queues) {
    this.optOuts = new Coalescer(async (phones) => {
      const rows = await prisma.$queryRaw<{ phone: string }[]>`
          SELECT phone FROM opt_outs WHERE phone = ANY(${phones}::text[]) AND opted_out`;
      const out = new Set(rows.map((r) => r.phone));
      return phones.map((p) => ({ ok: true, value: out.has(p) }));
    }, BATCHING);
    this.inserts = new Coalescer(
      (items) =>
        oneCallOrEach(items, async (group) => {
          await insertMessages(
            prisma,
            group.map((g) => g.row),
            group.flatMap((g) => (g.key ? [g.key] : [])),
          );
          return group.map(() => undefined);
        }),
      BATCHING,
    );
    this.sends = new Coalescer(
      (items) =>
        oneCallOrEach(items, async (group) => {
          await queues.send.addBulk(group.map((s) => sendJob(s.messageId, s.category, s.delayMs)));
          return group.map(() => undefined);
        }),
      BATCHING,
    );
  }

  isOptedOut(phone: string): Promise<boolean> {
    return this.optOuts.submit(phone);
  }

  /** The message with its `queued` event (and its Idempotency-Key), committed before this resolves. */
  insert(row: MessageRow, key?: IdempotencyRow): Promise<void> {
    return this.inserts.submit({ row, key });
  }

  enqueue(send: SendToEnqueue): Promise<void> {
    return this.sends.submit(send);
  }
}
