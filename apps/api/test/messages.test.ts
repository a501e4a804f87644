import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, startStack, type Stack } from '../../../test/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ withWorkers: false });
});
afterAll(async () => {
  await stack.close();
});

const post = (payload: unknown, headers: Record<string, string> = AUTH) =>
  stack.api.inject({ method: 'POST', url: '/v1/messages', headers, payload: payload as object });
const rowCount = () => stack.prisma.message.count();

describe('POST /v1/messages', () => {
  it('accepts a message, stores it queued with its event, and enqueues its id only', async () => {
    const res = await post({ to: '+1 415 555 2671', body: 'Your card ending 4242 was blocked.', category: 'security' });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toMatchObject({
      status: 'queued',
      to: '+14155552671',
      category: 'security',
      segments: 1,
      encoding: 'GSM-7',
    });
    expect(new Date(body.expiresAt).getTime() - new Date(body.createdAt).getTime()).toBe(3600_000);
    const row = await stack.prisma.message.findUniqueOrThrow({ where: { id: body.id }, include: { events: true } });
    expect(row.status).toBe('queued');
    expect(row.events.map((e) => [e.status, e.source])).toEqual([['queued', 'api']]);
    const job = await stack.apiDeps.queues.send.getJob(body.id);
    expect(job?.data).toEqual({ messageId: body.id });
    expect(job?.opts.priority).toBe(2);
  });

  it('counts UCS-2 segments as Twilio does', async () => {
    const res = await post({
      to: '+14155552671',
      body: 'Ваш код подтверждения готов, проверьте приложение банка и не сообщайте его никому',
    });
    expect(res.json()).toMatchObject({ encoding: 'UCS-2', segments: 2 });
  });

  it('honours ttlSeconds and sendAt', async () => {
    const sendAt = new Date(Date.now() + 60_000).toISOString();
    const res = await post({ to: '+14155552671', body: 'later', ttlSeconds: 120, sendAt });
    expect(res.statusCode).toBe(202);
    expect(new Date(res.json().expiresAt).getTime()).toBe(new Date(sendAt).getTime() + 120_000);
    const job = await stack.apiDeps.queues.send.getJob(res.json().id);
    expect(await job?.getState()).toBe('delayed');
  });

  const bad: [string, unknown, number, string, string?][] = [
    ['missing to and userId', { body: 'x' }, 400, 'validation_failed', 'to'],
    ['both to and userId', { to: '+14155552671', userId: 'u1', body: 'x' }, 400, 'validation_failed', 'to'],
    ['missing body and template', { to: '+14155552671' }, 400, 'validation_failed', 'body'],
    ['an unparseable number', { to: '+1 555', body: 'x' }, 400, 'invalid_phone_number', 'to'],
    ['a number without +', { to: '4155552671', body: 'x' }, 400, 'invalid_phone_number', 'to'],
    ['letters for a number', { to: 'hello', body: 'x' }, 400, 'invalid_phone_number', 'to'],
    ['a body over 1600 characters', { to: '+14155552671', body: 'x'.repeat(1601) }, 400, 'validation_failed', 'body'],
    ['an empty body', { to: '+14155552671', body: '' }, 400, 'validation_failed', 'body'],
    ['an unknown category', { to: '+14155552671', body: 'x', category: 'spam' }, 400, 'validation_failed', 'category'],
    [
      'ttlSeconds over 36000',
      { to: '+14155552671', body: 'x', ttlSeconds: 36001 },
      400,
      'validation_failed',
      'ttlSeconds',
    ],
    ['ttlSeconds of 0', { to: '+14155552671', body: 'x', ttlSeconds: 0 }, 400, 'validation_failed', 'ttlSeconds'],
    ['a bad sendAt', { to: '+14155552671', body: 'x', sendAt: 'tomorrow' }, 400, 'validation_failed', 'sendAt'],
    ['an unknown field', { to: '+14155552671', body: 'x', colour: 'red' }, 400, 'validation_failed', 'colour'],
    ['a number for to', { to: 14155552671, body: 'x' }, 400, 'invalid_phone_number', 'to'],
    ['a template (none exist yet)', { to: '+14155552671', template: 'nope' }, 400, 'unknown_template', 'template'],
    ['an unknown userId', { userId: 'u_404', body: 'x' }, 404, 'unknown_recipient', 'userId'],
  ];
  it.each(bad)('refuses %s without writing anything', async (_name, payload, status, code, field) => {
    const before = await rowCount();
    const res = await post(payload);
    expect(res.statusCode).toBe(status);
    expect(res.json().error).toMatchObject({ code, ...(field ? { field } : {}) });
    expect(typeof res.json().error.message).toBe('string');
    expect(await rowCount()).toBe(before);
  });

  it('refuses malformed JSON with a JSON error', async () => {
    const res = await stack.api.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { ...AUTH, 'content-type': 'application/json' },
      payload: '{"to": "+14155552671", "body": ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_failed');
  });

  it('refuses a body that is not JSON', async () => {
    const res = await stack.api.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { ...AUTH, 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe('validation_failed');
  });

  it.each([
    ['no Authorization header', {}],
    ['a wrong key', { authorization: 'Bearer nope' }],
    ['a non-bearer scheme', { authorization: 'Basic dGVzdDp0ZXN0' }],
  ])('answers 401 to %s', async (_name, headers) => {
    const before = await rowCount();
    const res = await post({ to: '+14155552671', body: 'x' }, headers as Record<string, string>);
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('unauthorized');
    expect(await rowCount()).toBe(before);
  });

  it('refuses countries outside ALLOWED_COUNTRIES', async () => {
    const gb = await startStack({ withWorkers: false, env: { ALLOWED_COUNTRIES: 'GB' } });
    try {
      const res = await gb.api.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: AUTH,
        payload: { to: '+14155552671', body: 'x' },
      });
      expect(res.statusCode).toBe(422);
      expect(res.json().error.code).toBe('country_not_allowed');
      const ok = await gb.api.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: AUTH,
        payload: { to: '+447400123456', body: 'x' },
      });
      expect(ok.statusCode).toBe(202);
    } finally {
      await gb.close();
    }
  });
});

