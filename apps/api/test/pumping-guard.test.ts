import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConfigError, createRedis, loadConfig, type RedisClient } from '@smsq/shared';
import { PrefixWindow, type PrefixWindowResult } from '../src/pumping/prefix-window.js';
import { destinationPrefix } from '../src/pumping/prefix.js';
import { PumpingGuard } from '../src/pumping/guard.js';
import { AUTH, keysMatching, startStack, type Stack } from '../../../test/stack.js';

const W = 600_000;

describe('destination prefixes', () => {
  it('are the country calling code and the first national digits', () => {
    expect(destinationPrefix('+14155552671', 3)).toBe('1415');
    expect(destinationPrefix('+23276123456', 3)).toBe('232761');
    expect(destinationPrefix('+447911123456', 2)).toBe('4479');
  });
});

describe('PrefixWindow (Redis, explicit clock)', () => {
  let redis: RedisClient;
  beforeAll(() => {
    redis = createRedis(inject('redisUrl'), 'producer');
  });
  afterAll(() => redis.disconnect());

  const fresh = (over: Partial<ConstructorParameters<typeof PrefixWindow>[2]> = {}) =>
    new PrefixWindow(redis, `t${randomBytes(5).toString('hex')}`, {
      windowMs: W,
      baselineWindows: 6,
      factor: 10,
      minSends: 5,
      learningWindows: 1,
      ...over,
    });
  const sf = { number: (i: number) => `+1415555${String(i).padStart(4, '0')}`, prefix: '1415' };
  const sl = { number: (i: number) => `+232761${String(i).padStart(5, '0')}`, prefix: '23276' };
  /** Sends to numbers of one range until one is not counted: how many were, and the answer that was not. */
  async function sendUntilRefused(pw: PrefixWindow, at: number, limit = 500, range = sf) {
    for (let i = 0; i < limit; i++) {
      const r = await pw.check(range.number(i), range.prefix, 3_600_000, at);
      if (r.kind !== 'counted') return { counted: i, result: r };
    }
    return { counted: limit, result: undefined };
  }

  const S = 29_000_000; // a window number: the guard starts counting in window S
  const at = (window: number, fraction = 0.01) => (S + window) * W + fraction * W;

  it('learns first, then judges a window against the mean of the complete windows before it', async () => {
    const pw = fresh();
    expect(await pw.check('+14155550000', '1415', 3_600_000, at(0))).toEqual({ kind: 'fresh' });
    // Windows 0 and 1 are learning (window 0 is partial): 60 sends go through although far above the floor.
    expect((await sendUntilRefused(pw, at(0), 60)).counted).toBe(60);
    expect((await sendUntilRefused(pw, at(1), 5)).counted).toBe(5);
    // Steady traffic of 5 per window.
    for (let w = 2; w <= 6; w++) expect((await sendUntilRefused(pw, at(w), 5)).counted).toBe(5);
    // Halfway through window 7: baseline = mean of windows 1–6 = 5; observed = this window's sends + half
    // of window 6's 5. The guard trips once observed > 10 × 5, i.e. at this window's 48th send.
    const { counted, result } = await sendUntilRefused(pw, at(7, 0.5));
    expect(counted).toBe(47);
    expect(result).toEqual({ kind: 'tripped', observed: 50.5, baseline: 5 });
    const next = (await pw.check('+12125550100', '1212', 3_600_000, at(7, 0.5))) as PrefixWindowResult;
    expect(next.kind).toBe('counted'); // another prefix is untouched
    const blocked = await pw.check('+14155559876', '1415', 3_600_000, at(7, 0.5));
    expect(blocked).toMatchObject({ kind: 'blocked', prefix: '1415', holder: 'pending' });
    expect((blocked as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(3_500_000);
  });

  it('blocks a new prefix only at the absolute floor, and a blocked shorter prefix covers longer ones', async () => {
    const pw = fresh({ learningWindows: 0 });
    await pw.check('+23276000000', '23276', 60_000, at(0));
    const { counted, result } = await sendUntilRefused(pw, at(0), 100, sl);
    expect(counted).toBe(4); // minSends 5: the fifth send to a prefix with no history trips it
    expect(result).toEqual({ kind: 'tripped', observed: 5, baseline: 0 });

    await pw.block('33', '42', 60_000);
    const fr = await pw.check('+33612345678', '336123', 60_000, at(0));
    expect(fr).toMatchObject({ kind: 'blocked', prefix: '33', holder: '42' });
    await pw.unblock('33', 'someone-else');
    expect((await pw.check('+33612345678', '336123', 60_000, at(0))).kind).toBe('blocked');
    await pw.unblock('33', '42');
    expect((await pw.check('+33612345678', '336123', 60_000, at(0))).kind).toBe('counted');
  });

  it('counts but never blocks a prefix in grace', async () => {
    const pw = fresh({ learningWindows: 0 });
    await pw.check('+14155550000', '1415', 60_000, at(0));
    await pw.grace('1415', 60_000);
    expect((await sendUntilRefused(pw, at(0), 50)).counted).toBe(50);
  });
});

describe('the guard on POST /v1/otp, and the operator endpoints', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      withWorkers: false,
      env: { PUMPING_LEARNING_WINDOWS: '0', PUMPING_MIN_SENDS: '8', PUMPING_BLOCK_SECONDS: '3600' },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const sendOtp = (to: string) =>
    stack.api.inject({ method: 'POST', url: '/v1/otp', headers: AUTH, payload: { to, purpose: 'login' } });
  const admin = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
    stack.api.inject({ method, url: `/v1/admin/blocks${url}`, headers: AUTH, ...(payload ? { payload } : {}) });
  const metric = async (series: string) => {
    const text = (await stack.api.inject({ method: 'GET', url: '/metrics' })).body;
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line ? Number(line.split(' ')[1]) : 0;
  };
  let seq = 0;
  const sf = (n = seq++) => `+1415555${String(2000 + n).padStart(4, '0')}`;
  const nyc = (n: number) => `+1212555${String(3000 + n).padStart(4, '0')}`;

  it('trips on a burst towards one prefix, records why, and leaves other prefixes alone', async () => {
    for (let i = 0; i < 7; i++) expect((await sendOtp(sf())).statusCode).toBe(202);
    const otps = await stack.prisma.otp.count();
    const tripped = await sendOtp(sf());
    expect(tripped.statusCode).toBe(429);
    expect(tripped.json().error).toMatchObject({ code: 'rate_limited', field: 'to' });
    expect(tripped.json().error.message).toContain('+1415');
    expect(Number(tripped.headers['retry-after'])).toBe(3600);
    const later = await sendOtp(sf());
    expect(later.statusCode).toBe(429);
    expect(Number(later.headers['retry-after'])).toBeGreaterThan(3500);
    expect(await stack.prisma.otp.count()).toBe(otps); // refused sends record nothing
    expect((await sendOtp(nyc(0))).statusCode).toBe(202);

    const [block] = await stack.prisma.prefixBlock.findMany();
    expect(block).toMatchObject({ prefix: '1415', observed: 8, baseline: 0, liftedAt: null });
    expect(block!.reason).toMatch(/^suspected SMS pumping: 8\.0 OTP sends to \+1415… in the last 10 min/);
    expect(block!.reason).toContain('at least 8 sends and over 10× the baseline');
    expect(block!.blockedUntil.getTime() - block!.createdAt.getTime()).toBe(3_600_000);

    expect(await metric('smsq_pumping_blocks_total{prefix="1415",by="guard"}')).toBe(1);
    expect(await metric('smsq_pumping_refusals_total{prefix="1415"}')).toBe(2);

    const listed = await admin('GET', '?active=true');
    expect(listed.statusCode).toBe(200);
    expect(listed.json().blocks).toEqual([
      expect.objectContaining({ id: block!.id.toString(), prefix: '1415', active: true, observed: 8, liftedBy: null }),
    ]);
  });

  it('lets an operator lift a block: recorded, and the prefix works again at once', async () => {
    const block = await stack.prisma.prefixBlock.findFirstOrThrow({ where: { prefix: '1415' } });
    const res = await admin('DELETE', `/${block.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: block.id.toString(), active: false, liftedBy: 'tests' });
    const row = await stack.prisma.prefixBlock.findUniqueOrThrow({ where: { id: block.id } });
    expect(row.liftedAt).not.toBeNull();
    // Grace: the level that tripped it is now taken as normal while the baseline learns it.
    for (let i = 0; i < 12; i++) expect((await sendOtp(sf())).statusCode).toBe(202);
    const again = await admin('DELETE', `/${block.id}`);
    expect(again.json().liftedAt).toBe(row.liftedAt!.toISOString());
    expect((await admin('GET', '?active=true')).json().blocks).toEqual([]);
    expect((await admin('GET', '')).json().blocks).toHaveLength(1);
  });

  it('keeps a block when Redis loses the guard state, and doubles a repeated block', async () => {
    for (let i = 1; i < 7; i++) expect((await sendOtp(nyc(i))).statusCode).toBe(202);
    expect((await sendOtp(nyc(7))).statusCode).toBe(429);
    const first = await stack.prisma.prefixBlock.findFirstOrThrow({ where: { prefix: '1212' } });

    const keys = await keysMatching(stack.apiDeps.redis, `${stack.config.queuePrefix}:{pump}:*`);
    expect(keys.length).toBeGreaterThan(0);
    await stack.apiDeps.redis.del(...keys);
    const afterLoss = await sendOtp(nyc(9));
    expect(afterLoss.statusCode).toBe(429);
    expect(Number(afterLoss.headers['retry-after'])).toBeGreaterThan(3500);

    // The first block runs out; the burst goes on, so the prefix trips again, for twice as long.
    await stack.prisma.prefixBlock.update({ where: { id: first.id }, data: { blockedUntil: new Date() } });
    await stack.apiDeps.redis.del(`${stack.config.queuePrefix}:{pump}:block:1212`);
    for (let i = 10; i < 17; i++) await sendOtp(nyc(i));
    expect((await sendOtp(nyc(17))).statusCode).toBe(429);
    const second = await stack.prisma.prefixBlock.findFirstOrThrow({ where: { prefix: '1212', id: { gt: first.id } } });
    expect(second.blockedUntil.getTime() - second.createdAt.getTime()).toBe(7_200_000);
    expect(second.reason).toContain('block 2 of this prefix in 24 h');
  });

  it('lets an operator block a whole country code', async () => {
    const res = await admin('POST', '', { prefix: '+232', seconds: 600, reason: 'no customers in Sierra Leone' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      prefix: '232',
      reason: 'blocked by tests: no customers in Sierra Leone',
      active: true,
      observed: 0,
    });
    const refused = await sendOtp('+23276123456');
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(600);
    expect(await metric('smsq_pumping_blocks_total{prefix="232",by="operator"}')).toBe(1);
    expect(await metric('smsq_pumping_refusals_total{prefix="232"}')).toBe(1);
  });

  const bad: [string, 'GET' | 'POST' | 'DELETE', string, object | undefined, number, string][] = [
    ['a prefix with letters', 'POST', '', { prefix: '23a', seconds: 600, reason: 'x' }, 400, 'prefix'],
    ['a prefix of 16 digits', 'POST', '', { prefix: '1'.repeat(16), seconds: 600, reason: 'x' }, 400, 'prefix'],
    ['a block under a minute', 'POST', '', { prefix: '232', seconds: 59, reason: 'x' }, 400, 'seconds'],
    ['no reason', 'POST', '', { prefix: '232', seconds: 600 }, 400, 'reason'],
    ['a limit of 0', 'GET', '?limit=0', undefined, 400, 'limit'],
    ['active=maybe', 'GET', '?active=maybe', undefined, 400, 'active'],
    ['a block id that is not a number', 'DELETE', '/abc', undefined, 400, 'id'],
  ];
  it.each(bad)('refuses %s', async (_name, method, url, payload, status, field) => {
    const res = await admin(method, url, payload);
    expect(res.statusCode).toBe(status);
    expect(res.json().error).toMatchObject({ code: 'validation_failed', field });
  });

  it('answers 404 for an unknown block and 401 without a key', async () => {
    expect((await admin('DELETE', '/987654')).json().error.code).toBe('not_found');
    expect((await stack.api.inject({ method: 'GET', url: '/v1/admin/blocks' })).statusCode).toBe(401);
  });

  it('does nothing when switched off', async () => {
    const guard = new PumpingGuard({
      ...stack.apiDeps,
      config: { ...stack.config, pumping: { ...stack.config.pumping, enabled: false } },
    });
    for (let i = 0; i < 20; i++) await guard.admit(`+1617555${String(1000 + i)}`);
    expect(await stack.prisma.prefixBlock.count({ where: { prefix: '1617' } })).toBe(0);
  });
});

describe('guard and OTP settings', () => {
  it('have defaults and are validated', () => {
    const c = loadConfig({});
    expect(c.pumping).toEqual({
      enabled: true,
      prefixDigits: 3,
      windowMs: 600_000,
      baselineWindows: 144,
      factor: 10,
      minSends: 20,
      learningWindows: 1,
      blockMs: 3_600_000,
      blockMaxMs: 43_200_000,
    });
    expect([c.otpTtlSeconds, c.otpMaxAttempts]).toEqual([600, 5]);
    const bad: [string, Record<string, string>][] = [
      ['PUMPING_BLOCK_MAX_SECONDS', { PUMPING_BLOCK_SECONDS: '7200', PUMPING_BLOCK_MAX_SECONDS: '3600' }],
      ['PUMPING_FACTOR', { PUMPING_FACTOR: '1' }],
      ['PUMPING_MIN_SENDS', { PUMPING_MIN_SENDS: '1' }],
      ['PUMPING_PREFIX_DIGITS', { PUMPING_PREFIX_DIGITS: '7' }],
      ['PUMPING_GUARD', { PUMPING_GUARD: 'maybe' }],
      ['OTP_SECRET', { OTP_SECRET: 'short' }],
      ['OTP_TTL_SECONDS', { OTP_TTL_SECONDS: '30' }],
      ['OTP_MAX_ATTEMPTS', { OTP_MAX_ATTEMPTS: '0' }],
    ];
    for (const [variable, env] of bad) {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(new RegExp(`^${variable} `));
    }
  });
});
