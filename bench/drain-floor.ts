// The drain floor: the least that sending one message and recording its two callbacks needs, with the
// libraries smsq uses. Per message one BullMQ job taken and completed, one twilio SDK `messages.create`
// against the simulator and one UPDATE with Twilio's answer (bench/drain-floor-worker.ts, two processes
// at smsq's default concurrency of 50), and per signed callback one `validateRequest` and one monotonic
// UPDATE keyed on our own id (bench/drain-floor-callbacks.ts, one process), on a table with only a
// primary key. Like smsq's drain in `npm run bench`, a backlog (rows and jobs, ids only) is built with
// the queue paused, then released and timed until every row is `delivered`.
//   tsx bench/drain-floor.ts [messages]   (REDIS_URL / DATABASE_URL / REDIS_CLUSTER_NODES; a fresh
//                                          database and queue prefix, removed at the end)
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createQueues, createRedis, sendJob } from '@smsq/shared';
import {
  CpuMeter,
  clusterNodesFromEnv,
  connectPostgres,
  createFreshDatabase,
  deleteKeysUnder,
  simStats,
  startSimulator,
  storeProcesses,
  waitForDrain,
  type CpuTarget,
  type Drain,
} from '@smsq/load';
import { FLOOR_TABLE } from './floor.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

const BACKLOG = `INSERT INTO floor_messages (id, "to", body, status, rank)
  SELECT id, '+14155550100', 'floor ' || id, 'queued', 0 FROM unnest($1::uuid[]) AS id`;

export interface DrainFloorOptions {
  /** Any database on the server: a fresh one is created beside it and dropped at the end. */
  databaseUrl: string;
  redisUrl: string;
  redisClusterNodes?: readonly string[];
  messages: number;
  workers?: number;
  concurrency?: number;
  logDir: string;
}

