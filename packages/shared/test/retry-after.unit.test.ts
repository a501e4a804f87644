import { describe, expect, it } from 'vitest';
import { noteRetryAfter, parseRetryAfter, withRetryAfter } from '../src/retry-after.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const CAP_MS = 5 * 60_000;

describe('parseRetryAfter: delay-seconds', () => {
  it.each([
    ['0', 0],
    ['1', 1000],
    ['30', 30_000],
    ['300', CAP_MS],
    ['  7 ', 7000],
    ['007', 7000],
  ])('%j → %i ms', (value, ms) => {
    expect(parseRetryAfter(value, NOW)).toBe(ms);
  });

  it('caps a long delay at five minutes', () => {
    expect(parseRetryAfter('301', NOW)).toBe(CAP_MS);
    expect(parseRetryAfter('86400', NOW)).toBe(CAP_MS);
  });
});

describe('parseRetryAfter: HTTP dates', () => {
  it('is the time from now until the date', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:04:59 GMT', NOW)).toBe(299_000);
  });

  it('caps a far date at five minutes', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 01:00:00 GMT', NOW)).toBe(CAP_MS);
  });

  it('is zero for a date now or in the past', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:00 GMT', NOW)).toBe(0);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', NOW)).toBe(0);
  });

  it('counts from the real clock by default', () => {
    const inOneMinute = new Date(Date.now() + 60_000).toUTCString();
    const ms = parseRetryAfter(inOneMinute)!;
    expect(ms).toBeGreaterThan(55_000);
    expect(ms).toBeLessThanOrEqual(60_000);
  });
});

describe('parseRetryAfter: anything else', () => {
  it.each([undefined, null, 30, ['30'], {}, '', '   ', 'soon', 'NaN', '1e3', 'Thu, 32 Foo 2026', '-5', '1.5', '+5'])(
    'ignores %j',
    (value) => {
      expect(parseRetryAfter(value, NOW)).toBeUndefined();
    },
  );
});

describe('withRetryAfter', () => {
  it('adds the noted Retry-After to the error the call throws', async () => {
    const err = await withRetryAfter(async () => {
      noteRetryAfter('12');
      throw new Error('429');
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ message: '429', retryAfterMs: 12_000 });
  });

  it('leaves an error without a Retry-After alone, and returns a result unchanged', async () => {
    const err = await withRetryAfter(async () => {
      throw new Error('500');
    }).catch((e: unknown) => e);
    expect(err).not.toHaveProperty('retryAfterMs');
    await expect(withRetryAfter(async () => 'ok')).resolves.toBe('ok');
  });

  it('keeps concurrent calls apart', async () => {
    const call = (value: string, delay: number) =>
      withRetryAfter(async () => {
        noteRetryAfter(value);
        await new Promise((r) => setTimeout(r, delay));
        throw new Error(value);
      }).catch((e: unknown) => (e as { retryAfterMs?: number }).retryAfterMs);
    expect(await Promise.all([call('1', 20), call('2', 5)])).toEqual([1000, 2000]);
  });

  it('ignores a note made outside any call', () => {
    expect(() => noteRetryAfter('5')).not.toThrow();
  });
});
