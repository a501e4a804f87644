import { MessageSealer } from '@smsq/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { AUTH, eventually, keysMatching, startStack, type Stack } from '../../../test/stack.js';

/**
 * A live code exists as a keyed hash only, and in clear only in the worker's memory while it is sent:
 * while its SMS waits for a retry (Twilio answering 503) and after it was sent, no text column of any
 * table, no Redis key or value under the queue prefix and no log line holds the code.
 */
const lines: string[] = [];
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ logTo: { write: (line: string) => void lines.push(line) }, env: { LOG_LEVEL: 'debug' } });
});
afterAll(async () => stack.close());

/** Every value of every text-like column of every table, as one string per row and column. */
async function textColumnsHolding(needle: string): Promise<string[]> {
  const db = new pg.Client({ connectionString: stack.config.databaseUrl });
  await db.connect();
  try {
    const { rows: columns } = await db.query<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns
       WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'character', 'jsonb', 'json', 'bytea')`,
    );
    expect(columns.length).toBeGreaterThan(10);
    const found: string[] = [];
    for (const { table_name: t, column_name: c } of columns) {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM "${t}" WHERE "${c}"::text LIKE $1`, [
        `%${needle}%`,
      ]);
      if (rows[0].n > 0) found.push(`${t}.${c}`);
    }
    return found;
  } finally {
    await db.end();
  }
}

/** Every Redis key under this stack's prefix whose name or value holds `needle`. */
async function redisKeysHolding(needle: string): Promise<string[]> {
  const redis = stack.apiDeps.redis;
  const keys = await keysMatching(redis, `${stack.config.queuePrefix}*`);
  expect(keys.length).toBeGreaterThan(0);
  const found: string[] = [];
  for (const key of keys) {
    const type = await redis.type(key);
    const value =
      type === 'string'
        ? await redis.get(key)
        : type === 'hash'
          ? JSON.stringify(await redis.hgetall(key))
          : type === 'list'
            ? JSON.stringify(await redis.lrange(key, 0, -1))
            : type === 'set'
              ? JSON.stringify(await redis.smembers(key))
              : type === 'zset'
                ? JSON.stringify(await redis.zrange(key, 0, -1, 'WITHSCORES'))
                : type === 'stream'
                  ? JSON.stringify(await redis.xrange(key, '-', '+'))
                  : '';
    if (key.includes(needle) || (value ?? '').includes(needle)) found.push(key);
  }
  return found;
}

describe('an OTP code at rest', () => {
  it('is nowhere in Postgres, Redis or the logs while its SMS waits for a retry, nor after it was sent', async () => {
    await stack.sim!.app.inject({
      method: 'POST',
      url: '/_sim/faults',
      payload: { errorRate: 1, errorCodes: [20503] },
    });
    const sent = await stack.api.inject({
      method: 'POST',
      url: '/v1/otp',
      headers: AUTH,
      payload: { to: '+14155557400', purpose: 'login', codeLength: 10 },
    });
    expect(sent.statusCode).toBe(202);
    const { messageId } = sent.json();
    // The first attempt was refused with 503: the message waits for its retry, its code still to be sent.
    await eventually(async () => {
      const m = await stack.prisma.message.findUniqueOrThrow({ where: { id: messageId } });
      return m.attempts >= 1 && !['delivered', 'failed'].includes(m.status) ? m : undefined;
    }, 15_000);
    const sealed = await stack.prisma.message.findUniqueOrThrow({ where: { id: messageId } });
    const code = /(\d{10})/.exec(new MessageSealer(stack.config.otpSecret).open(messageId, sealed.sealedBody!))![1]!;

    expect(await textColumnsHolding(code)).toEqual([]);
    expect(await redisKeysHolding(code)).toEqual([]);
    expect(lines.join('')).not.toContain(code);

    await stack.sim!.app.inject({ method: 'POST', url: '/_sim/faults', payload: {} });
    await eventually(async () => {
      const m = await stack.prisma.message.findUniqueOrThrow({ where: { id: messageId } });
      return m.status === 'delivered' ? m : undefined;
    }, 30_000);
    // Twilio got the code; the verify path still works from the hash alone.
    const received: { body: string | null }[] = (await stack.sim!.app.inject({ url: '/_sim/messages' })).json()
      .messages;
    expect(received.some((r) => r.body?.includes(code))).toBe(true);
    expect(await textColumnsHolding(code)).toEqual([]);
    expect(await redisKeysHolding(code)).toEqual([]);
    expect(lines.join('')).not.toContain(code);
    const verified = await stack.api.inject({
      method: 'POST',
      url: '/v1/otp/verify',
      headers: AUTH,
      payload: { id: sent.json().id, code },
    });
    expect(verified.json()).toMatchObject({ valid: true, status: 'approved' });
  }, 60_000);
});
