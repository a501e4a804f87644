import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

const script = readFileSync(new URL('./sliding-window.lua', import.meta.url), 'utf8');

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
    const member = `${now}-${randomBytes(6).toString('hex')}`;
    const [allowed, waitMs] = (await this.redis.eval(
      script,
      1,
      `${this.keyPrefix}:${subject}`,
      now,
      this.max,
      this.windowMs,
      member,
    )) as [number, number];
    return allowed === 1 ? { allowed: true } : { allowed: false, retryAfterSeconds: Math.ceil(waitMs / 1000) };
  }
}
