import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CallbackServer, startCallbackServer } from './helpers/callback-server.js';
import { ACCOUNT_SID, FROM, type Harness, restError, startSim } from './helpers/harness.js';

let h: Harness;
let server: CallbackServer;
beforeEach(async () => {
  h = await startSim();
  server = await startCallbackServer();
});
afterEach(async () => {
  await h.sim.close();
  await server.close();
});

const TO = '+14155550123';
const send = (body = 'x') => h.client.messages.create({ to: TO, from: FROM, body });

interface Stats {
  received: number;
  created: number;
  rejected: Record<string, number>;
  timedOut: number;
  createdThenFailed: number;
  callbacks: { sent: number; failed: number };
  byStatus: Record<string, number>;
}

describe('fault settings', () => {
  it('start off and can be read back after being set', async () => {
    const initial = await h.control('GET', '/_sim/faults');
    expect(initial.body).toEqual({
      errorRate: 0,
      errorCodes: [20500],
      rate429: 0,
      latencyMs: 0,
      timeoutRate: 0,
      createThenFailRate: 0,
      undeliveredRate: 0,
      failedRate: 0,
    });
    const set = await h.control('POST', '/_sim/faults', { errorRate: 0.5, errorCodes: [20503, 21611], latencyMs: 5 });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ errorRate: 0.5, errorCodes: [20503, 21611], latencyMs: 5, rate429: 0 });
    expect((await h.control('GET', '/_sim/faults')).body).toEqual(set.body);
  });

  it.each([
    ['rate above 1', { errorRate: 1.5 }],
    ['negative rate', { rate429: -0.1 }],
    ['unknown field', { explode: 1 }],
    ['error code outside the simulated set', { errorCodes: [30003] }],
    ['empty error codes', { errorCodes: [] }],
    ['negative latency', { latencyMs: -1 }],
    ['non-numeric rate', { timeoutRate: 'often' }],
    ['numeric string', { failedRate: '0.5' }],
  ])('rejects %s with 400', async (_name, body) => {
    const response = await h.control('POST', '/_sim/faults', body);
    expect(response.status).toBe(400);
    expect((await h.control('GET', '/_sim/faults')).body).toMatchObject({ errorRate: 0, rate429: 0 });
  });

  it('errorRate refuses creates with the chosen codes and HTTP statuses', async () => {
    const cases: [number, number][] = [
      [20500, 500],
      [20503, 503],
      [20429, 429],
      [21611, 400],
    ];
    for (const [code, status] of cases) {
      await h.control('POST', '/_sim/faults', { errorRate: 1, errorCodes: [code] });
      expect(await restError(send())).toMatchObject({ code, status });
    }
    expect(await h.client.messages.list()).toEqual([]);
    const stats = await h.control<Stats>('GET', '/_sim/stats');
    expect(stats.body).toMatchObject({ received: 4, created: 0, rejected: { 20500: 1, 20503: 1, 20429: 1, 21611: 1 } });
  });

  it('rate429 answers 429 / 20429 with Retry-After: 1', async () => {
    await h.control('POST', '/_sim/faults', { rate429: 1 });
    expect(await restError(send())).toMatchObject({ status: 429, code: 20429, message: 'Too Many Requests' });
    const raw = await h.api('POST', `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`, {
      To: TO,
      From: FROM,
      Body: 'x',
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('1');
  });

  it('latencyMs delays the answer', async () => {
    await h.control('POST', '/_sim/faults', { latencyMs: 150 });
    const started = Date.now();
    await send();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('timeoutRate holds the request until the client times out, without creating the message', async () => {
    await h.control('POST', '/_sim/faults', { timeoutRate: 1 });
    const impatient = h.clientWith({ timeoutMs: 200 });
    const error: unknown = await impatient.messages.create({ to: TO, from: FROM, body: 'x' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ECONNABORTED' });
    expect(await h.client.messages.list()).toEqual([]);
    const log = await h.control<{ messages: { status: string; response: unknown }[] }>('GET', '/_sim/messages');
    expect(log.body.messages).toEqual([expect.objectContaining({ status: 'timeout', response: null })]);
    expect((await h.control<Stats>('GET', '/_sim/stats')).body.timedOut).toBe(1);
  });

  it('createThenFailRate stores the message but answers 500', async () => {
    await h.control('POST', '/_sim/faults', { createThenFailRate: 1 });
    const error = await restError(
      h.client.messages.create({ to: TO, from: FROM, body: 'lost answer', statusCallback: server.url }),
    );
    expect(error).toMatchObject({ status: 500, code: 20500 });
    const found = await h.client.messages.list({ to: TO, from: FROM, dateSentAfter: new Date(Date.now() - 60_000) });
    expect(found.map((m) => m.body)).toEqual(['lost answer']);
    await expect.poll(() => server.received.length).toBe(2);
    const stats = await h.control<Stats>('GET', '/_sim/stats');
    expect(stats.body).toMatchObject({ created: 1, createdThenFailed: 1, rejected: {}, byStatus: { delivered: 1 } });
  });

  it('reset clears messages, faults, stats and pending callbacks', async () => {
    await h.control('POST', '/_sim/faults', { undeliveredRate: 1 });
    const slow = await startSim({ callbackDelayMs: 100 });
    try {
      await slow.client.messages.create({ to: TO, from: FROM, body: 'x', statusCallback: server.url });
      expect((await slow.control('POST', '/_sim/reset')).status).toBe(200);
      expect(await slow.client.messages.list()).toEqual([]);
      expect((await slow.control<{ messages: unknown[] }>('GET', '/_sim/messages')).body.messages).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(server.received).toEqual([]);
    } finally {
      await slow.sim.close();
    }

    await send();
    await h.control('POST', '/_sim/reset');
    expect((await h.control('GET', '/_sim/faults')).body).toMatchObject({ undeliveredRate: 0 });
    expect((await h.control<Stats>('GET', '/_sim/stats')).body).toMatchObject({ received: 0, created: 0 });
    expect((await send()).status).toBe('queued');
  });

  it('stats count received, created, rejections and statuses', async () => {
    await send();
    await restError(h.client.messages.create({ to: '+15005550004', from: FROM, body: 'x' }));
    await restError(h.client.messages.create({ to: '+15005550004', from: FROM, body: 'x' }));
    await expect
      .poll(async () => (await h.control<Stats>('GET', '/_sim/stats')).body.byStatus)
      .toEqual({ delivered: 1 });
    const stats = await h.control<Stats>('GET', '/_sim/stats');
    expect(stats.body).toMatchObject({ received: 3, created: 1, rejected: { 21610: 2 }, timedOut: 0 });
  });

  it('lists the sim log filtered by To', async () => {
    await send('one');
    await h.client.messages.create({ to: '+14155550999', from: FROM, body: 'two' });
    const log = await h.control<{ messages: { body: string }[] }>('GET', '/_sim/messages?to=%2B14155550999');
    expect(log.body.messages.map((m) => m.body)).toEqual(['two']);
  });
});
