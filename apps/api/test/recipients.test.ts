import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setOptOut } from '@smsq/shared';
import { AUTH, startStack, type Stack } from '../../../test/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ withWorkers: false });
});
afterAll(async () => {
  await stack.close();
});

const put = (userId: string, payload: object) =>
  stack.api.inject({ method: 'PUT', url: `/v1/recipients/${encodeURIComponent(userId)}`, headers: AUTH, payload });
const get = (userId: string) =>
  stack.api.inject({ url: `/v1/recipients/${encodeURIComponent(userId)}`, headers: AUTH });
const send = (payload: object) => stack.api.inject({ method: 'POST', url: '/v1/messages', headers: AUTH, payload });

describe('PUT/GET/DELETE /v1/recipients/:userId', () => {
  it('creates, reads, replaces and deletes a recipient', async () => {
    const created = await put('u_1', {
      phone: '+1 415 555 2671',
      preferences: { marketing: false, transaction: true },
      locale: 'en-us',
      timezone: 'america/new_york',
    });
    expect(created.statusCode).toBe(200);
    expect(created.json()).toMatchObject({
      userId: 'u_1',
      phone: '+14155552671',
      preferences: { otp: true, security: true, transaction: true, account: true, marketing: false },
      locale: 'en-US',
      timezone: 'America/New_York',
    });
    expect((await get('u_1')).json()).toEqual(created.json());

    // PUT replaces the whole recipient: what is left out becomes empty.
    const replaced = await put('u_1', { phone: '+447400123456' });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json()).toMatchObject({
      phone: '+447400123456',
      preferences: { marketing: true },
      locale: null,
      timezone: null,
      createdAt: created.json().createdAt,
    });

    const deleted = await stack.api.inject({ method: 'DELETE', url: '/v1/recipients/u_1', headers: AUTH });
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json()).toMatchObject({ userId: 'u_1', phone: '+447400123456', preferences: { marketing: true } });
    const gone = await get('u_1');
    expect(gone.statusCode).toBe(404);
    expect(gone.json().error).toMatchObject({ code: 'unknown_recipient', field: 'userId' });
    const again = await stack.api.inject({ method: 'DELETE', url: '/v1/recipients/u_1', headers: AUTH });
    expect(again.statusCode).toBe(404);
    expect(again.json().error.code).toBe('unknown_recipient');
  });

  it('keeps a recipient without a phone', async () => {
    const res = await put('no-phone', { preferences: { account: false } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ phone: null, preferences: { account: false } });
  });

  const bad: [string, object, number, string, string][] = [
    ['an invalid phone', { phone: '+1 555' }, 400, 'invalid_phone_number', 'phone'],
    ['a phone without +', { phone: '4155552671' }, 400, 'invalid_phone_number', 'phone'],
    ['an unknown timezone', { timezone: 'Mars/Olympus_Mons' }, 400, 'validation_failed', 'timezone'],
    ['an offset for a timezone', { timezone: 'GMT+25' }, 400, 'validation_failed', 'timezone'],
    ['a bad locale', { locale: 'not a locale' }, 400, 'validation_failed', 'locale'],
    ['otp switched off', { preferences: { otp: false } }, 400, 'validation_failed', 'preferences.otp'],
    ['security switched off', { preferences: { security: false } }, 400, 'validation_failed', 'preferences.security'],
    ['an unknown category', { preferences: { spam: false } }, 400, 'validation_failed', 'preferences.spam'],
    [
      'a non-boolean preference',
      { preferences: { marketing: 'nope' } },
      400,
      'validation_failed',
      'preferences.marketing',
    ],
    ['an unknown field', { email: 'a@b.c' }, 400, 'validation_failed', 'email'],
  ];
  it.each(bad)('refuses %s and stores nothing', async (_, payload, status, code, field) => {
    const res = await put('u_bad', payload);
    expect(res.statusCode).toBe(status);
    expect(res.json().error).toMatchObject({ code, field });
    expect((await get('u_bad')).statusCode).toBe(404);
  });

  it('takes userIds up to 100 characters, refuses longer ones, and needs the API key', async () => {
    expect((await put('x'.repeat(100), { phone: '+14155552671' })).statusCode).toBe(200);
    // The router refuses a longer path parameter before any handler runs; it answers in our error shape.
    const long = await put('x'.repeat(101), { phone: '+14155552671' });
    expect(long.statusCode).toBe(400);
    expect(long.json().error.code).toBe('validation_failed');
    const message = await send({ userId: 'x'.repeat(101), body: 'x' });
    expect(message.json().error).toMatchObject({ code: 'validation_failed', field: 'userId' });
    const res = await stack.api.inject({ method: 'PUT', url: '/v1/recipients/u', payload: { phone: '+14155552671' } });
    expect(res.statusCode).toBe(401);
  });
});

describe('POST /v1/messages by userId', () => {
  beforeAll(async () => {
    await put('alice', { phone: '+14155550100', preferences: { marketing: false } });
    await put('bob', {});
    await put('carol', { phone: '+14155550199' });
    await setOptOut(stack.prisma, '+14155550199', true, 'STOP', 'inbound');
  });

  it('sends to the recipient phone and records the userId', async () => {
    const res = await send({ userId: 'alice', body: 'Your statement is ready.', category: 'account' });
    expect(res.statusCode).toBe(202);
    expect(res.json().to).toBe('+14155550100');
    const row = await stack.prisma.message.findUniqueOrThrow({ where: { id: res.json().id } });
    expect(row).toMatchObject({ userId: 'alice', to: '+14155550100', country: 'US' });
  });

  it('lets otp and security through whatever the preferences', async () => {
    await put('dave', { phone: '+14155550111', preferences: { transaction: false, marketing: false, account: false } });
    for (const category of ['otp', 'security']) {
      expect((await send({ userId: 'dave', body: 'x', category })).statusCode).toBe(202);
    }
  });

  const refused: [string, object, number, string, string][] = [
    ['an unknown recipient', { userId: 'nobody', body: 'x' }, 404, 'unknown_recipient', 'userId'],
    ['a recipient without a phone', { userId: 'bob', body: 'x' }, 422, 'recipient_has_no_phone', 'userId'],
    [
      'a category switched off',
      { userId: 'alice', body: 'x', category: 'marketing' },
      422,
      'category_disabled',
      'category',
    ],
    [
      'a template whose category is switched off',
      { userId: 'alice', template: 'promotion', data: { offer: 'Half price.' } },
      422,
      'category_disabled',
      'category',
    ],
    ['an opted-out number', { userId: 'carol', body: 'x' }, 422, 'recipient_opted_out', 'to'],
  ];
  it.each(refused)('refuses %s and writes nothing', async (_, payload, status, code, field) => {
    const before = await stack.prisma.message.count();
    const res = await send(payload);
    expect(res.statusCode).toBe(status);
    expect(res.json().error).toMatchObject({ code, field });
    expect(await stack.prisma.message.count()).toBe(before);
  });
});
