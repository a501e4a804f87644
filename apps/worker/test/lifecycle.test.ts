import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, type Stack } from '../../../test/stack.js';
import { startTcpProxy, viaProxy, type TcpProxy } from '../../../test/tcp-proxy.js';
import { spawnWorker } from './processes.js';
import { allFinal as waitAllFinal, postMessages } from './traffic.js';

/**
 * Process lifecycle (docs/design.md, "Processes and commands"): SIGTERM finishes or hands back in-flight sends and exits 0;
 * a worker that loses Redis or Postgres for a while keeps running and resumes when the store returns.
 */

let stack: Stack;
const children: ChildProcess[] = [];
beforeAll(async () => {
  stack = await startStack({
    withWorkers: false,
    withSim: true,
    env: { WORKER_LOCK_SECONDS: '5', RECONCILE_INTERVAL_SECONDS: '1', RECONCILE_QUEUED_AFTER_SECONDS: '5' },
  });
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await stack.close();
});

async function startWorker(env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = await spawnWorker({ ...stack.env, WORKER_CONCURRENCY: '10', ...env });
  children.push(child);
  return child;
}

const exitOf = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

const post = (n: number, tag: string) => postMessages(stack.api, n, tag, { firstNumber: 2000 });
const allFinal = (ids: string[], timeoutMs: number) => waitAllFinal(stack.prisma, ids, timeoutMs);

async function createdAtTwilio(tag: string): Promise<{ created: number; distinct: number }> {
  const all: { sid: string | null; body: string | null }[] = (
    await stack.sim!.app.inject({ url: '/_sim/messages' })
  ).json().messages;
  const created = all.filter((m) => m.sid && m.body?.startsWith(`${tag} #`));
  return { created: created.length, distinct: new Set(created.map((m) => m.body)).size };
}

const setFaults = (payload: object) => stack.sim!.app.inject({ method: 'POST', url: '/_sim/faults', payload });

describe('worker lifecycle', () => {
  it('SIGTERM with sends in flight: exits 0, and nothing is lost or sent twice', async () => {
    await setFaults({ latencyMs: 1500 });
    const ids = await post(30, 'sigterm');
    const worker = await startWorker();
    await eventually(async () => {
      const inFlight = await stack.prisma.message.count({ where: { id: { in: ids }, status: 'sending' } });
      return inFlight > 0 ? true : undefined;
    }, 30_000);
    worker.kill('SIGTERM');
    expect(await exitOf(worker)).toBe(0);
    await setFaults({});
    await startWorker();
    await allFinal(ids, 60_000);
    expect(await stack.prisma.message.count({ where: { id: { in: ids }, status: 'delivered' } })).toBe(30);
    expect(await createdAtTwilio('sigterm')).toEqual({ created: 30, distinct: 30 });
  }, 120_000);
});

describe('a worker that loses a store', () => {
  let redisProxy: TcpProxy;
  let pgProxy: TcpProxy;
  let worker: ChildProcess;
  beforeAll(async () => {
    for (const c of children) c.kill('SIGTERM');
    const redisUrl = new URL(stack.config.redisUrl);
    const pgUrl = new URL(stack.config.databaseUrl);
    redisProxy = await startTcpProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) });
    pgProxy = await startTcpProxy({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
    worker = await startWorker({
      REDIS_URL: viaProxy(stack.config.redisUrl, redisProxy),
      DATABASE_URL: viaProxy(stack.config.databaseUrl, pgProxy),
    });
  });
  afterAll(async () => {
    worker.kill('SIGKILL');
    await Promise.all([redisProxy.close(), pgProxy.close()]);
  });

  for (const store of ['Redis', 'Postgres'] as const) {
    it(`keeps running through a ${store} outage and delivers what was queued meanwhile`, async () => {
      const proxy = store === 'Redis' ? redisProxy : pgProxy;
      const before = await post(10, `${store}-before`);
      await allFinal(before, 30_000);
      proxy.cut();
      const during = await post(20, `${store}-during`);
      await new Promise((r) => setTimeout(r, 6000));
      expect(worker.exitCode).toBeNull();
      proxy.restore();
      await allFinal(during, 60_000);
      expect(worker.exitCode).toBeNull();
      expect(await stack.prisma.message.count({ where: { id: { in: during }, status: 'delivered' } })).toBe(20);
      expect(await createdAtTwilio(`${store}-during`)).toEqual({ created: 20, distinct: 20 });
    }, 120_000);
  }
});
