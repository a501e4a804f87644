import { Redis } from 'ioredis';

/**
 * Workers block on Redis and must keep retrying (BullMQ requires maxRetriesPerRequest: null); the API
 * answers callers and must fail fast instead, so a Redis outage becomes a 503 rather than a hung request.
 */
export function createRedis(url: string, role: 'worker' | 'producer'): Redis {
  return role === 'worker'
    ? new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true })
    : new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
}
