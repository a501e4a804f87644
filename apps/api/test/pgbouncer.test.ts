import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminUrl, databaseUrlFor } from '../../../test/database-urls.js';
import { startPgbouncer, type Pgbouncer } from '../../../test/pgbouncer.js';
import { AUTH, eventually, startStack, type Stack } from '../../../test/stack.js';

/**
 * Postgres through pgbouncer in transaction mode (docs/operations.md, "Postgres through pgbouncer"): the
 * API, the workers and the simulator's callbacks run the real pipeline with every Prisma connection going
 * through it, and the migrations go past it. Few server connections, so the stack's clients share them
 * transaction by transaction: a session setting, a named prepared statement or a session lock would leak
 * from one client to another here.
 */
const SERVER_CONNECTIONS = 3;
const DELIVERED = ['queued', 'sending', 'submitted', 'sent', 'delivered'];
// The simulator's first callback may overtake the worker's record of the submission, which then adds no
// event (docs/operations.md, "Callbacks race the send"): more likely here, where statements queue for a
// server connection.
const OVERTAKEN = DELIVERED.filter((s) => s !== 'submitted');

let pgbouncer: Pgbouncer;
let stack: Stack;
beforeAll(async () => {
  pgbouncer = await startPgbouncer(inject('databaseUrl'), SERVER_CONNECTIONS);
  stack = await startStack({ databaseUrl: (direct) => pgbouncer.via(direct) });
});
afterAll(async () => {
  await stack?.close();
  await pgbouncer?.stop();
});

async function post(url: string, payload: object, headers: Record<string, string> = AUTH) {
  const res = await stack.api.inject({ method: 'POST', url, headers, payload });
  expect(res.statusCode, res.body).toBeLessThan(300);
  return res.json();
}

/** Direct to the Postgres server, past pgbouncer. */
async function direct<T extends object>(database: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: databaseUrlFor(inject('databaseUrl'), database) });
  await c.connect();
  try {
    return (await c.query<T>(sql, values)).rows;
  } finally {
    await c.end();
  }
}

describe('the whole stack through pgbouncer in transaction mode', () => {
  it('delivers single, batch, OTP and a new service’s messages, each with every event', async () => {
    const ids: string[] = [];
    ids.push((await post('/v1/messages', { to: '+14155550190', body: 'through pgbouncer', category: 'security' })).id);

    const batch = await post('/v1/messages/batch', {
      messages: Array.from({ length: 40 }, (_, i) => ({ to: `+1415556${String(1000 + i)}`, body: `batch ${i}` })),
    });
    expect(batch.results.filter((r: { id?: string }) => r.id)).toHaveLength(40);
    ids.push(...batch.results.map((r: { id: string }) => r.id));

    const otp = await post('/v1/otp', { to: '+14155550191', purpose: 'login' });
    ids.push(otp.messageId);

    // Interactive transactions (a service and its key, each with an audit row), then the new key at work.
    const service = await post('/v1/admin/services', { name: 'pgbouncer-check' });
    const { key } = await post(`/v1/admin/services/${service.id}/keys`, { type: 'live', scopes: ['messages:send'] });
    const fromService = await post(
      '/v1/messages',
      { to: '+14155550192', body: 'from a new service' },
      { authorization: `Bearer ${key}` },
    );
    ids.push(fromService.id);

    await eventually(async () => {
      const delivered = await stack.prisma.message.count({
        where: { id: { in: ids }, status: 'delivered', twilioSid: { not: null } },
      });
      return delivered === ids.length ? true : undefined;
    }, 60_000);
    const events = await stack.prisma.messageEvent.findMany({
      where: { messageId: { in: ids } },
      orderBy: { id: 'asc' },
    });
    for (const id of ids) {
      expect([DELIVERED, OVERTAKEN]).toContainEqual(events.filter((e) => e.messageId === id).map((e) => e.status));
    }

    const [sms] = (await stack.sim!.app.inject({ url: '/_sim/messages?to=%2B14155550191' })).json().messages;
    const code = /Your OTP is: (\d+)/.exec(sms.body)![1];
    expect(await post('/v1/otp/verify', { id: otp.id, code })).toMatchObject({ status: 'approved', valid: true });
  }, 90_000);

  it("makes every connection to the stack's database through pgbouncer", async () => {
    const database = new URL(stack.stores.databaseUrl).pathname.slice(1);
    // Postgres first: a server connection pgbouncer opens in between is in its list, not in this one.
    const backends = await direct<{ pid: number }>('postgres', 'SELECT pid FROM pg_stat_activity WHERE datname = $1', [
      database,
    ]);
    const servers = await pgbouncer.admin<{ database: string; remote_pid: string }>('SHOW SERVERS');
    const viaPgbouncer = new Set(servers.filter((s) => s.database === database).map((s) => Number(s.remote_pid)));
    expect(backends.length).toBeGreaterThan(0);
    expect(backends.length).toBeLessThanOrEqual(SERVER_CONNECTIONS);
    expect(backends.filter((b) => !viaPgbouncer.has(b.pid))).toEqual([]);

    const stats = await pgbouncer.admin<{ database: string; total_xact_count: string }>('SHOW STATS');
    expect(Number(stats.find((s) => s.database === database)?.total_xact_count)).toBeGreaterThan(0);
  });

  it('migrates over DIRECT_DATABASE_URL while DATABASE_URL goes through pgbouncer', async () => {
    const database = `smsq_pgb_${randomBytes(5).toString('hex')}`;
    const url = databaseUrlFor(inject('databaseUrl'), database);
    const admin = new pg.Client({ connectionString: adminUrl(url) });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/migrate.ts'], {
        env: { ...process.env, DATABASE_URL: pgbouncer.via(url), DIRECT_DATABASE_URL: url },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const [exitCode] = await once(child, 'close');
      expect(exitCode, output).toBe(0);

      const migrations = readdirSync('prisma/migrations', { withFileTypes: true }).filter((d) => d.isDirectory());
      const applied = await direct(
        database,
        'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
      );
      expect(applied).toHaveLength(migrations.length);
      // pgbouncer registers a database when a client first asks for it: this one never was.
      const known = await pgbouncer.admin<{ name: string }>('SHOW DATABASES');
      expect(known.map((d) => d.name)).not.toContain(database);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
  }, 60_000);
});
