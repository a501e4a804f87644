// `npm run bench`: the floor and smsq side by side in one run, on REDIS_URL / DATABASE_URL (fresh
// databases and queue prefixes; nothing else is touched).
//   npm run bench -- [--seconds 10] [--batch-size 500] [--batch-connections 4] [--drain 5000]
//                    [--workers 1,2,4] [--phases intake,drain] [--log-level info] [--json file] [--cpu-prof dir]
//                    [--node-flags=--max-old-space-size=256]
// The API, workers and simulator run their bundles in dist/ (built first when stale) with the node flags of
// package.json's start:*:dist scripts, as `npm start` and the image do; --node-flags adds to those.
// Intake (single, batch) is measured with no worker running, like the floor (which only enqueues); the
// drain is measured separately, from a backlog, with 1, 2, 4 worker processes. Every phase also records
// the CPU each process used, so "what limits it" does not depend on what else the machine was doing.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createQueues, createRedis } from '@smsq/shared';
import {
  CpuMeter,
  connectPostgres,
  RssSampler,
  isOwnBody,
  mib,
  runLoad,
  sendBatches,
  simStats,
  startLocalStack,
  postgresSessions,
  storeProcesses,
  verifyWhenSettled,
  waitForDrain,
  type CpuTarget,
  type CpuUse,
  type LoadResult,
  type LocalStack,
} from '@smsq/load';
import { runFloor, type FloorResult } from './floor.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    phases: { type: 'string', default: 'intake,drain' },
    'batch-size': { type: 'string', default: '500' },
    'batch-connections': { type: 'string', default: '4' },
    drain: { type: 'string', default: '5000' },
    workers: { type: 'string', default: '1,2,4' },
    'log-level': { type: 'string', default: 'info' },
    json: { type: 'string' },
    'cpu-prof': { type: 'string' },
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

/** The stack's own processes (workers named "worker"), its Postgres backends and Redis, and this process. */
async function cpuTargets(stack: LocalStack, self: string): Promise<CpuTarget[]> {
  return [
    ...stack.processes.map((p) => ({ name: p.role, pid: p.child.pid })),
    ...(await storeProcesses(stack.databaseUrl, redisUrl)),
    { name: self, pid: process.pid },
  ];
}

interface Measured {
  cpu: CpuUse;
  /** Postgres connections opened during the phase (each one a backend process to start). */
  newConnections: number;
}

/** Starts counting CPU and new Postgres connections; the returned function stops and reports. */
async function startMeasuring(stack: LocalStack, self: string): Promise<() => Promise<Measured>> {
  const sessions = await postgresSessions(stack.databaseUrl);
  const meter = new CpuMeter().start(await cpuTargets(stack, self));
  return async () => {
    const cpu = meter.stop(await cpuTargets(stack, self));
    // Less the two connections this accounting itself opened.
    const newConnections = (await postgresSessions(stack.databaseUrl)) - sessions - 2;
    return { cpu, newConnections };
  };
}

async function measured<T>(stack: LocalStack, self: string, fn: () => Promise<T>): Promise<[T, Measured]> {
  const stop = await startMeasuring(stack, self);
  const result = await fn();
  return [result, await stop()];
}

async function versions() {
  const server = new URL(databaseUrl);
  server.pathname = '/postgres'; // the named database need not exist: every run makes its own
  const c = await connectPostgres(server.toString());
  const pgVersion = (await c.query('SHOW server_version')).rows[0].server_version as string;
  await c.end();
  const r = new Redis(redisUrl);
  const redisVersion = /redis_version:(\S+)/.exec(await r.info('server'))?.[1] ?? '?';
  r.disconnect();
  return { pgVersion, redisVersion };
}

interface Phase {
  name: string;
  messages: number;
  perSecond: number;
  p50Ms?: number;
  p99Ms?: number;
  errors: number;
  target?: { text: string; met: boolean };
  cpu: CpuUse;
  newConnections: number;
  /** Peak RSS (MiB) by process name during the phase. */
  rss: Record<string, number>;
  note?: string;
}

