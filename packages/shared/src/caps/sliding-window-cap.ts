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

export type CapResult = { allowed: true } | { allowed: false; retryAfterSeconds: number };

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
    const [allowed, waitMs] = await withScript(this.redis).smsqSlidingWindowCap(
      `${this.keyPrefix}:${subject}`,
      now,
      this.max,
      this.windowMs,
      member,
    );
    return allowed === 1 ? { allowed: true } : { allowed: false, retryAfterSeconds: Math.ceil(waitMs / 1000) };
  }
}
