import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, eventually, signedWebhook, startStack, type Stack } from '../../../test/stack.js';

// The dashboard has its own file (dashboard.test.ts).
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

/** `name{labels} value` lines of a Prometheus text scrape, as a map. */
async function scrape(): Promise<Map<string, number>> {
  const res = await stack.api.inject({ url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  const series = new Map<string, number>();
  for (const line of res.body.split('\n')) {
    const m = /^(\S+) (\S+)$/.exec(line);
    if (m && !line.startsWith('#')) series.set(m[1]!, Number(m[2]));
  }
  return series;
}
const value = (series: Map<string, number>, name: string) => series.get(name) ?? 0;

describe('OpenAPI', () => {
  it('describes every /v1 route from the route schemas, with bearer auth and the error schema', async () => {
    const res = await stack.api.inject({ url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info).toMatchObject({ title: 'smsq' });
    expect(Object.keys(doc.paths['/v1/messages'])).toEqual(expect.arrayContaining(['post', 'get']));
    expect(doc.paths['/v1/messages/{id}'].get.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'id', in: 'path' })]),
    );
    expect(doc.components.securitySchemes.bearerAuth).toEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    );
    const v1 = Object.entries<Record<string, { security?: unknown; responses: Record<string, unknown> }>>(
      doc.paths,
    ).filter(([path]) => path.startsWith('/v1/'));
    expect(v1.map(([path]) => path)).toEqual(
      expect.arrayContaining(['/v1/messages/batch', '/v1/otp', '/v1/otp/verify', '/v1/recipients/{userId}']),
    );
    for (const [path, item] of v1) {
      for (const [method, operation] of Object.entries(item)) {
        // Each operation names the one scope a key needs (the template catalogue takes any key), and
        // then declares the 403 insufficient_scope answer.
        const scopes = (operation.security as { bearerAuth: string[] }[])[0]!.bearerAuth;
        if (path === '/v1/templates') expect(scopes).toEqual([]);
        else {
          expect(scopes, `${method} ${path}`).toHaveLength(1);
          expect(Object.keys(operation.responses)).toContain('403');
        }
        // Every operation shows an example and its error answers (400 bad input, 401, 429, 503).
        expect(JSON.stringify(operation).includes('"example'), `${method} ${path} has an example`).toBe(true);
        expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['400', '401', '429', '503']));
      }
    }
    const post = doc.paths['/v1/messages'].post;
    expect(post.requestBody.content['application/json'].schema.properties).toHaveProperty('to');
    expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(['202', '400', '401']));
    for (const status of ['400', '401', '503']) {
      expect(post.responses[status].content['application/json'].schema).toEqual({
        $ref: '#/components/schemas/ErrorResponse',
      });
    }
    expect(doc.components.schemas.ErrorResponse.properties.error.required).toEqual(['code', 'message']);
    for (const hook of ['status', 'inbound']) {
      expect(doc.paths[`/webhooks/twilio/${hook}`].post.security).toEqual([{ twilioSignature: [] }]);
    }
    expect(Object.keys(doc.paths['/webhooks/twilio/inbound'].post.responses['200'].content)).toEqual([
      'application/xml',
    ]);
    // The dashboard and the metrics endpoint are not part of the API document.
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/admin') || p === '/metrics')).toBe(false);
  });

  it('serves the UI at /docs', async () => {
    const res = await stack.api.inject({ url: '/docs' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
  });
});