const errorsOf = (r: LoadResult) =>
  Object.values(r.errorCodes).reduce((a, b) => a + b, 0) +
  r.socketErrors +
  Object.entries(r.statuses)
    .filter(([s]) => !s.startsWith('2'))
    .reduce((a, [, n]) => a + n, 0);

async function intake(): Promise<Phase[]> {
  const stack = await startLocalStack({
    databaseUrl,
    redisUrl,
    workers: 0,
    logDir: join(logDir, 'intake'),
    env,
    nodeFlags,
    cpuProfDir: profDir('intake'),
  });
  noteCommands(stack);
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
    const stop = await startMeasuring(stack, 'floor');
    let m: Measured | undefined;
    const f = await runFloor({
      databaseUrl: stack.databaseUrl,
      redisUrl,
      queuePrefix: `${stack.queuePrefix}:floor`,
      seconds,
      // Measured before the floor's pool closes, while its Postgres backends still exist.
      beforeClose: async () => void (m = await stop()),
    });
    return floorRow(n, f, m!);
  };
  const loadPhase = async (mode: 'single' | 'batch', name: string): Promise<Phase> => {
    log(`intake: ${name} ${seconds} s`);
    const [[r, m], rss] = await rssDuring(() => measured(stack, 'load generator', () => load(mode, seconds)));
    return {
      name,
      messages: r.accepted.size,
      perSecond: r.accepted.size / r.seconds,
      p50Ms: r.latencyMs.p50,
      p99Ms: r.latencyMs.p99,
      errors: errorsOf(r),
      ...m,
      rss,
    };
  };
  try {
    log('intake: warming up (3 s single, 3 s batch)');
    await load('single', 3);
    await load('batch', 3);
    const floor1 = await floorPhase(1);
    const single = await loadPhase('single', 'single POST, 64 connections');
    const batch = await loadPhase('batch', `batch, ${batchConnections} × ${batchSize} per request`);
    const floor2 = await floorPhase(2);
    return [floor1, floor2, single, batch];
  } finally {
    await stack.stop();
  }
}

function floorRow(n: number, f: FloorResult, m: Measured): Phase {
  return {
    name: `floor ${n}: INSERT + add, 64 in flight`,
    messages: f.messages,
    perSecond: f.perSecond,
    p50Ms: f.p50Ms,
    p99Ms: f.p99Ms,
    errors: 0,
    ...m,
    rss: {},
  };
}

async function drain(workers: number): Promise<Phase> {
  const stack = await startLocalStack({
    databaseUrl,
    redisUrl,
    workers,
    logDir: join(logDir, `drain-${workers}`),
    env: { ...env, WORKER_CONCURRENCY: String(WORKER_CONCURRENCY) },
    nodeFlags,
    cpuProfDir: profDir(`drain-${workers}`),
  });
  noteCommands(stack);
  const redis = createRedis(redisUrl, 'producer');
  const queues = createQueues(redis, stack.queuePrefix);
  const db = await connectPostgres(stack.databaseUrl);
  try {
    await queues.send.pause();
    const baseline = await simStats(stack.simUrl);
    const runId = `drain${workers}`;
    log(`drain, ${workers} worker(s): building a backlog of ${drainCount} through the batch endpoint`);
    const accepted = await sendBatches({ apiUrl: stack.apiUrl, apiKey: stack.apiKey, count: drainCount, runId });
    const sampler = new RssSampler(() => stack.processes.map((p) => ({ name: p.name, pid: p.child.pid }))).start();
    log(`drain, ${workers} worker(s): draining`);
    const [d, m] = await measured(stack, 'bench', async () => {
      const since = Date.now();
      await queues.send.resume();
      return waitForDrain({
        simUrl: stack.simUrl,
        baseline,
        expected: accepted.size,
        since,
        timeoutMs: 600_000,
        pending: async () =>
          Number((await db.query(`SELECT count(*) AS n FROM messages WHERE status <> 'delivered'`)).rows[0].n),
      });
    });
    const rss = Object.fromEntries([...sampler.stop()].map(([k, b]) => [k, mib(b)]));
    const v = await verifyWhenSettled(stack.simUrl, baseline, accepted, isOwnBody('batch', runId), Date.now() + 10_000);
    const delivered = d.deliveredSeconds;
    return {
      name: `drain, ${workers} worker${workers > 1 ? 's' : ''} × ${WORKER_CONCURRENCY}, ${fmt(accepted.size)} msgs`,
      messages: accepted.size,
      perSecond: delivered ? accepted.size / delivered : 0,
      errors: v.missing + v.duplicated + v.wrongBody + (d.complete ? 0 : 1),
      ...m,
      rss,
      note: `all at Twilio after ${fmt(d.createdSeconds, 1)} s, all delivered after ${fmt(delivered, 1)} s`,
    };
  } finally {
    await db.end();
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
if (phases.has('drain')) for (const w of workerCounts) results.push(await drain(w));

const floors = results.filter((p) => p.name.startsWith('floor'));
const floorRate = floors.reduce((a, f) => a + f.perSecond, 0) / floors.length;
const mark = (ok: boolean) => (ok ? 'met' : 'MISSED');
for (const p of results) {
  if (p.name.startsWith('single')) {
    const met = p.perSecond >= 0.5 * floorRate && (p.p99Ms ?? Infinity) <= 50 && p.errors === 0;
    p.target = { text: '≥ 0.5×, p99 ≤ 50 ms, 0 errors', met };
  } else if (p.name.startsWith('batch')) {
    p.target = { text: '≥ 2×', met: p.perSecond >= 2 * floorRate };
  } else if (p.name.startsWith('drain, 2 workers')) {
    p.target = { text: '≥ 0.25×', met: p.perSecond >= 0.25 * floorRate };
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
      p.name.startsWith('floor') ? '' : fmt(p.perSecond / floorRate, 2),
      fmt(p.p50Ms, p.name.startsWith('floor') ? 1 : 0),
      fmt(p.p99Ms, p.name.startsWith('floor') ? 1 : 0),
      fmt(p.errors),
      p.target ? `${p.target.text}: ${mark(p.target.met)}` : '',
    ]),
  ],
  [0, 6],
);

