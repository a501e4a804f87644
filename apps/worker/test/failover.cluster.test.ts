import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Redis, type Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AUTH, eventually, keysMatching, startStack, type Stack } from '../../../test/stack.js';
import { receivedWithTag, spawnStackSim, spawnWorker, type SimProcess } from './processes.js';
import { peakInWindow } from './rate-windows.js';
import { allFinal, postMessages } from './traffic.js';

/**
 * smsq on a Redis Cluster of its own (3 masters, 3 replicas; `scripts/redis-cluster.sh` on ports
 * 7200–7205), which this file breaks on purpose: the master of the send queue's slot is killed with
 * SIGKILL during a drain, then a master is lost with its replica. Run by `npm run test:cluster`, alone,
 * after the other files (vitest.cluster.config.ts), so nothing else shares the cluster or the cores.
 */
const BASE_PORT = 7200;
const PORTS = Array.from({ length: 6 }, (_, i) => BASE_PORT + i);
const clusterEnv = {
  ...process.env,
  REDIS_CLUSTER_BASE_PORT: String(BASE_PORT),
  REDIS_CLUSTER_DIR: '/tmp/smsq-redis-cluster-failover',
};
const clusterScript = (cmd: 'up' | 'down') =>
  execFileSync('bash', ['scripts/redis-cluster.sh', cmd], { env: clusterEnv, encoding: 'utf8' }).trim();

interface ClusterNode {
  id: string;
  port: number;
  master: boolean;
  failed: boolean;
  masterId: string | undefined;
  slots: [number, number][];
}

