// `npm run bench`: the floors and smsq side by side in one run, on REDIS_URL / DATABASE_URL, or with
// REDIS_CLUSTER_NODES on that Redis Cluster (fresh databases and queue prefixes; nothing else is touched).
//   npm run bench -- [--seconds 10] [--batch-size 500] [--batch-connections 4] [--drain 5000]
//                    [--workers 1,2,4] [--phases intake,drain,webhooks] [--rounds 1] [--log-level info] [--json file]
//                    [--cpu-prof dir]
//                    [--node-flags=--max-old-space-size=256]
// The API, workers and simulator run their bundles in dist/ (built first when stale) with the node flags of
// package.json's start:*:dist scripts, as `npm start` and the image do; --node-flags adds to those.
// Intake (single, batch) is measured with no worker running, like the intake floor (which only enqueues,
// bench/floor.ts); the drain is measured separately, from a backlog, with 1, 2, 4 worker processes, beside
// the drain floor (bench/drain-floor.ts: two workers and a callback process). Every phase also records the
// CPU each process used, so "what limits it" does not depend on what else the machine was doing, and the
// Redis commands and Postgres writes per message (Postgres reports an idle backend's statistics up to 10 s
// late, so the single, batch and smsq drain phases each wait that long for them).
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MESSAGE_EVENT_TYPES, createQueues, createRedis } from '@smsq/shared';
import {
  CpuMeter,
  clusterNodesFromEnv,
  connectPostgres,
  describeRedis,
  RssSampler,
  isOwnBody,
  mib,
  postgresBackends,
  postgresWrites,
  redisCommandCounts,
  redisPids,
  redisServers,
  runLoad,
  sendBatches,
  simStats,
  startLocalStack,
  postgresSessions,
  storeProcesses,
  verifyWhenSettled,
  waitForBackendsGone,
  waitForDrain,
  waitForStatsReported,
  type CpuTarget,
  type CpuUse,
  type LoadResult,
  type LocalStack,
} from '@smsq/load';
import { startDrainFloor } from './drain-floor.js';
import { runFloor, type FloorResult } from './floor.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    phases: { type: 'string', default: 'intake,drain,webhooks' },
    'batch-size': { type: 'string', default: '500' },
    'batch-connections': { type: 'string', default: '4' },
    drain: { type: 'string', default: '5000' },
    workers: { type: 'string', default: '1,2,4' },
    'log-level': { type: 'string', default: 'info' },
    json: { type: 'string' },
    'cpu-prof': { type: 'string' },
    // The webhooks phase's drains (plain, dead endpoint, receiver) this many times, one after another.
    rounds: { type: 'string', default: '1' },
    'node-flags': { type: 'string', default: '' },
  },
});
const seconds = Number(args.seconds);
const batchSize = Number(args['batch-size']);
const batchConnections = Number(args['batch-connections']);
const drainCount = Number(args.drain);
const workerCounts = args.workers!.split(',').map(Number);
const phases = new Set(args.phases!.split(','));
const databaseUrl = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/smsq';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** With REDIS_CLUSTER_NODES, smsq's processes, the floors and this run's own connections use that cluster. */
const clusterNodes = clusterNodesFromEnv();
const servers = await redisServers(redisUrl, clusterNodes);
const masters = servers.filter((s) => s.master);
/** On a cluster each node is also counted on its own ("redis 127.0.0.1:7000 master"), besides "redis". */
const nodeTargets: CpuTarget[] = clusterNodes
  ? await Promise.all(
      servers.map(async (s) => ({
        name: `redis ${s.address} ${s.master ? 'master' : 'replica'}`,
        pid: (await redisPids([s]))[0],
      })),
    )
  : [];
