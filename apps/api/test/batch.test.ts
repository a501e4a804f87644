import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, eventually, startStack, type Stack } from '../../../test/stack.js';

/** A distinct valid US number per index, so per-recipient caps never come into play. */
const numberFor = (i: number) => `+1415${String(2_000_000 + i).padStart(7, '0')}`;

interface ItemResult {
  index: number;
  id?: string;
  status?: string;
  error?: { code: string; message: string; field?: string };
}

function postBatch(stack: Stack, messages: unknown[], headers: Record<string, string> = {}) {
  return stack.api.inject({
    method: 'POST',
    url: '/v1/messages/batch',
    headers: { ...AUTH, ...headers },
    payload: { messages },
  });
}

describe('POST /v1/messages/batch (API only)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ withWorkers: false });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('judges every item on its own and records only the accepted ones', async () => {
    const sendAt = new Date(Date.now() + 60_000).toISOString();
    const items: [unknown, string | undefined, string?][] = [
      [{ to: numberFor(1), body: 'one', category: 'security' }, undefined],
      [{ to: numberFor(2), body: 'x'.repeat(1601) }, 'validation_failed', 'body'],
      [{ to: '+1 555', body: 'x' }, 'invalid_phone_number', 'to'],
      [{ to: numberFor(3), body: 'x', colour: 'red' }, 'validation_failed', 'colour'],
      [{ to: numberFor(4), userId: 'u1', body: 'x' }, 'validation_failed', 'to'],
      [{ to: numberFor(5), body: 'x', ttlSeconds: 0 }, 'validation_failed', 'ttlSeconds'],
      ['not an object', 'validation_failed'],
      [{ to: numberFor(6), body: 'later', category: 'marketing', sendAt }, undefined],
      [{ userId: 'u_404', body: 'x' }, 'unknown_recipient', 'userId'],
      [{ to: numberFor(7), body: 'x', category: 'spam' }, 'validation_failed', 'category'],
    ];
    const res = await postBatch(
      stack,
      items.map(([item]) => item),
    );
    expect(res.statusCode).toBe(200);
    const results: ItemResult[] = res.json().results;
    expect(results.map((r) => r.index)).toEqual(items.map((_, i) => i));
    items.forEach(([, code, field], i) => {
      if (code === undefined) {
        expect(results[i]).toMatchObject({ index: i, status: 'queued' });
        expect(results[i]!.error).toBeUndefined();
      } else {
        expect(results[i]!.id).toBeUndefined();
        expect(results[i]!.error).toMatchObject({ code, ...(field ? { field } : {}) });
        expect(typeof results[i]!.error!.message).toBe('string');
      }
    });

    const ids = results.filter((r) => r.id).map((r) => r.id!);
    const rows = await stack.prisma.message.findMany({ where: { id: { in: ids } }, include: { events: true } });
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.status).toBe('queued');
      expect(row.events.map((e) => [e.status, e.source])).toEqual([['queued', 'api']]);
    }
    expect(await stack.prisma.message.count()).toBe(2);

    // Same job options as a single message: id = message id, priority by category, sendAt → delayed.
    const first = await stack.apiDeps.queues.send.getJob(results[0]!.id!);
    expect(first?.data).toEqual({ messageId: results[0]!.id });
    expect(first?.opts.priority).toBe(2);
    const later = await stack.apiDeps.queues.send.getJob(results[7]!.id!);
    expect(await later?.getState()).toBe('delayed');
  });

  it('takes 1000 messages in one request', async () => {
    const before = await stack.prisma.message.count();
    const res = await postBatch(
      stack,
      Array.from({ length: 1000 }, (_, i) => ({ to: numberFor(1000 + i), body: `bulk ${i}`, metadata: { i } })),
    );
    expect(res.statusCode).toBe(200);
    const results: ItemResult[] = res.json().results;
    expect(results).toHaveLength(1000);
    expect(results.every((r, i) => r.index === i && r.status === 'queued' && r.id)).toBe(true);
    expect(new Set(results.map((r) => r.id)).size).toBe(1000);
    expect(await stack.prisma.message.count()).toBe(before + 1000);
    expect(await stack.prisma.messageEvent.count({ where: { messageId: { in: results.map((r) => r.id!) } } })).toBe(
      1000,
    );
    const jobs = await stack.apiDeps.queues.send.getJobs(['prioritized', 'waiting'], 0, -1);
    const jobIds = new Set(jobs.map((j) => j.id));
    expect(results.every((r) => jobIds.has(r.id))).toBe(true);
    const row = await stack.prisma.message.findUniqueOrThrow({ where: { id: results[17]!.id! } });
    expect(row).toMatchObject({ to: numberFor(1017), body: 'bulk 17', metadata: { i: 17 } });
  });

  it.each([
    ['more than 1000 items', { messages: Array.from({ length: 1001 }, () => ({ to: numberFor(1), body: 'x' })) }],
    ['no items', { messages: [] }],
    ['no messages array', { items: [] }],
  ])('refuses %s as a whole, writing nothing', async (_name, payload) => {
    const before = await stack.prisma.message.count();
    const res = await stack.api.inject({ method: 'POST', url: '/v1/messages/batch', headers: AUTH, payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_failed');
    expect(await stack.prisma.message.count()).toBe(before);
  });

  it('needs the bearer key', async () => {
    const res = await stack.api.inject({
      method: 'POST',
      url: '/v1/messages/batch',
      payload: { messages: [{ to: numberFor(1), body: 'x' }] },
    });
    expect(res.statusCode).toBe(401);
  });

  it('Idempotency-Key: a repeated batch returns the same ids and records nothing new', async () => {
    const items = [
      { to: numberFor(5001), body: 'first' },
      { to: 'bad', body: 'x' },
      { to: numberFor(5002), body: 'second' },
    ];
    const key = { 'idempotency-key': 'batch-42' };
    const first: ItemResult[] = (await postBatch(stack, items, key)).json().results;
    expect(first.map((r) => r.status ?? r.error?.code)).toEqual(['queued', 'invalid_phone_number', 'queued']);
    const count = await stack.prisma.message.count();

    const again: ItemResult[] = (await postBatch(stack, items, key)).json().results;
    expect(again.map((r) => r.id)).toEqual(first.map((r) => r.id));
    expect(await stack.prisma.message.count()).toBe(count);

    const changed: ItemResult[] = (
      await postBatch(stack, [items[0], items[1], { to: numberFor(5002), body: 'changed' }], key)
    ).json().results;
    expect(changed[0]!.id).toBe(first[0]!.id);
    expect(changed[2]!.error?.code).toBe('idempotency_conflict');
    expect(await stack.prisma.message.count()).toBe(count);
  });

  it('Idempotency-Key: two identical batches racing record each message once', async () => {
    const items = Array.from({ length: 20 }, (_, i) => ({ to: numberFor(6000 + i), body: `race ${i}` }));
    const key = { 'idempotency-key': 'batch-race' };
    const before = await stack.prisma.message.count();
    const [a, b] = await Promise.all([postBatch(stack, items, key), postBatch(stack, items, key)]);
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    const idsA = (a.json().results as ItemResult[]).map((r) => r.id);
    expect((b.json().results as ItemResult[]).map((r) => r.id)).toEqual(idsA);
    expect(await stack.prisma.message.count()).toBe(before + 20);
  });
});

