import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createLogger } from '@smsq/shared';
import { buildApp, createApiDeps, type ApiDeps } from '../src/index.js';
import { AUTH, eventually, startStack, type Stack } from '../../../test/stack.js';
import type { FastifyInstance } from 'fastify';

/** Every line the API and the workers logged. */
const lines: string[] = [];
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    logTo: { write: (line: string) => void lines.push(line) },
    env: { LOG_LEVEL: 'info', RECONCILE_INTERVAL_SECONDS: '1' },
  });
});
afterAll(async () => stack.close());

type Api = Pick<FastifyInstance, 'inject'>;
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const call = (api: Api, key: string, method: string, url: string, payload?: object) =>
  api.inject({ method: method as 'GET', url, headers: bearer(key), ...(payload ? { payload } : {}) });
const admin = (method: string, url: string, payload?: object) =>
  stack.api.inject({ method: method as 'GET', url, headers: AUTH, ...(payload ? { payload } : {}) });

async function createService(name: string, extra: object = {}) {
  const res = await admin('POST', '/v1/admin/services', { name, ...extra });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: string; name: string };
}
async function createKey(serviceId: string, body: object): Promise<{ id: string; key: string }> {
  const res = await admin('POST', `/v1/admin/services/${serviceId}/keys`, body);
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}
const SENDER = ['messages:send', 'messages:read', 'otp:verify'];

