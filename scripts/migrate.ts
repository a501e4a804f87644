// `npm run db:migrate`: `prisma migrate deploy`, with a fallback for machines that cannot fetch Prisma's
// schema-engine binary (offline CI). The fallback applies the same committed migration files and books
// them in `_prisma_migrations` exactly as Prisma does, so either path can take over from the other.
import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const migrationsDir = fileURLToPath(new URL('../prisma/migrations', import.meta.url));

const BOOKKEEPING = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0)`;

/** Applies pending migrations with plain SQL, one transaction each, under an advisory lock. */
export async function applyMigrations(databaseUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const applied: string[] = [];
  try {
    // Same lock key as Prisma's schema engine, so the two never migrate one database at once.
    await client.query('SELECT pg_advisory_lock(72707369)');
    await client.query(BOOKKEEPING);
    const done = await client.query<{ migration_name: string }>(
      'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
    const doneNames = new Set(done.rows.map((r) => r.migration_name));
    const names = readdirSync(migrationsDir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    for (const name of names) {
      if (doneNames.has(name)) continue;
      const sql = readFileSync(join(migrationsDir, name, 'migration.sql'), 'utf8');
      const checksum = createHash('sha256').update(sql).digest('hex');
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count)
           VALUES ($1, $2, now(), $3, 1)`,
          [randomUUID(), checksum, name],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${name} failed: ${(err as Error).message}`, { cause: err });
      }
      applied.push(name);
    }
    return applied;
  } finally {
    await client.end();
  }
}

function prismaDeploy(): { ok: boolean; engineMissing: boolean } {
  const run = spawnSync('npx', ['prisma', 'migrate', 'deploy'], { encoding: 'utf8' });
  process.stdout.write(run.stdout ?? '');
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
  const engineMissing = /binaries\.prisma\.sh|downloading the engine|ENOTFOUND|EAI_AGAIN/.test(output);
  if (run.status !== 0 && !engineMissing) process.stderr.write(run.stderr ?? '');
  return { ok: run.status === 0, engineMissing };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // Migrations hold a session advisory lock (here and in Prisma's schema engine, through prisma.config.ts),
  // which through pgbouncer in transaction mode would stay with a pooled server connection.
  const databaseUrl =
    process.env.DIRECT_DATABASE_URL || process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/smsq';
  const result = prismaDeploy();
  if (result.ok) process.exit(0);
  if (!result.engineMissing) process.exit(1);
  console.log("Prisma's schema engine cannot be downloaded here; applying prisma/migrations directly.");
  applyMigrations(databaseUrl).then(
    (names) => console.log(names.length ? `Applied: ${names.join(', ')}` : 'No pending migrations.'),
    (err: unknown) => {
      console.error((err as Error).message);
      process.exit(1);
    },
  );
}
