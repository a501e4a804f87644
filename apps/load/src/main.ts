// `npm run load -- [--mode single|batch|otp] [--duration s] [--connections n] [--batch-size n] [--workers n]
//                  [--drain-timeout s] [--log-level info] [--cpu-prof dir] [--node-flags=...]`
// Against SMSQ_API_URL (+ SMSQ_API_KEY, SMSQ_SIM_URL) when set; otherwise it starts its own stack
// (simulator, API, workers) on REDIS_URL / DATABASE_URL with a fresh database and queue prefix.
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalStack, type LocalStack } from './local-stack.js';
import { clusterNodesFromEnv } from './redis-servers.js';
import { connectPostgres } from './postgres-connect.js';
import { MODES, isOwnBody, routeExists, runLoad, type Mode } from './load.js';
import { printLoadReport } from './report.js';
import { RssSampler } from './rss.js';
import { simStats, verifyWhenSettled, waitForDrain } from './simulator.js';

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'single' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    'batch-size': { type: 'string', default: '100' },
    workers: { type: 'string', default: '2' },
    'drain-timeout': { type: 'string', default: '300' },
    'log-level': { type: 'string', default: 'info' },
    'cpu-prof': { type: 'string' },
    'node-flags': { type: 'string', default: '' },
  },
});

function positiveInt(name: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer, got ${text}`);
    process.exit(2);
  }
  return n;
}

const mode = args.mode as Mode;
if (!MODES.includes(mode)) {
  console.error(`--mode must be one of ${MODES.join(', ')}, got ${args.mode}`);
  process.exit(2);
}
const duration = positiveInt('duration', args.duration);
const connections = positiveInt('connections', args.connections);
const batchSize = positiveInt('batch-size', args['batch-size']);
const workerCount = positiveInt('workers', args.workers);
const drainTimeoutMs = positiveInt('drain-timeout', args['drain-timeout']) * 1000;

let stack: LocalStack | undefined;
let target: { apiUrl: string; apiKey: string; simUrl: string };
if (process.env.SMSQ_API_URL) {
  if (!process.env.SMSQ_API_KEY) {
    console.error('SMSQ_API_URL is set but SMSQ_API_KEY is not');
    process.exit(2);
  }
  target = {
    apiUrl: process.env.SMSQ_API_URL.replace(/\/$/, ''),
    apiKey: process.env.SMSQ_API_KEY,
    simUrl: (process.env.SMSQ_SIM_URL ?? 'http://127.0.0.1:4010').replace(/\/$/, ''),
  };
  console.log(`Target: ${target.apiUrl} (simulator ${target.simUrl})`);
} else {
  const logDir = join(tmpdir(), `smsq-load-${randomBytes(3).toString('hex')}`);
  console.log(`No SMSQ_API_URL: starting simulator, API and ${workerCount} worker(s); logs in ${logDir}`);
  stack = await startLocalStack({
    databaseUrl: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/smsq',
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    workers: workerCount,
    logDir,
    env: { LOG_LEVEL: args['log-level']! },
    cpuProfDir: args['cpu-prof'],
    nodeFlags: args['node-flags']!.split(' ').filter(Boolean),
    redisClusterNodes: clusterNodesFromEnv(),
  });
  target = { apiUrl: stack.apiUrl, apiKey: stack.apiKey, simUrl: stack.simUrl };
}

let exitCode = 1;
try {
  exitCode = await run();
} finally {
  await stack?.stop();
}
process.exit(exitCode);

async function run(): Promise<number> {
  if (!(await routeExists(target.apiUrl, target.apiKey, mode))) {
    console.error(`The API has no route for mode "${mode}" (it answered 404): nothing to measure.`);
    return 1;
  }
  const baseline = await simStats(target.simUrl);
  const db = stack ? await connectPostgres(stack.databaseUrl) : undefined;
  const sampler = stack
    ? new RssSampler(() => stack!.processes.map((p) => ({ name: p.name, pid: p.child.pid }))).start()
    : undefined;
  try {
    const since = Date.now();
    const runId = randomBytes(4).toString('hex');
    console.log(
      `Load: ${mode}, ${connections} connections, ${duration} s${mode === 'batch' ? `, ${batchSize} per batch` : ''}`,
    );
    const load = await runLoad({
      apiUrl: target.apiUrl,
      apiKey: target.apiKey,
      mode,
      connections,
      durationSeconds: duration,
      batchSize,
      runId,
    });
    const drain = await waitForDrain({
      simUrl: target.simUrl,
      baseline,
      expected: load.accepted.size,
      since,
      timeoutMs: drainTimeoutMs,
      pending: db
        ? async () =>
            Number((await db.query(`SELECT count(*) AS n FROM messages WHERE status <> 'delivered'`)).rows[0].n)
        : undefined,
    });
    const verification = await verifyWhenSettled(
      target.simUrl,
      baseline,
      load.accepted,
      isOwnBody(mode, runId),
      Date.now() + 30_000,
    );
    const peaks = sampler?.stop();
    return printLoadReport({ load, drain, verification, rssPeaks: peaks });
  } finally {
    sampler?.stop();
    await db?.end();
  }
}
