import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SendRateLimiter, type SendRateOptions, type SlotRequest } from '../src/send/limiter/send-rate-limiter.js';
import { FROM, startStack, type Stack } from '../../../test/stack.js';
import { receivedWithTag, spawnStackSim, spawnWorker, type SimProcess } from './processes.js';
import { achievedRate, peakInWindow } from './rate-windows.js';
import { allFinal, postMessages } from './traffic.js';

describe('SendRateLimiter (Redis scripts, on a fixed clock)', () => {
  const redis = new Redis(inject('redisUrl'));
  afterAll(() => redis.quit());
  const T0 = 1_000_000;

  function limiter(opts: Partial<SendRateOptions> = {}) {
    return new SendRateLimiter(redis, {
      prefix: `t${randomBytes(5).toString('hex')}`,
      senderMps: 10,
      senderMpsOverrides: new Map(),
      accountMps: undefined,
      recoveryMs: 10_000,
      ...opts,
    });
  }
  const req = (over: Partial<SlotRequest> = {}): SlotRequest => ({
    sender: FROM,
    segments: 1,
    priority: 3,
    woken: false,
    now: T0,
    ...over,
  });
  /** The waits of the slots granted at `now`, until one is refused (its deadline keeps it from being parked). */
  async function grantsAt(l: SendRateLimiter, now: number, r: Partial<SlotRequest> = {}) {
    const waits: number[] = [];
    for (;;) {
      const slot = await l.acquire(req({ now, deadline: now + 1, ...r }));
      if (!slot.granted) return waits;
      waits.push(slot.waitMs);
    }
  }

  it('grants slots one interval apart, never more than a few slots ahead', async () => {
    // 10 MPS: a slot every 100 ms; nothing is reserved more than 250 ms ahead.
    expect(await grantsAt(limiter(), T0)).toEqual([0, 100, 200]);
  });

  it('counts segments: a 3-segment message uses three slots', async () => {
    const l = limiter();
    expect(await l.acquire(req({ segments: 3 }))).toMatchObject({ granted: true, waitMs: 0, scope: 'sender' });
    // The next free slot is 300 ms away, beyond what may be reserved: come back 125 ms before it.
    expect(await l.acquire(req())).toMatchObject({ granted: false, waitMs: 175, scope: 'sender' });
    expect(await l.acquire(req({ now: T0 + 175, woken: true }))).toMatchObject({
      granted: true,
      waitMs: 125,
      scope: 'sender',
    });
  });

  it('parks refused sends one slot apart, behind the sends already parked', async () => {
    const l = limiter();
    await grantsAt(l, T0);
    const parked = [];
    for (let i = 0; i < 5; i++) parked.push(await l.acquire(req()));
    expect(parked.every((s) => !s.granted)).toBe(true);
    const waits = parked.map((s) => s.waitMs);
    // Each comes back shortly before its slot (300, 400, … ms), so it finds it free.
    expect(waits).toEqual([175, 275, 375, 475, 575]);
    // A parked send coming back at its time takes its slot.
    expect(await l.acquire(req({ now: T0 + 175, woken: true }))).toMatchObject({ granted: true, waitMs: 125 });
  });

  it('lets a more urgent send past the parked ones; a new send of the same priority queues behind them', async () => {
    const l = limiter();
    await grantsAt(l, T0);
    for (let i = 0; i < 20; i++) await l.acquire(req());
    // 100 ms later one slot is free again within the horizon.
    const otp = await l.acquire(req({ priority: 1, now: T0 + 100 }));
    expect(otp).toMatchObject({ granted: true, waitMs: 200, scope: 'sender' });
    const alert = await l.acquire(req({ priority: 3, now: T0 + 100 }));
    expect(alert.granted).toBe(false);
    expect(alert.waitMs).toBeGreaterThan(1900); // behind 20 parked sends at 100 ms each
    // Marketing (4) queues behind the parked alerts (3) too.
    const marketing = await l.acquire(req({ priority: 4, now: T0 + 100 }));
    expect(marketing.waitMs).toBeGreaterThanOrEqual(alert.waitMs + 100);
  });

  it('keeps senders apart: a saturated sender does not hold back another', async () => {
    const l = limiter({ senderMpsOverrides: new Map([['+18005550100', 3]]) });
    await grantsAt(l, T0);
    for (let i = 0; i < 50; i++) await l.acquire(req());
    expect(await l.acquire(req({ sender: '+18005550100' }))).toMatchObject({
      granted: true,
      waitMs: 0,
      scope: 'sender',
    });
    // The override applies: 3 MPS is a slot every 333 ms, so only one fits within the horizon.
    expect(await grantsAt(l, T0 + 1, { sender: '+18005550100' })).toEqual([]);
    expect(l.senderMps('+18005550100')).toBe(3);
  });

  it('holds the account limit over all senders', async () => {
    const l = limiter({ senderMps: 100, accountMps: 10 });
    expect(await grantsAt(l, T0, { sender: '+15005550001' })).toEqual([0, 100, 200]);
    expect(await l.acquire(req({ sender: '+15005550002' }))).toMatchObject({ granted: false, scope: 'account' });
  });

  it('does not book a wake-up past the deadline', async () => {
    const l = limiter();
    await grantsAt(l, T0);
    const late = await l.acquire(req({ deadline: T0 + 150 }));
    expect(late).toMatchObject({ granted: false, waitMs: 175 });
    // The refused send left no trace in the queue of parked sends.
    expect((await l.acquire(req())).waitMs).toBe(175);
  });

  it('slows down on "too fast": half the rate, nothing before Retry-After, then a linear climb back', async () => {
    const l = limiter();
    expect(await l.slowDown(FROM, 'sender', 1000, T0)).toBe(0.5);
    // A burst of refusals within a second counts once.
    expect(await l.slowDown(FROM, 'sender', 990, T0 + 10)).toBeCloseTo(0.5, 2);
    expect((await l.acquire(req({ now: T0 + 500, deadline: T0 + 600 }))).granted).toBe(false);
    // After the Retry-After: 5.5 MPS (a tenth of the way back to 10), a slot every 182 ms.
    expect(await grantsAt(l, T0 + 1000)).toEqual([0, 182]);
    expect((await l.rates([FROM], T0)).senders.get(FROM)).toEqual({ limit: 10, effective: 5 });
    expect((await l.rates([FROM], T0 + 5000)).senders.get(FROM)!.effective).toBeCloseTo(7.5, 5);
    expect((await l.rates([FROM], T0 + 10_000)).senders.get(FROM)!.effective).toBe(10);
    expect(await l.slowDown(FROM, 'sender', 0, T0 + 2000)).toBeCloseTo(0.3, 5); // 0.6 now, halved
  });

  it('with a huge limit, every send goes at once', async () => {
    const l = limiter({ senderMps: 100_000 });
    const slots = await Promise.all(Array.from({ length: 500 }, () => l.acquire(req())));
    expect(slots.every((s) => s.granted && s.waitMs <= 5)).toBe(true);
  });
});

