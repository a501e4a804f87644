import { describe, expect, it } from 'vitest';
import { Coalescer, oneCallOrEach } from '../src/coalescer.js';

/** A flush that records each batch it got and takes a turn of the event loop, like a round trip. */
function recordingFlush() {
  const batches: number[][] = [];
  const flush = async (items: number[]) => {
    batches.push(items);
    await new Promise((r) => setTimeout(r, 5));
    return items.map((n) => ({ ok: true as const, value: n * 10 }));
  };
  return { batches, flush };
}

describe('Coalescer', () => {
  it('runs a lone call on its own, without waiting for company', async () => {
    const { batches, flush } = recordingFlush();
    const c = new Coalescer(flush, { maxBatch: 10 });
    await expect(c.submit(1)).resolves.toBe(10);
    expect(batches).toEqual([[1]]);
  });

  it('gathers the calls made while a flush runs into the next one, in order and up to maxBatch', async () => {
    const { batches, flush } = recordingFlush();
    const c = new Coalescer(flush, { maxBatch: 3 });
    const first = c.submit(0);
    await new Promise((r) => setImmediate(r)); // the first flush is now running
    const rest = [1, 2, 3, 4, 5].map((n) => c.submit(n));
    expect(await Promise.all([first, ...rest])).toEqual([0, 10, 20, 30, 40, 50]);
    expect(batches).toEqual([[0], [1, 2, 3], [4, 5]]);
  });

  it('runs up to maxInFlight flushes at once', async () => {
    let running = 0;
    let most = 0;
    const c = new Coalescer(
      async (items: number[]) => {
        running += 1;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 5));
        running -= 1;
        return items.map((value) => ({ ok: true as const, value }));
      },
      { maxBatch: 1, maxInFlight: 2 },
    );
    await Promise.all([1, 2, 3, 4].map((n) => c.submit(n)));
    expect(most).toBe(2);
  });

  it('fails only the items whose outcome is an error, and every item when the flush throws', async () => {
    const c = new Coalescer(
      async (items: number[]) => {
        if (items.includes(99)) throw new Error('store down');
        return items.map((n) => (n % 2 ? { ok: true as const, value: n } : { ok: false as const, error: `even ${n}` }));
      },
      { maxBatch: 10 },
    );
    const results = await Promise.allSettled([1, 2, 3].map((n) => c.submit(n)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBe('even 2');
    const down = await Promise.allSettled([5, 99].map((n) => c.submit(n)));
    expect(down.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    // A failed flush leaves the coalescer working.
    await expect(c.submit(7)).resolves.toBe(7);
  });
});

describe('oneCallOrEach', () => {
  it('makes one call when it succeeds, and pins a failure on the item that caused it', async () => {
    const calls: string[][] = [];
    const call = async (items: string[]) => {
      calls.push(items);
      if (items.includes('dup')) throw new Error('duplicate key');
      return items.map((s) => s.toUpperCase());
    };
    expect(await oneCallOrEach(['a', 'b'], call)).toEqual([
      { ok: true, value: 'A' },
      { ok: true, value: 'B' },
    ]);
    expect(calls).toHaveLength(1);
    const outcomes = await oneCallOrEach(['a', 'dup', 'c'], call);
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    expect(calls).toHaveLength(5); // the failed batch, then each item alone
  });
});
