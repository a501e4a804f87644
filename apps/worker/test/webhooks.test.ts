import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MESSAGE_EVENT_TYPES, MessageSealer } from '@smsq/shared';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, eventually, keysMatching, startStack, type Stack } from '../../../test/stack.js';
import { allFinal, postMessages } from './traffic.js';

/**
 * Delivery events to callers, end to end: the API, workers, the simulator's callbacks, the outbox
 * triggers, the relay and a real HTTP receiver in this file that verifies every signature with the
 * `standardwebhooks` library, as a caller's would.
 */

interface Received {
  id: string;
  type: string;
  data: Record<string, unknown>;
  signatures: number;
}

/** An HTTP receiver; `answer` decides each response (a status, or 'hang' to never answer in time). */
class Receiver {
  readonly server: Server;
  /** Every request whose signature verified, in arrival order (retries included). */
  readonly received: Received[] = [];
  invalid = 0;
  requests = 0;
  answer: (req: IncomingMessage) => number | 'hang' = () => 204;
  secrets: string[] = [];

  constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    let body = '';
    for await (const chunk of req) body += chunk;
    this.requests++;
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    // Any of the endpoint's current secrets must verify it (two during a rotation).
    const verified = this.secrets.some((s) => {
      try {
        new Webhook(s).verify(body, headers);
        return true;
      } catch {
        return false;
      }
    });
    if (!verified) {
      this.invalid++;
      res.writeHead(400).end();
      return;
    }
    const event = JSON.parse(body) as { type: string; data: Record<string, unknown> };
    this.received.push({
      id: headers['webhook-id']!,
      type: event.type,
      data: event.data,
      signatures: headers['webhook-signature']!.split(' ').length,
    });
    const answer = this.answer(req);
    if (answer === 'hang') {
      setTimeout(() => res.writeHead(204).end(), 3000).unref();
      return;
    }
    res.writeHead(answer).end(answer === 410 ? 'gone' : '');
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  close() {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(r));
  }
}

