import { Redis } from 'ioredis';

/**
 * - `worker`: BullMQ workers block on Redis and must keep retrying (BullMQ requires maxRetriesPerRequest: null).
 * - `producer`: the API answers callers and must fail fast instead, so an outage becomes a 503 rather
 *   than a hung request.
 * - `commands`: the API's own counters and scripts (caps, rate limits), issued by many requests at once:
 *   fail fast, and auto-pipelined, so the commands of one event-loop turn leave in one write. Not for
 *   BullMQ, whose connections are reported to misbehave with auto-pipelining.
 */
export function createRedis(url: string, role: 'worker' | 'producer' | 'commands'): Redis {
  if (role === 'worker') return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
  return new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2_000, enableAutoPipelining: role === 'commands' });
}
