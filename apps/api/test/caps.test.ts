import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, keysMatching, startStack, type Stack } from '../../../test/stack.js';

const MAX = 3;
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ withWorkers: false, env: { RECIPIENT_MAX_PER_HOUR: String(MAX) } });
  await stack.api.inject({
    method: 'PUT',
    url: '/v1/recipients/capped',
    headers: AUTH,
    payload: { phone: '+14155550142', preferences: { marketing: false } },
  });
});
afterAll(async () => {
  await stack.close();
});

const send = (payload: object, headers: Record<string, string> = {}) =>
  stack.api.inject({ method: 'POST', url: '/v1/messages', headers: { ...AUTH, ...headers }, payload });

const sendOtp = (to: string) =>
  stack.api.inject({ method: 'POST', url: '/v1/otp', headers: AUTH, payload: { to, purpose: 'login' } });

describe('RECIPIENT_MAX_PER_HOUR', () => {
  it('refuses the message after the cap with 429 and Retry-After, and records nothing', async () => {
    const to = '+14155550142';
    // Refused for other reasons first: none of these may use up the hour's budget.
    expect((await send({ userId: 'capped', body: 'x', category: 'marketing' })).statusCode).toBe(422);
    expect((await send({ to, template: 'card_alert' })).statusCode).toBe(400);
    for (let i = 0; i < MAX; i++) {
      expect(
        (await send({ to, body: `alert ${i}`, category: 'security' }, { 'idempotency-key': `cap-${i}` })).statusCode,
      ).toBe(202);
    }
    // An idempotent repeat answers with the first message and does not count again.
    expect((await send({ to, body: 'alert 0', category: 'security' }, { 'idempotency-key': 'cap-0' })).statusCode).toBe(
      200,
    );
    const before = await stack.prisma.message.count();
    const refused = await send({ userId: 'capped', body: 'one too many' });
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error).toMatchObject({ code: 'rate_limited', field: 'to' });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(3000);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(await stack.prisma.message.count()).toBe(before);
  });

  it('gives back the slots of refusals for an opted-out number, even when they come at once', async () => {
    const to = '+14155550145';
    await stack.prisma.optOut.create({ data: { phone: to, optedOut: true, reason: 'STOP', source: 'inbound' } });
    const refused = await Promise.all(Array.from({ length: MAX + 2 }, (_, i) => send({ to, body: `stopped ${i}` })));
    expect(refused.map((r) => r.statusCode)).toEqual(Array(MAX + 2).fill(422));
    expect(refused[0]!.json().error).toMatchObject({ code: 'recipient_opted_out', field: 'to' });
    await stack.prisma.optOut.update({ where: { phone: to }, data: { optedOut: false } });
    for (let i = 0; i < MAX; i++) expect((await send({ to, body: `back ${i}` })).statusCode).toBe(202);
    expect((await send({ to, body: 'over' })).statusCode).toBe(429);
  });

  it('counts each number on its own and never holds back an OTP', async () => {
    const to = '+14155550143';
    for (let i = 0; i < MAX; i++) expect((await send({ to, body: `n ${i}` })).statusCode).toBe(202);
    expect((await send({ to, body: 'over' })).statusCode).toBe(429);
    for (let i = 0; i < MAX + 2; i++) {
      expect((await send({ to, template: 'two_factor', data: { code: `10000${i}` } })).statusCode).toBe(202);
    }
    expect((await send({ to: '+14155550144', body: 'another number' })).statusCode).toBe(202);
  });

  it('an otp message sent directly meets the same OTP_MAX_SENDS cap as POST /v1/otp', async () => {
    const to = '+14155550145';
    const sends = stack.config.otpMaxSends;
    for (let i = 0; i < sends; i++) {
      const r = i % 2 ? await send({ to, body: `Your code is 12345${i}`, category: 'otp' }) : await sendOtp(to);
      expect(r.statusCode).toBe(202);
    }
    const direct = await send({ to, template: 'two_factor', data: { code: '999999' } });
    expect(direct.statusCode).toBe(429);
    expect(direct.json().error).toMatchObject({ code: 'rate_limited', field: 'to' });
    expect((await sendOtp(to)).statusCode).toBe(429);
  });

  it('identical requests racing with one Idempotency-Key use one slot, not one each', async () => {
    const to = '+14155550146';
    const replies = await Promise.all(
      // As many racers as the cap: each takes a slot while planning, and the losers give theirs back.
      Array.from({ length: MAX }, () => send({ to, body: 'raced' }, { 'idempotency-key': 'cap-race' })),
    );
    expect(new Set(replies.map((r) => r.json().id)).size).toBe(1);
    for (let i = 1; i < MAX; i++) expect((await send({ to, body: `after the race ${i}` })).statusCode).toBe(202);
    expect((await send({ to, body: 'now over' })).statusCode).toBe(429);
  });

  it('keeps the count in Redis under the queue prefix, so every API process shares it', async () => {
    const keys = await keysMatching(stack.apiDeps.redis, `${stack.config.queuePrefix}:cap:recipient:*`);
    expect(keys.map((k) => k.replace(/:\{cap:\d+\}:/, ':')).sort()).toEqual(
      ['+14155550142', '+14155550143', '+14155550144', '+14155550145', '+14155550146'].map(
        (n) => `${stack.config.queuePrefix}:cap:recipient:${n}`,
      ),
    );
    const ttl = await stack.apiDeps.redis.pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3600_000);
  });
});