/** CLUSTER NODES as seen by a node that answers. */
async function clusterNodes(): Promise<ClusterNode[]> {
  for (const port of PORTS) {
    const r = new Redis({ port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    r.on('error', () => undefined);
    try {
      await r.connect();
      const text = (await r.cluster('NODES')) as string;
      return text
        .trim()
        .split('\n')
        .map((line) => {
          const [id, addr, flags, masterId, , , , , ...slots] = line.split(' ');
          return {
            id: id!,
            port: Number(/:(\d+)@/.exec(addr!)![1]),
            master: flags!.includes('master'),
            failed: /fail(?!\?)/.test(flags!),
            masterId: masterId === '-' ? undefined : masterId,
            slots: slots
              .filter((s) => /^\d/.test(s))
              .map((s) => s.split('-').map(Number) as [number, number])
              .map(([a, b]) => [a, b ?? a] as [number, number]),
          };
        });
    } catch {
      // this node is down: ask the next
    } finally {
      r.disconnect();
    }
  }
  throw new Error('no cluster node answers');
}

/** The slot of a hash tag, as Redis computes it. */
async function slotOf(tag: string): Promise<number> {
  const r = new Redis({ port: (await clusterNodes()).find((n) => !n.failed)!.port });
  try {
    return Number(await r.cluster('KEYSLOT', tag));
  } finally {
    r.disconnect();
  }
}

/** The live master serving `slot`, if any. */
async function masterOf(slot: number): Promise<ClusterNode | undefined> {
  return (await clusterNodes()).find((n) => n.master && !n.failed && n.slots.some(([a, b]) => a <= slot && slot <= b));
}

const pidOf = (port: number) =>
  Number(readFileSync(`${clusterEnv.REDIS_CLUSTER_DIR}/${port}/redis.pid`, 'utf8').trim());

describe('smsq on a Redis Cluster that fails', () => {
  let sim: SimProcess;
  let stack: Stack;
  let nodes: string;
  const workers: ChildProcess[] = [];
  const MPS = 60;

  beforeAll(async () => {
    nodes = clusterScript('up');
    sim = await spawnStackSim();
    stack = await startStack({
      withWorkers: false,
      withSim: false,
      env: {
        REDIS_CLUSTER_NODES: nodes,
        TWILIO_API_BASE_URL: sim.url,
        SENDER_MPS: String(MPS),
        RECONCILE_INTERVAL_SECONDS: '1',
        RECONCILE_QUEUED_AFTER_SECONDS: '5',
        RECONCILE_SENT_AFTER_SECONDS: '10',
      },
    });
    workers.push(...(await Promise.all([1, 2].map(() => spawnWorker({ ...stack.env, WORKER_CONCURRENCY: '20' })))));
  }, 120_000);

  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await sim?.stop();
    await stack?.close();
    clusterScript('down');
  });

  it('keeps every key of smsq on the cluster, spread over more than one master', async () => {
    const ids = await postMessages(stack.api, 40, 'placement');
    const otp = await stack.api.inject({
      method: 'POST',
      url: '/v1/otp',
      headers: AUTH,
      payload: { to: '+14155550900', purpose: 'login' },
    });
    expect(otp.statusCode).toBe(202);
    await allFinal(stack.prisma, ids, 60_000);

    const single = new Redis(inject('redisUrl'));
    try {
      expect(await single.keys(`${stack.config.queuePrefix}*`)).toEqual([]);
    } finally {
      single.disconnect();
    }
    const perMaster = await Promise.all(
      (stack.apiDeps.redis as Cluster)
        .nodes('master')
        .map(async (node) => (await node.keys(`${stack.config.queuePrefix}*`)).length),
    );
    console.log(`smsq keys per master: ${perMaster.join(', ')}`);
    expect(perMaster.filter((n) => n > 0).length).toBeGreaterThan(1);
    // Both queues, the caps, the limiter and the pumping guard are there.
    const keys = await keysMatching(stack.apiDeps.redis, `${stack.config.queuePrefix}*`);
    for (const part of [':{send}:', ':{status}:', ':cap:recipient:', ':cap:otp:', ':{rate}:', ':{pump}:']) {
      expect(
        keys.some((k) => k.includes(part)),
        part,
      ).toBe(true);
    }
  }, 90_000);

  it('a master killed during a drain: every message final, none sent twice, the MPS held outside the failover', async () => {
    const sendSlot = await slotOf('{send}');
    const victim = (await masterOf(sendSlot))!;
    const ids = await postMessages(stack.api, 1000, 'failover', { firstNumber: 1000 });

    // Let the drain run for a while at the limit, then kill the send queue's master.
    await eventually(async () => ((await receivedWithTag(sim, 'failover')).length >= 150 ? true : undefined), 30_000);
    const killedAt = Date.now();
    process.kill(pidOf(victim.port), 'SIGKILL');

    // /readyz, polled through the failover: 503 while the slot has no master, 200 once the replica serves it.
    const readiness: { at: number; code: number }[] = [];
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const res = await stack.api.inject({ url: '/readyz' });
        readiness.push({ at: Date.now(), code: res.statusCode });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    // Meanwhile callers keep posting; a 503 is retried with the same Idempotency-Key, as a client does.
    const during: string[] = [];
    const refusals: string[] = [];
    const posting = (async () => {
      for (let i = 0; i < 100; i++) {
        const key = `failover-late-${i}`;
        for (;;) {
          const res = await stack.api.inject({
            method: 'POST',
            url: '/v1/messages',
            headers: { ...AUTH, 'idempotency-key': key },
            payload: { to: `+1415556${String(i).padStart(4, '0')}`, body: `failover #late-${i}` },
          });
          if (res.statusCode === 202) {
            during.push(res.json().id);
            break;
          }
          expect(res.statusCode, res.body).toBe(503);
          refusals.push(res.json().error.code);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    })();

    const promoted = await eventually(async () => {
      const m = await masterOf(sendSlot);
      return m && m.port !== victim.port ? m : undefined;
    }, 30_000);
    const servedAt = Date.now();
    // Ready again soon after the promotion (the slot map is read afresh on each check).
    await eventually(
      async () => ((await stack.api.inject({ url: '/readyz' })).statusCode === 200 ? true : undefined),
      10_000,
    );
    await posting;
    polling = false;
    await poll;

    const all = [...ids, ...during];
    await allFinal(stack.prisma, all, 180_000);
    const rows = await stack.prisma.message.findMany({ where: { id: { in: all } }, select: { status: true } });
    const received = await receivedWithTag(sim, 'failover');
    const bodies = received.map((r) => r.body);
    const times = received.map((r) => Date.parse(r.receivedAt));
    const before = times.filter((t) => t < killedAt);
    const after = times.filter((t) => t > servedAt + 2000);
    const notReady = readiness.filter((r) => r.code === 503);
    console.log(
      `failover: killed :${victim.port} (slot ${sendSlot}); replica :${promoted.port} served it after ` +
        `${servedAt - killedAt} ms; /readyz 503 for ${notReady.length} of ${readiness.length} polls ` +
        `(last 503 at +${notReady.length ? notReady.at(-1)!.at - killedAt : 0} ms); ${refusals.length} refusals ` +
        `(${[...new Set(refusals)].join(', ')}); ${all.length} messages, ${received.length} creates at Twilio; ` +
        `peak/s before ${peakInWindow(before)}, after ${peakInWindow(after)} at ${MPS} MPS`,
    );
    expect(rows).toHaveLength(all.length);
    expect(rows.every((r) => r.status === 'delivered')).toBe(true);
    expect(received).toHaveLength(all.length);
    expect(new Set(bodies).size).toBe(bodies.length);
    expect(peakInWindow(before)).toBeLessThanOrEqual(MPS + 1);
    expect(peakInWindow(after)).toBeLessThanOrEqual(MPS + 1);
    expect(notReady.length).toBeGreaterThan(0);
    expect(readiness.filter((r) => r.code === 503 && r.at > servedAt + 3000)).toEqual([]);
    expect(workers.every((w) => w.exitCode === null)).toBe(true);

    // Bring the killed node back (it rejoins as a replica) for the next test.
    clusterScript('up');
  }, 300_000);

  it('a master lost with its replica: 503 for new messages, nothing accepted is lost, sending resumes', async () => {
    const sendSlot = await slotOf('{send}');
    const master = (await masterOf(sendSlot))!;
    const replicas = (await clusterNodes()).filter((n) => n.masterId === master.id);
    const ids = await postMessages(stack.api, 300, 'lost', { firstNumber: 5000 });

    for (const n of [master, ...replicas]) process.kill(pidOf(n.port), 'SIGKILL');
    // Once the cluster notices, new messages are refused with a clear 503 and nothing is recorded.
    const refused = await eventually(async () => {
      const res = await stack.api.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: AUTH,
        payload: { to: '+14155557777', body: 'lost #refused' },
      });
      return res.statusCode === 503 ? res : undefined;
    }, 30_000);
    expect(refused.json().error.code).toBe('unavailable');
    expect((await stack.api.inject({ url: '/readyz' })).statusCode).toBe(503);
    expect(await stack.prisma.message.count({ where: { body: 'lost #refused' } })).toBe(0);

    // The nodes come back empty: what the queue held is gone, and Postgres has it.
    clusterScript('up');
    await eventually(
      async () => ((await stack.api.inject({ url: '/readyz' })).statusCode === 200 ? true : undefined),
      30_000,
    );
    await allFinal(stack.prisma, ids, 180_000);
    const rows = await stack.prisma.message.findMany({ where: { id: { in: ids } }, select: { status: true } });
    const bodies = (await receivedWithTag(sim, 'lost')).map((r) => r.body);
    console.log(`master lost with its replica: ${ids.length} messages, ${bodies.length} creates at Twilio`);
    expect(rows.every((r) => r.status === 'delivered')).toBe(true);
    expect(bodies).toHaveLength(ids.length);
    expect(new Set(bodies).size).toBe(bodies.length);
  }, 300_000);
});

