import {
  Coalescer,
  claimForSending,
  loadForSending,
  oneCallOrEach,
  recordSubmissions,
  type Claim,
  type PrismaClient,
  type Sendable,
  type Submission,
} from '@smsq/shared';

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
