import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, API_KEY, eventually, startStack, type Stack } from '../../../test/stack.js';
import { cli } from './cli.js';

let stack: Stack;
let env: Record<string, string>;
let endpointId: string;
beforeAll(async () => {
  stack = await startStack({ withWorkers: false, env: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
  env = { SMSQ_API_URL: stack.config.publicBaseUrl, SMSQ_API_KEY: API_KEY };
  const made = await stack.api.inject({
    method: 'POST',
    url: '/v1/webhook-endpoints',
    headers: AUTH,
    payload: { url: 'http://127.0.0.1:9/hooks', events: ['message.failed', 'otp.verified'] },
  });
  expect(made.statusCode).toBe(201);
  endpointId = made.json().id;
});
afterAll(async () => stack.close());

/** Plays the worker's part for the next webhook.test delivery: its first attempt ends as `outcome`. */
async function attemptNextTest(outcome: Record<string, unknown>): Promise<void> {
  const delivery = await eventually(
    async () =>
      (await stack.prisma.webhookDelivery.findFirst({
        where: { endpointId, type: 'webhook.test', state: 'pending' },
      })) ?? undefined,
  );
  await stack.prisma.webhookDelivery.update({ where: { id: delivery.id }, data: { attempts: 1, ...outcome } });
}

describe('smsq webhooks', () => {
  it('lists the endpoints without their secrets', async () => {
    const listed = await cli(['webhooks', 'list'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+STATE\s+URL\s+EVENTS$/m);
    expect(listed.stdout).toMatch(
      new RegExp(
        `^${endpointId}\\s+enabled\\s+http://127\\.0\\.0\\.1:9/hooks\\s+message\\.failed,otp\\.verified$`,
        'm',
      ),
    );
    const json = JSON.parse((await cli(['--json', 'webhooks', 'list'], env)).stdout);
    expect(json.endpoints).toEqual([expect.objectContaining({ id: endpointId, enabled: true })]);
    expect(json.endpoints[0]).not.toHaveProperty('secret');
  });

  it('test: 0 when the first attempt succeeds, 1 with the reason when it fails or nobody tries', async () => {
    const [ok] = await Promise.all([
      cli(['webhooks', 'test', endpointId, '--timeout', '10'], env),
      attemptNextTest({ state: 'succeeded', lastResponseStatus: 204, deliveredAt: new Date() }),
    ]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /^Queued webhook\.test delivery [0-9a-f-]{36}\.\nDelivered: the endpoint answered HTTP 204\.$/m,
    );

    const retryAt = new Date(Date.now() + 5000);
    const [failed] = await Promise.all([
      cli(['webhooks', 'test', endpointId, '--timeout', '10'], env),
      attemptNextTest({ state: 'failed', lastError: 'connection refused', nextAttemptAt: retryAt }),
    ]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toBe(`Not delivered: connection refused; retrying at ${retryAt.toISOString()}.\n`);

    const idle = await cli(['webhooks', 'test', endpointId, '--timeout', '0.3'], env);
    expect(idle.code).toBe(1);
    expect(idle.stderr).toMatch(/Not attempted after 0\.3 s: is a worker running\?/);
  });

  it('deliveries --status dead, then replay --since sends them again', async () => {
    const dead = await stack.prisma.webhookDelivery.findFirstOrThrow({ where: { endpointId, state: 'succeeded' } });
    await stack.prisma.webhookDelivery.update({
      where: { id: dead.id },
      data: { state: 'dead', attempts: 9, lastResponseStatus: 503 },
    });
    const listed = await cli(['webhooks', 'deliveries', endpointId, '--status', 'dead'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^ID\s+TYPE\s+STATE\s+ATTEMPTS\s+LAST\s+CREATED$/),
      expect.stringMatching(new RegExp(`^${dead.id}\\s+webhook\\.test\\s+dead\\s+9\\s+HTTP 503\\s+\\S+Z$`)),
    ]);
    const all = JSON.parse((await cli(['--json', 'webhooks', 'deliveries', endpointId, '--limit', '2'], env)).stdout);
    expect(all.deliveries).toHaveLength(2);

    const since = new Date(Date.now() - 3600_000).toISOString();
    const replayed = await cli(['webhooks', 'replay', endpointId, '--since', since], env);
    expect(replayed.code).toBe(0);
    expect(replayed.stdout).toBe('Replaying 1 dead delivery.\n');
    // Handed back to the relay, with a fresh set of retries.
    const row = await stack.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: dead.id } });
    expect(row).toMatchObject({ state: 'pending', enqueuedAt: null, attempts: 0 });
  });

  it("exits 1 with the API's refusal, 2 for a bad argument", async () => {
    const unknown = await cli(['webhooks', 'deliveries', '0192f0c4-0000-7000-8000-000000000000'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/404 not_found/);
    const badTime = await cli(['webhooks', 'replay', endpointId, '--since', 'yesterday'], env);
    expect(badTime.code).toBe(1);
    expect(badTime.stderr).toMatch(/400 validation_failed/);
    expect((await cli(['webhooks', 'deliveries', endpointId, '--status', 'lost'], env)).code).toBe(2);
    expect((await cli(['webhooks', 'replay', endpointId], env)).code).toBe(2);
  });
});
