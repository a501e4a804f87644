import { type Config, type Prisma, type PrismaClient } from '@smsq/shared';
import { PrefixWindow } from './prefix-window.js';
import { destinationPrefix } from './prefix.js';
import type { RedisClient } from '@smsq/shared';
import { ApiError, notFound } from '../errors.js';

export type PrefixBlock = Prisma.PrefixBlockModel;

export interface PumpingGuardDeps {
  config: Config;
  prisma: PrismaClient;
  redis: RedisClient;
}

/** A send refused because its range is blocked: 429 `rate_limited`, with what metrics need to know. */
export class PumpingRefusal extends ApiError {
  constructor(
    readonly prefix: string,
    /** This send tripped the block (the first refusal of a new block). */
    readonly tripped: boolean,
    retryAfterMs: number,
  ) {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    super(
      429,
      'rate_limited',
      `OTPs to numbers starting +${prefix} are paused for ${seconds} s: unusual volume (suspected SMS pumping)`,
      'to',
      { 'retry-after': String(seconds) },
    );
  }
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * The SMS-pumping guard (Twilio's Fraud Guard idea): OTP sends are counted per destination prefix, and a
 * prefix whose current window is far above its own recent baseline is blocked for a while, recorded in
 * Postgres with the figures that tripped it. Redis holds the counts and a copy of the blocks in force;
 * Postgres is the record, and restores the copy when Redis lost it. docs/operations.md: "SMS-pumping guard".
 */
export class PumpingGuard {
  private readonly window: PrefixWindow;
  private readonly settings: Config['pumping'];

  constructor(private readonly deps: PumpingGuardDeps) {
    this.settings = deps.config.pumping;
    this.window = new PrefixWindow(deps.redis, deps.config.queuePrefix, this.settings);
  }

  /**
   * Lets one OTP send to `e164` through and counts it, or throws PumpingRefusal when its range is
   * blocked (or becomes blocked by this very send). Answers the give-back of the count, for a request
   * that fails after this point: a caller retrying through a Redis or Postgres blip must not use up its
   * range's budget without one SMS sent.
   */
  async admit(e164: string, now = new Date()): Promise<() => Promise<void>> {
    if (!this.settings.enabled) return async () => undefined;
    const watched = destinationPrefix(e164, this.settings.prefixDigits);
    let result = await this.window.check(e164, watched, this.settings.blockMs, now.getTime());
    if (result.kind === 'fresh') {
      await this.restoreBlocks(now);
      result = await this.window.check(e164, watched, this.settings.blockMs, now.getTime());
    }
    if (result.kind === 'blocked') throw new PumpingRefusal(result.prefix, false, result.retryAfterMs);
    if (result.kind === 'tripped') {
      const block = await this.record(watched, result.observed, result.baseline, now);
      throw new PumpingRefusal(watched, true, block.blockedUntil.getTime() - now.getTime());
    }
    const window = result.kind === 'counted' ? result.window : undefined;
    return async () => {
      if (window !== undefined) await this.window.uncount(watched, window);
    };
  }

  /** Writes the block that just tripped; each block of the prefix in the last 24 h doubles the next one. */
  private async record(prefix: string, observed: number, baseline: number, now: Date): Promise<PrefixBlock> {
    const s = this.settings;
    try {
      const recent = await this.deps.prisma.prefixBlock.count({
        where: { prefix, createdAt: { gt: new Date(now.getTime() - DAY_MS) }, liftedAt: null },
      });
      const ms = Math.min(s.blockMs * 2 ** recent, s.blockMaxMs);
      const windowMin = s.windowMs / 60_000;
      const block = await this.deps.prisma.prefixBlock.create({
        data: {
          prefix,
          reason:
            `suspected SMS pumping: ${observed.toFixed(1)} OTP sends to +${prefix}… in the last ${windowMin} min ` +
            `against a baseline of ${baseline.toFixed(2)} per ${windowMin} min ` +
            `(limits: at least ${s.minSends} sends and over ${s.factor}× the baseline)` +
            (recent > 0 ? `; block ${recent + 1} of this prefix in 24 h` : ''),
          observed: Math.round(observed),
          baseline,
          blockedUntil: new Date(now.getTime() + ms),
          createdAt: now,
        },
      });
      await this.window.block(prefix, block.id.toString(), ms);
      return block;
    } catch (err) {
      // No record, no block: an unrecorded block could be neither seen nor lifted. The next send trips again.
      await this.window.unblock(prefix, 'pending').catch(() => undefined);
      throw err;
    }
  }

  /** After Redis lost the guard's state, the blocks still in force come back from Postgres. */
  private async restoreBlocks(now: Date): Promise<void> {
    const active = await this.deps.prisma.prefixBlock.findMany({
      where: { liftedAt: null, blockedUntil: { gt: now } },
    });
    for (const b of active) {
      await this.window.block(b.prefix, b.id.toString(), b.blockedUntil.getTime() - now.getTime());
    }
  }

  /** An operator's own block of a prefix (a country code, a range), recorded like the guard's. */
  async blockByOperator(prefix: string, seconds: number, reason: string, by: string): Promise<PrefixBlock> {
    const now = new Date();
    const block = await this.deps.prisma.prefixBlock.create({
      data: {
        prefix,
        reason: `blocked by ${by}: ${reason}`,
        observed: 0,
        baseline: 0,
        blockedUntil: new Date(now.getTime() + seconds * 1000),
        createdAt: now,
      },
    });
    await this.window.block(prefix, block.id.toString(), seconds * 1000);
    return block;
  }

  /**
   * Lifts a block: recorded with who lifted it, gone from Redis at once. The prefix then gets a grace
   * period in which its sends are counted but not judged, long enough for its baseline to learn the level
   * that tripped it (baseline windows ÷ factor, + 1): otherwise the very next send would trip it again.
   * Lifting a block that already ended returns it unchanged (`lifted: false`).
   */
  async lift(id: bigint, by: string): Promise<{ block: PrefixBlock; lifted: boolean }> {
    const now = new Date();
    const lifted = await this.deps.prisma.prefixBlock.updateManyAndReturn({
      where: { id, liftedAt: null, blockedUntil: { gt: now } },
      data: { liftedAt: now, liftedBy: by },
    });
    const block = lifted[0] ?? (await this.deps.prisma.prefixBlock.findUnique({ where: { id } }));
    if (!block) throw notFound('block');
    if (lifted.length > 0) {
      await this.window.unblock(block.prefix, block.id.toString());
      const s = this.settings;
      await this.window.grace(block.prefix, (Math.ceil(s.baselineWindows / s.factor) + 1) * s.windowMs);
    }
    return { block, lifted: lifted.length > 0 };
  }

  list(activeOnly: boolean, limit: number): Promise<PrefixBlock[]> {
    const now = new Date();
    return this.deps.prisma.prefixBlock.findMany({
      where: activeOnly ? { liftedAt: null, blockedUntil: { gt: now } } : {},
      orderBy: { id: 'desc' },
      take: limit,
    });
  }
}
