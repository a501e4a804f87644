import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

const script = readFileSync(new URL('./sliding-window.lua', import.meta.url), 'utf8');

/** Loaded once per Redis client and then called by SHA (EVALSHA): the script is not resent per hit. */
interface WithCapScript {
  smsqSlidingWindowCap(
    key: string,
    now: number,
    max: number,
    windowMs: number,
    member: string,
  ): Promise<[number, number]>;
}
function withScript(redis: Redis): Redis & WithCapScript {
  if (!('smsqSlidingWindowCap' in redis)) redis.defineCommand('smsqSlidingWindowCap', { numberOfKeys: 1, lua: script });
  return redis as Redis & WithCapScript;
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
    private readonly redis: Redis,
    /** Full key prefix, e.g. `smsq:cap:recipient`. */
    private readonly keyPrefix: string,
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  async hit(subject: string, now = Date.now()): Promise<CapResult> {
    const member = `${now}-${memberPrefix}-${(memberSeq = (memberSeq + 1) % 1e9)}`;
    const key = `${this.keyPrefix}:${subject}`;
    const [allowed, waitMs] = await withScript(this.redis).smsqSlidingWindowCap(
      key,
      now,
      this.max,
      this.windowMs,
      member,
    );
    if (allowed !== 1) return { allowed: false, retryAfterSeconds: Math.ceil(waitMs / 1000) };
    return {
      allowed: true,
      release: async () => {
        await this.redis.zrem(key, member);
      },
    };
  }
}
