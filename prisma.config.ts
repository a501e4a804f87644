import { defineConfig } from 'prisma/config';

// The CLI must also work where DATABASE_URL is unset (`prisma generate` in a Docker build), so the
// default is spelled out here rather than read through env(), which throws when the variable is missing.
// Only the CLI reads this URL (the apps connect with DATABASE_URL through the pg adapter). Migrations hold
// a session advisory lock, which pgbouncer in transaction mode does not keep, so the direct connection
// comes first; Prisma 7's config has no `directUrl` of its own.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    url: process.env.DIRECT_DATABASE_URL || process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/smsq',
  },
});