export interface DrainFloor {
  databaseUrl: string;
  messages: number;
  /** The floor's processes for CPU accounting: its workers as "worker", its callback process as "api", "sim". */
  processes: CpuTarget[];
  /** Releases the backlog and waits until every row is delivered (or 600 s). */
  drain(): Promise<Drain>;
  /** Stops the floor's processes; the database and keys stay until stop(). */
  stopProcesses(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  return typeof address === 'object' && address ? address.port : 0;
}

/** Starts one of the floor's processes under tsx and waits for its "ready" line. */
async function startProcess(entry: string, name: string, env: Record<string, string>, logDir: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(join(logDir, `${name}.log`));
  child.stderr!.pipe(log);
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready in 30 s (logs in ${logDir})`)), 30_000);
    child.once('exit', (code) => reject(new Error(`${name} exited with code ${code} (logs in ${logDir})`)));
    child.stdout!.on('data', (d: Buffer) => {
      log.write(d);
      seen += d.toString();
      if (/^ready$/m.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    });
  }).catch(async (err: Error) => {
    await stopChild(child);
    throw err;
  });
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Creates the floor's database and backlog (queue paused), then starts the simulator, the callback process
 * and the workers. Nothing is sent until drain().
 */
export async function startDrainFloor(opts: DrainFloorOptions): Promise<DrainFloor> {
  const workers = opts.workers ?? 2;
  const concurrency = opts.concurrency ?? 50;
  mkdirSync(opts.logDir, { recursive: true });
  const database = await createFreshDatabase(opts.databaseUrl, 'smsq_drain_floor');
  const queuePrefix = `floor${randomBytes(4).toString('hex')}`;
  const clusterNodes = opts.redisClusterNodes?.length ? [...opts.redisClusterNodes] : undefined;
  const redis = createRedis(opts.redisUrl, 'producer', clusterNodes);
  const queues = createQueues(redis, queuePrefix);
  const children: ChildProcess[] = [];
  let sim: Awaited<ReturnType<typeof startSimulator>> | undefined;
  const stopProcesses = async () => {
    await Promise.all(children.map(stopChild));
    await sim?.stop();
  };
  const stop = async () => {
    await stopProcesses();
    await queues.close();
    redis.disconnect();
    await deleteKeysUnder(opts.redisUrl, queuePrefix, clusterNodes);
    await database.drop();
  };
  try {
    const ids = Array.from({ length: opts.messages }, () => randomUUID());
    const db = await connectPostgres(database.url);
    try {
      await db.query(FLOOR_TABLE);
      await db.query(BACKLOG, [ids]);
    } finally {
      await db.end();
    }
    await queues.send.pause();
    for (let i = 0; i < ids.length; i += 500) {
      await queues.send.addBulk(ids.slice(i, i + 500).map((id) => sendJob(id, 'transaction', 0)));
    }

    sim = await startSimulator({ logDir: opts.logDir });
    const callbackPort = await freePort();
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: opts.redisUrl,
      REDIS_CLUSTER_NODES: clusterNodes?.join(',') ?? '',
      QUEUE_PREFIX: queuePrefix,
      WORKER_CONCURRENCY: String(concurrency),
      FLOOR_CALLBACK_PORT: String(callbackPort),
      FLOOR_CALLBACK_URL: `http://127.0.0.1:${callbackPort}/status`,
      TWILIO_ACCOUNT_SID: sim.accountSid,
      TWILIO_AUTH_TOKEN: sim.authToken,
      TWILIO_PHONE_NUMBER: sim.phoneNumber,
      TWILIO_API_BASE_URL: sim.url,
    };
    const started = await Promise.allSettled([
      startProcess('bench/drain-floor-callbacks.ts', 'callbacks', env, opts.logDir),
      ...Array.from({ length: workers }, (_, i) =>
        startProcess('bench/drain-floor-worker.ts', `worker-${i + 1}`, env, opts.logDir),
      ),
    ]);
    // One that did not start has already been stopped; the others stop with the floor.
    for (const s of started) if (s.status === 'fulfilled') children.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const [callbacks] = children as [ChildProcess];
    const processes: CpuTarget[] = [
      { name: 'api', pid: callbacks.pid },
      ...children.slice(1).map((c) => ({ name: 'worker', pid: c.pid })),
      { name: 'sim', pid: sim.process.child.pid },
    ];
    const simUrl = sim.url;
    return {
      databaseUrl: database.url,
      messages: ids.length,
      processes,
      async drain() {
        const baseline = await simStats(simUrl);
        const poll = await connectPostgres(database.url);
        try {
          const since = Date.now();
          await queues.send.resume();
          return await waitForDrain({
            simUrl,
            baseline,
            expected: ids.length,
            since,
            timeoutMs: 600_000,
            pending: async () =>
              Number(
                (await poll.query(`SELECT count(*) AS n FROM floor_messages WHERE status <> 'delivered'`)).rows[0].n,
              ),
          });
        } finally {
          await poll.end();
        }
      },
      stopProcesses,
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const nodes = clusterNodesFromEnv();
  const floor = await startDrainFloor({
    databaseUrl: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/smsq',
    redisUrl,
    redisClusterNodes: nodes,
    messages: Number(process.argv[2] ?? 5000),
    logDir: join(os.tmpdir(), `smsq-drain-floor-${Date.now()}`),
  });
  try {
    const targets = async () => [...floor.processes, ...(await storeProcesses(floor.databaseUrl, redisUrl, nodes))];
    const meter = new CpuMeter().start(await targets());
    const d = await floor.drain();
    const cpu = meter.stop(await targets());
    const s = d.deliveredSeconds;
    console.log(
      `drain floor: ${floor.messages} messages at Twilio after ${d.createdSeconds.toFixed(1)} s, all delivered after ` +
        `${s?.toFixed(1) ?? '—'} s = ${s ? (floor.messages / s).toFixed(0) : '—'}/s${d.complete ? '' : ' (INCOMPLETE)'}`,
    );
    const perMessage = [...cpu.cpuSeconds].map(([k, v]) => `${k} ${((1e6 * v) / floor.messages).toFixed(0)}`);
    console.log(`CPU µs per message: ${perMessage.join(', ')}; machine ${(100 * cpu.machineBusy).toFixed(0)} % busy`);
  } finally {
    await floor.stop();
  }
}
