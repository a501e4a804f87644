import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long stop() lets in-flight HTTP calls finish before aborting them. */
const STOP_GRACE_MS = 1000;

/** Every pending wait and callback listens on these signals; thousands at once are normal, not a leak. */
function unlimitedController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/**
 * Tracks the sim's background work (status lifecycles, callbacks, held requests) so close() and reset can end it:
 * waits are cut short at once, outgoing HTTP calls get a short grace period.
 */
export class TaskRunner {
  private stopping = unlimitedController();
  private aborting = unlimitedController();
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly onError: (error: unknown) => void) {}

  run(task: () => Promise<void>): void {
    const promise = task()
      .catch(this.onError)
      .finally(() => this.running.delete(promise));
    this.running.add(promise);
  }

  /** Resolves true after `ms`, or false as soon as stop() is called. */
  async wait(ms: number): Promise<boolean> {
    const signal = this.stopping.signal;
    if (signal.aborted) return false;
    try {
      await sleep(ms, undefined, { signal });
      return true;
    } catch {
      return false;
    }
  }

  /** For outgoing HTTP calls: aborted after `timeoutMs` or STOP_GRACE_MS into stop(). */
  httpSignal(timeoutMs: number): AbortSignal {
    return AbortSignal.any([AbortSignal.timeout(timeoutMs), this.aborting.signal]);
  }

  /** Ends all current tasks; the runner accepts new tasks afterwards. */
  async stop(): Promise<void> {
    this.stopping.abort();
    const abortLater = setTimeout(() => this.aborting.abort(), STOP_GRACE_MS);
    await Promise.allSettled([...this.running]);
    clearTimeout(abortLater);
    this.stopping = unlimitedController();
    this.aborting = unlimitedController();
  }
}