describe('two services', () => {
  let a: string;
  let b: string;
  let aMessage: string;
  let aOtp: { id: string; to: string };
  beforeAll(async () => {
    const sa = await createService('login');
    const sb = await createService('alerts');
    a = (await createKey(sa.id, { type: 'live', scopes: SENDER })).key;
    b = (await createKey(sb.id, { type: 'live', scopes: SENDER })).key;
    const sent = await call(stack.api, a, 'POST', '/v1/messages', {
      to: '+14155558001',
      body: 'A only',
      category: 'account',
    });
    expect(sent.statusCode).toBe(202);
    aMessage = sent.json().id;
    const otp = await call(stack.api, a, 'POST', '/v1/otp', { to: '+14155558002', purpose: 'login' });
    expect(otp.statusCode).toBe(202);
    aOtp = otp.json();
  });

  it('keys have the documented form and are stored only as a hash', async () => {
    expect(a).toMatch(/^smsq_live_[0-9a-f]{16}_[0-9a-f]{64}$/);
  });

  it("B cannot get, list, cancel or count A's messages", async () => {
    expect((await call(stack.api, a, 'GET', `/v1/messages/${aMessage}`)).statusCode).toBe(200);
    const got = await call(stack.api, b, 'GET', `/v1/messages/${aMessage}`);
    expect(got.statusCode).toBe(404);
    expect(got.json().error.code).toBe('not_found');
    const listed = (await call(stack.api, b, 'GET', '/v1/messages?limit=100')).json().items as { id: string }[];
    expect(listed.map((m) => m.id)).not.toContain(aMessage);
    expect(
      (await call(stack.api, a, 'GET', '/v1/messages?limit=100')).json().items.map((m: { id: string }) => m.id),
    ).toContain(aMessage);
    expect((await call(stack.api, b, 'POST', `/v1/messages/${aMessage}/cancel`)).statusCode).toBe(404);
    const statsB = (await call(stack.api, b, 'GET', '/v1/stats?groupBy=status')).json();
    expect(statsB.totals.messages).toBe(0);
    const statsA = (await call(stack.api, a, 'GET', '/v1/stats?groupBy=status')).json();
    expect(statsA.totals.messages).toBe(2);
    // Another service's figures are for admin keys only.
    const other = await call(stack.api, b, 'GET', '/v1/stats?service=login');
    expect(other.statusCode).toBe(403);
    expect(other.json().error.code).toBe('insufficient_scope');
  });

  it("B cannot verify A's OTP, by id or by number and purpose", async () => {
    const byId = await call(stack.api, b, 'POST', '/v1/otp/verify', { id: aOtp.id, code: '000000' });
    expect(byId.statusCode).toBe(404);
    const byNumber = await call(stack.api, b, 'POST', '/v1/otp/verify', {
      to: aOtp.to,
      purpose: 'login',
      code: '000000',
    });
    expect(byNumber.statusCode).toBe(404);
    // No attempt of A's was used up.
    const row = await stack.prisma.otp.findUniqueOrThrow({ where: { id: aOtp.id } });
    expect(row.attempts).toBe(0);
  });

  it('a key without a scope gets 403 insufficient_scope naming it; without admin, no blocks and no keys', async () => {
    const sc = await createService('reader');
    const sendOnly = (await createKey(sc.id, { type: 'live', scopes: ['messages:send'] })).key;
    const read = await call(stack.api, sendOnly, 'GET', '/v1/messages');
    expect(read.statusCode).toBe(403);
    expect(read.json().error).toMatchObject({
      code: 'insufficient_scope',
      message: expect.stringContaining('messages:read'),
    });
    for (const [method, url, body] of [
      ['GET', '/v1/admin/blocks', undefined],
      ['POST', '/v1/admin/blocks', { prefix: '+232', seconds: 60, reason: 'x' }],
      ['DELETE', '/v1/admin/blocks/1', undefined],
      ['POST', `/v1/admin/services/${sc.id}/keys`, { type: 'live', scopes: ['admin'] }],
      ['GET', '/v1/admin/audit', undefined],
    ] as const) {
      const res = await call(stack.api, a, method, url, body);
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json().error.code).toBe('insufficient_scope');
    }
  });

  it('refuses bad input with 400 and a stable code', async () => {
    const s = await createService('bad-input');
    for (const body of [
      { type: 'live', scopes: ['messages:fly'] },
      { type: 'gold', scopes: ['messages:send'] },
      { type: 'live', scopes: [] },
      { type: 'test', scopes: ['admin'] },
      { type: 'test', scopes: ['messages:send', 'recipients:write'] },
      { type: 'live', scopes: ['messages:send'], expiresAt: '2000-01-01T00:00:00Z' },
    ]) {
      const res = await admin('POST', `/v1/admin/services/${s.id}/keys`, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error.code).toBe('validation_failed');
    }
    for (const limit of [0, -5, 1.5, 'lots']) {
      const res = await admin('POST', '/v1/admin/services', {
        name: `budget-${String(limit)}`,
        dailySegmentLimit: limit,
      });
      expect(res.statusCode, String(limit)).toBe(400);
      expect(res.json().error.code).toBe('validation_failed');
    }
    const dup = await admin('POST', '/v1/admin/services', { name: 'bad-input' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.code).toBe('service_exists');
  });

  it('revoked, expired, unknown and malformed keys get one and the same 401', async () => {
    const s = await createService('lifecycle');
    const revoked = await createKey(s.id, { type: 'live', scopes: SENDER });
    expect((await admin('DELETE', `/v1/admin/keys/${revoked.id}`)).statusCode).toBe(200);
    const expiring = await createKey(s.id, {
      type: 'live',
      scopes: SENDER,
      expiresAt: new Date(Date.now() + 4000).toISOString(),
    });
    expect((await call(stack.api, expiring.key, 'GET', '/v1/messages')).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 4100));
    const unknown = `smsq_live_${'0'.repeat(16)}_${'a'.repeat(64)}`;
    const wrongSecret = revoked.key.replace(/.{4}$/, '0000');
    const answers = [];
    for (const key of [revoked.key, expiring.key, unknown, wrongSecret, 'not-a-key', `${a}x`]) {
      const res = await call(stack.api, key, 'GET', '/v1/messages');
      answers.push([res.statusCode, res.json().error.code, res.json().error.message]);
    }
    expect(new Set(answers.map((x) => JSON.stringify(x))).size).toBe(1);
    expect(answers[0]![0]).toBe(401);
  });

  it('a test key never passes an admin route', async () => {
    const s = await createService('tester');
    const t = (await createKey(s.id, { type: 'test', scopes: SENDER })).key;
    const res = await call(stack.api, t, 'GET', '/v1/admin/blocks');
    expect(res.statusCode).toBe(403);
  });
});

