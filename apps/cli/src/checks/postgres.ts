import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createPrisma } from '@smsq/shared';
import { Failure } from '../failure.js';
import { safeUrl } from './safe-url.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../../../prisma/migrations', import.meta.url));

const migrationNames = () =>
  readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

/** Prisma wraps the driver's words ("Can't reach database server at …") in a paragraph of its own. */
function driverReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return /Message: `([^`]*)`/.exec(message)?.[1] ?? message.trim().split('\n').at(-1) ?? message;
}

/** Connects and checks that every migration of this checkout is applied (the tables exist). */
export async function checkPostgres(url: string): Promise<string> {
  const prisma = createPrisma(url, 1);
  const where = safeUrl(url);
  try {
    const [bookkeeping] = await prisma.$queryRaw<{ present: boolean }[]>`
      SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS present`;
    if (!bookkeeping?.present) throw new Failure(`no migrations are applied to ${where}: run npm run db:migrate`);
    const rows = await prisma.$queryRaw<{ name: string }[]>`
      SELECT migration_name AS name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;
    const applied = new Set(rows.map((r) => r.name));
    const expected = migrationNames();
    const pending = expected.filter((name) => !applied.has(name));
    if (pending.length > 0) {
      throw new Failure(`${where} lacks migrations ${pending.join(', ')}: run npm run db:migrate`);
    }
    return `${where}: all ${expected.length} migrations applied`;
  } catch (err) {
    if (err instanceof Failure) throw err;
    throw new Failure(`cannot use Postgres at ${where}: ${driverReason(err)}`);
  } finally {
    await prisma.$disconnect();
  }
}