describe('GET /v1/messages/:id', () => {
  it('returns the message with its events', async () => {
    const created = (await post({ to: '+14155552671', body: 'hello', metadata: { ref: 'abc' } })).json();
    const res = await stack.api.inject({ url: `/v1/messages/${created.id}`, headers: AUTH });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      id: created.id,
      status: 'queued',
      to: '+14155552671',
      from: null,
      attempts: 0,
      twilioSid: null,
      metadata: { ref: 'abc' },
      events: [{ status: 'queued', source: 'api', errorCode: null }],
    });
  });

  it('answers 404 not_found for an unknown id and 400 for a malformed one', async () => {
    const missing = await stack.api.inject({ url: '/v1/messages/0192f0c4-0000-7000-8000-000000000000', headers: AUTH });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('not_found');
    const malformed = await stack.api.inject({ url: '/v1/messages/not-an-id', headers: AUTH });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe('validation_failed');
  });

  it('refuses a sendAt that the date-time format allows but no clock can place (a leap second)', async () => {
    const r = await stack.api.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: AUTH,
      payload: { to: '+14155552671', body: 'x', sendAt: '2026-12-31T23:59:60Z' },
    });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toMatchObject({ code: 'validation_failed', field: 'sendAt' });
  });

  it('refuses the NUL character anywhere with 400, never a store error', async () => {
    const cases = [
      { method: 'POST' as const, url: '/v1/messages', payload: { to: '+14155552671', body: 'a\u0000b' } },
      {
        method: 'POST' as const,
        url: '/v1/messages',
        payload: { to: '+14155552671', body: 'x', metadata: { k: '\u0000' } },
      },
      { method: 'GET' as const, url: '/v1/recipients/u%00x' },
      { method: 'GET' as const, url: '/v1/messages?userId=u%00x' },
    ];
    for (const c of cases) {
      const r = await stack.api.inject({ ...c, headers: AUTH });
      expect(r.statusCode).toBe(400);
      expect(r.json().error.code).toBe('validation_failed');
    }
  });

  it('answers a bad or over-long path segment in our error shape, not the framework one', async () => {
    for (const url of ['/v1/messages/%E0%A4%A', `/v1/recipients/${'a'.repeat(200)}`]) {
      const r = await stack.api.inject({ url, headers: AUTH });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toEqual({ error: { code: 'validation_failed', message: expect.any(String) } });
    }
  });
});

describe('GET /v1/messages', () => {
  it('filters and pages with a cursor, newest first', async () => {
    const to = '+14155550123';
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await post({ to, body: `page ${i}`, category: 'account' })).json().id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const qs: string = new URLSearchParams({ to, limit: '2', ...(cursor ? { cursor } : {}) }).toString();
      const res = await stack.api.inject({ url: `/v1/messages?${qs}`, headers: AUTH });
      expect(res.statusCode).toBe(200);
      const page = res.json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((m: { id: string }) => m.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());

    const byCategory = (
      await stack.api.inject({ url: '/v1/messages?category=account&status=queued&limit=100', headers: AUTH })
    ).json();
    expect(byCategory.items.every((m: { category: string }) => m.category === 'account')).toBe(true);
    const future = (
      await stack.api.inject({
        url: `/v1/messages?since=${new Date(Date.now() + 60_000).toISOString()}`,
        headers: AUTH,
      })
    ).json();
    expect(future.items).toEqual([]);
  });

  it('rejects bad filters', async () => {
    for (const qs of ['status=lost', 'limit=0', 'limit=1000', 'since=yesterday', 'cursor=%%%', 'to=12']) {
      const res = await stack.api.inject({ url: `/v1/messages?${qs}`, headers: AUTH });
      expect(res.statusCode, qs).toBe(400);
      expect(['validation_failed', 'invalid_phone_number']).toContain(res.json().error.code);
    }
  });
});

