import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, eventually, startStack, type Stack } from '../../../test/stack.js';

/** docs/design.md, "Processes and commands": on SIGTERM the API stops taking requests, finishes the ones in flight and exits 0. */
let stack: Stack;
let child: ChildProcess | undefined;
beforeAll(async () => {
  stack = await startStack({ withWorkers: false, withSim: false });
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await stack.close();
});

describe('API process', () => {
  it('SIGTERM under load: exits 0, and every 202 it gave is in Postgres', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    child = spawn(process.execPath, ['--import', 'tsx', 'apps/api/src/main.ts'], {
      env: { ...stack.env, PORT: String(port), HOST: '127.0.0.1', API_KEYS: `tests:${API_KEY}` },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const url = `http://127.0.0.1:${port}`;
    await eventually(
      async () => ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined),
      20_000,
    );

    const accepted: string[] = [];
    const refusals = new Set<number>();
    let stop = false;
    let n = 0;
    const send = async (i: number) => {
      while (!stop) {
        // A different number each time: the per-recipient hourly cap is not what this test is about.
        const to = `+1415555${String(3000 + (n++ % 6000)).padStart(4, '0')}`;
        try {
          const r = await fetch(`${url}/v1/messages`, {
            method: 'POST',
            headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
            body: JSON.stringify({ to, body: `term #${i}` }),
          });
          if (r.status === 202) accepted.push(((await r.json()) as { id: string }).id);
          else refusals.add(r.status);
        } catch {
          return; // the listener is gone: the process is shutting down
        }
      }
    };
    const clients = Array.from({ length: 8 }, (_, i) => send(i));
    await eventually(async () => {
      expect(refusals).toEqual(new Set()); // nothing refused while it runs normally
      return accepted.length >= 50 ? true : undefined;
    }, 30_000);
    const exited = new Promise<number | null>((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    stop = true;
    await Promise.all(clients);

    // Requests that arrive while it closes are turned away with 503 (try again), never half-taken.
    expect([...refusals].every((s) => s === 503)).toBe(true);
    const stored = await stack.prisma.message.count({ where: { id: { in: accepted } } });
    expect(stored).toBe(accepted.length);
    // Each of them is also in the queue: nothing accepted was left for the reconciler to find.
    const jobs = await stack.apiDeps.queues.send.getJobCounts('wait', 'prioritized', 'delayed');
    expect(Object.values(jobs).reduce((a, b) => a + b, 0)).toBe(accepted.length);
  }, 60_000);
});
