import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WEBHOOK_EVENTS, MessageSealer } from '@smsq/shared';
import { AUTH, startStack, type Stack } from '../../../test/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ withWorkers: false, env: { WEBHOOK_ALLOW_PRIVATE: 'false' } });
});
afterAll(async () => stack.close());

/** A public address given literally: accepted without a DNS lookup, never called (no workers here). */
const URL_OK = 'https://93.184.215.14/hooks/smsq';
const later = () => new Date(Date.now() + 3600_000).toISOString();

type Headers = Record<string, string>;
const call = (headers: Headers, method: string, url: string, payload?: object) =>
  stack.api.inject({ method: method as 'GET', url, headers, ...(payload ? { payload } : {}) });
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function createService(name: string) {
  const res = await call(AUTH, 'POST', '/v1/admin/services', { name });
  expect(res.statusCode).toBe(201);
  return res.json().id as string;
}
async function createKey(serviceId: string, type: 'live' | 'test', scopes: string[]) {
  const res = await call(AUTH, 'POST', `/v1/admin/services/${serviceId}/keys`, { type, scopes });
  expect(res.statusCode, res.body).toBe(201);
  return bearer(res.json().key);
}
async function createEndpoint(headers: Headers, body: object = {}) {
  const res = await call(headers, 'POST', '/v1/webhook-endpoints', { url: URL_OK, ...body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; secret: string; events: string[] };
}
const ALL = ['messages:send', 'messages:read', 'otp:verify', 'webhooks'];

describe('webhook endpoints', () => {
  it('creates one with a whsec_ secret that is shown once and stored only sealed', async () => {
    const made = await createEndpoint(AUTH, { description: 'orders' });
    expect(made).toMatchObject({
      url: URL_OK,
      events: [...DEFAULT_WEBHOOK_EVENTS],
      description: 'orders',
      enabled: true,
      disabledReason: null,
      failingSince: null,
    });
    expect(made.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(made.secret.slice('whsec_'.length), 'base64')).toHaveLength(32);

    const one = await call(AUTH, 'GET', `/v1/webhook-endpoints/${made.id}`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).not.toHaveProperty('secret');
    const list = await call(AUTH, 'GET', '/v1/webhook-endpoints');
    expect(list.json().items.map((e: { id: string }) => e.id)).toContain(made.id);
    expect(list.body).not.toContain(made.secret.slice(6));

    const rows = await stack.prisma.$queryRaw<{ row: string }[]>`
      SELECT row_to_json(w)::text AS row FROM webhook_endpoints w`;
    const text = rows.map((r) => r.row).join('\n');
    expect(text).toContain(made.id);
    expect(text).not.toContain(made.secret.slice(6));
    const row = await stack.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: made.id } });
    expect(new MessageSealer(stack.config.otpSecret, 'webhook secret').open(made.id, row.sealedSecret)).toBe(
      made.secret,
    );
    expect(row).toMatchObject({ apiKey: 'tests', test: false });
    const audited = await stack.prisma.auditEvent.findFirstOrThrow({ where: { target: made.id } });
    expect(audited).toMatchObject({ action: 'webhook.created', detail: { host: '93.184.215.14' } });
    expect(JSON.stringify(audited.detail)).not.toContain(made.secret.slice(6));
  });

  it('lists newest first, changes, re-enables and deletes', async () => {
    const svc = await createService('wh-crud');
    const key = await createKey(svc, 'live', ['webhooks']);
    const first = await createEndpoint(key);
    const second = await createEndpoint(key, { events: ['message.failed'] });
    const list = (await call(key, 'GET', '/v1/webhook-endpoints')).json().items as { id: string }[];
    expect(list.map((e) => e.id)).toEqual([second.id, first.id]);

    await stack.prisma.webhookEndpoint.update({
      where: { id: first.id },
      data: { enabled: false, disabledReason: 'the endpoint answered 410 Gone', failingSince: new Date() },
    });
    const patched = await call(key, 'PATCH', `/v1/webhook-endpoints/${first.id}`, {
      url: 'https://93.184.215.14/v2',
      events: ['message.delivered', 'otp.failed'],
      enabled: true,
      description: 'v2',
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({
      url: 'https://93.184.215.14/v2',
      events: ['message.delivered', 'otp.failed'],
      enabled: true,
      disabledReason: null,
      failingSince: null,
      description: 'v2',
    });
    const off = await call(key, 'PATCH', `/v1/webhook-endpoints/${first.id}`, { enabled: false, description: null });
    expect(off.json()).toMatchObject({ enabled: false, description: null, url: 'https://93.184.215.14/v2' });
    expect(off.json().updatedAt > off.json().createdAt).toBe(true);
    const badUrl = await call(key, 'PATCH', `/v1/webhook-endpoints/${first.id}`, { url: 'https://10.0.0.1/' });
    expect(badUrl.json().error).toMatchObject({ code: 'url_not_allowed', field: 'url' });
    expect((await call(key, 'PATCH', `/v1/webhook-endpoints/${first.id}`, {})).statusCode).toBe(400);

    await call(key, 'POST', `/v1/webhook-endpoints/${first.id}/test`);
    const deleted = await call(key, 'DELETE', `/v1/webhook-endpoints/${first.id}`);
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe('');
    expect(await stack.prisma.webhookDelivery.count({ where: { endpointId: first.id } })).toBe(0);
    expect((await call(key, 'GET', `/v1/webhook-endpoints/${first.id}`)).statusCode).toBe(404);
    expect((await call(key, 'DELETE', `/v1/webhook-endpoints/${first.id}`)).statusCode).toBe(404);
    const actions = await stack.prisma.auditEvent.findMany({ where: { target: first.id }, orderBy: { id: 'asc' } });
    expect(actions.map((a) => a.action)).toEqual([
      'webhook.created',
      'webhook.updated',
      'webhook.updated',
      'webhook.deleted',
    ]);
  });

  it("another service's endpoint, and a live key's for a test key, are not found", async () => {
    const mine = await createEndpoint(AUTH);
    const other = await createKey(await createService('wh-other'), 'live', ALL);
    const testKey = await createKey(await createService('wh-tests'), 'test', ALL);
    const id = mine.id;
    for (const [method, url, body] of [
      ['GET', `/v1/webhook-endpoints/${id}`, undefined],
      ['PATCH', `/v1/webhook-endpoints/${id}`, { enabled: false }],
      ['DELETE', `/v1/webhook-endpoints/${id}`, undefined],
      ['POST', `/v1/webhook-endpoints/${id}/rotate-secret`, undefined],
      ['POST', `/v1/webhook-endpoints/${id}/test`, undefined],
      ['GET', `/v1/webhook-endpoints/${id}/deliveries`, undefined],
      ['POST', `/v1/webhook-endpoints/${id}/deliveries/replay`, { since: '2026-01-01T00:00:00Z' }],
    ] as const) {
      for (const key of [other, testKey]) {
        const res = await call(key, method, url, body);
        expect(res.statusCode, `${method} ${url}`).toBe(404);
        expect(res.json().error.code).toBe('not_found');
      }
    }
    expect((await call(other, 'GET', '/v1/webhook-endpoints')).json().items).toEqual([]);
    expect((await stack.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id } })).enabled).toBe(true);
    const noScope = await createKey(await createService('wh-noscope'), 'live', ['messages:send']);
    const refused = await call(noScope, 'GET', '/v1/webhook-endpoints');
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('insufficient_scope');
  });

  it('allows at most 10 endpoints per key, also when 12 are created at once', async () => {
    const key = await createKey(await createService('wh-limit'), 'live', ['webhooks']);
    const results = await Promise.all(
      Array.from({ length: 12 }, () => call(key, 'POST', '/v1/webhook-endpoints', { url: URL_OK })),
    );
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(10);
    const refused = results.filter((r) => r.statusCode !== 201);
    expect(refused.map((r) => [r.statusCode, r.json().error.code])).toEqual([
      [400, 'too_many_endpoints'],
      [400, 'too_many_endpoints'],
    ]);
    expect((await call(key, 'GET', '/v1/webhook-endpoints')).json().items).toHaveLength(10);
    // A test key of the same service is another owner, with its own 10.
    const testKey = await createKey(await createService('wh-limit-test'), 'test', ['webhooks']);
    await createEndpoint(testKey);
  });

  const bad: [string, object, string, string][] = [
    ['another scheme', { url: 'ftp://x' }, 'invalid_url', 'url'],
    ['not a URL', { url: 'not a url' }, 'invalid_url', 'url'],
    ['plain http', { url: 'http://example.com' }, 'invalid_url', 'url'],
    ['credentials in the URL', { url: 'https://user:pw@93.184.215.14/' }, 'invalid_url', 'url'],
    ['loopback', { url: 'https://127.0.0.1/x' }, 'url_not_allowed', 'url'],
    ['a private address', { url: 'https://10.1.2.3/' }, 'url_not_allowed', 'url'],
    ['cloud metadata', { url: 'https://169.254.169.254/latest' }, 'url_not_allowed', 'url'],
    ['IPv6 loopback', { url: 'https://[::1]/' }, 'url_not_allowed', 'url'],
    ['IPv4-mapped loopback', { url: 'https://[::ffff:127.0.0.1]/' }, 'url_not_allowed', 'url'],
    ['a name that resolves to loopback', { url: 'https://localhost/' }, 'url_not_allowed', 'url'],
    ['an over-long URL', { url: `https://93.184.215.14/${'a'.repeat(2048)}` }, 'validation_failed', 'url'],
    ['an unknown event', { url: URL_OK, events: ['message.opened'] }, 'validation_failed', 'events.0'],
    ['no events', { url: URL_OK, events: [] }, 'validation_failed', 'events'],
    ['an event twice', { url: URL_OK, events: ['otp.failed', 'otp.failed'] }, 'validation_failed', 'events'],
    ['a description too long', { url: URL_OK, description: 'd'.repeat(257) }, 'validation_failed', 'description'],
    ['an unknown field', { url: URL_OK, secret: 'mine' }, 'validation_failed', 'secret'],
  ];
  it.each(bad)('refuses %s with 400 and its code, and records nothing', async (_name, body, code, field) => {
    const before = await stack.prisma.webhookEndpoint.count();
    const res = await call(AUTH, 'POST', '/v1/webhook-endpoints', body);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error).toMatchObject({ code, field });
    expect(await stack.prisma.webhookEndpoint.count()).toBe(before);
  });

  it('rotates the secret, keeping the old one sealed for 24 h', async () => {
    const made = await createEndpoint(AUTH);
    const before = await stack.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: made.id } });
    const res = await call(AUTH, 'POST', `/v1/webhook-endpoints/${made.id}/rotate-secret`);
    expect(res.statusCode).toBe(200);
    const rotated = res.json();
    expect(rotated.id).toBe(made.id);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(made.secret);
    const ahead = new Date(rotated.previousSecretExpiresAt).getTime() - Date.now();
    expect(ahead).toBeGreaterThan(24 * 3600_000 - 60_000);
    expect(ahead).toBeLessThanOrEqual(24 * 3600_000);
    const row = await stack.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: made.id } });
    expect(row.sealedPreviousSecret).toBe(before.sealedSecret);
    expect(row.previousSecretUntil?.toISOString()).toBe(rotated.previousSecretExpiresAt);
    const sealer = new MessageSealer(stack.config.otpSecret, 'webhook secret');
    expect(sealer.open(made.id, row.sealedSecret)).toBe(rotated.secret);
    expect(sealer.open(made.id, row.sealedPreviousSecret!)).toBe(made.secret);
  });
});

