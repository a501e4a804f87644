import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, eventually, startStack, type Stack } from '../../../test/stack.js';
import { afterQuietHours } from '../src/messages/quiet-hours.js';

const HOUR = 3600_000;

describe('afterQuietHours', () => {
  const q = { startHour: 21, endHour: 8 };
  it.each([
    ['an evening waits for the next morning', '2026-11-20T21:30:00Z', 'UTC', '2026-11-21T08:00:00.000Z'],
    ['a small hour waits for the same morning', '2026-11-21T03:00:00Z', 'UTC', '2026-11-21T08:00:00.000Z'],
    ['the day goes at once', '2026-11-21T12:00:00Z', 'UTC', '2026-11-21T12:00:00.000Z'],
    ['the end hour is outside', '2026-11-21T08:00:00Z', 'UTC', '2026-11-21T08:00:00.000Z'],
    ['the start hour is inside', '2026-11-21T21:00:00Z', 'UTC', '2026-11-22T08:00:00.000Z'],
    // 16:30 UTC is 22:30 in Dhaka (UTC+6), whose morning 08:00 is 02:00 UTC.
    ['the recipient zone counts, not ours', '2026-11-21T16:30:00Z', 'Asia/Dhaka', '2026-11-22T02:00:00.000Z'],
    // New York springs forward on 2026-03-08: 23:30 EST the night before, 08:00 EDT (12:00 UTC) after.
    ['across a DST change', '2026-03-08T04:30:00Z', 'America/New_York', '2026-03-08T12:00:00.000Z'],
  ])('%s', (_, at, zone, expected) => {
    expect(afterQuietHours(new Date(at), zone, q).toISOString()).toBe(expected);
  });

  it('handles a window that does not wrap midnight', () => {
    const at = new Date('2026-11-21T02:00:00Z');
    expect(afterQuietHours(at, 'UTC', { startHour: 1, endHour: 6 }).toISOString()).toBe('2026-11-21T06:00:00.000Z');
    expect(afterQuietHours(at, 'UTC', { startHour: 3, endHour: 6 })).toEqual(at);
  });
});

describe('scheduling through the whole stack', () => {
  let stack: Stack;
  // Quiet hours that hold right now in UTC (and for the next hour), whatever time the test runs.
  const hourNow = new Date().getUTCHours();
  const quiet = { start: hourNow, end: (hourNow + 2) % 24 };
  beforeAll(async () => {
    stack = await startStack({
      env: { QUIET_HOURS_START: String(quiet.start), QUIET_HOURS_END: String(quiet.end) },
    });
    for (const [userId, timezone] of [
      ['night-owl', 'UTC'],
      ['no-zone', null],
    ] as const) {
      await stack.api.inject({
        method: 'PUT',
        url: `/v1/recipients/${userId}`,
        headers: AUTH,
        payload: { phone: '+14155550160', timezone },
      });
    }
  });
  afterAll(async () => {
    await stack.close();
  });

  const send = (payload: object) => stack.api.inject({ method: 'POST', url: '/v1/messages', headers: AUTH, payload });
  const simBodies = async () =>
    (await stack.sim!.app.inject({ url: '/_sim/messages' })).json().messages.map((m: { body: string }) => m.body);

  it('a message scheduled an hour ahead says when it goes, and a cancel keeps it from Twilio', async () => {
    const sendAt = new Date(Date.now() + HOUR);
    const res = await send({ to: '+14155550161', body: 'scheduled then canceled', sendAt: sendAt.toISOString() });
    expect(res.statusCode).toBe(202);
    expect(res.json().sendAt).toBe(sendAt.toISOString());
    expect(new Date(res.json().expiresAt).getTime()).toBe(sendAt.getTime() + 4 * HOUR);
    const { id } = res.json();
    expect(await (await stack.apiDeps.queues.send.getJob(id))?.getState()).toBe('delayed');
    expect((await stack.api.inject({ url: `/v1/messages/${id}`, headers: AUTH })).json().sendAt).toBe(
      sendAt.toISOString(),
    );

    const cancel = await stack.api.inject({ method: 'POST', url: `/v1/messages/${id}/cancel`, headers: AUTH });
    expect(cancel.json()).toEqual({ id, status: 'canceled' });
    expect(await stack.apiDeps.queues.send.getJob(id)).toBeUndefined();

    // Another message goes all the way through; the canceled one never reached the simulator.
    const now = (await send({ to: '+14155550161', body: 'sent at once' })).json();
    expect(now.sendAt).toBeNull();
    await eventually(async () => {
      const m = (await stack.api.inject({ url: `/v1/messages/${now.id}`, headers: AUTH })).json();
      return m.status === 'delivered' ? m : undefined;
    });
    expect(await simBodies()).toEqual(['sent at once']);
    const canceled = (await stack.api.inject({ url: `/v1/messages/${id}`, headers: AUTH })).json();
    expect(canceled.status).toBe('canceled');
    expect(canceled.attempts).toBe(0);
  });

  it('treats a sendAt in the past as now and refuses one more than 30 days ahead', async () => {
    const past = await send({ to: '+14155550162', body: 'late', sendAt: new Date(Date.now() - HOUR).toISOString() });
    expect(past.statusCode).toBe(202);
    expect(past.json().sendAt).toBeNull();
    expect(new Date(past.json().expiresAt).getTime() - new Date(past.json().createdAt).getTime()).toBe(4 * HOUR);
    await eventually(async () =>
      (await stack.api.inject({ url: `/v1/messages/${past.json().id}`, headers: AUTH })).json().status === 'delivered'
        ? true
        : undefined,
    );

    const before = await stack.prisma.message.count();
    const far = await send({
      to: '+14155550162',
      body: 'too far',
      sendAt: new Date(Date.now() + 31 * 24 * HOUR).toISOString(),
    });
    expect(far.statusCode).toBe(400);
    expect(far.json().error).toMatchObject({ code: 'validation_failed', field: 'sendAt' });
    expect(await stack.prisma.message.count()).toBe(before);
  });

  it('holds marketing to a recipient in quiet hours until their morning; the TTL counts from then', async () => {
    const res = await send({ userId: 'night-owl', template: 'promotion', data: { offer: 'Half price today.' } });
    expect(res.statusCode).toBe(202);
    const created = new Date(res.json().createdAt);
    const morning = new Date(created);
    morning.setUTCHours(quiet.end, 0, 0, 0);
    if (morning <= created) morning.setUTCDate(morning.getUTCDate() + 1);
    expect(res.json()).toMatchObject({ category: 'marketing', sendAt: morning.toISOString() });
    expect(new Date(res.json().expiresAt).getTime()).toBe(morning.getTime() + 10 * HOUR);
    expect(await (await stack.apiDeps.queues.send.getJob(res.json().id))?.getState()).toBe('delayed');
  });

  it('sends other categories, and marketing without a known timezone, at once', async () => {
    for (const payload of [
      { userId: 'night-owl', template: 'card_alert', data: { last4: '4242' } },
      { userId: 'no-zone', body: 'Big sale', category: 'marketing' },
      { to: '+14155550160', body: 'Big sale', category: 'marketing' },
    ]) {
      const res = await send(payload);
      expect(res.statusCode).toBe(202);
      expect(res.json().sendAt).toBeNull();
    }
  });
});
