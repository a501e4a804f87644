import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { RedisClient } from '@smsq/shared';
import { Cluster } from 'ioredis';
import { ApiError } from '../errors.js';
import { idempotencyOwner } from '../access/caller.js';

interface ApiRateLimitOptions {
  redis: RedisClient;
  queuePrefix: string;
  perMinute: number;
}

/** A Redis that does not answer within this costs each request no more than this. */
const REDIS_TIMEOUT_MS = 250;

/**
 * API_RATE_LIMIT_PER_MINUTE per API key, counted in Redis (a fixed one-minute window per key), so the
 * limit holds across every API process. Registered in the /v1 context after api-key-auth: the limiter
 * adds its hook to each route, and route hooks run after the context's, so the key name is known.
 *
 * Fails open: when Redis does not answer, requests go through uncounted. Reads need only Postgres,
 * and writes answer 503 on their own when the queue is down; the limit protects capacity, it is not a
 * security boundary. Its own client with a command timeout (queued commands included), so a Redis
 * outage adds at most REDIS_TIMEOUT_MS to a request instead of a reconnect wait.
 */
export default fp(
  async function apiRateLimit(app: FastifyInstance, opts: ApiRateLimitOptions) {
    const redis =
      opts.redis instanceof Cluster
        ? opts.redis.duplicate(undefined, {
            redisOptions: { ...opts.redis.options.redisOptions, commandTimeout: REDIS_TIMEOUT_MS },
          })
        : opts.redis.duplicate({ commandTimeout: REDIS_TIMEOUT_MS });
    // Said once per outage: ioredis reports every failed reconnect.
    let down = false;
    redis.on('error', (err: Error) => {
      if (!down) app.log.warn({ err: err.message }, 'rate-limit store unavailable: requests are not counted');
      down = true;
    });
    redis.on('ready', () => (down = false));
    app.addHook('onClose', async () => redis.disconnect());

    await app.register(rateLimit, {
      max: opts.perMinute,
      timeWindow: 60_000,
      redis,
      nameSpace: `${opts.queuePrefix}:api-rate:`,
      // Per service, live and test apart: a CI run with a test key never uses up production's allowance.
      keyGenerator: (req) => idempotencyOwner(req.caller),
      skipOnError: true,
      errorResponseBuilder: (_req, ctx) =>
        new ApiError(
          429,
          'rate_limited',
          `more than ${ctx.max} requests per minute for this API key; retry in ${ctx.after}`,
          undefined,
          { 'retry-after': String(Math.max(1, Math.ceil(ctx.ttl / 1000))) },
        ),
    });
  },
  { name: 'api-rate-limit', dependencies: ['api-key-auth'] },
);