describe('POST /v1/messages/batch with Redis down', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ withWorkers: false, env: { REDIS_URL: 'redis://127.0.0.1:1' } });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('answers 503 unavailable and leaves no message in Postgres', async () => {
    const res = await postBatch(
      stack,
      Array.from({ length: 10 }, (_, i) => ({ to: numberFor(i), body: `x${i}` })),
    );
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('unavailable');
    expect(res.headers['retry-after']).toBeDefined();
    expect(await stack.prisma.message.count()).toBe(0);
    expect(await stack.prisma.messageEvent.count()).toBe(0);
  });
});

describe('POST /v1/messages/batch through the whole stack', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { SENDER_MPS: '100000' } });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('every accepted message is delivered, and reaches Twilio exactly once', async () => {
    const items = Array.from({ length: 200 }, (_, i) =>
      i % 10 === 9 ? { to: 'nope', body: 'refused' } : { to: numberFor(7000 + i), body: `through ${i}` },
    );
    const results: ItemResult[] = (await postBatch(stack, items)).json().results;
    const ids = results.filter((r) => r.id).map((r) => r.id!);
    expect(ids).toHaveLength(180);
    await eventually(async () => {
      const delivered = await stack.prisma.message.count({ where: { id: { in: ids }, status: 'delivered' } });
      return delivered === ids.length ? true : undefined;
    }, 60_000);
    const sim = (await stack.sim!.app.inject({ url: '/_sim/messages' })).json().messages as {
      body: string;
      statusCallback: string;
    }[];
    const byId = new Map<string, number>();
    for (const m of sim) {
      const id = new URL(m.statusCallback).searchParams.get('mid')!;
      byId.set(id, (byId.get(id) ?? 0) + 1);
    }
    expect(ids.every((id) => byId.get(id) === 1)).toBe(true);
    expect(sim).toHaveLength(180);
    const row = await stack.prisma.message.findUniqueOrThrow({ where: { id: results[3]!.id! } });
    expect(sim.find((m) => m.statusCallback.endsWith(row.id))?.body).toBe('through 3');
  });
});
