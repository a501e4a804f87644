import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { adminUrl, databaseUrlFor } from './database-urls.js';

export interface TestStores {
  databaseUrl: string;
  redisUrl: string;
  /** A queue prefix of this file's own. */
  queuePrefix: string;
  drop(): Promise<void>;
}

/** A fresh migrated database (cloned from the run's template) and a queue prefix for one test file. */
export async function createTestStores(): Promise<TestStores> {
  const base = inject('databaseUrl');
  const name = `smsq_t_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl(base) });
  await admin.connect();
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${inject('templateDatabase')}`);
      break;
    } catch (err) {
      // Two files cloning the template at the same instant: Postgres refuses the second one.
      if (attempt > 20 || !/being accessed by other users/.test((err as Error).message)) throw err;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
  await admin.end();
  return {
    databaseUrl: databaseUrlFor(base, name),
    redisUrl: inject('redisUrl'),
    queuePrefix: `t${randomBytes(5).toString('hex')}`,
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl(base) });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
