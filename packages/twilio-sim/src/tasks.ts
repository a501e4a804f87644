/** How long stop() lets in-flight HTTP calls finish before aborting them. */
const STOP_GRACE_MS = 1000;

/**
 * Tracks the sim's background work (status lifecycles, callbacks, held requests) so close() and reset can end it:
 * waits are cut short at once, outgoing HTTP calls get a short grace period. Plain timers and callback sets
 * rather than AbortSignals: every message waits twice and posts twice, and creating and listening on that many
 * signals (`AbortSignal.timeout`, `AbortSignal.any`) was ~8 % of the sim's CPU profile under load.
 */
export class TaskRunner {
  private stopping = false;
  private aborting = false;
  private readonly running = new Set<Promise<void>>();
  /** Pending waits, each ended early with false by stop(). */
  private readonly waits = new Set<(completed: boolean) => void>();
  /** Abort functions of outgoing HTTP calls in flight. */
  private readonly aborts = new Set<() => void>();

  constructor(private readonly onError: (error: unknown) => void) {}

  run(task: () => Promise<void>): void {
    const promise = task()
      .catch(this.onError)
      .finally(() => this.running.delete(promise));
    this.running.add(promise);
  }

  /** Resolves true after `ms`, or false as soon as stop() is called. */
  wait(ms: number): Promise<boolean> {
    if (this.stopping) return Promise.resolve(false);
    return new Promise((resolve) => {
      const end = (completed: boolean) => {
        clearTimeout(timer);
        this.waits.delete(end);
        resolve(completed);
      };
      const timer = setTimeout(end, ms, true);
      this.waits.add(end);
    });
  }

  /**
   * For outgoing HTTP calls: `abort` runs STOP_GRACE_MS into stop() (at once if that time has passed). Call the
   * returned function when the call is over.
   */
  abortOnStop(abort: () => void): () => void {
    if (this.aborting) {
      abort();
      return () => undefined;
    }
    this.aborts.add(abort);
    return () => this.aborts.delete(abort);
  }

  /** Ends all current tasks; the runner accepts new tasks afterwards. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const end of [...this.waits]) end(false);
    const abortLater = setTimeout(() => {
      this.aborting = true;
      for (const abort of [...this.aborts]) abort();
    }, STOP_GRACE_MS);
    await Promise.allSettled([...this.running]);
    clearTimeout(abortLater);
    this.stopping = false;
    this.aborting = false;
  }
}