describe('health', () => {
  it('answers /healthz and /readyz', async () => {
    expect((await stack.api.inject({ url: '/healthz' })).statusCode).toBe(200);
    const ready = await stack.api.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', postgres: 'ok', redis: 'ok' });
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await stack.api.inject({ url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
  });
});

describe('Idempotency-Key', () => {
  const payload = { to: '+14155552671', body: 'idempotent', category: 'transaction' };
  const withKey = (key: string, body: object = payload, auth = AUTH) =>
    stack.api.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { ...auth, 'idempotency-key': key },
      payload: body,
    });

  it('returns the first message for a repeat, 409 for another body', async () => {
    const first = await withKey('k-1');
    expect(first.statusCode).toBe(202);
    const again = await withKey('k-1', { category: 'transaction', body: 'idempotent', to: '+14155552671' }); // key order differs
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(first.json().id);
    const other = await withKey('k-1', { ...payload, body: 'changed' });
    expect(other.statusCode).toBe(409);
    expect(other.json().error.code).toBe('idempotency_conflict');
    expect(await stack.prisma.message.count({ where: { body: { in: ['idempotent', 'changed'] } } })).toBe(1);
  });

  it('records one message when identical requests race', async () => {
    const body = { ...payload, body: 'race' };
    const results = await Promise.all(Array.from({ length: 12 }, () => withKey('k-race', body)));
    expect(results.map((r) => r.statusCode).sort()).toEqual([
      200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 202,
    ]);
    expect(new Set(results.map((r) => r.json().id)).size).toBe(1);
    expect(await stack.prisma.message.count({ where: { body: 'race' } })).toBe(1);
    expect(await stack.apiDeps.queues.send.getJob(results[0]!.json().id)).toBeTruthy();
  });

  it('gives each of many concurrent requests its own answer, though they share statements', async () => {
    await stack.prisma.optOut.create({
      data: { phone: '+14155550123', optedOut: true, reason: 'STOP', source: 'inbound' },
    });
    // Distinct numbers, so the recipient cap does not come into it.
    const racing = { ...payload, to: '+14155552700', body: 'grouped race' };
    const plain = Array.from({ length: 30 }, (_, i) => post({ to: `+141555526${10 + i}`, body: `grouped ${i}` }));
    const optedOut = Array.from({ length: 5 }, () => post({ to: '+14155550123', body: 'grouped stop' }));
    const raced = Array.from({ length: 5 }, () => withKey('k-grouped', racing));
    const [ok, refused, keyed] = await Promise.all([plain, optedOut, raced].map((group) => Promise.all(group)));
    expect(ok!.map((r) => r.statusCode)).toEqual(Array(30).fill(202));
    expect(refused!.map((r) => r.json().error.code)).toEqual(Array(5).fill('recipient_opted_out'));
    expect(keyed!.map((r) => r.statusCode).sort()).toEqual([200, 200, 200, 200, 202]);
    expect(new Set(keyed!.map((r) => r.json().id)).size).toBe(1);
    const ids = [...ok!, keyed![0]!].map((r) => r.json().id as string);
    const rows = await stack.prisma.message.findMany({ where: { body: { startsWith: 'grouped' } } });
    expect(rows.map((r) => r.id).sort()).toEqual([...new Set(ids)].sort());
    const jobs = await Promise.all(ids.map((id) => stack.apiDeps.queues.send.getJob(id)));
    expect(jobs.every(Boolean)).toBe(true);
  });

  it('refuses a malformed key', async () => {
    const res = await withKey('has space');
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_failed');
  });
});

describe('POST /v1/messages/:id/cancel', () => {
  it('cancels a queued message, removes its job, and refuses a second cancel', async () => {
    const id = (
      await post({ to: '+14155552671', body: 'cancel me', sendAt: new Date(Date.now() + 600_000).toISOString() })
    ).json().id;
    const res = await stack.api.inject({ method: 'POST', url: `/v1/messages/${id}/cancel`, headers: AUTH });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id, status: 'canceled' });
    expect(await stack.apiDeps.queues.send.getJob(id)).toBeUndefined();
    const again = await stack.api.inject({ method: 'POST', url: `/v1/messages/${id}/cancel`, headers: AUTH });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('not_cancelable');
    const m = (await stack.api.inject({ url: `/v1/messages/${id}`, headers: AUTH })).json();
    expect(m.events.map((e: { status: string }) => e.status)).toEqual(['queued', 'canceled']);
  });

  it('answers 404 for an unknown message', async () => {
    const res = await stack.api.inject({
      method: 'POST',
      url: '/v1/messages/0192f0c4-0000-7000-8000-000000000000/cancel',
      headers: AUTH,
    });
    expect(res.statusCode).toBe(404);
  });
});
