import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, keysMatching, startStack, type Stack } from '../../../test/stack.js';
import { spawnWorker } from './processes.js';
import { allFinal as waitAllFinal, postMessages } from './traffic.js';

/**
 * Nothing lost, nothing sent twice: a few hundred messages through a misbehaving Twilio, a worker
 * killed with SIGKILL mid-run, and the queue's Redis keys deleted mid-run. Every run asserts that each
 * message reached a final status and that the simulator created at most one Twilio message per body.
 */
/** SMSQ_FAULT_MESSAGES=3000 for the larger run whose figures are in docs/operations.md. */
const N = Number(process.env.SMSQ_FAULT_MESSAGES ?? 300);
const LONG = Math.max(1, N / 300);

const post = (stack: Stack, n: number, tag: string) => postMessages(stack.api, n, tag, { firstNumber: 1000 });
const allFinal = (stack: Stack, ids: string[], timeoutMs: number) => waitAllFinal(stack.prisma, ids, timeoutMs);

interface SimMessage {
  sid: string | null;
  body: string | null;
}
async function duplicatesAtTwilio(stack: Stack, tag: string): Promise<{ created: number; duplicates: number }> {
  const all: SimMessage[] = (await stack.sim!.app.inject({ url: '/_sim/messages' })).json().messages;
  const created = all.filter((m) => m.sid && m.body?.startsWith(`${tag} #`));
  const bodies = new Set(created.map((m) => m.body));
  return { created: created.length, duplicates: created.length - bodies.size };
}

describe('a misbehaving Twilio', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: { TWILIO_TIMEOUT_MS: '800', RECONCILE_INTERVAL_SECONDS: '1', RECONCILE_QUEUED_AFTER_SECONDS: '3' },
    });
  });
  afterAll(async () => stack.close());

  it(
    '429s, 5xx, lost answers, latency and timeouts: every message final, none twice, retries recorded',
    async () => {
      await stack.sim!.app.inject({
        method: 'POST',
        url: '/_sim/faults',
        payload: {
          rate429: 0.15,
          errorRate: 0.1,
          errorCodes: [20500, 20503],
          createThenFailRate: 0.05,
          latencyMs: 20,
          timeoutRate: 0.03,
        },
      });
      const ids = await post(stack, N, 'faulty');
      await allFinal(stack, ids, 90_000 * LONG);
      // Stop injecting faults but keep the simulator's record of what it created.
      await stack.sim!.app.inject({ method: 'POST', url: '/_sim/faults', payload: {} });
      const rows = await stack.prisma.message.findMany({
        where: { id: { in: ids } },
        select: { status: true, attempts: true },
      });
      const { created, duplicates } = await duplicatesAtTwilio(stack, 'faulty');
      expect(duplicates).toBe(0);
      expect(rows.filter((r) => r.status === 'delivered').length).toBe(created);
      expect(rows.some((r) => r.attempts > 1)).toBe(true);
      console.log(
        `faulty Twilio: ${N} messages, ${rows.filter((r) => r.status === 'delivered').length} delivered, ` +
          `${rows.filter((r) => r.status === 'failed').length} failed, ${rows.reduce((a, r) => a + r.attempts, 0)} attempts, ` +
          `${created} created at Twilio, ${duplicates} duplicates`,
      );
      const retryEvents = await stack.prisma.messageEvent.count({
        where: { messageId: { in: ids }, status: 'sending' },
      });
      expect(retryEvents).toBe(rows.reduce((sum, r) => sum + r.attempts, 0));
    },
    120_000 * LONG,
  );

  it('permanent errors cost one try', async () => {
    await stack.sim!.app.inject({
      method: 'POST',
      url: '/_sim/faults',
      payload: { errorRate: 1, errorCodes: [21211] },
    });
    const ids = await post(stack, 20, 'permanent');
    await allFinal(stack, ids, 30_000);
    await stack.sim!.app.inject({ method: 'POST', url: '/_sim/faults', payload: {} });
    const rows = await stack.prisma.message.findMany({ where: { id: { in: ids } } });
    expect(rows.every((r) => r.status === 'failed' && r.attempts === 1 && r.errorCode === 21211)).toBe(true);
  });

  it(
    "deleting the queue's Redis keys mid-run loses nothing: the reconciler requeues from Postgres",
    async () => {
      await stack.workers!.send.pause();
      const ids = await post(stack, N, 'wiped');
      const redis = stack.apiDeps.redis;
      const keys = await keysMatching(redis, `${stack.config.queuePrefix}:{send}:*`);
      expect(keys.length).toBeGreaterThan(0);
      await redis.del(...keys);
      stack.workers!.send.resume();
      await allFinal(stack, ids, 60_000 * LONG);
      expect((await duplicatesAtTwilio(stack, 'wiped')).duplicates).toBe(0);
      expect(await stack.prisma.message.count({ where: { id: { in: ids }, status: 'delivered' } })).toBe(N);
    },
    90_000 * LONG,
  );
});

describe('a worker killed with SIGKILL mid-run', () => {
  let stack: Stack;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    stack = await startStack({
      withWorkers: false,
      withSim: true,
      env: { WORKER_LOCK_SECONDS: '5', RECONCILE_INTERVAL_SECONDS: '1', RECONCILE_QUEUED_AFTER_SECONDS: '8' },
    });
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await stack.close();
  });

  async function startWorkerProcess(): Promise<ChildProcess> {
    const child = await spawnWorker({ ...stack.env, WORKER_CONCURRENCY: '20' });
    children.push(child);
    return child;
  }

  it(
    'every message final, none sent twice',
    async () => {
      await stack.sim!.app.inject({ method: 'POST', url: '/_sim/faults', payload: { latencyMs: 40 } });
      const ids = await post(stack, N, 'killed');
      const first = await startWorkerProcess();
      await eventually(async () => {
        const done = await stack.prisma.message.count({ where: { id: { in: ids }, status: { not: 'queued' } } });
        return done > N / 5 ? true : undefined;
      }, 30_000 * LONG);
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      await startWorkerProcess();
      await allFinal(stack, ids, 90_000 * LONG);
      const { duplicates, created } = await duplicatesAtTwilio(stack, 'killed');
      expect(duplicates).toBe(0);
      expect(created).toBe(N);
      expect(await stack.prisma.message.count({ where: { id: { in: ids }, status: 'delivered' } })).toBe(N);
    },
    150_000 * LONG,
  );
});
