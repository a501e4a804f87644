import type { RedisClient } from '@smsq/shared';
import { defineLuaCommands, luaScript } from '@smsq/shared';

const ACQUIRE = 'smsqRateAcquire';
const SLOW_DOWN = 'smsqRateSlowDown';
const RATES = 'smsqRateShares';
const SCRIPTS = {
  [ACQUIRE]: luaScript(import.meta.url, 'scope-state.lua', 'acquire.lua'),
  [SLOW_DOWN]: luaScript(import.meta.url, 'scope-state.lua', 'slow-down.lua'),
  [RATES]: luaScript(import.meta.url, 'scope-state.lua', 'rates.lua'),
};

/** The scripts as ioredis commands: EVALSHA, falling back to EVAL once per connection when Redis lacks them. */
interface RateCommands {
  [ACQUIRE](numKeys: number, ...args: (string | number)[]): Promise<[number, number, number, number]>;
  [SLOW_DOWN](numKeys: number, ...args: (string | number)[]): Promise<string>;
  [RATES](numKeys: number, ...args: (string | number)[]): Promise<string[]>;
}

/** A slowed scope never drops below this share of its configured rate. */
const LOWEST_FACTOR = 1 / 16;
/** Refusals within this long of a slow-down are the same burst and do not halve the rate again. */
const SLOW_DOWN_COOLDOWN_MS = 1000;

export type RateScope = 'sender' | 'account';

export interface SendRateOptions {
  /** QUEUE_PREFIX: the limiter's keys live beside the queues'. */
  prefix: string;
  /** Segments per second of a sender without an override. */
  senderMps: number;
  /** Per-sender rates (phone number, short code or Messaging Service SID → MPS). */
  senderMpsOverrides: ReadonlyMap<string, number>;
  /** Segments per second over all senders, if the account has a limit of its own. */
  accountMps: number | undefined;
  /** Time a slowed scope takes to climb back to its full rate. */
  recoveryMs: number;
}

export interface SlotRequest {
  sender: string;
  /** What the message costs: Twilio counts throughput in segments. */
  segments: number;
  /** 1 is the most urgent (CATEGORY_PRIORITY). */
  priority: number;
  /** The send was parked before: it takes its turn rather than queueing behind other parked sends. */
  woken: boolean;
  /** Epoch ms after which the message is no longer worth sending: a later wake-up is not booked. */
  deadline?: number;
  /** The clock to count on (tests); by default Redis's own, so workers on several machines agree. */
  now?: number;
}

/** Granted: send after `waitMs` (at most a few slots). Refused: come back after `waitMs`. */
export interface Slot {
  granted: boolean;
  waitMs: number;
  /**
   * When the slot (granted) or the wake-up (refused) has certainly come, on this process's clock (or the
   * given one): `waitMs` after the reply arrived.
   */
  at: number;
  /**
   * The earliest the slot may be: `waitMs` after the request left. Redis counted `waitMs` from some
   * moment in between, so a slow reply (a busy Redis or worker) leaves the send up to `at - earliestAt`
   * behind its slot; judging lateness from here sees that.
   */
  earliestAt: number;
  /** The limit that decided the wait. */
  scope: RateScope;
  /** The time this send takes up at the binding rate (segments × interval), in whole ms. */
  spacingMs: number;
}

export interface ScopeRate {
  /** Configured segments per second. */
  limit: number;
  /** The rate in force now, after any slow-down. */
  effective: number;
}

/**
 * Messages-per-second limits per sender and per account, held in Redis so they bind all worker processes
 * together. Pacing, not dropping: a refused send learns when to come back (see acquire.lua). One Redis
 * round trip per send.
 */
export class SendRateLimiter {
  private readonly redis: RedisClient & RateCommands;

  constructor(
    redis: RedisClient,
    private readonly opts: SendRateOptions,
  ) {
    defineLuaCommands(redis, SCRIPTS);
    this.redis = redis as RedisClient & RateCommands;
  }

  /** The configured rate of one sender. */
  senderMps(sender: string): number {
    return this.opts.senderMpsOverrides.get(sender) ?? this.opts.senderMps;
  }

  private senderKey(sender: string): string {
    // One hash tag for every limiter key: a script's keys must share a Redis Cluster slot.
    return `${this.opts.prefix}:{rate}:sender:${sender}`;
  }

  private get accountKey(): string {
    return `${this.opts.prefix}:{rate}:account`;
  }

  async acquire(req: SlotRequest): Promise<Slot> {
    const keys = [this.senderKey(req.sender)];
    const rates = [this.senderMps(req.sender)];
    if (this.opts.accountMps !== undefined) {
      keys.push(this.accountKey);
      rates.push(this.opts.accountMps);
    }
    const asked = Date.now();
    const [granted, waitMs, binding, spacingMs] = await this.redis[ACQUIRE](
      keys.length,
      ...keys,
      req.now ?? 0,
      Math.max(1, req.segments),
      req.priority,
      req.woken ? 1 : 0,
      req.deadline ?? 0,
      this.opts.recoveryMs,
      ...rates,
    );
    return {
      granted: granted === 1,
      waitMs,
      at: (req.now ?? Date.now()) + waitMs,
      earliestAt: (req.now ?? asked) + waitMs,
      scope: binding === 2 ? 'account' : 'sender',
      spacingMs,
    };
  }

  /**
   * Twilio refused for speed: halve the rate of the sender (and of the account, when the refusal was
   * about the account and it has a limit), send nothing there before `retryAfterMs`, then recover.
   * Returns the sender's new share of its configured rate.
   */
  async slowDown(sender: string, scope: RateScope, retryAfterMs: number, now?: number): Promise<number> {
    const keys = [this.senderKey(sender)];
    if (scope === 'account' && this.opts.accountMps !== undefined) keys.push(this.accountKey);
    const factor = await this.redis[SLOW_DOWN](
      keys.length,
      ...keys,
      now ?? 0,
      Math.max(0, retryAfterMs),
      this.opts.recoveryMs,
      LOWEST_FACTOR,
      SLOW_DOWN_COOLDOWN_MS,
    );
    return Number(factor);
  }

  /** The rates in force, for metrics: one round trip for all the senders (and the account). */
  async rates(
    senders: readonly string[],
    now?: number,
  ): Promise<{ senders: Map<string, ScopeRate>; account?: ScopeRate }> {
    const keys = senders.map((s) => this.senderKey(s));
    const limits = senders.map((s) => this.senderMps(s));
    if (this.opts.accountMps !== undefined) {
      keys.push(this.accountKey);
      limits.push(this.opts.accountMps);
    }
    const shares = await this.redis[RATES](keys.length, ...keys, now ?? 0, this.opts.recoveryMs);
    const rate = (i: number): ScopeRate => ({ limit: limits[i]!, effective: limits[i]! * Number(shares[i]) });
    const result = new Map(senders.map((s, i) => [s, rate(i)]));
    return this.opts.accountMps === undefined
      ? { senders: result }
      : { senders: result, account: rate(senders.length) };
  }
}
