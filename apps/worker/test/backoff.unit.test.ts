import { afterEach, describe, expect, it, vi } from 'vitest';
import { fullJitterBackoff } from '../src/send/backoff.js';

/** The largest value Math.random can return. */
const ALMOST_ONE = 1 - Number.EPSILON / 2;

describe('fullJitterBackoff', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each([
    [0, 1000], // before any attempt: the base
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [6, 32_000],
    [7, 60_000], // 64 s would exceed the cap
    [50, 60_000],
    [5000, 60_000], // 2^4999 is Infinity: still the cap
  ])('after %i attempts waits up to %i ms by default', (attempts, ceiling) => {
    const random = vi.spyOn(Math, 'random');
    random.mockReturnValue(0);
    expect(fullJitterBackoff(attempts)).toBe(0);
    random.mockReturnValue(ALMOST_ONE);
    expect(fullJitterBackoff(attempts)).toBe(ceiling - 1);
    random.mockReturnValue(0.5);
    expect(fullJitterBackoff(attempts)).toBe(ceiling / 2);
  });

  it('scales with the base and stops at the cap given', () => {
    vi.spyOn(Math, 'random').mockReturnValue(ALMOST_ONE);
    expect(fullJitterBackoff(1, 250, 10_000)).toBe(249);
    expect(fullJitterBackoff(4, 250, 10_000)).toBe(1999);
    expect(fullJitterBackoff(10, 250, 10_000)).toBe(9999);
    expect(fullJitterBackoff(3, 1000, 500)).toBe(499); // a cap below the base wins
  });

  it('treats negative attempt counts as none', () => {
    vi.spyOn(Math, 'random').mockReturnValue(ALMOST_ONE);
    expect(fullJitterBackoff(-3)).toBe(999);
  });

  it('returns whole milliseconds within [0, ceiling) from the real random source', () => {
    const samples = Array.from({ length: 2000 }, () => fullJitterBackoff(3));
    for (const ms of samples) {
      expect(Number.isInteger(ms)).toBe(true);
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(4000);
    }
    // Full jitter spreads retries over the whole range rather than bunching them at the ceiling.
    expect(samples.filter((ms) => ms < 1000).length).toBeGreaterThan(300);
    expect(samples.filter((ms) => ms >= 3000).length).toBeGreaterThan(300);
  });

  it('never waits when the cap is zero', () => {
    expect(fullJitterBackoff(5, 1000, 0)).toBe(0);
  });
});
