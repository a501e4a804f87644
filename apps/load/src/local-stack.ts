import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFreshDatabase } from './fresh-database.js';
import { deleteKeysUnder } from './redis-keys.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Each role's TypeScript entry (run through tsx only for CPU profiles, see `cpuProfDir`). */
const SOURCES = {
  api: 'apps/api/src/main.ts',
  worker: 'apps/worker/src/main.ts',
  sim: 'packages/twilio-sim/src/main.ts',
} as const;
type Role = keyof typeof SOURCES;

/**
 * How production starts a role: the root package.json's `start:<role>:dist` script,
 * `[VAR=value …] node <flags> dist/<bundle>`. Read from there so that the stack measures the very
 * settings `npm start` and the image use.
 */
function productionCommand(role: Role): { env: Record<string, string>; flags: string[]; bundle: string } {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const script = scripts[`start:${role}:dist`] ?? '';
  const words = script.split(/\s+/).filter(Boolean);
  const settings = words.map((w) => /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(w));
  const commandAt = settings.findIndex((s) => !s);
  const env = Object.fromEntries(settings.slice(0, commandAt).map((s) => [s![1]!, s![2]!]));
  const [node, ...flags] = words.slice(commandAt);
  const bundle = flags.pop();
  if (node !== 'node' || !bundle?.startsWith('dist/')) {
    throw new Error(`package.json start:${role}:dist should be "[VAR=value …] node [flags] dist/…", not "${script}"`);
  }
  return { env, flags, bundle };
}

/** Builds dist/ when it is missing or older than its sources (a fresh clone, an edit since the last build). */
function buildIfStale() {
  const build = spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error(`scripts/build.mjs failed (exit code ${build.status ?? build.signal})`);
}

export interface LocalStackOptions {
  /** Any database on the server: a fresh one is created beside it and dropped at the end. */
  databaseUrl: string;
  redisUrl: string;
  workers: number;
  /** Where each process's output goes (one file per process). */
  logDir: string;
  /** Settings for every process, over the defaults below (e.g. SENDER_MPS, LOG_LEVEL, WORKER_CONCURRENCY). */
  env?: Record<string, string>;
  /**
   * Run the API and workers under `node --cpu-prof`, writing profiles here when they exit. They then run
   * their TypeScript sources through tsx (with the production flags), so that a profile names our code by
   * file and package rather than by line of one bundle.
   */
  cpuProfDir?: string;
  /** Extra node flags for the API and workers, after the production ones (so they win). */
  nodeFlags?: string[];
  /**
   * Seeds of a Redis Cluster (REDIS_CLUSTER_NODES) for the API and workers, and for deleting the stack's
   * keys at the end; without them every process uses the single Redis at `redisUrl`.
   */
  redisClusterNodes?: readonly string[];
}

interface StackProcess {
  role: Role;
  name: string;
  child: ChildProcess;
  /** The HTTP port it serves (worker: its metrics port). */
  port: number;
  /** How it was started (production settings, node flags, entry), for reports. */
  command: string;
}

export interface LocalStack {
  apiUrl: string;
  apiKey: string;
  simUrl: string;
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  processes: StackProcess[];
  addWorker(): Promise<StackProcess>;
  /** SIGTERM to every worker process, waiting for each to exit. */
  stopWorkers(): Promise<void>;
  /** SIGTERM to every process, waiting for each to exit; the database and keys stay until stop(). */
  stopProcesses(): Promise<void>;
  /** Stops every process, drops the database and deletes the stack's Redis keys. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitForHttp(url: string, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with code ${child.exitCode}`);
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

async function stopProcess(p: StackProcess, timeoutMs = 25_000): Promise<void> {
  const { child } = p;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

interface LaunchOptions {
  logDir: string;
  /** The process's settings, over the environment and the production command's own. */
  env: Record<string, string>;
  cpuProfDir?: string;
  nodeFlags?: string[];
}

/**
 * Starts one role as production does (see productionCommand) and waits until it answers on `port`;
 * `started` sees the process as soon as it is spawned, so that a caller can stop it if it never answers.
 */
async function launchRole(
  role: Role,
  name: string,
  port: number,
  opts: LaunchOptions,
  started: (p: StackProcess) => void = () => undefined,
): Promise<StackProcess> {
  const production = productionCommand(role);
  // One folder per process: the main thread and tsx's loader thread each write a profile there.
  const profile = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${join(opts.cpuProfDir, name)}`] : [];
  const extra = role === 'sim' ? profile : [...profile, ...(opts.nodeFlags ?? [])];
  const entry = opts.cpuProfDir ? ['--import', 'tsx', SOURCES[role]] : [production.bundle];
  const child = spawn(process.execPath, [...production.flags, ...extra, ...entry], {
    cwd: ROOT,
    env: { ...process.env, ...production.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(join(opts.logDir, `${name}.log`));
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const settings = Object.entries(production.env).map(([k, v]) => `${k}=${v} `);
  const command = `${settings.join('')}node ${child.spawnargs.slice(1).join(' ')}`;
  const p: StackProcess = { role, name, child, port, command };
  started(p);
  const readyPath = role === 'api' ? '/readyz' : role === 'sim' ? '/_sim/stats' : '/healthz';
  await waitForHttp(`http://127.0.0.1:${port}${readyPath}`, child);
  return p;
}

