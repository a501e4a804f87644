import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, createApiDeps } from '../src/index.js';
import { API_KEY, AUTH, signedWebhook, startStack, type Stack } from '../../../test/stack.js';

const OTHER = { authorization: 'Bearer other-secret' };
const LIMITS = { API_RATE_LIMIT_PER_MINUTE: '5', API_KEYS: `tests:${API_KEY},other:other-secret` };

let stack: Stack;
let noRedis: Stack;
beforeAll(async () => {
  stack = await startStack({ withWorkers: false, env: LIMITS });
  noRedis = await startStack({ withWorkers: false, env: { ...LIMITS, REDIS_URL: 'redis://127.0.0.1:1' } });
});
afterAll(async () => {
  await stack.close();
  await noRedis.close();
});

const list = (headers: Record<string, string>, api = stack.api) => api.inject({ url: '/v1/messages', headers });

describe('API_RATE_LIMIT_PER_MINUTE, per API key', () => {
  it('answers the request over the limit with 429 rate_limited and Retry-After; another key is unaffected', async () => {
    for (let i = 1; i <= 5; i++) {
      const res = await list(AUTH);
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBe('5');
      expect(res.headers['x-ratelimit-remaining']).toBe(String(5 - i));
      expect(Number(res.headers['x-ratelimit-reset'])).toBeGreaterThan(0);
    }
    const sixth = await list(AUTH);
    expect(sixth.statusCode).toBe(429);
    expect(sixth.json()).toEqual({ error: { code: 'rate_limited', message: expect.stringMatching(/per minute/) } });
    const retryAfter = Number(sixth.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(sixth.headers['x-ratelimit-remaining']).toBe('0');
    // Every /v1 route draws on the same allowance, writes included: nothing is recorded.
    const post = await stack.api.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: AUTH,
      payload: { to: '+14155552671', body: 'over the limit' },
    });
    expect(post.statusCode).toBe(429);
    expect(await stack.prisma.message.count()).toBe(0);

    const other = await list(OTHER);
    expect(other.statusCode).toBe(200);
    expect(other.headers['x-ratelimit-remaining']).toBe('4');
  });

  it('counts in Redis, so a second API process sees the same count', async () => {
    const deps = createApiDeps(stack.config);
    const second = await buildApp(deps);
    try {
      expect((await list(AUTH, second)).statusCode).toBe(429);
      expect((await list(OTHER, second)).headers['x-ratelimit-remaining']).toBe('3');
    } finally {
      await second.close();
      await deps.close();
    }
    const keys = await stack.apiDeps.redis.keys(`${stack.config.queuePrefix}:api-rate:*`);
    expect(keys.sort()).toEqual([
      `${stack.config.queuePrefix}:api-rate:other`,
      `${stack.config.queuePrefix}:api-rate:tests`,
    ]);
  });

  it('checks the key first: an unknown key gets 401, not 429, and uses up nothing', async () => {
    const res = await list({ authorization: 'Bearer nobody' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['x-ratelimit-limit']).toBeUndefined();
  });

  it('leaves health, metrics, docs and Twilio webhooks alone', async () => {
    for (const url of ['/healthz', '/metrics', '/docs/json']) {
      const res = await stack.api.inject({ url });
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
    }
    const webhook = await signedWebhook(stack, '/webhooks/twilio/inbound', {
      MessageSid: `SM${'e5'.repeat(16)}`,
      From: '+14155550199',
      Body: 'hi',
    });
    expect(webhook.statusCode).toBe(200);
    expect(webhook.headers['x-ratelimit-limit']).toBeUndefined();
  });

  it('is in the OpenAPI document as a 429 on /v1 routes', async () => {
    const doc = (await stack.api.inject({ url: '/docs/json' })).json();
    expect(doc.paths['/v1/messages'].post.responses['429'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/ErrorResponse',
    });
  });

  it('fails open when Redis is down: requests are served uncounted instead of failing', async () => {
    for (let i = 0; i < 7; i++) {
      const res = await noRedis.api.inject({ url: `/v1/messages/${randomUUID()}`, headers: AUTH });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('not_found');
    }
  });
});