/** The in-process simulator of a stack, seen through the same control routes as a simulator process. */
const simOf = (stack: Stack) => ({
  control: async <T>(path: string) => (await stack.sim!.app.inject({ url: path })).json() as T,
});

describe('three worker processes sharing one sender limit', () => {
  // A slot every 200 ms: room for the timing noise of a busy test machine, which the limit cannot remove.
  const MPS = 5;
  let sim: SimProcess;
  let stack: Stack;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    sim = await spawnStackSim();
    stack = await startStack({
      withWorkers: false,
      withSim: false,
      env: { SENDER_MPS: String(MPS), TWILIO_API_BASE_URL: sim.url },
    });
    children.push(...(await Promise.all([1, 2, 3].map(() => spawnWorker({ ...stack.env, WORKER_CONCURRENCY: '10' })))));
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await sim?.stop();
    await stack?.close();
  });

  it('never sends more than the limit (+1) in any second, and delivers everything', async () => {
    const ids = await postMessages(stack.api, 40, 'shared');
    await allFinal(stack.prisma, ids, 60_000);
    expect(await stack.prisma.message.count({ where: { id: { in: ids }, status: 'delivered' } })).toBe(40);
    const received = await receivedWithTag(sim, 'shared');
    expect(received).toHaveLength(40);
    const times = received.map((r) => Date.parse(r.receivedAt));
    console.log(
      `3 workers at SENDER_MPS=${MPS}: peak ${peakInWindow(times)} in a second, ${achievedRate(times).toFixed(1)}/s`,
    );
    expect(peakInWindow(times)).toBeLessThanOrEqual(MPS + 1);
    expect(children.every((c) => c.exitCode === null)).toBe(true);
  }, 90_000);

  it('counts segments: 3-segment messages go a third as often', async () => {
    // GSM-7 holds 153 characters a segment in a long message: this body takes 3.
    const ids = await postMessages(stack.api, 10, 'seg', { suffix: ` ${'x'.repeat(400)}` });
    await allFinal(stack.prisma, ids, 60_000);
    const rows = await stack.prisma.message.findMany({ where: { id: { in: ids } } });
    expect(rows.every((r) => r.segments === 3 && r.status === 'delivered')).toBe(true);
    const times = (await receivedWithTag(sim, 'seg')).map((r) => Date.parse(r.receivedAt));
    expect(times).toHaveLength(10);
    // 5 segments per second: at most 1 (+1) such message in any second.
    expect(peakInWindow(times)).toBeLessThanOrEqual(Math.floor(MPS / 3) + 1);
  }, 90_000);
});

describe('TTL under the limit', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { SENDER_MPS: '1' } });
  });
  afterAll(async () => stack.close());

  it('a message held by the limit past its expiry ends expired and is never sent', async () => {
    const ids = await postMessages(stack.api, 6, 'ttl', { extra: { ttlSeconds: 2 } });
    await allFinal(stack.prisma, ids, 30_000);
    const rows = await stack.prisma.message.findMany({ where: { id: { in: ids } } });
    const expired = rows.filter((r) => r.status === 'expired');
    // 1 MPS and 2 s to live: the first one or two go, the rest cannot.
    expect(expired.length).toBeGreaterThanOrEqual(4);
    expect(rows.filter((r) => r.status === 'delivered').length).toBe(6 - expired.length);
    const received = await receivedWithTag(simOf(stack), 'ttl');
    const sentBodies = new Set(received.map((r) => r.body));
    for (const r of expired) expect(sentBodies.has(r.body)).toBe(false);
    // What was sent went before its expiry.
    for (const r of received) {
      const row = rows.find((m) => m.body === r.body)!;
      expect(Date.parse(r.receivedAt)).toBeLessThan(row.expiresAt.getTime());
    }
  }, 40_000);
});
