/** What one item of a flushed batch came to: its value, or the error that item alone failed with. */
export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

export interface CoalescerOptions {
  /** Most items per flush (one statement or one Redis call carries them all). */
  maxBatch: number;
  /** Flushes running at once; items arriving meanwhile wait for the next one and travel together. */
  maxInFlight?: number;
}

interface Waiting<I, R> {
  item: I;
  resolve(value: R): void;
  reject(error: unknown): void;
}

/**
 * Group commit ("natural batching"): calls made while a flush is running are gathered and run as one
 * batch when it ends. An idle coalescer flushes at the next turn of the event loop, so light load pays no
 * added latency; under load each round trip to Postgres or Redis carries many items, which is what the
 * per-message cost of a busy service is made of (a round trip costs the same for 1 row or 50).
 * DataLoader only batches calls made within one tick; concurrent HTTP requests arrive on different ticks.
 */
export class Coalescer<I, R> {
  private waiting: Waiting<I, R>[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly maxInFlight: number;

  /**
   * `flush` gets the items in the order they came and answers one Outcome per item, in that order; if it
   * throws, every item of the batch fails with that error.
   */
  constructor(
    private readonly flush: (items: I[]) => Promise<Outcome<R>[]>,
    private readonly options: CoalescerOptions,
  ) {
    this.maxInFlight = options.maxInFlight ?? 1;
  }

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.scheduled && this.inFlight < this.maxInFlight) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.drain();
        });
      }
    });
  }

  private drain(): void {
    while (this.waiting.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.waiting.splice(0, this.options.maxBatch);
      this.inFlight += 1;
      void this.run(batch).finally(() => {
        this.inFlight -= 1;
        this.drain();
      });
    }
  }

  private async run(batch: Waiting<I, R>[]): Promise<void> {
    let outcomes: Outcome<R>[];
    try {
      outcomes = await this.flush(batch.map((w) => w.item));
      if (outcomes.length !== batch.length) {
        throw new Error(`coalescer: flush answered ${outcomes.length} outcomes for ${batch.length} items`);
      }
    } catch (error) {
      for (const w of batch) w.reject(error);
      return;
    }
    batch.forEach((w, i) => {
      const o = outcomes[i]!;
      if (o.ok) w.resolve(o.value);
      else w.reject(o.error);
    });
  }
}

/**
 * Runs a batch as one call; when that call fails and the batch has more than one item, runs each item
 * alone, so one bad item (a duplicate key, say) fails only its own caller.
 */
export async function oneCallOrEach<I, R>(items: I[], call: (items: I[]) => Promise<R[]>): Promise<Outcome<R>[]> {
  try {
    const values = await call(items);
    return values.map((value) => ({ ok: true, value }));
  } catch (error) {
    if (items.length === 1) return [{ ok: false, error }];
    return Promise.all(
      items.map(async (item): Promise<Outcome<R>> => {
        try {
          const [value] = await call([item]);
          return { ok: true, value: value as R };
        } catch (e) {
          return { ok: false, error: e };
        }
      }),
    );
  }
}
