import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FROM, eventually, signedWebhook, startStack, type Stack } from '../../../test/stack.js';
import type { Registry } from 'prom-client';
import { createWorkerMetrics } from '../src/metrics.js';
import { receivedWithTag } from './processes.js';
import { peakInWindow } from './rate-windows.js';
import { allFinal, postMessages } from './traffic.js';

/**
 * Twilio saying "too fast" (429/20429, 21611, 30001): the sender slows down (half its rate, recovering
 * over RATE_RECOVERY_SECONDS), nothing goes before Twilio's Retry-After, no try is used up, and every
 * message still gets delivered, once.
 */
const MPS = 20;

let stack: Stack;
let metrics: Registry;
const sim = {
  control: async <T>(path: string) => (await stack.sim!.app.inject({ url: path })).json() as T,
};
const setFaults = (payload: object) => stack.sim!.app.inject({ method: 'POST', url: '/_sim/faults', payload });
const effectiveMps = async () => (await stack.workers!.limiter.rates([FROM])).senders.get(FROM)!.effective;

beforeAll(async () => {
  stack = await startStack({ env: { SENDER_MPS: String(MPS), RATE_RECOVERY_SECONDS: '5' } });
  metrics = createWorkerMetrics(stack.workers!);
});
/** The value of one series of the worker's metrics (0 when it has none yet). */
async function sample(name: string, labels: Record<string, string>): Promise<number> {
  const { values } = await metrics.getSingleMetric(name)!.get();
  return values.find((v) => JSON.stringify(v.labels) === JSON.stringify(labels))?.value ?? 0;
}
afterAll(async () => stack.close());

describe('Twilio refusing for speed', () => {
  it('429 with Retry-After: the sender slows, waits as told, uses up no try, and delivers everything once', async () => {
    await setFaults({ rate429: 1 }); // every create answered 429, Retry-After: 1
    const ids = await postMessages(stack.api, 10, 'r429');
    await eventually(async () => ((await receivedWithTag(sim, 'r429')).length > 0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 3000));
    const refused = (await receivedWithTag(sim, 'r429')).map((r) => Date.parse(r.receivedAt));
    expect(await effectiveMps()).toBeLessThan(MPS / 2);
    // The slow-down shows in the worker's metrics: the rate in force, slow-downs, waits and failed tries.
    expect(await sample('smsq_rate_limit_mps', { scope: 'sender', sender: FROM, kind: 'configured' })).toBe(MPS);
    expect(await sample('smsq_rate_limit_mps', { scope: 'sender', sender: FROM, kind: 'effective' })).toBeLessThan(
      MPS / 2,
    );
    expect(await sample('smsq_rate_limit_slowdowns_total', { scope: 'account', code: '20429' })).toBeGreaterThan(0);
    expect(await sample('smsq_rate_limit_waits_total', { scope: 'sender' })).toBeGreaterThan(0);
    expect(await sample('smsq_send_attempt_failures_total', { code: '20429' })).toBeGreaterThan(0);
    await setFaults({});

    // Each refusal holds the sender back a second: bursts of what was already under way, a second apart.
    // Pacing at 20 MPS without Retry-After would have made about 40 more tries in those two seconds.
    const first = Math.min(...refused);
    const later = refused.filter((t) => t >= first + 1000 && t < first + 3000);
    expect(later.length).toBeLessThanOrEqual(8);
    expect(peakInWindow(refused, 500)).toBeLessThanOrEqual(5);

    await allFinal(stack.prisma, ids, 30_000);
    const rows = await stack.prisma.message.findMany({ where: { id: { in: ids } } });
    expect(rows.every((r) => r.status === 'delivered')).toBe(true);
    expect(rows.some((r) => r.attempts > 1)).toBe(true);
    const created = (await receivedWithTag(sim, 'r429')).filter((r) => r.sid);
    expect(created).toHaveLength(10);
    // A refusal for speed is not the message's failure: BullMQ counted only the attempt that succeeded.
    for (const id of ids) expect((await stack.apiDeps.queues.send.getJob(id))?.attemptsMade).toBe(1);
  }, 60_000);

  it("21611 (the sender's queue at Twilio is full) slows the sender too", async () => {
    await eventually(async () => ((await effectiveMps()) === MPS ? true : undefined), 15_000);
    await setFaults({ errorRate: 1, errorCodes: [21611] });
    const ids = await postMessages(stack.api, 3, 'q21611', { firstNumber: 5000 });
    await eventually(async () => ((await effectiveMps()) < MPS ? true : undefined));
    await setFaults({});
    await allFinal(stack.prisma, ids, 30_000);
    expect(await stack.prisma.message.count({ where: { id: { in: ids }, status: 'delivered' } })).toBe(3);
  }, 40_000);

  it('30001 (queue overflow) in a status callback slows the sender', async () => {
    await eventually(async () => ((await effectiveMps()) === MPS ? true : undefined), 15_000);
    await stack.workers!.send.pause();
    const [id] = await postMessages(stack.api, 1, 'q30001', { firstNumber: 6000 });
    const res = await signedWebhook(stack, `/webhooks/twilio/status?mid=${id}`, {
      MessageSid: `SM${'d4'.repeat(16)}`,
      MessageStatus: 'failed',
      ErrorCode: '30001',
      AccountSid: stack.config.twilio.accountSid!,
    });
    expect(res.statusCode).toBe(204);
    await eventually(async () => ((await effectiveMps()) < MPS ? true : undefined));
    stack.workers!.send.resume();
    const m = await stack.prisma.message.findUniqueOrThrow({ where: { id } });
    expect(m).toMatchObject({ status: 'failed', errorCode: 30001 });
  });
});