async function createEndpoint(stack: Stack, url: string, events?: string[]) {
  const res = await stack.api.inject({
    method: 'POST',
    url: '/v1/webhook-endpoints',
    headers: AUTH,
    payload: { url, ...(events ? { events } : {}) },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; secret: string };
}

describe('webhooks to a receiver that fails, times out and loses its queue', () => {
  let stack: Stack;
  const receiver = new Receiver();
  beforeAll(async () => {
    stack = await startStack({
      env: {
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WEBHOOK_TIMEOUT_MS: '1000',
        // Nearly three minutes in all: after the minute of 500s each delivery has five or more tries left, so
        // 10 % timeouts cannot use them all up (0.1^5 a delivery).
        WEBHOOK_RETRY_SCHEDULE: '1,2,4,8,15,20,20,20,20,20,20,20',
        WEBHOOK_RECONCILE_AFTER_SECONDS: '3',
        WEBHOOK_ENDPOINT_CONCURRENCY: '20',
        WORKER_CONCURRENCY: '50',
      },
    });
  });
  afterAll(async () => {
    await stack.close();
    await receiver.close();
  });

  it('every event of 1,000 messages arrives, verified, through a minute of 500s and 10 % timeouts', async () => {
    const endpoint = await createEndpoint(stack, await receiver.listen(), [...MESSAGE_EVENT_TYPES]);
    receiver.secrets = [endpoint.secret];
    const start = Date.now();
    let failing = true;
    receiver.answer = () => {
      if (Date.now() - start < 60_000) return 500;
      if (failing) failing = false;
      return Math.random() < 0.1 ? 'hang' : 204;
    };
    const ids = await postMessages(stack.api, 1000, 'hooked');
    await allFinal(stack.prisma, ids, 120_000);

    // Half-way through the failing minute, Redis loses the webhook queue: the outbox brings it back.
    await eventually(async () => (Date.now() - start > 30_000 ? true : undefined), 60_000);
    const queueKeys = await keysMatching(stack.apiDeps.redis, `${stack.config.queuePrefix}:{webhooks}:*`);
    expect(queueKeys.length).toBeGreaterThan(0);
    for (const key of queueKeys) await stack.apiDeps.redis.del(key);

    // Every event that happened: a message's `submitted` is skipped when Twilio's `sent` callback
    // overtakes the worker's own record of the submission, so count the events, not 3 a message.
    const expected = await stack.prisma.messageEvent.count({
      where: { messageId: { in: ids }, status: { in: ['submitted', 'sent', 'delivered'] } },
    });
    expect(expected).toBeGreaterThanOrEqual(ids.length * 2);
    await eventually(async () => {
      const open = await stack.prisma.webhookDelivery.count({
        where: { endpointId: endpoint.id, state: { notIn: ['succeeded'] } },
      });
      return open === 0 ? true : undefined;
    }, 240_000);
    const deliveries = await stack.prisma.webhookDelivery.findMany({ where: { endpointId: endpoint.id } });
    expect(deliveries).toHaveLength(expected);
    expect(failing).toBe(false);

    // Each delivery arrived; repeats are retries of the same webhook-id with the same event.
    const byId = new Map<string, Received[]>();
    for (const r of receiver.received) byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
    expect(new Set(deliveries.map((d) => d.id))).toEqual(new Set(byId.keys()));
    for (const copies of byId.values()) {
      expect(new Set(copies.map((c) => `${c.type} ${String(c.data.messageId)}`)).size).toBe(1);
    }
    const perMessage = new Map<string, Set<string>>();
    for (const copies of byId.values()) {
      const id = String(copies[0]!.data.messageId);
      perMessage.set(id, new Set([...(perMessage.get(id) ?? []), copies[0]!.type]));
    }
    expect(perMessage.size).toBe(ids.length);
    for (const types of perMessage.values()) {
      expect(types).toContain('message.delivered');
      expect(types).toContain('message.sent');
    }
    expect(receiver.invalid).toBe(0);
    // Never the body, never the full number.
    const sample = JSON.stringify(receiver.received.slice(0, 50));
    expect(sample).not.toContain('hooked #');
    expect(sample).not.toMatch(/\+1415555\d{4}/);
    const attempts = await stack.prisma.webhookAttempt.count({ where: { delivery: { endpointId: endpoint.id } } });
    console.log(
      `webhooks: ${expected} deliveries, ${receiver.requests} requests, ${attempts} attempts recorded, ` +
        `${receiver.received.length - byId.size} repeats, done ${Math.round((Date.now() - start) / 1000)} s after the first post`,
    );
  }, 420_000);
});

describe('webhook endpoints that say goodbye, rotate their secret, or point inside', () => {
  let stack: Stack;
  const receiver = new Receiver();
  let url: string;
  beforeAll(async () => {
    stack = await startStack({
      env: {
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WEBHOOK_TIMEOUT_MS: '1000',
        WEBHOOK_RETRY_SCHEDULE: '0.2,0.5',
        RECONCILE_INTERVAL_SECONDS: '1',
      },
    });
    url = await receiver.listen();
  });
  afterAll(async () => {
    await stack.close();
    await receiver.close();
  });

  it('410 Gone disables the endpoint at once; its delivery is dead, and no new events are queued for it', async () => {
    const endpoint = await createEndpoint(stack, url, ['message.delivered']);
    receiver.secrets = [endpoint.secret];
    receiver.answer = () => 410;
    const [id] = await postMessages(stack.api, 1, 'gone', { firstNumber: 7000 });
    const row = await eventually(async () => {
      const e = await stack.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } });
      return e.enabled ? undefined : e;
    }, 30_000);
    expect(row.disabledReason).toMatch(/410/);
    const [delivery] = await stack.prisma.webhookDelivery.findMany({ where: { endpointId: endpoint.id } });
    expect(delivery).toMatchObject({ state: 'dead', lastResponseStatus: 410, attempts: 1, messageId: id });
    await allFinal(stack.prisma, await postMessages(stack.api, 3, 'gone-after', { firstNumber: 7010 }), 30_000);
    expect(await stack.prisma.webhookDelivery.count({ where: { endpointId: endpoint.id } })).toBe(1);
  });

  it('a 410 disables the endpoint even when requests in flight beside it succeed', async () => {
    // Some deliveries in the group are already on their way when the 410 comes back.
    const ids = await postMessages(stack.api, 12, 'gone-group', { firstNumber: 7050 });
    await allFinal(stack.prisma, ids, 30_000);
    const endpoint = await createEndpoint(stack, url, ['message.sent', 'message.delivered']);
    receiver.secrets = [endpoint.secret];
    let answered = 0;
    receiver.answer = () => (answered++ === 0 ? 410 : 204);
    await stack.prisma.$executeRaw`
      INSERT INTO webhook_deliveries (endpoint_id, type, message_id, status)
      SELECT ${endpoint.id}::uuid, 'message.delivered', id, 'delivered' FROM unnest(${ids}::uuid[]) AS id`;
    const row = await eventually(async () => {
      const e = await stack.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } });
      return e.enabled ? undefined : e;
    }, 30_000);
    expect(row.disabledReason).toMatch(/410/);
    expect(answered).toBeGreaterThan(1);
    expect(answered).toBeLessThan(12);
  });

  it('a dead endpoint is paused after 5 failures in a row: its other deliveries wait, unattempted', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/hooks`;
    await new Promise((r) => closed.close(r));
    const endpoint = await createEndpoint(stack, deadUrl, ['message.sent', 'message.delivered']);
    const ids = await postMessages(stack.api, 40, 'dead', { firstNumber: 7100 });
    await allFinal(stack.prisma, ids, 30_000);
    const e = await eventually(async () => {
      const row = await stack.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } });
      return row.pausedUntil ? row : undefined;
    }, 20_000);
    expect(e.consecutiveFailures).toBeGreaterThanOrEqual(5);
    expect(e.enabled).toBe(true);
    const deliveries = await stack.prisma.webhookDelivery.count({ where: { endpointId: endpoint.id } });
    const attempts = await stack.prisma.webhookAttempt.count({ where: { delivery: { endpointId: endpoint.id } } });
    expect(deliveries).toBeGreaterThanOrEqual(80);
    // Only the attempts in flight when the fifth failure paused it, not one (and its retries) per delivery.
    expect(attempts).toBeLessThan(deliveries / 2);
    expect(
      await stack.prisma.webhookDelivery.count({
        where: { endpointId: endpoint.id, state: { in: ['succeeded', 'dead'] } },
      }),
    ).toBe(0);
  });

  it('after a rotation, events are signed with both secrets for the overlap', async () => {
    const endpoint = await createEndpoint(stack, url, ['message.delivered']);
    receiver.answer = () => 204;
    const rotated = await stack.api.inject({
      method: 'POST',
      url: `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`,
      headers: AUTH,
    });
    expect(rotated.statusCode, rotated.body).toBe(200);
    const fresh = rotated.json().secret as string;
    expect(fresh).not.toBe(endpoint.secret);
    // Each secret alone verifies the same event.
    for (const secrets of [[endpoint.secret], [fresh]]) {
      receiver.secrets = secrets;
      const before = receiver.received.length;
      const sent = await stack.api.inject({
        method: 'POST',
        url: `/v1/webhook-endpoints/${endpoint.id}/test`,
        headers: AUTH,
      });
      expect(sent.statusCode, sent.body).toBe(202);
      await eventually(async () => (receiver.received.length > before ? true : undefined), 20_000);
      expect(receiver.received.at(-1)).toMatchObject({ type: 'webhook.test', signatures: 2 });
    }
    expect(receiver.invalid).toBe(0);
  });

  it('OTP events: verified, attempts used up, expired', async () => {
    const endpoint = await createEndpoint(stack, url, ['otp.verified', 'otp.failed', 'otp.expired']);
    receiver.secrets = [endpoint.secret];
    receiver.answer = () => 204;
    const send = async (to: string) => {
      const res = await stack.api.inject({
        method: 'POST',
        url: '/v1/otp',
        headers: AUTH,
        payload: { to, purpose: 'login', reference: `ref-${to}` },
      });
      expect(res.statusCode, res.body).toBe(202);
      return res.json() as { id: string };
    };
    const verify = (to: string, code: string) =>
      stack.api.inject({
        method: 'POST',
        url: '/v1/otp/verify',
        headers: AUTH,
        payload: { to, purpose: 'login', code },
      });

    // Verified: the code is read from the simulator, as a phone would.
    const ok = await send('+14155550801');
    const code = await eventually(async () => {
      const all = (await stack.sim!.app.inject({ url: '/_sim/messages' })).json().messages as {
        to: string;
        body: string;
      }[];
      return /(\d{6})/.exec(all.find((m) => m.to === '+14155550801')?.body ?? '')?.[1];
    }, 20_000);
    expect((await verify('+14155550801', code)).statusCode).toBe(200);
    // Attempts used up.
    const failed = await send('+14155550802');
    for (let i = 0; i < stack.config.otpMaxAttempts; i++) await verify('+14155550802', '000000');
    // Expired, with nobody trying: the reconciler's sweep moves it.
    const expired = await send('+14155550803');
    await stack.prisma.otp.update({ where: { id: expired.id }, data: { expiresAt: new Date(Date.now() - 1000) } });

    const events = await eventually(async () => {
      const got = receiver.received.filter((r) => r.type.startsWith('otp.'));
      return got.length >= 3 ? got : undefined;
    }, 60_000);
    expect(Object.fromEntries(events.map((e) => [e.type, e.data.otpId]))).toEqual({
      'otp.verified': ok.id,
      'otp.failed': failed.id,
      'otp.expired': expired.id,
    });
    expect(events.find((e) => e.type === 'otp.verified')!.data).toMatchObject({
      status: 'verified',
      reference: 'ref-+14155550801',
      to: '+1415•••0801',
    });
    expect(JSON.stringify(events)).not.toContain(code);
  }, 90_000);
});

describe('webhooks never reach inside, even when a name is pointed there after registration', () => {
  let stack: Stack;
  const receiver = new Receiver();
  beforeAll(async () => {
    stack = await startStack({ env: { WEBHOOK_ALLOW_PRIVATE: 'false', WEBHOOK_RETRY_SCHEDULE: '0.2' } });
  });
  afterAll(async () => {
    await stack.close();
    await receiver.close();
  });

  it('refuses to connect to loopback, private and metadata addresses at send time', async () => {
    const local = (await receiver.listen()).replace('http://', 'https://');
    const port = new URL(local).port;
    const targets = [
      local.replace('127.0.0.1', 'localhost'),
      local,
      `https://10.0.0.1:${port}/`,
      `https://169.254.169.254/latest/meta-data`,
      `https://[::1]:${port}/`,
    ];
    // As if each had passed registration and its name were re-pointed later: written straight to the table.
    const sealer = new MessageSealer(stack.config.otpSecret, 'webhook secret');
    for (const [i, target] of targets.entries()) {
      const id = `0193f0c2-0000-7000-8000-00000000000${i}`;
      await stack.prisma.webhookEndpoint.create({
        data: {
          id,
          apiKey: 'tests',
          url: target,
          events: ['message.delivered'],
          sealedSecret: sealer.seal(id, `whsec_${Buffer.alloc(32, i).toString('base64')}`),
        },
      });
      await stack.prisma.webhookDelivery.create({ data: { endpointId: id, type: 'webhook.test' } });
    }
    const rows = await eventually(async () => {
      const all = await stack.prisma.webhookDelivery.findMany({
        where: { endpoint: { url: { in: targets } } },
        include: { endpoint: true },
      });
      return all.every((d) => d.state === 'dead') ? all : undefined;
    }, 30_000);
    for (const d of rows) expect(d.lastError, d.endpoint.url).toMatch(/EADDRNOTALLOWED/);
    expect(receiver.requests).toBe(0);
  });
});