const logDir = join(os.tmpdir(), `smsq-bench-${Date.now()}`);
const env = { LOG_LEVEL: args['log-level']! };
/** More node flags for the API and workers (after the production ones), to measure what they change. */
const nodeFlags = args['node-flags']!.split(' ').filter(Boolean);
/** How each role was started (node flags and entry), first seen, for the report. */
const commands = new Map<string, string>();
const noteCommands = (stack: LocalStack) => {
  for (const p of stack.processes) {
    if (p.role !== 'sim' && !commands.has(p.role)) commands.set(p.role, p.command);
  }
};
/** With --cpu-prof <dir>, each stack's API and workers write V8 CPU profiles under <dir>/<phase>/. */
const profDir = (phase: string) => (args['cpu-prof'] ? join(args['cpu-prof'], phase) : undefined);
/**
 * Each worker process as deployed, with the default WORKER_CONCURRENCY (50 sends in flight): "2 workers" is
 * two of them. Their Postgres pools (concurrency + 5, at most 20 each) stay within Postgres's 100
 * connections with 4 workers and the API.
 */
const WORKER_CONCURRENCY = 50;

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n)
    ? '—'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const log = (line: string) => process.stderr.write(`${line}\n`);

/** What a phase measures: the processes of smsq's stack or of a floor, on a database of their own. */
interface System {
  databaseUrl: string;
  /** Named by role: "api", "worker", "sim" (a floor's processes take the name of the role they play). */
  processes(): CpuTarget[];
}

const stackSystem = (stack: LocalStack): System => ({
  databaseUrl: stack.databaseUrl,
  processes: () => stack.processes.map((p) => ({ name: p.role, pid: p.child.pid })),
});

/** The system's own processes, its Postgres backends and Redis server(s), and this process. */
async function cpuTargets(system: System, self: string): Promise<CpuTarget[]> {
  return [
    ...system.processes(),
    ...(await storeProcesses(system.databaseUrl, redisUrl, clusterNodes)),
    ...nodeTargets,
    { name: self, pid: process.pid },
  ];
}

interface RedisCalls {
  commands: number;
  scripts: number;
  /** Commands per master, in the order of `masters`. */
  byMaster: number[];
}

const redisCalls = async () => Promise.all(masters.map((m) => redisCommandCounts([m])));

interface PostgresWriteCounts {
  commits: number;
  rows: number;
}

interface Measured {
  cpu: CpuUse;
  /** Postgres connections opened during the phase (each one a backend process to start). */
  newConnections: number;
  /** Commands the Redis masters executed during the phase (anyone's: the server may be shared). */
  redis: RedisCalls;
}

interface Measurement {
  /** Stops counting CPU, connections and Redis commands (while the phase's processes still run). */
  stop(): Promise<Measured>;
  /**
   * The database's commits and rows written since the start: call it once its backends have reported them
   * (waitForStatsReported, or waitForBackendsGone after they exited).
   */
  writes(): Promise<PostgresWriteCounts>;
}

/** Starts counting; the Postgres statistics must be reported up to now (see Measurement.writes). */
async function startMeasuring(system: System, self: string): Promise<Measurement> {
  const writesBefore = await postgresWrites(system.databaseUrl);
  const redisBefore = await redisCalls();
  const sessions = await postgresSessions(system.databaseUrl);
  const meter = new CpuMeter().start(await cpuTargets(system, self));
  return {
    async stop() {
      const cpu = meter.stop(await cpuTargets(system, self));
      const redisAfter = await redisCalls();
      // Less the two connections this accounting itself opened.
      const newConnections = (await postgresSessions(system.databaseUrl)) - sessions - 2;
      const byMaster = redisAfter.map((a, i) => a.commands - redisBefore[i]!.commands);
      const redis = {
        commands: byMaster.reduce((a, b) => a + b, 0),
        scripts: redisAfter.reduce((a, r, i) => a + r.scripts - redisBefore[i]!.scripts, 0),
        byMaster,
      };
      return { cpu, newConnections, redis };
    },
    async writes() {
      const after = await postgresWrites(system.databaseUrl);
      return { commits: after.commits - writesBefore.commits, rows: after.rows - writesBefore.rows };
    },
  };
}

async function versions() {
  const server = new URL(databaseUrl);
  server.pathname = '/postgres'; // the named database need not exist: every run makes its own
  const c = await connectPostgres(server.toString());
  const pgVersion = (await c.query('SHOW server_version')).rows[0].server_version as string;
  await c.end();
  return { pgVersion, redisVersion: await describeRedis(servers, clusterNodes !== undefined) };
}