describe('REDIS_CLUSTER_NODES that cannot serve, at start', () => {
  async function startApi(clusterNodes: string): Promise<{ code: number | null; stderr: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'apps/api/src/main.ts'], {
      env: { ...process.env, PORT: '0', REDIS_CLUSTER_NODES: clusterNodes, API_KEYS: 'tests:x', LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    return { code, stderr };
  }

  it('nothing answers: exit 78 with one line naming the variable', async () => {
    const { code, stderr } = await startApi('127.0.0.1:1,127.0.0.1:2');
    expect(code).toBe(78);
    expect(stderr.trim().split('\n')).toEqual([
      'smsq: invalid configuration: REDIS_CLUSTER_NODES: no node answered (127.0.0.1:1, 127.0.0.1:2)',
    ]);
  }, 30_000);

  it('a plain Redis: exit 78 at once', async () => {
    const url = new URL(inject('redisUrl'));
    const { code, stderr } = await startApi(`${url.hostname}:${url.port || 6379}`);
    expect(code).toBe(78);
    expect(stderr).toMatch(/^smsq: invalid configuration: REDIS_CLUSTER_NODES: .* is a Redis without cluster mode/);
  }, 30_000);

  it('malformed: exit 78', async () => {
    const { code, stderr } = await startApi('localhost');
    expect(code).toBe(78);
    expect(stderr).toMatch(/REDIS_CLUSTER_NODES/);
  }, 30_000);
});