// CPU microseconds per message, by component: what each message costs whatever else runs on the machine.
const components = ['api', 'worker', 'sim', 'postgres', 'redis', 'floor', 'load generator'];
const perMessage = (p: Phase, name: string) => {
  const s = p.cpu.cpuSeconds.get(name);
  return s === undefined ? undefined : (1e6 * s) / Math.max(1, p.messages);
};
const cpuTable = table(
  [
    ['CPU µs per message', ...components, 'machine busy', 'new PG conns'],
    ...results.map((p) => [
      p.name.split(':')[0]!.split(',')[0]! + (p.name.startsWith('drain') ? ` ${p.name.split(',')[1]!.trim()}` : ''),
      ...components.map((c) => fmt(perMessage(p, c))),
      `${fmt(100 * p.cpu.machineBusy)} %`,
      fmt(p.newConnections),
    ]),
  ],
  [0],
);

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
      `Node ${process.version}, PostgreSQL ${pgVersion}, Redis ${redisVersion}; LOG_LEVEL=${env.LOG_LEVEL}`,
    ...[...commands].map(([role, command]) => `${role}: ${command}`),
    `floor = mean of the floor runs = ${fmt(floorRate)}/s; intake measured with no worker running; ` +
      'drain = from a backlog until every message is delivered (callbacks applied), SENDER_MPS=100000',
    '',
    throughput,
    ...results.filter((p) => p.note).map((p) => `  ${p.name}: ${p.note}`),
    '',
    cpuTable,
    '  (redis is the whole server, shared with anything else using it; postgres is this run’s backends only)',
    '',
    `peak RSS: API ${fmt(apiRss)} MiB (target < 200: ${mark(apiRss < 200)})` +
      (workerRss ? `, worker ${fmt(workerRss)} MiB (target < 300: ${mark(workerRss < 300)})` : ''),
  ].join('\n'),
);
if (args.json) {
  const json = results.map((p) => ({ ...p, cpu: { ...p.cpu, cpuSeconds: Object.fromEntries(p.cpu.cpuSeconds) } }));
  writeFileSync(
    args.json,
    JSON.stringify(
      { at: new Date().toISOString(), loadAverage: startLoad, floorRate, apiRss, workerRss, results: json },
      null,
      2,
    ),
  );
}
process.exit(0);