/** What a total counts: smsq's processes (or the floor's) and the stores; not the simulator or the load. */
const counted = ['api', 'worker', 'postgres', 'redis', 'floor'];

type Kind = 'intake floor' | 'intake' | 'drain floor' | 'drain';

interface Phase {
  name: string;
  /** The phase in the CPU and per-message tables. */
  label: string;
  kind: Kind;
  messages: number;
  perSecond: number;
  p50Ms?: number;
  p99Ms?: number;
  errors: number;
  target?: { text: string; met: boolean };
  cpu: CpuUse;
  newConnections: number;
  redis: RedisCalls;
  postgres: PostgresWriteCounts;
  /** Peak RSS (MiB) by process name during the phase. */
  rss: Record<string, number>;
  /** A drain with a webhook receiver: until it had every event, from the drain's start. */
  webhooks?: {
    deliveries: number;
    received: number;
    /** Whether every event arrived before the bench gave up waiting (10 min). */
    complete: boolean;
    settledSeconds: number;
    /** Events received after the drain, and the CPU µs per kind per event over that stretch. */
    afterDrain: number;
    perEvent: Record<string, number>;
  };
  note?: string;
}

const errorsOf = (r: LoadResult) =>
  Object.values(r.errorCodes).reduce((a, b) => a + b, 0) +
  r.socketErrors +
  Object.entries(r.statuses)
    .filter(([s]) => !s.startsWith('2'))
    .reduce((a, [, n]) => a + n, 0);

/** Waits until Postgres has the writes of what ran so far (its backends report them within ~10 s of idling). */
async function statsReported(databaseUrl: string, what: string) {
  log(`  waiting for Postgres to report ${what}`);
  await waitForStatsReported(databaseUrl);
}

async function intake(): Promise<Phase[]> {
  const stack = await startLocalStack({
    databaseUrl,
    redisUrl,
    redisClusterNodes: clusterNodes,
    workers: 0,
    logDir: join(logDir, 'intake'),
    env,
    nodeFlags,
    cpuProfDir: profDir('intake'),
  });
  noteCommands(stack);
  const system = stackSystem(stack);
  const load = (mode: 'single' | 'batch', durationSeconds: number) =>
    runLoad({
      apiUrl: stack.apiUrl,
      apiKey: stack.apiKey,
      mode,
      connections: mode === 'single' ? 64 : batchConnections,
      durationSeconds,
      batchSize,
      runId: mode,
    });
  const rssDuring = async <T>(fn: () => Promise<T>): Promise<[T, Record<string, number>]> => {
    const sampler = new RssSampler(() => stack.processes.map((p) => ({ name: p.name, pid: p.child.pid }))).start();
    const result = await fn();
    return [result, Object.fromEntries([...sampler.stop()].map(([k, b]) => [k, mib(b)]))];
  };
  const floorPhase = async (n: number): Promise<Phase> => {
    log(`intake: floor ${seconds} s`);
    const apiBackends = await postgresBackends(stack.databaseUrl, true);
    const measurement = await startMeasuring(system, 'floor');
    let m: Measured | undefined;
    const f = await runFloor({
      databaseUrl: stack.databaseUrl,
      redisUrl,
      redisClusterNodes: clusterNodes,
      queuePrefix: `${stack.queuePrefix}:floor`,
      seconds,
      // Measured before the floor's pool closes, while its Postgres backends still exist.
      beforeClose: async () => void (m = await measurement.stop()),
    });
    // The floor's backends report their writes as they exit; the API's are idle.
    await waitForBackendsGone(stack.databaseUrl, apiBackends);
    return floorRow(n, f, m!, await measurement.writes());
  };
  const loadPhase = async (mode: 'single' | 'batch', name: string, label: string): Promise<Phase> => {
    log(`intake: ${name} ${seconds} s`);
    const [[r, m, measurement], rss] = await rssDuring(async () => {
      const measurement = await startMeasuring(system, 'load generator');
      const result = await load(mode, seconds);
      return [result, await measurement.stop(), measurement] as const;
    });
    await statsReported(stack.databaseUrl, `the ${label} phase's writes`);
    return {
      name,
      label,
      kind: 'intake',
      messages: r.accepted.size,
      perSecond: r.accepted.size / r.seconds,
      p50Ms: r.latencyMs.p50,
      p99Ms: r.latencyMs.p99,
      errors: errorsOf(r),
      ...m,
      postgres: await measurement.writes(),
      rss,
    };
  };
  try {
    log('intake: warming up (3 s single, 3 s batch)');
    await load('single', 3);
    await load('batch', 3);
    await statsReported(stack.databaseUrl, "the warm-up's writes");
    const floor1 = await floorPhase(1);
    const single = await loadPhase('single', 'single POST, 64 connections', 'single POST');
    const batch = await loadPhase('batch', `batch, ${batchConnections} × ${batchSize} per request`, 'batch');
    const floor2 = await floorPhase(2);
    return [floor1, floor2, single, batch];
  } finally {
    await stack.stop();
  }
}