describe('GET /metrics', () => {
  it('exports process metrics and the queue gauges', async () => {
    const series = await scrape();
    expect(series.has('smsq_process_cpu_user_seconds_total')).toBe(true);
    for (const queue of ['send', 'status']) {
      expect(series.has(`smsq_queue_jobs{queue="${queue}",state="waiting"}`)).toBe(true);
      expect(series.has(`smsq_queue_oldest_waiting_age_seconds{queue="${queue}"}`)).toBe(true);
    }
    expect([...series.keys()].every((name) => name.startsWith('smsq_'))).toBe(true);
  });

  it('counts requests by route, accepted messages by category, and webhook callbacks', async () => {
    const before = await scrape();
    const res = await stack.api.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: AUTH,
      payload: { to: '+14155552671', body: 'Your card ending 4242 was blocked.', category: 'security' },
    });
    expect(res.statusCode).toBe(202);
    // The simulator's signed callbacks (sent, delivered) come back through the webhook.
    await eventually(async () => {
      const m = (await stack.api.inject({ url: `/v1/messages/${res.json().id}`, headers: AUTH })).json();
      return m.status === 'delivered' ? m : undefined;
    });
    const after = await eventually(async () => {
      const s = await scrape();
      return value(s, 'smsq_webhook_callbacks_total{endpoint="status",status_code="204"}') -
        value(before, 'smsq_webhook_callbacks_total{endpoint="status",status_code="204"}') >=
        2
        ? s
        : undefined;
    });
    const moved = (name: string) => value(after, name) - value(before, name);
    expect(moved('smsq_messages_accepted_total{category="security"}')).toBe(1);
    expect(moved('smsq_messages_recent{status="delivered",category="security"}')).toBe(1);
    expect(moved('smsq_http_requests_total{method="POST",route="/v1/messages",status_code="202"}')).toBe(1);
    expect(moved('smsq_http_request_duration_seconds_count{method="POST",route="/v1/messages"}')).toBe(1);
    expect(moved('smsq_http_requests_total{method="GET",route="/v1/messages/:id",status_code="200"}')).toBeGreaterThan(
      0,
    );
  });

  it('counts the messages a batch records by category, and nothing for refused or replayed items', async () => {
    const batch = (headers: Record<string, string> = {}) =>
      stack.api.inject({
        method: 'POST',
        url: '/v1/messages/batch',
        headers: { ...AUTH, ...headers },
        payload: {
          messages: [
            { to: '+14155550171', body: 'Your statement is ready.', category: 'account' },
            { to: '+14155550172', body: 'Payment received.', category: 'account' },
            { to: 'not a number', body: 'refused' },
          ],
        },
      });
    const before = await scrape();
    expect((await batch({ 'idempotency-key': 'metrics-batch' })).statusCode).toBe(200);
    expect((await batch({ 'idempotency-key': 'metrics-batch' })).statusCode).toBe(200); // replayed
    const after = await scrape();
    const moved = (name: string) => value(after, name) - value(before, name);
    expect(moved('smsq_messages_accepted_total{category="account"}')).toBe(2);
    expect(moved('smsq_messages_accepted_total{category="transaction"}')).toBe(0);
  });

  it('counts webhook signature failures', async () => {
    const before = await scrape();
    const forged = await signedWebhook(
      stack,
      '/webhooks/twilio/status',
      { MessageSid: `SM${'0'.repeat(32)}`, MessageStatus: 'delivered' },
      'forged',
    );
    expect(forged.statusCode).toBe(403);
    const after = await scrape();
    expect(
      value(after, 'smsq_webhook_signature_failures_total{endpoint="status"}') -
        value(before, 'smsq_webhook_signature_failures_total{endpoint="status"}'),
    ).toBe(1);
  });

  it('reports the backlog and the age of the oldest waiting job', async () => {
    await stack.workers!.send.pause();
    try {
      for (const to of ['+14155552673', '+14155552674']) {
        const res = await stack.api.inject({
          method: 'POST',
          url: '/v1/messages',
          headers: AUTH,
          payload: { to, body: 'held back', category: 'marketing' },
        });
        expect(res.statusCode).toBe(202);
      }
      await new Promise((r) => setTimeout(r, 1100));
      const series = await scrape();
      expect(
        value(series, 'smsq_queue_jobs{queue="send",state="waiting"}') +
          value(series, 'smsq_queue_jobs{queue="send",state="prioritized"}'),
      ).toBe(2);
      expect(value(series, 'smsq_queue_oldest_waiting_age_seconds{queue="send"}')).toBeGreaterThanOrEqual(1);
    } finally {
      stack.workers!.send.resume();
    }
  });
});
