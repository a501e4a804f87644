import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMessageId, type Prisma } from '@smsq/shared';
import { AUTH, startStack, type Stack } from '../../../test/stack.js';

let stack: Stack;

/** A message row as the worker would have left it, created at `at`. */
function row(at: string, over: Partial<Prisma.MessageCreateManyInput>): Prisma.MessageCreateManyInput {
  const createdAt = new Date(at);
  return {
    id: newMessageId(),
    to: '+14155552671',
    country: 'US',
    body: 'x',
    category: 'transaction',
    segments: 1,
    encoding: 'GSM-7',
    status: 'delivered',
    createdAt,
    updatedAt: createdAt,
    expiresAt: new Date(createdAt.getTime() + 3600_000),
    ...over,
  };
}

beforeAll(async () => {
  stack = await startStack({ withWorkers: false });
  await stack.prisma.message.createMany({
    data: [
      row('2026-10-01T10:00:00Z', { price: '-0.00790', priceUnit: 'USD' }),
      row('2026-10-01T23:59:59.999Z', { segments: 3, price: '-0.02370', priceUnit: 'USD' }),
      row('2026-10-01T12:00:00Z', { status: 'failed', category: 'otp', errorCode: 30008 }),
      row('2026-10-02T00:00:00Z', {
        status: 'undelivered',
        to: '+447400123456',
        country: 'GB',
        price: '-0.04000',
        priceUnit: 'USD',
      }),
      row('2026-10-02T08:00:00Z', { status: 'expired', category: 'marketing', country: null }),
      row('2026-10-02T09:00:00Z', { status: 'canceled', category: 'marketing' }),
      row('2026-10-02T10:00:00Z', { status: 'sent', segments: 2, price: '-0.05000', priceUnit: 'EUR' }),
      // Outside the window on both sides.
      row('2026-09-30T23:59:59.999Z', {}),
      row('2026-10-03T00:00:00Z', {}),
    ],
  });
});
afterAll(async () => {
  await stack.close();
});

const stats = (qs: string) => stack.api.inject({ url: `/v1/stats?${qs}`, headers: AUTH });
const WINDOW = 'since=2026-10-01T00:00:00Z&until=2026-10-03T00:00:00Z';
const zeroStatuses = {
  queued: 0,
  sending: 0,
  submitted: 0,
  sent: 0,
  delivered: 0,
  undelivered: 0,
  failed: 0,
  expired: 0,
  canceled: 0,
};

describe('GET /v1/stats', () => {
  it('totals the window: counts by status, delivery rate, segments and cost per unit', async () => {
    const res = await stats(`${WINDOW}&groupBy=day`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      since: '2026-10-01T00:00:00.000Z',
      until: '2026-10-03T00:00:00.000Z',
      groupBy: 'day',
    });
    expect(body.totals).toEqual({
      messages: 7,
      byStatus: { ...zeroStatuses, delivered: 2, failed: 1, undelivered: 1, expired: 1, canceled: 1, sent: 1 },
      deliveryRate: 0.4, // 2 delivered of 5 with an outcome (canceled and sent are left out)
      segments: 10,
      cost: { USD: '0.07160', EUR: '0.05000' },
      priced: 4,
    });
    expect(body.groups.map((g: { key: string; messages: number }) => [g.key, g.messages])).toEqual([
      ['2026-10-01', 3],
      ['2026-10-02', 4],
    ]);
    expect(body.groups[0]).toMatchObject({
      byStatus: { ...zeroStatuses, delivered: 2, failed: 1 },
      deliveryRate: 0.6667,
      segments: 5,
      cost: { USD: '0.03160' },
      priced: 2,
    });
  });

  it('groups by category, status and country', async () => {
    const keys = async (groupBy: string) =>
      (await stats(`${WINDOW}&groupBy=${groupBy}`))
        .json()
        .groups.map((g: { key: string | null; messages: number }) => [g.key, g.messages]);
    expect(await keys('category')).toEqual([
      ['marketing', 2],
      ['otp', 1],
      ['transaction', 4],
    ]);
    expect(await keys('status')).toEqual([
      ['sent', 1],
      ['delivered', 2],
      ['undelivered', 1],
      ['failed', 1],
      ['expired', 1],
      ['canceled', 1],
    ]);
    expect(await keys('country')).toEqual([
      ['GB', 1],
      ['US', 5],
      [null, 1],
    ]);
    const gb = (await stats(`${WINDOW}&groupBy=country`)).json().groups[0];
    expect(gb).toMatchObject({ deliveryRate: 0, cost: { USD: '0.04000' } });
  });

  it('answers an empty window with zeros and a null delivery rate', async () => {
    const res = await stats('since=2020-01-01T00:00:00Z&until=2020-01-02T00:00:00Z&groupBy=status');
    expect(res.json()).toMatchObject({
      groups: [],
      totals: { messages: 0, byStatus: zeroStatuses, deliveryRate: null, segments: 0, cost: {}, priced: 0 },
    });
  });

  it('defaults to the last 7 days by day, and counts messages accepted through the API', async () => {
    await stack.api.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: AUTH,
      payload: { to: '+14155552671', body: 'counted' },
    });
    const body = (await stats('')).json();
    expect(body.groupBy).toBe('day');
    expect(new Date(body.until).getTime() - new Date(body.since).getTime()).toBe(7 * 86_400_000);
    expect(body.totals).toMatchObject({ messages: 1, byStatus: { queued: 1 }, deliveryRate: null, segments: 1 });
  });

  it.each([
    ['since after until', 'since=2026-10-03T00:00:00Z&until=2026-10-01T00:00:00Z', 'since'],
    ['an empty window', 'since=2026-10-01T00:00:00Z&until=2026-10-01T00:00:00Z', 'since'],
    ['a window over 366 days', 'since=2025-01-01T00:00:00Z&until=2026-10-01T00:00:00Z', 'since'],
    ['a bad date', 'since=yesterday', 'since'],
    ['a leap second JavaScript cannot place', 'since=2026-06-30T23:59:60Z&until=2026-07-01T00:00:00Z', 'since'],
    ['an unknown groupBy', 'groupBy=hour', 'groupBy'],
    ['an unknown parameter', 'category=otp', 'category'],
  ])('refuses %s with 400 validation_failed', async (_, qs, field) => {
    const res = await stats(qs);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'validation_failed', field });
  });

  it('needs the API key', async () => {
    expect((await stack.api.inject({ url: '/v1/stats' })).statusCode).toBe(401);
  });
});
