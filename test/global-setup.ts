import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import pg from 'pg';
import { applyMigrations } from '../scripts/migrate.js';
import { adminUrl, databaseUrlFor } from './database-urls.js';

interface Started {
  stop(): Promise<unknown>;
}
const containers: Started[] = [];
let cleanup: (() => Promise<void>) | undefined;

async function startContainers(): Promise<{ redisUrl: string; databaseUrl: string }> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  try {
    await getContainerRuntimeClient();
  } catch {
    throw new Error(
      'Tests need Redis and Postgres: set REDIS_URL and DATABASE_URL, or run a Docker engine so testcontainers can start them.',
    );
  }
  const { RedisContainer } = await import('@testcontainers/redis');
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const [redis, postgres] = await Promise.all([
    new RedisContainer('redis:7.4').start(),
    new PostgreSqlContainer('postgres:16-alpine').withDatabase('smsq').start(),
  ]);
  containers.push(redis, postgres);
  return { redisUrl: redis.getConnectionUrl(), databaseUrl: postgres.getConnectionUri() };
}

export async function setup(project: TestProject): Promise<void> {
  const fromEnv =
    process.env.REDIS_URL && process.env.DATABASE_URL
      ? { redisUrl: process.env.REDIS_URL, databaseUrl: process.env.DATABASE_URL }
      : undefined;
  const { redisUrl, databaseUrl } = fromEnv ?? (await startContainers());

  // One migrated template per run; every test file clones it into a database of its own.
  const template = `smsq_tpl_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl(databaseUrl) });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${template}`);
  await applyMigrations(databaseUrlFor(databaseUrl, template));
  await admin.end();

  cleanup = async () => {
    const c = new pg.Client({ connectionString: adminUrl(databaseUrl) });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
    await c.end();
  };
  project.provide('redisUrl', redisUrl);
  project.provide('databaseUrl', databaseUrl);
  project.provide('templateDatabase', template);
}

export async function teardown(): Promise<void> {
  await cleanup?.();
  await Promise.all(containers.map((c) => c.stop()));
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    databaseUrl: string;
    templateDatabase: string;
  }
}
