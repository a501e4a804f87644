import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queue } from 'bullmq';
import type { SendJob } from '@smsq/shared';
import { SlidingWindowCap } from '../src/caps/sliding-window-cap.js';
import { destinationPrefix } from '../src/pumping/prefix.js';
import { AUTH, eventually, startStack, type Stack } from '../../../test/stack.js';

const FINAL = ['delivered', 'undelivered', 'failed', 'expired', 'canceled'];

/** What the simulator created, by body (a body sent twice is a duplicate). */
async function createdAtTwilio(stack: Stack, tag: string): Promise<Map<string, number>> {
  const all: { sid: string | null; body: string | null }[] = (
    await stack.sim!.app.inject({ url: '/_sim/messages' })
  ).json().messages;
  const counts = new Map<string, number>();
  for (const m of all) if (m.sid && m.body?.startsWith(tag)) counts.set(m.body, (counts.get(m.body) ?? 0) + 1);
  return counts;
}

/**
 * The next `addBulk` lands in Redis, but its caller hears an error once the workers have taken what it
 * added: the reply of an add that succeeded was lost (a connection dropped after Redis ran it).
 */
function loseNextAddReply(stack: Stack, takenBeforeFailing: (ids: string[]) => Promise<boolean>) {
  const queue = stack.apiDeps.queues.send as Queue<SendJob>;
  const original = queue.addBulk.bind(queue);
  queue.addBulk = async (jobs) => {
    queue.addBulk = original;
    await original(jobs);
    const ids = jobs.map((j) => j.data.messageId);
    await eventually(async () => ((await takenBeforeFailing(ids)) ? true : undefined), 10_000);
    throw new Error('Connection is closed.');
  };
}

describe('an enqueue whose reply is lost, with a worker running', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { RECONCILE_INTERVAL_SECONDS: '1', RECONCILE_QUEUED_AFTER_SECONDS: '2' } });
  });
  afterAll(async () => stack.close());

  const notQueued = async (ids: string[]) =>
    (await stack.prisma.message.count({ where: { id: { in: ids }, status: { not: 'queued' } } })) > 0;

  it('batch: a message a worker took is answered as accepted, the rest refused and never sent; a retry sends none twice', async () => {
    const later = new Date(Date.now() + 3_000).toISOString();
    const messages = [
      ...Array.from({ length: 4 }, (_, i) => ({ to: `+1415555${7100 + i}`, body: `lost-reply #${i}` })),
      // Scheduled: it waits in the delayed set, still queued when the add "fails", so it is removed again.
      { to: '+14155557199', body: 'lost-reply #later', sendAt: later },
    ];
    loseNextAddReply(stack, notQueued);
    const first = await stack.api.inject({
      method: 'POST',
      url: '/v1/messages/batch',
      headers: { ...AUTH, 'idempotency-key': 'lost-reply-batch' },
      payload: { messages },
    });
    expect(first.statusCode).toBe(200);
    const results: { index: number; id?: string; error?: { code: string } }[] = first.json().results;
    const accepted = results.filter((r) => r.id);
    const refused = results.filter((r) => r.error);
    expect(accepted.length).toBeGreaterThan(0);
    expect(refused.map((r) => r.index)).toContain(4);
    for (const r of refused) expect(r.error!.code).toBe('unavailable');
    // What was refused left nothing behind; what was accepted is recorded.
    expect(await stack.prisma.message.count({ where: { body: 'lost-reply #later' } })).toBe(0);
    const ids = accepted.map((r) => r.id!);
    expect(await stack.prisma.message.count({ where: { id: { in: ids } } })).toBe(ids.length);

    // Past the refused message's send time: its job, still in Redis, finds no message and sends nothing.
    await new Promise((r) => setTimeout(r, 4_000));
    await eventually(async () => {
      const open = await stack.prisma.message.count({
        where: { id: { in: ids }, status: { notIn: FINAL as never[] } },
      });
      return open === 0 ? true : undefined;
    }, 20_000);
    let sent = await createdAtTwilio(stack, 'lost-reply');
    for (const r of accepted) expect(sent.get(messages[r.index]!.body)).toBe(1);
    for (const r of refused) expect(sent.has(messages[r.index]!.body)).toBe(false);

    // The caller retries the same batch: accepted items replay, refused ones are taken in now.
    const retry = await stack.api.inject({
      method: 'POST',
      url: '/v1/messages/batch',
      headers: { ...AUTH, 'idempotency-key': 'lost-reply-batch' },
      payload: { messages: messages.map((m) => ({ ...m, sendAt: undefined })) },
    });
    const retried: { index: number; id?: string; error?: { code: string } }[] = retry.json().results;
    for (const r of accepted) expect(retried[r.index]!.id).toBe(r.id);
    const allIds = retried.map((r) => r.id).filter((id): id is string => id !== undefined);
    await eventually(async () => {
      const open = await stack.prisma.message.count({
        where: { id: { in: allIds }, status: { notIn: FINAL as never[] } },
      });
      return open === 0 ? true : undefined;
    }, 20_000);
    sent = await createdAtTwilio(stack, 'lost-reply');
    expect([...sent.values()].every((n) => n === 1)).toBe(true);
  }, 60_000);

  it('single: a message a worker took is answered as accepted, and sent once', async () => {
    loseNextAddReply(stack, notQueued);
    const res = await stack.api.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: AUTH,
      payload: { to: '+14155557200', body: 'lost-reply-single #1' },
    });
    expect(res.statusCode).toBe(202);
    await eventually(async () => {
      const m = await stack.prisma.message.findUnique({ where: { id: res.json().id } });
      return m && FINAL.includes(m.status) ? m : undefined;
    }, 20_000);
    expect((await createdAtTwilio(stack, 'lost-reply-single')).get('lost-reply-single #1')).toBe(1);
  }, 30_000);
});

