import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { applyMigrations } from '../../../scripts/migrate.js';
import { connectPostgres } from './postgres-connect.js';

export interface FreshDatabase {
  url: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(serverUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectPostgres(withDatabase(serverUrl, 'postgres'));
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A new database on the server `serverUrl` points at, with every migration applied. */
export async function createFreshDatabase(serverUrl: string, prefix = 'smsq_load'): Promise<FreshDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await admin(serverUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = withDatabase(serverUrl, name);
  await applyMigrations(url);
  return {
    url,
    drop: () => admin(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
