import type { RedisClient } from '@smsq/shared';
import { defineLuaCommands, luaScript } from '@smsq/shared';
import { ApiError } from '../errors.js';

const SCRIPTS = { smsqDailyBudget: luaScript(import.meta.url, 'daily-budget.lua') };
interface BudgetCommands {
  smsqDailyBudget(numKeys: number, key: string, n: number, limit: number, keepMs: number): Promise<[number, number]>;
}

const DAY_MS = 86_400_000;
/** A day's counter outlives its day, so a late give-back still finds it. */
const KEEP_MS = 2 * DAY_MS;
/** The share of a budget past which a warning is logged. */
const BUDGET_WARN_SHARE = 0.8;

/** The UTC day of `now` as the counter's name, and the ms left until the next UTC midnight. */
function utcDay(now: number): { day: string; msToMidnight: number } {
  const start = Math.floor(now / DAY_MS) * DAY_MS;
  return { day: new Date(start).toISOString().slice(0, 10), msToMidnight: start + DAY_MS - now };
}

class BudgetExceeded extends ApiError {
  constructor(limit: number, msToMidnight: number) {
    super(
      429,
      'budget_exceeded',
      `this service has used its ${limit} segments for today (UTC); the budget starts afresh at midnight UTC`,
      undefined,
      { 'retry-after': String(Math.max(1, Math.ceil(msToMidnight / 1000))) },
    );
  }
}

export interface BudgetHit {
  release(): Promise<void>;
}

/**
 * A service's daily budget in segments (a cost ceiling: OTPs count too), counted in Redis at admission
 * and given back when the message is refused later, as the caps are. Keys `<prefix>:budget:<service>:<day>`: one key a call,
 * so no {hash tag}, and the services' keys spread over a Redis Cluster's masters.
 */
export class DailyBudget {
  private readonly redis: RedisClient & BudgetCommands;
  /** Told once per crossing when a service passes BUDGET_WARN_SHARE of its budget (buildApp logs it). */
  onWarning: (service: string, used: number, limit: number) => void = () => undefined;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
  ) {
    defineLuaCommands(redis, SCRIPTS);
    this.redis = redis as RedisClient & BudgetCommands;
  }

  private key(serviceId: string, day: string): string {
    return `${this.prefix}:budget:${serviceId}:${day}`;
  }

  /** Counts `segments` against today's budget, or throws BudgetExceeded (nothing counted). */
  async take(
    service: { id: string; name: string },
    limit: number,
    segments: number,
    now = Date.now(),
  ): Promise<BudgetHit> {
    const { day, msToMidnight } = utcDay(now);
    const key = this.key(service.id, day);
    const [ok, used] = await this.redis.smsqDailyBudget(1, key, segments, limit, KEEP_MS);
    if (ok !== 1) throw new BudgetExceeded(limit, msToMidnight);
    const warnAt = BUDGET_WARN_SHARE * limit;
    if (used >= warnAt && used - segments < warnAt) this.onWarning(service.name, used, limit);
    return {
      release: async () => {
        await this.redis.decrby(key, segments);
      },
    };
  }

  /** Segments used today (metrics). */
  async used(serviceId: string, now = Date.now()): Promise<number> {
    return Number((await this.redis.get(this.key(serviceId, utcDay(now).day))) ?? 0);
  }
}