describe('counts given back when a request fails after admission', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ withWorkers: false });
  });
  afterAll(async () => stack.close());
  const otpCapKey = (to: string) =>
    new SlidingWindowCap(stack.apiDeps.redis, `${stack.config.queuePrefix}:cap:otp`, 1, 1).keyOf(to);
  /** Postgres refuses every new message until `heal` (a trigger in this file's own database). */
  async function failInserts(table = 'messages'): Promise<() => Promise<void>> {
    await stack.prisma.$executeRawUnsafe(`
      CREATE OR REPLACE FUNCTION refuse_insert() RETURNS trigger AS $$
      BEGIN RAISE EXCEPTION 'simulated outage'; END $$ LANGUAGE plpgsql`);
    await stack.prisma.$executeRawUnsafe(
      `CREATE TRIGGER refuse_insert BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION refuse_insert()`,
    );
    return async () => {
      await stack.prisma.$executeRawUnsafe(`DROP TRIGGER IF EXISTS refuse_insert ON ${table}`);
    };
  }

  it('the pumping guard and the OTP cap count nothing for OTPs refused with 503 (Postgres blip)', async () => {
    const to = '+14155557300';
    const heal = await failInserts();
    for (let i = 0; i < 3; i++) {
      const res = await stack.api.inject({
        method: 'POST',
        url: '/v1/otp',
        headers: AUTH,
        payload: { to, purpose: 'login' },
      });
      expect(res.statusCode).toBeGreaterThanOrEqual(500);
    }
    const prefix = destinationPrefix(to, stack.config.pumping.prefixDigits);
    const counts = await stack.apiDeps.redis.hvals(`${stack.config.queuePrefix}:{pump}:n:${prefix}`);
    expect(counts.reduce((sum, n) => sum + Number(n), 0)).toBe(0);
    expect(await stack.apiDeps.redis.zcard(otpCapKey(to))).toBe(0);

    // Once Postgres answers again the same number is served, and counted once.
    await heal();
    const ok = await stack.api.inject({
      method: 'POST',
      url: '/v1/otp',
      headers: AUTH,
      payload: { to, purpose: 'login' },
    });
    expect(ok.statusCode).toBe(202);
    const after = await stack.apiDeps.redis.hvals(`${stack.config.queuePrefix}:{pump}:n:${prefix}`);
    expect(after.reduce((sum, n) => sum + Number(n), 0)).toBe(1);
  });

  it('an OTP whose row cannot be written cancels its SMS and gives back what it counted', async () => {
    const to = '+14155557310';
    const heal = await failInserts('otps');
    const res = await stack.api.inject({
      method: 'POST',
      url: '/v1/otp',
      headers: AUTH,
      payload: { to, purpose: 'login' },
    });
    await heal();
    expect(res.statusCode).toBeGreaterThanOrEqual(500);
    const m = await stack.prisma.message.findFirstOrThrow({ where: { to } });
    expect(m.status).toBe('canceled');
    const prefix = destinationPrefix(to, stack.config.pumping.prefixDigits);
    const counts = await stack.apiDeps.redis.hvals(`${stack.config.queuePrefix}:{pump}:n:${prefix}`);
    // The earlier test's one OTP to the same range is the only count left.
    expect(counts.reduce((sum, n) => sum + Number(n), 0)).toBe(1);
    expect(await stack.apiDeps.redis.zcard(otpCapKey(to))).toBe(0);
  });
});