describe('deliveries', () => {
  it('/test adds a pending webhook.test delivery; the list filters by state and pages', async () => {
    const { id } = await createEndpoint(AUTH);
    const sent = await call(AUTH, 'POST', `/v1/webhook-endpoints/${id}/test`);
    expect(sent.statusCode).toBe(202);
    const { deliveryId } = sent.json();
    const row = await stack.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId } });
    expect(row).toMatchObject({ endpointId: id, type: 'webhook.test', state: 'pending', enqueuedAt: null });

    const ids = [deliveryId as string];
    for (let i = 0; i < 4; i++)
      ids.push((await call(AUTH, 'POST', `/v1/webhook-endpoints/${id}/test`)).json().deliveryId);
    await stack.prisma.webhookDelivery.updateMany({ where: { id: { in: ids.slice(0, 2) } }, data: { state: 'dead' } });
    const dead = (await call(AUTH, 'GET', `/v1/webhook-endpoints/${id}/deliveries?status=dead`)).json();
    expect(dead.items.map((d: { id: string }) => d.id).sort()).toEqual(ids.slice(0, 2).sort());
    expect(dead.items[0]).toMatchObject({ type: 'webhook.test', state: 'dead', status: null, attempts: 0 });

    const page1 = (await call(AUTH, 'GET', `/v1/webhook-endpoints/${id}/deliveries?limit=3`)).json();
    expect(page1.items).toHaveLength(3);
    const page2 = (
      await call(AUTH, 'GET', `/v1/webhook-endpoints/${id}/deliveries?limit=3&before=${page1.nextCursor}`)
    ).json();
    expect(page2.items).toHaveLength(2);
    expect(page2.nextCursor).toBeNull();
    expect([...page1.items, ...page2.items].map((d: { id: string }) => d.id).sort()).toEqual([...ids].sort());
    const future = await call(AUTH, 'GET', `/v1/webhook-endpoints/${id}/deliveries?before=${later()}`);
    expect(future.json().items).toHaveLength(5);

    for (const query of ['status=gone', 'limit=101', 'before=yesterday']) {
      const res = await call(AUTH, 'GET', `/v1/webhook-endpoints/${id}/deliveries?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.code).toBe('validation_failed');
    }
  });

  it('shows one delivery with its attempts; retry and replay send dead ones again', async () => {
    const { id } = await createEndpoint(AUTH);
    const post = async () => (await call(AUTH, 'POST', `/v1/webhook-endpoints/${id}/test`)).json().deliveryId as string;
    const [a, b, c] = [await post(), await post(), await post()];
    await stack.prisma.$executeRaw`
      UPDATE webhook_deliveries SET state = 'dead', attempts = 9, enqueued_at = now(), last_response_status = 500
      WHERE id = ANY(${[a, b, c]}::uuid[])`;
    await stack.prisma.$executeRaw`
      INSERT INTO webhook_attempts (delivery_id, response_status, error, latency_ms)
      VALUES (${a}::uuid, 500, NULL, 12), (${a}::uuid, NULL, 'timeout after 10000 ms', 10001)`;
    const one = await call(AUTH, 'GET', `/v1/webhook-endpoints/${id}/deliveries/${a}`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ id: a, state: 'dead', attempts: 9, lastResponseStatus: 500 });
    expect(one.json().attemptLog).toEqual([
      { at: expect.any(String), responseStatus: 500, error: null, latencyMs: 12 },
      { at: expect.any(String), responseStatus: null, error: 'timeout after 10000 ms', latencyMs: 10001 },
    ]);

    const retried = await call(AUTH, 'POST', `/v1/webhook-endpoints/${id}/deliveries/${a}/retry`);
    expect(retried.statusCode).toBe(202);
    expect(retried.json()).toMatchObject({ id: a, state: 'pending', attempts: 0, nextAttemptAt: null });
    const row = await stack.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: a } });
    expect(row).toMatchObject({ state: 'pending', enqueuedAt: null, attempts: 0 });

    // b is older than the replay window; c is in it.
    await stack.prisma.$executeRaw`
      UPDATE webhook_deliveries SET created_at = now() - interval '2 days' WHERE id = ${b}::uuid`;
    const since = new Date(Date.now() - 3600_000).toISOString();
    const replay = await call(AUTH, 'POST', `/v1/webhook-endpoints/${id}/deliveries/replay`, { since });
    expect(replay.statusCode).toBe(202);
    expect(replay.json()).toEqual({ replayed: 1 });
    const states = await stack.prisma.webhookDelivery.findMany({ where: { id: { in: [b, c] } } });
    expect(Object.fromEntries(states.map((d) => [d.id, [d.state, d.enqueuedAt]]))).toEqual({
      [b]: ['dead', expect.any(Date)],
      [c]: ['pending', null],
    });
    const bounded = await call(AUTH, 'POST', `/v1/webhook-endpoints/${id}/deliveries/replay`, {
      since: new Date(Date.now() - 3 * 86_400_000).toISOString(),
      until: since,
    });
    expect(bounded.json()).toEqual({ replayed: 1 });
    const backwards = await call(AUTH, 'POST', `/v1/webhook-endpoints/${id}/deliveries/replay`, {
      since,
      until: since,
    });
    expect(backwards.json().error).toMatchObject({ code: 'validation_failed', field: 'until' });

    const other = await createEndpoint(AUTH);
    for (const url of [`/v1/webhook-endpoints/${other.id}/deliveries/${a}`]) {
      expect((await call(AUTH, 'GET', url)).statusCode).toBe(404);
      expect((await call(AUTH, 'POST', `${url}/retry`)).statusCode).toBe(404);
    }
    const stranger = await createKey(await createService('wh-stranger'), 'live', ['webhooks']);
    expect((await call(stranger, 'GET', `/v1/webhook-endpoints/${id}/deliveries/${a}`)).statusCode).toBe(404);
    expect((await call(stranger, 'POST', `/v1/webhook-endpoints/${id}/deliveries/${a}/retry`)).statusCode).toBe(404);
  });

  it("a status change of the owner's message fills the outbox for the endpoints subscribed to it", async () => {
    const key = await createKey(await createService('wh-events'), 'live', ALL);
    const testKey = await createKey(await createService('wh-events-test'), 'test', ALL);
    const canceledOnly = await createEndpoint(key, { events: ['message.canceled'] });
    const sentOnly = await createEndpoint(key, { events: ['message.sent'] });
    const byDefault = await createEndpoint(key);
    expect(byDefault.events).not.toContain('message.sent');
    const testEndpoint = await createEndpoint(testKey, { events: ['message.canceled'] });
    const elsewhere = await createEndpoint(AUTH, { events: ['message.canceled'] });

    const sent = await call(key, 'POST', '/v1/messages', {
      to: '+14155550177',
      body: 'later',
      sendAt: later(),
      reference: 'order-1',
    });
    expect(sent.statusCode).toBe(202);
    const messageId = sent.json().id as string;
    expect((await call(key, 'POST', `/v1/messages/${messageId}/cancel`)).statusCode).toBe(200);

    const rows = await stack.prisma.webhookDelivery.findMany({ where: { messageId } });
    expect(rows.map((r) => [r.endpointId, r.type, r.status, r.state]).sort()).toEqual(
      [
        [canceledOnly.id, 'message.canceled', 'canceled', 'pending'],
        [byDefault.id, 'message.canceled', 'canceled', 'pending'],
      ].sort(),
    );
    for (const e of [sentOnly, testEndpoint, elsewhere]) {
      expect(await stack.prisma.webhookDelivery.count({ where: { endpointId: e.id } })).toBe(0);
    }
    const listed = (await call(key, 'GET', `/v1/webhook-endpoints/${canceledOnly.id}/deliveries`)).json();
    expect(listed.items).toEqual([
      expect.objectContaining({ type: 'message.canceled', messageId, otpId: null, status: 'canceled' }),
    ]);
  });
});

describe('reference', () => {
  it('is kept on single, batch and OTP requests and shown wherever the message is', async () => {
    const single = await call(AUTH, 'POST', '/v1/messages', {
      to: '+14155550181',
      body: 'hi',
      reference: 'order-8812',
    });
    expect(single.statusCode).toBe(202);
    expect(single.json().reference).toBe('order-8812');
    const got = (await call(AUTH, 'GET', `/v1/messages/${single.json().id}`)).json();
    expect(got.reference).toBe('order-8812');
    const listed = (await call(AUTH, 'GET', '/v1/messages?to=%2B14155550181')).json();
    expect(listed.items[0].reference).toBe('order-8812');

    const batch = await call(AUTH, 'POST', '/v1/messages/batch', {
      messages: [
        { to: '+14155550182', body: 'a', reference: 'b-1' },
        { to: '+14155550183', body: 'b' },
        { to: '+14155550184', body: 'c', reference: 'r'.repeat(129) },
      ],
    });
    expect(batch.statusCode).toBe(200);
    const [first, second, third] = batch.json().results;
    expect((await call(AUTH, 'GET', `/v1/messages/${first.id}`)).json().reference).toBe('b-1');
    expect((await call(AUTH, 'GET', `/v1/messages/${second.id}`)).json().reference).toBeNull();
    expect(third.error).toMatchObject({ code: 'validation_failed', field: 'reference' });

    const otp = await call(AUTH, 'POST', '/v1/otp', { to: '+14155550185', purpose: 'login', reference: 'session-9' });
    expect(otp.statusCode).toBe(202);
    expect(otp.json().reference).toBe('session-9');
    const otpRow = await stack.prisma.otp.findUniqueOrThrow({ where: { id: otp.json().id } });
    expect(otpRow.reference).toBe('session-9');
    expect((await call(AUTH, 'GET', `/v1/messages/${otp.json().messageId}`)).json().reference).toBe('session-9');
    const verdict = await call(AUTH, 'POST', '/v1/otp/verify', { id: otp.json().id, code: '000000' });
    expect(verdict.json()).toMatchObject({ valid: false, reference: 'session-9' });
  });

  it('is part of the Idempotency-Key body: the same key with another reference is a conflict', async () => {
    const send = (reference: string) =>
      call({ ...AUTH, 'idempotency-key': 'ref-idem' }, 'POST', '/v1/messages', {
        to: '+14155550186',
        body: 'x',
        reference,
      });
    expect((await send('one')).statusCode).toBe(202);
    const replay = await send('one');
    expect(replay.statusCode).toBe(200);
    expect(replay.json().reference).toBe('one');
    expect((await send('two')).json().error.code).toBe('idempotency_conflict');
  });

  it.each([
    ['/v1/messages', { to: '+14155550187', body: 'x' }],
    ['/v1/otp', { to: '+14155550188', purpose: 'login' }],
  ])('over 128 characters on %s: 400 validation_failed naming it', async (url, body) => {
    for (const reference of ['r'.repeat(129), '']) {
      const res = await call(AUTH, 'POST', url, { ...body, reference });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'validation_failed', field: 'reference' });
    }
    expect((await call(AUTH, 'POST', url, { ...body, reference: 'r'.repeat(128) })).statusCode).toBe(202);
  });
});

describe('with WEBHOOK_ALLOW_PRIVATE=true', () => {
  let open: Stack;
  beforeAll(async () => {
    open = await startStack({ withWorkers: false, env: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
  });
  afterAll(async () => open.close());

  it('accepts plain http and private addresses (tests, the compose stack)', async () => {
    for (const url of ['http://127.0.0.1:1/x', 'https://10.1.2.3/', 'http://localhost:8080/hook']) {
      const res = await open.api.inject({
        method: 'POST',
        url: '/v1/webhook-endpoints',
        headers: AUTH,
        payload: { url },
      });
      expect(res.statusCode, url).toBe(201);
    }
    const ftp = await open.api.inject({
      method: 'POST',
      url: '/v1/webhook-endpoints',
      headers: AUTH,
      payload: { url: 'ftp://127.0.0.1/' },
    });
    expect(ftp.json().error.code).toBe('invalid_url');
  });
});