function floorRow(n: number, f: FloorResult, m: Measured, postgres: PostgresWriteCounts): Phase {
  return {
    name: `floor ${n}: INSERT + add, 64 in flight`,
    label: `floor ${n}`,
    kind: 'intake floor',
    messages: f.messages,
    perSecond: f.perSecond,
    p50Ms: f.p50Ms,
    p99Ms: f.p99Ms,
    errors: 0,
    ...m,
    postgres,
    rss: {},
  };
}

/** The drain floor's processes: two workers at smsq's default concurrency, one callback process. */
const FLOOR_WORKERS = 2;

async function drainFloor(): Promise<Phase> {
  log(`drain floor, ${FLOOR_WORKERS} workers: a backlog of ${drainCount}`);
  const floor = await startDrainFloor({
    databaseUrl,
    redisUrl,
    redisClusterNodes: clusterNodes,
    messages: drainCount,
    workers: FLOOR_WORKERS,
    concurrency: WORKER_CONCURRENCY,
    logDir: join(logDir, 'drain-floor'),
  });
  try {
    // The backlog's writes, reported as its connection exited.
    await waitForBackendsGone(floor.databaseUrl);
    const system: System = { databaseUrl: floor.databaseUrl, processes: () => floor.processes };
    log(`drain floor, ${FLOOR_WORKERS} workers: draining`);
    const measurement = await startMeasuring(system, 'bench');
    const d = await floor.drain();
    const m = await measurement.stop();
    await floor.stopProcesses();
    await waitForBackendsGone(floor.databaseUrl);
    const delivered = d.deliveredSeconds;
    return {
      name: `drain floor: ${FLOOR_WORKERS} workers × ${WORKER_CONCURRENCY} + callbacks, ${fmt(floor.messages)} msgs`,
      label: `drain floor, ${FLOOR_WORKERS} workers`,
      kind: 'drain floor',
      messages: floor.messages,
      perSecond: delivered ? floor.messages / delivered : 0,
      errors: d.complete ? 0 : 1,
      ...m,
      postgres: await measurement.writes(),
      rss: {},
      note: `all at Twilio after ${fmt(d.createdSeconds, 1)} s, all delivered after ${fmt(delivered, 1)} s`,
    };
  } finally {
    await floor.stop();
  }
}

/**
 * Webhooks during a drain: an endpoint subscribed to every message event, either refusing connections
 * (`dead`: every delivery fails and is retried) or answered at once by a receiver in this process
 * (`receiver`, whose CPU, like the simulator's, is not counted).
 */
type DrainWebhooks = 'dead' | 'receiver';
const WEBHOOK_NAMES: Record<DrainWebhooks, string> = {
  dead: 'webhooks to a dead endpoint',
  receiver: 'webhooks of every event to a receiver',
};

interface Receiver {
  received(): number;
  close(): Promise<void>;
}

