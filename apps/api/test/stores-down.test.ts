import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, signedWebhook, startStack, type Stack } from '../../../test/stack.js';

// Nothing listens on port 1: the store behind it is "down".
describe('stores down', () => {
  let noRedis: Stack;
  let noPostgres: Stack;
  beforeAll(async () => {
    noRedis = await startStack({ withWorkers: false, env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    noPostgres = await startStack({
      withWorkers: false,
      env: { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/none' },
    });
  });
  afterAll(async () => {
    await noRedis.close();
    await noPostgres.close();
  });

  it('Redis down: 503 unavailable, and the message is not left in Postgres', async () => {
    const res = await noRedis.api.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: AUTH,
      payload: { to: '+14155552671', body: 'x' },
    });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('unavailable');
    expect(res.headers['retry-after']).toBeDefined();
    expect(await noRedis.prisma.message.count()).toBe(0);
    expect((await noRedis.api.inject({ url: '/readyz' })).statusCode).toBe(503);
  });

  // Both down: status-callbacks.test.ts.
  it('a signed status callback is taken while one store answers: applied in Postgres, or queued', async () => {
    const params = { MessageSid: `SM${'d4'.repeat(16)}`, MessageStatus: 'sent' };
    expect((await signedWebhook(noRedis, '/webhooks/twilio/status', params)).statusCode).toBe(204);
    expect((await signedWebhook(noPostgres, '/webhooks/twilio/status', params)).statusCode).toBe(204);
    expect(await noPostgres.apiDeps.queues.status.getJob(`${params.MessageSid}-sent`)).toBeDefined();
  });

  it('Postgres down: 503 unavailable', async () => {
    const res = await noPostgres.api.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: AUTH,
      payload: { to: '+14155552671', body: 'x' },
    });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('unavailable');
    expect((await noPostgres.api.inject({ url: '/readyz' })).json()).toMatchObject({ postgres: 'down', redis: 'ok' });
  });
});
