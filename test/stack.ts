import {
  createPrisma,
  createRedis,
  createTwilioClient,
  createLogger,
  loadConfig,
  type Config,
  type PrismaClient,
  type RedisClient,
} from '@smsq/shared';
import { buildApp, createApiDeps, type ApiDeps } from '@smsq/api';
import { startWorkers, type Workers } from '@smsq/worker';
import { buildSim, type Sim } from '@smsq/twilio-sim';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import twilio from 'twilio';
import { Cluster } from 'ioredis';
import { createTestStores, type TestStores } from './context.js';

export const API_KEY = 'test-secret-key';
export const AUTH = { authorization: `Bearer ${API_KEY}` };
export const ACCOUNT_SID = `AC${'a1'.repeat(16)}`;
export const AUTH_TOKEN = 'b2'.repeat(16);
export const FROM = '+15005550006';

export interface Stack {
  config: Config;
  stores: TestStores;
  api: FastifyInstance;
  apiDeps: ApiDeps;
  /** A separate client for assertions. */
  prisma: PrismaClient;
  sim: Sim | undefined;
  workers: Workers | undefined;
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/**
 * The real thing on real stores: API (listening, so the simulator's callbacks reach it), the simulator
 * behind the real Twilio SDK, and workers. `withWorkers: false` gives an API on its own.
 */
export async function startStack(
  opts: {
    withWorkers?: boolean;
    withSim?: boolean;
    env?: Record<string, string>;
    /** How the stack's processes reach the file's own database, given its direct URL (e.g. through pgbouncer). */
    databaseUrl?: (direct: string) => string;
    callbackDelayMs?: number;
    /** Where the API's and the workers' loggers write (set LOG_LEVEL in `env`); silent otherwise. */
    logTo?: DestinationStream;
  } = {},
): Promise<Stack> {
  const stores = await createTestStores();
  const databaseUrl = opts.databaseUrl?.(stores.databaseUrl) ?? stores.databaseUrl;
  const withWorkers = opts.withWorkers ?? true;
  const sim =
    (opts.withSim ?? withWorkers)
      ? await buildSim({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, callbackDelayMs: opts.callbackDelayMs ?? 20 })
      : undefined;
  const simUrl = sim ? await sim.app.listen({ port: 0, host: '127.0.0.1' }) : undefined;
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: databaseUrl,
    REDIS_URL: stores.redisUrl,
    QUEUE_PREFIX: stores.queuePrefix,
    API_KEYS: `tests:${API_KEY}`,
    // `npm run test:cluster` runs the same tests on a Redis Cluster (scripts/redis-cluster.sh), but for
    // a test that points REDIS_URL somewhere of its own (Redis down).
    ...(process.env.REDIS_CLUSTER_NODES && !opts.env?.REDIS_URL
      ? { REDIS_CLUSTER_NODES: process.env.REDIS_CLUSTER_NODES }
      : {}),
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_PHONE_NUMBER: FROM,
    TWILIO_TIMEOUT_MS: '3000',
    WORKER_CONCURRENCY: '20',
    // No MPS limit unless a test sets one (the throughput tests do).
    SENDER_MPS: '100000',
    ...(simUrl ? { TWILIO_API_BASE_URL: simUrl } : {}),
    ...opts.env,
  });
  const logger = createLogger(config, 'test');
  const apiDeps = createApiDeps(config);
  const api = await buildApp(apiDeps, { logger: opts.logTo ? createLogger(config, 'api', opts.logTo) : logger });
  const apiUrl = await api.listen({ port: 0, host: '127.0.0.1' });
  // Routes and workers read the base URL per request, so it can be set once the port is known.
  config.publicBaseUrl = apiUrl;

  /** The environment a worker process of this stack needs (for tests that spawn one). */
  const env = {
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrl,
    REDIS_URL: stores.redisUrl,
    QUEUE_PREFIX: stores.queuePrefix,
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_PHONE_NUMBER: FROM,
    PUBLIC_BASE_URL: apiUrl,
    WORKER_METRICS_PORT: '0',
    SENDER_MPS: '100000',
    ...(simUrl ? { TWILIO_API_BASE_URL: simUrl } : {}),
    ...opts.env,
  };

  let workerRedis: RedisClient | undefined;
  let workerPrisma: PrismaClient | undefined;
  let workers: Workers | undefined;
  if (withWorkers) {
    workerRedis = createRedis(config.redisUrl, 'worker', config.redisClusterNodes);
    workerPrisma = createPrisma(config.databaseUrl);
    workers = startWorkers({
      config,
      prisma: workerPrisma,
      redis: workerRedis,
      twilio: createTwilioClient(config.twilio),
      logger: opts.logTo ? createLogger(config, 'worker', opts.logTo) : logger,
    });
  }
  const prisma = createPrisma(config.databaseUrl, 2);
  return {
    config,
    stores,
    api,
    apiDeps,
    prisma,
    sim,
    workers,
    env,
    async close() {
      await workers?.close(5000);
      await sim?.close();
      await api.close();
      await apiDeps.close();
      workerRedis?.disconnect();
      await workerPrisma?.$disconnect();
      await prisma.$disconnect();
      await stores.drop();
    },
  };
}

/**
 * A form POST to one of the stack's Twilio webhooks (`path` with its query), signed as Twilio signs it:
 * over PUBLIC_BASE_URL + path and the fields. `signature` replaces the right one (a forged request).
 */
export function signedWebhook(
  stack: Pick<Stack, 'api' | 'config'>,
  path: string,
  params: Record<string, string>,
  signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${stack.config.publicBaseUrl}${path}`, params),
) {
  return stack.api.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    payload: new URLSearchParams(params).toString(),
  });
}

/** Polls until `check` returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** KEYS over the whole keyspace: every master of a Cluster (a plain KEYS there asks one node only). */
export async function keysMatching(redis: RedisClient, pattern: string): Promise<string[]> {
  if (redis instanceof Cluster) {
    return (await Promise.all(redis.nodes('master').map((node) => node.keys(pattern)))).flat();
  }
  return redis.keys(pattern);
}
