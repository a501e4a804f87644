import { defineConfig } from 'prisma/config';

// The CLI must also work where DATABASE_URL is unset (`prisma generate` in a Docker build), so the
// default is spelled out here rather than read through env(), which throws when the variable is missing.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/smsq' },
});
