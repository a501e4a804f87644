import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Cluster } from 'ioredis';
import type { RedisClient } from '@smsq/shared';
import { Coalescer, defineLuaCommands, luaScript } from '@smsq/shared';

const SCRIPTS = { smsqSlidingWindowCaps: luaScript(import.meta.url, 'sliding-window.lua') };

/** One hit as the script takes it. */
interface Hit {
  key: string;
  now: number;
  max: number;
  windowMs: number;
  member: string;
}

/** Loaded once per Redis client and then called by SHA (EVALSHA): the script is not resent per call. */
interface WithCapScript {
  smsqSlidingWindowCaps(numberOfKeys: number, ...keysThenArgs: (string | number)[]): Promise<number[]>;
}

/**
 * Subjects are spread over this many {hash tags}, so that on a Redis Cluster the caps' keys, and their
 * load, spread over the masters, while a batch still needs at most this many script calls.
 */
const SHARDS = 64;

/**
 * The hits made while a call is out go together in the next call (Coalescer): a batch of 500 messages, or
 * 64 single requests at once, pays one script call instead of one each. On a Redis Cluster the keys of one
 * call must share a slot, so there hits are gathered per {hash tag} (a batch's keys grouped by slot); a
 * single Redis takes any keys in one call.
 */
const hitsByClient = new WeakMap<RedisClient, Map<string, Coalescer<Hit, [number, number]>>>();
function hitsOn(redis: RedisClient, hashTag: string): Coalescer<Hit, [number, number]> {
  if (!(redis instanceof Cluster)) hashTag = '';
  let byTag = hitsByClient.get(redis);
  if (!byTag) {
    defineLuaCommands(redis, SCRIPTS);
    byTag = new Map();
    hitsByClient.set(redis, byTag);
  }
  let hits = byTag.get(hashTag);
  if (!hits) {
    const withScript = redis as RedisClient & WithCapScript;
    hits = new Coalescer(
      async (batch) => {
        const args = batch.flatMap((h) => [h.now, h.max, h.windowMs, h.member]);
        const flat = await withScript.smsqSlidingWindowCaps(batch.length, ...batch.map((h) => h.key), ...args);
        return batch.map((_, i) => ({ ok: true as const, value: [flat[2 * i]!, flat[2 * i + 1]!] }));
      },
      { maxBatch: 256, maxInFlight: 2 },
    );
    byTag.set(hashTag, hits);
  }
  return hits;
}

/** Members only need to be unique per key and millisecond: a per-process prefix and a counter. */
const memberPrefix = randomBytes(6).toString('hex');
let memberSeq = 0;

/** A counted hit can be given back (`release`) when what it was counted for did not happen after all. */
export type CapResult = { allowed: true; release(): Promise<void> } | { allowed: false; retryAfterSeconds: number };

/**
 * "At most `max` per rolling `windowMs`" per subject (a phone number, an API key), in Redis. A refused hit
 * is not counted, so a caller that waits `retryAfterSeconds` gets through.
 */
export class SlidingWindowCap {
  constructor(
    private readonly redis: RedisClient,
    /** e.g. `smsq:cap:recipient`; each subject's key adds its shard's {hash tag} and the subject. */
    private readonly keyPrefix: string,
    private readonly max: number,
    private readonly windowMs: number,
  ) {
    if (keyPrefix.includes('{'))
      throw new Error(`SlidingWindowCap: "${keyPrefix}" has a {hash tag}; the cap adds its own`);
  }

  /** The subject's sorted set of hits, and the {hash tag} of its shard. */
  private place(subject: string): { key: string; tag: string } {
    const tag = `{cap:${crc32(subject) % SHARDS}}`;
    return { key: `${this.keyPrefix}:${tag}:${subject}`, tag };
  }

  keyOf(subject: string): string {
    return this.place(subject).key;
  }

  async hit(subject: string, now = Date.now()): Promise<CapResult> {
    const member = `${now}-${memberPrefix}-${(memberSeq = (memberSeq + 1) % 1e9)}`;
    const { key, tag } = this.place(subject);
    const [allowed, waitMs] = await hitsOn(this.redis, tag).submit({
      key,
      now,
      max: this.max,
      windowMs: this.windowMs,
      member,
    });
    if (allowed !== 1) return { allowed: false, retryAfterSeconds: Math.ceil(waitMs / 1000) };
    return {
      allowed: true,
      release: async () => {
        await this.redis.zrem(key, member);
      },
    };
  }
}
