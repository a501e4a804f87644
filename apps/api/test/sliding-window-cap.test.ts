import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { SlidingWindowCap } from '../src/caps/sliding-window-cap.js';

const redis = new Redis(inject('redisUrl'));
const prefix = `t${randomBytes(5).toString('hex')}:cap`;
afterAll(() => redis.quit());

describe('SlidingWindowCap', () => {
  it('counts up to the cap, then refuses with the time until the oldest hit leaves the window', async () => {
    const cap = new SlidingWindowCap(redis, prefix, 3, 60_000);
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) expect(await cap.hit('+14155550100', t0 + i * 1000)).toMatchObject({ allowed: true });
    expect(await cap.hit('+14155550100', t0 + 10_000)).toEqual({ allowed: false, retryAfterSeconds: 50 });
    // Another subject has its own window.
    expect(await cap.hit('+14155550101', t0 + 10_000)).toMatchObject({ allowed: true });
    // Once the first hit is older than the window, one more gets through; refused hits were not counted.
    expect(await cap.hit('+14155550100', t0 + 60_001)).toMatchObject({ allowed: true });
    expect((await cap.hit('+14155550100', t0 + 60_002)).allowed).toBe(false);
  });

  it('holds under concurrent hits: exactly max get through', async () => {
    const cap = new SlidingWindowCap(redis, prefix, 10, 60_000);
    const results = await Promise.all(Array.from({ length: 50 }, () => cap.hit('+14155550199')));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
  });

  it('counts hits of different caps made at once (one script call) each against its own limit', async () => {
    const strict = new SlidingWindowCap(redis, `${prefix}:strict`, 1, 60_000);
    const loose = new SlidingWindowCap(redis, `${prefix}:loose`, 3, 1_000);
    const t0 = 2_000_000;
    const results = await Promise.all([
      ...Array.from({ length: 4 }, () => strict.hit('+14155550155', t0)),
      ...Array.from({ length: 4 }, () => loose.hit('+14155550155', t0)),
      loose.hit('+14155550156', t0),
    ]);
    expect(results.map((r) => r.allowed)).toEqual([true, false, false, false, true, true, true, false, true]);
    expect(results[1]).toEqual({ allowed: false, retryAfterSeconds: 60 });
    expect(results[7]).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  it('spreads its subjects over {hash tags}, and takes no tag of its own in the prefix', () => {
    const cap = new SlidingWindowCap(redis, 'smsq:cap:recipient', 1, 1000);
    const tags = new Set(
      Array.from({ length: 200 }, (_, i) => /\{[^}]+\}/.exec(cap.keyOf(`+1415555${1000 + i}`))?.[0]),
    );
    expect(tags.size).toBeGreaterThan(32);
    expect(() => new SlidingWindowCap(redis, 'smsq:{cap}:recipient', 1, 1000)).toThrow(/hash tag/);
  });

  it('gives a counted hit back on release', async () => {
    const cap = new SlidingWindowCap(redis, prefix, 1, 60_000);
    const first = await cap.hit('+14155550177');
    expect(first.allowed).toBe(true);
    expect((await cap.hit('+14155550177')).allowed).toBe(false);
    if (first.allowed) await first.release();
    expect((await cap.hit('+14155550177')).allowed).toBe(true);
  });
});