/** A Twilio simulator in a process of its own, started like the stack's (with its own credentials). */
export interface Simulator {
  url: string;
  accountSid: string;
  authToken: string;
  /** A sender the simulator accepts. */
  phoneNumber: string;
  process: StackProcess;
  stop(): Promise<void>;
}

/** Starts the simulator alone, as startLocalStack does, for a measurement that brings its own processes. */
export async function startSimulator(opts: { logDir: string; env?: Record<string, string> }): Promise<Simulator> {
  buildIfStale();
  mkdirSync(opts.logDir, { recursive: true });
  const port = await freePort();
  const credentials = {
    accountSid: `AC${randomBytes(16).toString('hex')}`,
    authToken: randomBytes(16).toString('hex'),
    phoneNumber: '+15005550006',
  };
  const env = {
    HOST: '127.0.0.1',
    SIM_PORT: String(port),
    TWILIO_ACCOUNT_SID: credentials.accountSid,
    TWILIO_AUTH_TOKEN: credentials.authToken,
    TWILIO_PHONE_NUMBER: credentials.phoneNumber,
    ...opts.env,
  };
  let launched: StackProcess | undefined;
  try {
    const p = await launchRole('sim', 'sim', port, { logDir: opts.logDir, env }, (q) => (launched = q));
    return { url: `http://127.0.0.1:${port}`, ...credentials, process: p, stop: () => stopProcess(p) };
  } catch (err) {
    if (launched) await stopProcess(launched);
    throw err;
  }
}

/**
 * A whole smsq stack as separate processes (simulator, API, N workers), each started the way
 * `npm start` starts it (the bundles in dist/, built first when stale, with the `start:*:dist` flags), on
 * a fresh migrated database and a queue prefix of its own, so it can share Postgres and Redis with
 * anything else.
 */
export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  if (!opts.cpuProfDir) buildIfStale();
  const tag = randomBytes(4).toString('hex');
  const database = await createFreshDatabase(opts.databaseUrl);
  const databaseUrl = database.url;

  mkdirSync(opts.logDir, { recursive: true });
  const [apiPort, simPort] = [await freePort(), await freePort()];
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const simUrl = `http://127.0.0.1:${simPort}`;
  const apiKey = randomBytes(16).toString('hex');
  const queuePrefix = `load${tag}`;
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    OTP_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'info',
    DATABASE_URL: databaseUrl,
    REDIS_URL: opts.redisUrl,
    QUEUE_PREFIX: queuePrefix,
    HOST: '127.0.0.1',
    PORT: String(apiPort),
    PUBLIC_BASE_URL: apiUrl,
    API_KEYS: `load:${apiKey}`,
    // The load generator is one caller sending as fast as it can; the per-key limit would stop it in seconds.
    API_RATE_LIMIT_PER_MINUTE: '10000000',
    SENDER_MPS: '100000',
    TWILIO_ACCOUNT_SID: `AC${randomBytes(16).toString('hex')}`,
    TWILIO_AUTH_TOKEN: randomBytes(16).toString('hex'),
    TWILIO_PHONE_NUMBER: '+15005550006',
    TWILIO_API_BASE_URL: simUrl,
    SIM_PORT: String(simPort),
    REDIS_CLUSTER_NODES: opts.redisClusterNodes?.join(',') ?? '',
    ...opts.env,
  };

  const processes: StackProcess[] = [];
  let workerCount = 0;
  async function launch(role: Role, name: string, port: number, extraEnv: Record<string, string> = {}) {
    return launchRole(role, name, port, { ...opts, env: { ...env, ...extraEnv } }, (p) => processes.push(p));
  }

  async function addWorker() {
    workerCount += 1;
    const port = await freePort();
    return launch('worker', `worker-${workerCount}`, port, { WORKER_METRICS_PORT: String(port) });
  }

  const stopProcesses = async () => void (await Promise.all(processes.map((p) => stopProcess(p))));
  async function cleanup() {
    await stopProcesses();
    await deleteKeysUnder(opts.redisUrl, queuePrefix, opts.redisClusterNodes);
    await database.drop();
  }

  try {
    await Promise.all([launch('sim', 'sim', simPort), launch('api', 'api', apiPort)]);
    for (let i = 0; i < opts.workers; i++) await addWorker();
  } catch (err) {
    await cleanup().catch(() => undefined);
    throw new Error(`${(err as Error).message} (logs in ${opts.logDir})`, { cause: err });
  }

  return {
    apiUrl,
    apiKey,
    simUrl,
    databaseUrl,
    redisUrl: opts.redisUrl,
    queuePrefix,
    processes,
    addWorker,
    async stopWorkers() {
      const workers = processes.filter((p) => p.role === 'worker');
      await Promise.all(workers.map((p) => stopProcess(p)));
      for (const w of workers) processes.splice(processes.indexOf(w), 1);
    },
    stopProcesses,
    stop: cleanup,
  };
}
