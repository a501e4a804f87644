import type { RedisClient } from '@smsq/shared';
import { defineLuaCommands, luaScript } from '@smsq/shared';
import { allPrefixes } from './prefix.js';

const SCRIPTS = {
  smsqPumpingCheck: luaScript(import.meta.url, 'prefix-window.lua'),
  smsqPumpingUncount: luaScript(import.meta.url, 'uncount.lua'),
};
interface PumpingCommands {
  smsqPumpingCheck(numKeys: number, ...keysThenArgs: (string | number)[]): Promise<string[]>;
  smsqPumpingUncount(numKeys: number, ...keysThenArgs: (string | number)[]): Promise<number>;
}

export interface PrefixWindowSettings {
  windowMs: number;
  baselineWindows: number;
  factor: number;
  minSends: number;
  learningWindows: number;
}

export type PrefixWindowResult =
  | { kind: 'blocked'; prefix: string; retryAfterMs: number; holder: string }
  | { kind: 'fresh' }
  | { kind: 'tripped'; observed: number; baseline: number }
  | { kind: 'counted'; observed: number; baseline: number; window: number };

/**
 * The Redis side of the SMS-pumping guard: OTP sends counted per destination prefix in time windows, the
 * current window judged against the prefix's own baseline, and the blocks that refuse a number. Every
 * key carries the `{pump}` hash tag, so one script sees them all on a Redis Cluster too.
 */
export class PrefixWindow {
  private readonly redis: RedisClient & PumpingCommands;

  constructor(
    redis: RedisClient,
    /** e.g. `smsq`; keys are `smsq:{pump}:…`. */
    queuePrefix: string,
    private readonly settings: PrefixWindowSettings,
  ) {
    this.base = `${queuePrefix}:{pump}`;
    defineLuaCommands(redis, SCRIPTS);
    this.redis = redis as RedisClient & PumpingCommands;
  }

  private readonly base: string;

  blockKey(prefix: string): string {
    return `${this.base}:block:${prefix}`;
  }

  /**
   * Refuses the number if any leading part of it is blocked; otherwise counts one send towards
   * `watchedPrefix` (a leading part of it), unless that send makes the prefix abnormal: then the
   * prefix is blocked for `blockMs` (holder "pending", for the caller to replace with its record).
   */
  async check(e164: string, watchedPrefix: string, blockMs: number, now = Date.now()): Promise<PrefixWindowResult> {
    const prefixes = allPrefixes(e164);
    const s = this.settings;
    const reply = await this.redis.smsqPumpingCheck(
      3 + prefixes.length,
      `${this.base}:since`,
      this.countsKey(watchedPrefix),
      `${this.base}:grace:${watchedPrefix}`,
      ...prefixes.map((p) => this.blockKey(p)),
      now,
      s.windowMs,
      s.baselineWindows,
      s.factor,
      s.minSends,
      s.learningWindows,
      blockMs,
      3 + watchedPrefix.length,
    );
    switch (reply[0]) {
      case 'blocked':
        return {
          kind: 'blocked',
          prefix: prefixes[Number(reply[1]) - 1]!,
          retryAfterMs: Number(reply[2]),
          holder: reply[3]!,
        };
      case 'fresh':
        return { kind: 'fresh' };
      case 'tripped':
        return { kind: 'tripped', observed: Number(reply[1]), baseline: Number(reply[2]) };
      default:
        return { kind: 'counted', observed: Number(reply[1]), baseline: Number(reply[2]), window: Number(reply[3]) };
    }
  }

  private countsKey(prefix: string): string {
    return `${this.base}:n:${prefix}`;
  }

  /** Gives back a send that `check` counted in `window` towards `prefix` (its request failed later). */
  async uncount(prefix: string, window: number): Promise<void> {
    await this.redis.smsqPumpingUncount(1, this.countsKey(prefix), window);
  }

  /** Blocks numbers starting with `prefix` for `ms`; `holder` names the block (its record's id). */
  async block(prefix: string, holder: string, ms: number): Promise<void> {
    await this.redis.set(this.blockKey(prefix), holder, 'PX', Math.max(1, Math.round(ms)));
  }

  /** Ends the block `holder` on `prefix`, if that block is still the one in force. */
  async unblock(prefix: string, holder: string): Promise<void> {
    const key = this.blockKey(prefix);
    if ((await this.redis.get(key)) === holder) await this.redis.del(key);
  }

  /** Counts sends towards `prefix` without judging them for `ms` (after an operator lifted a block). */
  async grace(prefix: string, ms: number): Promise<void> {
    await this.redis.set(`${this.base}:grace:${prefix}`, '1', 'PX', Math.max(1, Math.round(ms)));
  }
}
