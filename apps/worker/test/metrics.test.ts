import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkerMetrics } from '../src/metrics.js';
import { startMetricsServer } from '../src/metrics-server.js';
import { AUTH, eventually, startStack, type Stack } from '../../../test/stack.js';

let stack: Stack;
let server: Server;
let base: string;
beforeAll(async () => {
  stack = await startStack();
  server = await startMetricsServer(0, '127.0.0.1', createWorkerMetrics(stack.workers!));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.close();
  await stack.close();
});

type Series = Map<string, number>;
async function scrape(): Promise<Series> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  const series: Series = new Map();
  for (const line of (await res.text()).split('\n')) {
    const m = /^([^#\s]\S*) (\S+)$/.exec(line);
    if (m) series.set(m[1]!, Number(m[2]));
  }
  return series;
}
const moved = (before: Series, after: Series, name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);

async function send(to: string): Promise<string> {
  const res = await stack.api.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: AUTH,
    payload: { to, body: 'hi' },
  });
  expect(res.statusCode).toBe(202);
  return res.json().id;
}
const finalStatus = (id: string) =>
  eventually(async () => {
    const m = (await stack.api.inject({ url: `/v1/messages/${id}`, headers: AUTH })).json();
    return ['delivered', 'failed', 'undelivered'].includes(m.status) ? (m.status as string) : undefined;
  });

describe('worker metrics server', () => {
  it('answers /healthz, and 404 elsewhere', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it('exports process metrics, all under smsq_', async () => {
    const series = await scrape();
    expect(series.has('smsq_process_cpu_user_seconds_total')).toBe(true);
    expect([...series.keys()].every((name) => name.startsWith('smsq_'))).toBe(true);
  });

  it('counts a delivered message: its send job, duration, accept → submitted latency', async () => {
    const before = await scrape();
    expect(await finalStatus(await send('+14155552671'))).toBe('delivered');
    const after = await eventually(async () => {
      const s = await scrape();
      return moved(before, s, 'smsq_worker_jobs_total{queue="send",outcome="submitted"}') >= 1 ? s : undefined;
    });
    expect(moved(before, after, 'smsq_worker_jobs_total{queue="send",outcome="submitted"}')).toBe(1);
    expect(moved(before, after, 'smsq_worker_job_duration_seconds_count{queue="send"}')).toBe(1);
    // The API applied both callbacks itself: no status job.
    expect(moved(before, after, 'smsq_worker_job_duration_seconds_count{queue="status"}')).toBe(0);
    expect(moved(before, after, 'smsq_send_accept_to_submit_seconds_count')).toBe(1);
    expect(after.get('smsq_send_accept_to_submit_seconds_sum')).toBeGreaterThan(0);
  });

  it('counts a retried attempt by its Twilio error code', async () => {
    const before = await scrape();
    await stack.sim!.app.inject({ method: 'POST', url: '/_sim/faults', payload: { rate429: 1 } });
    const id = await send('+14155552672');
    try {
      await eventually(async () => {
        const s = await scrape();
        return moved(before, s, 'smsq_worker_job_retries_total{queue="send"}') >= 1 ? s : undefined;
      });
    } finally {
      await stack.sim!.app.inject({ method: 'POST', url: '/_sim/reset' });
    }
    expect(await finalStatus(id)).toBe('delivered');
    const after = await scrape();
    expect(moved(before, after, 'smsq_send_attempt_failures_total{code="20429"}')).toBeGreaterThanOrEqual(1);
    expect(moved(before, after, 'smsq_worker_jobs_total{queue="send",outcome="submitted"}')).toBe(1);
  });

  it('counts a message Twilio refuses as a failed send job', async () => {
    const before = await scrape();
    expect(await finalStatus(await send('+15005550009'))).toBe('failed'); // magic number: 21614
    const after = await eventually(async () => {
      const s = await scrape();
      return moved(before, s, 'smsq_worker_jobs_total{queue="send",outcome="failed"}') === 1 ? s : undefined;
    });
    const failures = [...after.keys()].filter((k) => k.startsWith('smsq_send_attempt_failures_total'));
    expect(failures.reduce((sum, k) => sum + moved(before, after, k), 0)).toBe(1);
    expect(moved(before, after, 'smsq_worker_job_retries_total{queue="send"}')).toBe(0);
  });
});