describe('keys across API processes', () => {
  let second: { deps: ApiDeps; app: FastifyInstance };
  beforeAll(async () => {
    const deps = createApiDeps(stack.config);
    second = {
      deps,
      app: await buildApp(deps, {
        logger: createLogger(stack.config, 'api', { write: (l: string) => void lines.push(l) }),
      }),
    };
  });
  afterAll(async () => {
    await second.app.close();
    await second.deps.close();
  });

  it('a key made on one process works on the other, and once revoked is refused by both within 5 s', async () => {
    const s = await createService('spread');
    const k = await createKey(s.id, { type: 'live', scopes: SENDER });
    await eventually(
      async () => ((await call(second.app, k.key, 'GET', '/v1/messages')).statusCode === 200 ? true : undefined),
      5_000,
    );
    const revokedAt = Date.now();
    expect((await admin('DELETE', `/v1/admin/keys/${k.id}`)).statusCode).toBe(200);
    expect((await call(stack.api, k.key, 'GET', '/v1/messages')).statusCode).toBe(401);
    await eventually(
      async () => ((await call(second.app, k.key, 'GET', '/v1/messages')).statusCode === 401 ? true : undefined),
      5_000,
    );
    expect(Date.now() - revokedAt).toBeLessThan(5_000);
  });

  it('a budget of 500 segments hit by two processes at once: exactly 500 accepted, the rest 429 with Retry-After', async () => {
    const s = await createService('budgeted', { dailySegmentLimit: 500 });
    const k = (await createKey(s.id, { type: 'live', scopes: SENDER })).key;
    // Both processes know the key (the second within its refresh).
    await eventually(
      async () => ((await call(second.app, k, 'GET', '/v1/messages')).statusCode === 200 ? true : undefined),
      5_000,
    );
    const apis = [stack.api, second.app];
    const replies = await Promise.all(
      Array.from({ length: 600 }, (_, i) =>
        call(apis[i % 2]!, k, 'POST', '/v1/messages', {
          to: `+1415556${String(i).padStart(4, '0')}`,
          body: `budget #${i}`,
          category: 'account',
        }),
      ),
    );
    const accepted = replies.filter((r) => r.statusCode === 202);
    const refused = replies.filter((r) => r.statusCode === 429);
    expect(accepted).toHaveLength(500);
    expect(refused).toHaveLength(100);
    for (const r of refused) {
      expect(r.json().error.code).toBe('budget_exceeded');
      const retryAfter = Number(r.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(86_400);
    }
    expect(await stack.prisma.message.count({ where: { apiKey: 'budgeted' } })).toBe(500);
    expect(lines.some((l) => l.includes('80 % of its daily segment budget') && l.includes('budgeted'))).toBe(true);
    const metrics = (await stack.api.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(/smsq_budget_used_segments\{service="budgeted"\} 500/);
  }, 60_000);
});

describe('test keys', () => {
  let live: string;
  let test: string;
  beforeAll(async () => {
    const s = await createService('ci');
    live = (await createKey(s.id, { type: 'live', scopes: SENDER })).key;
    test = (await createKey(s.id, { type: 'test', scopes: SENDER })).key;
  });

  it('100 messages and an OTP go through the pipeline but never reach Twilio, and stay out of live views', async () => {
    const magic = ['+15005550001', '+15005550010'];
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) {
      const to = i < magic.length ? magic[i]! : `+1415557${String(i).padStart(4, '0')}`;
      const res = await call(stack.api, test, 'POST', '/v1/messages', {
        to,
        body: `test mode #${i}`,
        category: 'account',
      });
      expect(res.statusCode, res.body).toBe(202);
      ids.push(res.json().id);
    }
    const otp = await call(stack.api, test, 'POST', '/v1/otp', { to: '+14155579999', purpose: 'login' });
    expect(otp.statusCode).toBe(202);
    const all = [...ids, otp.json().messageId];
    await eventually(async () => {
      const open = await stack.prisma.message.count({
        where: { id: { in: all }, status: { notIn: ['delivered', 'undelivered', 'failed'] } },
      });
      return open === 0 ? true : undefined;
    }, 30_000);
    const rows = await stack.prisma.message.findMany({ where: { id: { in: ids } } });
    const byTo = new Map(rows.map((r) => [r.to, r]));
    expect(byTo.get('+15005550001')).toMatchObject({ status: 'failed', errorCode: 21211 });
    expect(byTo.get('+15005550010')).toMatchObject({ status: 'undelivered', errorCode: 30003 });
    expect(rows.filter((r) => r.status === 'delivered')).toHaveLength(98);
    const events = await stack.prisma.messageEvent.findMany({
      where: { messageId: rows.find((r) => r.status === 'delivered')!.id },
      orderBy: { id: 'asc' },
    });
    expect(events.map((e) => e.status)).toEqual(['queued', 'sending', 'submitted', 'sent', 'delivered']);
    // The simulator (Twilio) received nothing.
    const atSim = (await stack.sim!.app.inject({ url: '/_sim/messages' })).json().messages as {
      to: string | null;
      body: string | null;
    }[];
    expect(atSim.filter((m) => m.body?.startsWith('test mode #') || m.to === '+14155579999')).toEqual([]);

    // The test key reads its OTP's text, code included, and the code verifies with a test key only.
    const shown = (await call(stack.api, test, 'GET', `/v1/messages/${otp.json().messageId}`)).json();
    const code = /(\d{6})/.exec(shown.body)![1]!;
    expect((await call(stack.api, live, 'POST', '/v1/otp/verify', { id: otp.json().id, code })).statusCode).toBe(404);
    const verified = await call(stack.api, test, 'POST', '/v1/otp/verify', { id: otp.json().id, code });
    expect(verified.json()).toMatchObject({ status: 'approved', valid: true });

    // A live key of the same service sees none of it.
    expect((await call(stack.api, live, 'GET', `/v1/messages/${ids[5]}`)).statusCode).toBe(404);
    expect((await call(stack.api, live, 'GET', '/v1/messages?limit=100')).json().items).toHaveLength(0);
    expect((await call(stack.api, live, 'GET', '/v1/stats')).json().totals.messages).toBe(0);
    expect((await call(stack.api, test, 'GET', '/v1/stats')).json().totals.messages).toBe(101);
    expect((await admin('GET', '/v1/stats?service=ci')).json().totals.messages).toBe(0);
  }, 60_000);
});

describe("a service's own sender", () => {
  it('goes out through the Messaging Service of its service, the others through the deployment sender', async () => {
    const mg = `MG${'ab'.repeat(16)}`;
    const s = await createService('own-sender', { messagingServiceSid: mg });
    const key = (await createKey(s.id, { type: 'live', scopes: SENDER })).key;
    const own = await call(stack.api, key, 'POST', '/v1/messages', {
      to: '+14155558101',
      body: 'own sender #1',
      category: 'account',
    });
    const plain = await call(stack.api, a0(), 'POST', '/v1/messages', {
      to: '+14155558102',
      body: 'own sender #2',
      category: 'account',
    });
    expect([own.statusCode, plain.statusCode]).toEqual([202, 202]);
    const sent = await eventually(async () => {
      const all = (await stack.sim!.app.inject({ url: '/_sim/messages' })).json().messages as {
        body: string | null;
        from: string | null;
        messagingServiceSid: string | null;
      }[];
      const mine = all.filter((m) => m.body?.startsWith('own sender #'));
      return mine.length === 2 ? mine : undefined;
    }, 15_000);
    expect(sent.find((m) => m.body === 'own sender #1')).toMatchObject({ messagingServiceSid: mg, from: null });
    expect(sent.find((m) => m.body === 'own sender #2')).toMatchObject({
      messagingServiceSid: null,
      from: '+15005550006',
    });
  });
});

/** The API_KEYS key of the stack (service "tests", every scope). */
const a0 = () => AUTH.authorization.replace(/^Bearer /, '');

describe('secrets at rest', () => {
  it('no key secret in any text column of any table, nor in any log line', async () => {
    const s = await createService('scan');
    const made = await createKey(s.id, { type: 'live', scopes: SENDER });
    await call(stack.api, made.key, 'GET', '/v1/messages');
    const secret = made.key.split('_')[3]!;
    const db = new pg.Client({ connectionString: stack.config.databaseUrl });
    await db.connect();
    try {
      const { rows: columns } = await db.query<{ table_name: string; column_name: string }>(
        `SELECT table_name, column_name FROM information_schema.columns
         WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'jsonb', 'ARRAY')`,
      );
      for (const { table_name: t, column_name: c } of columns) {
        const { rows } = await db.query(`SELECT count(*)::int AS n FROM "${t}" WHERE "${c}"::text LIKE $1`, [
          `%${secret}%`,
        ]);
        expect(rows[0].n, `${t}.${c}`).toBe(0);
      }
    } finally {
      await db.end();
    }
    expect(lines.join('')).not.toContain(secret);
    // The audit log has the admin actions, without a secret.
    const audit = (await admin('GET', '/v1/admin/audit?limit=500')).json().items as { action: string }[];
    const actions = new Set(audit.map((e) => e.action));
    for (const a of ['service.created', 'key.created', 'key.revoked']) expect(actions).toContain(a);
    // lastUsedAt is recorded, coarsely.
    const row = await stack.prisma.apiKey.findUniqueOrThrow({ where: { id: made.id } });
    await eventually(async () =>
      (await stack.prisma.apiKey.findUniqueOrThrow({ where: { id: made.id } })).lastUsedAt ? true : undefined,
    );
    expect(row.secretHash).not.toContain(secret);
  });
});