async function webhookEndpoint(stack: LocalStack, kind: DrainWebhooks): Promise<Receiver> {
  // Distinct webhook-ids: a repeat of an event is not another event.
  const received = new Set<string>();
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.add(String(req.headers['webhook-id']));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;
  // A port just freed refuses connections: the dead endpoint.
  if (kind === 'dead') await new Promise((resolve) => receiver.close(resolve));
  const res = await fetch(`${stack.apiUrl}/v1/webhook-endpoints`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: `http://127.0.0.1:${port}/hooks`, events: MESSAGE_EVENT_TYPES }),
  });
  if (res.status !== 201) throw new Error(`POST /v1/webhook-endpoints answered ${res.status}: ${await res.text()}`);
  return {
    received: () => received.size,
    close: async () => {
      if (kind === 'receiver') await new Promise((resolve) => receiver.close(resolve));
    },
  };
}

/**
 * After the drain, until the receiver has every event of it: when (from the drain's start), and the CPU
 * per kind over that stretch, when nothing but webhooks is left to do.
 */
async function webhooksSettled(
  db: Awaited<ReturnType<typeof connectPostgres>>,
  receiver: Receiver,
  system: System,
  since: number,
): Promise<NonNullable<Phase['webhooks']>> {
  const meter = new CpuMeter().start(await cpuTargets(system, 'bench'));
  const receivedBefore = receiver.received();
  const deliveries = Number((await db.query(`SELECT count(*) AS n FROM webhook_deliveries`)).rows[0].n);
  const deadline = Date.now() + 600_000;
  while (receiver.received() < deliveries && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const settledSeconds = (Date.now() - since) / 1000;
  const cpu = meter.stop(await cpuTargets(system, 'bench'));
  const after = receiver.received() - receivedBefore;
  const perEvent = Object.fromEntries(
    counted.map((c) => [c, after > 0 ? Math.round((1e6 * (cpu.cpuSeconds.get(c) ?? 0)) / after) : 0]),
  );
  const complete = receiver.received() >= deliveries;
  return { deliveries, received: receiver.received(), complete, settledSeconds, afterDrain: after, perEvent };
}

async function drain(workers: number, webhooks?: DrainWebhooks): Promise<Phase> {
  const variant = webhooks ? `-${webhooks}` : '';
  const stack = await startLocalStack({
    databaseUrl,
    redisUrl,
    redisClusterNodes: clusterNodes,
    workers,
    logDir: join(logDir, `drain-${workers}${variant}`),
    env: {
      ...env,
      WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
      ...(webhooks ? { WEBHOOK_ALLOW_PRIVATE: 'true' } : {}),
    },
    nodeFlags,
    cpuProfDir: profDir(`drain-${workers}${variant}`),
  });
  noteCommands(stack);
  const redis = createRedis(redisUrl, 'producer', clusterNodes);
  const queues = createQueues(redis, stack.queuePrefix);
  const db = await connectPostgres(stack.databaseUrl);
  let dbOpen = true;
  try {
    await queues.send.pause();
    const endpoint = webhooks ? await webhookEndpoint(stack, webhooks) : undefined;
    const baseline = await simStats(stack.simUrl);
    const runId = `drain${workers}`;
    log(`drain, ${workers} worker(s): building a backlog of ${drainCount} through the batch endpoint`);
    const accepted = await sendBatches({ apiUrl: stack.apiUrl, apiKey: stack.apiKey, count: drainCount, runId });
    await statsReported(stack.databaseUrl, "the backlog's writes");
    const sampler = new RssSampler(() => stack.processes.map((p) => ({ name: p.name, pid: p.child.pid }))).start();
    log(`drain, ${workers} worker(s): draining`);
    const measurement = await startMeasuring(stackSystem(stack), 'bench');
    const since = Date.now();
    await queues.send.resume();
    const d = await waitForDrain({
      simUrl: stack.simUrl,
      baseline,
      expected: accepted.size,
      since,
      timeoutMs: 600_000,
      pending: async () =>
        Number((await db.query(`SELECT count(*) AS n FROM messages WHERE status <> 'delivered'`)).rows[0].n),
    });
    const m = await measurement.stop();
    const receivedInDrain = endpoint?.received();
    const settled =
      endpoint && webhooks === 'receiver' ? await webhooksSettled(db, endpoint, stackSystem(stack), since) : undefined;
    const rss = Object.fromEntries([...sampler.stop()].map(([k, b]) => [k, mib(b)]));
    const v = await verifyWhenSettled(stack.simUrl, baseline, accepted, isOwnBody('batch', runId), Date.now() + 10_000);
    await endpoint?.close();
    const hooks = endpoint
      ? (await db.query(`SELECT count(*) AS n FROM webhook_deliveries`)).rows[0].n +
        ` deliveries queued, ${receivedInDrain} received by the drain's end` +
        (settled
          ? `, ${settled.received}${settled.complete ? '' : ' (the bench gave up waiting)'} after ${fmt(settled.settledSeconds, 1)} s; CPU µs per event received after ` +
            `the drain (${settled.afterDrain}): ` +
            Object.entries(settled.perEvent)
              .filter(([, us]) => us > 0)
              .map(([kind, us]) => `${kind} ${fmt(us)}`)
              .join(', ') +
            `, total ${fmt(Object.values(settled.perEvent).reduce((a, b) => a + b, 0))}`
          : '') +
        '; '
      : '';
    // Every backend reports its writes as it exits.
    dbOpen = false;
    await db.end();
    await stack.stopProcesses();
    await waitForBackendsGone(stack.databaseUrl);
    const delivered = d.deliveredSeconds;
    const plural = workers > 1 ? 's' : '';
    const hooked = webhooks ? `, ${WEBHOOK_NAMES[webhooks]}` : '';
    return {
      name: `drain, ${workers} worker${plural} × ${WORKER_CONCURRENCY}${hooked}, ${fmt(accepted.size)} msgs`,
      label: `drain, ${workers} worker${plural}${hooked}`,
      kind: 'drain',
      messages: accepted.size,
      perSecond: delivered ? accepted.size / delivered : 0,
      errors: v.missing + v.duplicated + v.wrongBody + (d.complete ? 0 : 1) + (settled && !settled.complete ? 1 : 0),
      ...m,
      postgres: await measurement.writes(),
      rss,
      ...(settled ? { webhooks: settled } : {}),
      note: `${hooks}all at Twilio after ${fmt(d.createdSeconds, 1)} s, all delivered after ${fmt(delivered, 1)} s`,
    };
  } finally {
    if (dbOpen) await db.end();
    await queues.close();
    redis.disconnect();
    await stack.stop();
  }
}

const startLoad = os.loadavg()[0]!;
const { pgVersion, redisVersion } = await versions();
log(`logs in ${logDir}`);
const results: Phase[] = [];
if (phases.has('intake')) results.push(...(await intake()));
if (phases.has('drain')) {
  results.push(await drainFloor());
  for (const w of workerCounts) results.push(await drain(w));
}
// Compared with the plain 2-worker drain of the same run (measured here when the drain phase did not).
// On a shared machine one drain can be 20 % off the next: --rounds repeats the three side by side, and
// the targets are judged on the median of the rounds' ratios.
if (phases.has('webhooks')) {
  const rounds = Number(args.rounds);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds must be a whole number ≥ 1, not ${args.rounds}`);
  for (let round = 1; round <= rounds; round++) {
    if (round > 1 || !results.some((p) => p.label === 'drain, 2 workers')) results.push(await drain(2));
    results.push(await drain(2, 'dead'), await drain(2, 'receiver'));
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const intakeFloors = results.filter((p) => p.kind === 'intake floor');
const drainFloors = results.filter((p) => p.kind === 'drain floor');
const floorRate = mean(intakeFloors.map((f) => f.perSecond));
const drainFloorRate = mean(drainFloors.map((f) => f.perSecond));
const isFloor = (p: Phase) => p.kind === 'intake floor' || p.kind === 'drain floor';
/** The floors a phase is compared with: the intake floors (mean) or the drain floor of the same run. */
const floorsOf = (p: Phase) => (p.kind === 'intake' ? intakeFloors : drainFloors);
const perMessage = (p: Phase, name: string) => {
  const s = p.cpu.cpuSeconds.get(name);
  return s === undefined ? undefined : (1e6 * s) / Math.max(1, p.messages);
};
const totalPerMessage = (p: Phase) => counted.reduce((a, c) => a + (perMessage(p, c) ?? 0), 0);
/** The plain 2-worker drain measured last before `p`: its round's. */
const plainBefore = (p: Phase) =>
  results
    .slice(0, results.indexOf(p))
    .reverse()
    .find((r) => r.label === 'drain, 2 workers');
/** Each webhook variant's ratios to its round's plain drain, their median, and its target. */
const webhookRounds = (['dead', 'receiver'] as const).flatMap((kind) => {
  const ratios = results
    .filter((p) => p.label === `drain, 2 workers, ${WEBHOOK_NAMES[kind]}`)
    .map((p) => p.perSecond / (plainBefore(p)?.perSecond ?? NaN))
    .filter((r) => Number.isFinite(r));
  if (ratios.length === 0) return [];
  const sorted = [...ratios].sort((a, b) => a - b);
  const median =
    sorted.length % 2
      ? sorted[(sorted.length - 1) / 2]!
      : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  const share = kind === 'dead' ? 0.9 : 0.8;
  return [
    `${WEBHOOK_NAMES[kind]}: × plain drain ${ratios.map((r) => fmt(r, 2)).join(', ')}; median ${fmt(median, 2)}, ` +
      `target ≥ ${share}: ${median >= share ? 'met' : 'MISSED'}`,
  ];
});
const mark = (ok: boolean) => (ok ? 'met' : 'MISSED');
for (const p of results) {
  if (p.label === 'single POST') {
    const met = p.perSecond >= 0.5 * floorRate && (p.p99Ms ?? Infinity) <= 50 && p.errors === 0;
    p.target = { text: '≥ 0.5×, p99 ≤ 50 ms, 0 errors', met };
  } else if (p.label === 'batch') {
    p.target = { text: '≥ 2×', met: p.perSecond >= 2 * floorRate };
  } else if (p.label.startsWith('drain, 2 workers, webhooks')) {
    // docs/api.md, "Webhooks": a dead endpoint costs the drain at most 10 %, every event at most 20 %.
    const plain = plainBefore(p);
    const share = p.label.includes('dead') ? 0.9 : 0.8;
    if (plain) {
      p.target = {
        text: `≥ ${share}× the plain drain (${fmt(p.perSecond / plain.perSecond, 2)}×)`,
        met: p.perSecond >= share * plain.perSecond,
      };
    }
  } else if (p.label === 'drain, 2 workers' && intakeFloors.length) {
    p.target = { text: '≥ 0.25× intake floor', met: p.perSecond >= 0.25 * floorRate };
  }
}

function table(rows: string[][], leftColumns: number[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (leftColumns.includes(c) ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const throughput = table(
  [
    ['', 'msg/s', '× floor', 'p50 ms', 'p99 ms', 'errors', 'target'],
    ...results.map((p) => [
      p.name,
      fmt(p.perSecond),
      isFloor(p) ? '' : fmt(p.perSecond / (p.kind === 'intake' ? floorRate : drainFloorRate), 2),
      fmt(p.p50Ms, isFloor(p) ? 1 : 0),
      fmt(p.p99Ms, isFloor(p) ? 1 : 0),
      fmt(p.errors),
      p.target ? `${p.target.text}: ${mark(p.target.met)}` : '',
    ]),
  ],
  [0, 6],
);

// CPU microseconds per message, by component: what each message costs whatever else runs on the machine.
const components = ['api', 'worker', 'sim', 'postgres', 'redis', 'floor', 'load generator'];
const cpuTable = table(
  [
    ['CPU µs per message', ...components, 'total', '× floor', 'machine busy', 'new PG conns'],
    ...results.map((p) => [
      p.label,
      ...components.map((c) => fmt(perMessage(p, c))),
      fmt(totalPerMessage(p)),
      isFloor(p) ? '' : fmt(totalPerMessage(p) / mean(floorsOf(p).map(totalPerMessage)), 2),
      `${fmt(100 * p.cpu.machineBusy)} %`,
      fmt(p.newConnections),
    ]),
  ],
  [0],
);

/** Messages per second one core of a kind of process would carry at the CPU per message measured. */
const perCore = (us: number | undefined) => (us ? 1e6 / us : undefined);
const perMessageTable = table(
  [
    [
      'per message',
      'Redis cmds',
      'of them scripts',
      'PG commits',
      'PG rows written',
      'API core msg/s',
      'worker core msg/s',
    ],
    ...results.map((p) => {
      const n = Math.max(1, p.messages);
      return [
        p.label,
        fmt(p.redis.commands / n, 1),
        fmt(p.redis.scripts / n, 1),
        fmt(p.postgres.commits / n, 2),
        fmt(p.postgres.rows / n, 2),
        fmt(perCore(perMessage(p, p.kind === 'intake floor' ? 'floor' : 'api'))),
        fmt(perCore(perMessage(p, 'worker'))),
      ];
    }),
  ],
  [0],
);

/** On a cluster: where the Redis work went, node by node (a queue's keys share one slot, on one master). */
const clusterTable = clusterNodes
  ? table(
      [
        ['Redis Cluster, per message', ...nodeTargets.map((t) => t.name.replace(/^redis /, '')), 'busiest master'],
        ...results.map((p) => {
          const busiest = Math.max(...p.redis.byMaster);
          return [
            `${p.label} CPU µs`,
            ...nodeTargets.map((t) => fmt(perMessage(p, t.name))),
            `${fmt((100 * busiest) / Math.max(1, p.redis.commands))} % of commands`,
          ];
        }),
      ],
      [0],
    )
  : undefined;

const apiRss = Math.max(0, ...results.map((p) => p.rss.api ?? 0));
const workerRss = Math.max(
  0,
  ...results.flatMap((p) =>
    Object.entries(p.rss)
      .filter(([k]) => k.startsWith('worker'))
      .map(([, v]) => v),
  ),
);
const cpus = os.cpus();
console.log(
  [
    '',
    `smsq bench: ${cpus.length} cores (${cpus[0]?.model ?? '?'}), shared; load average ${startLoad.toFixed(1)} at start; ` +
      `Node ${process.version}, PostgreSQL ${pgVersion}, ${redisVersion}; LOG_LEVEL=${env.LOG_LEVEL}`,
    ...[...commands].map(([role, command]) => `${role}: ${command}`),
    `intake floor = mean of the intake floor runs = ${fmt(floorRate)}/s; drain floor = ${fmt(drainFloorRate)}/s; ` +
      '× floor: intake vs the intake floor, drains vs the drain floor; intake measured with no worker running; ' +
      'drain = from a backlog until every message is delivered (callbacks applied), SENDER_MPS=100000',
    '',
    throughput,
    ...results.filter((p) => p.note).map((p) => `  ${p.name}: ${p.note}`),
    ...(webhookRounds.length ? ['', 'webhooks, by round:', ...webhookRounds.map((l) => `  ${l}`)] : []),
    '',
    cpuTable,
    '  (total = api + worker + postgres + redis + floor, the simulator and the load generator left out; the',
    '  drain floor’s callback process is in the api column, its workers in the worker column, the intake',
    '  floor’s client in the floor column; redis is every server process, shared with anything else using',
    '  it; postgres is this run’s backends only)',
    '',
    perMessageTable,
    '  (Redis commands summed over the masters, those run inside scripts included, anyone’s; Postgres from',
    '  pg_stat_database for the phase’s database: commits (reads too) and rows inserted, updated, deleted;',
    '  a core’s msg/s = 1,000,000 ÷ that process kind’s CPU µs per message; the intake floor’s client as API)',
    '',
    ...(clusterTable ? [clusterTable, ''] : []),
    `peak RSS: API ${fmt(apiRss)} MiB (target < 200: ${mark(apiRss < 200)})` +
      (workerRss ? `, worker ${fmt(workerRss)} MiB (target < 300: ${mark(workerRss < 300)})` : ''),
  ].join('\n'),
);
if (args.json) {
  const json = results.map((p) => ({ ...p, cpu: { ...p.cpu, cpuSeconds: Object.fromEntries(p.cpu.cpuSeconds) } }));
  writeFileSync(
    args.json,
    JSON.stringify(
      {
        at: new Date().toISOString(),
        loadAverage: startLoad,
        redis: redisVersion,
        floorRate,
        drainFloorRate,
        apiRss,
        workerRss,
        results: json,
      },
      null,
      2,
    ),
  );
}
process.exit(0);
