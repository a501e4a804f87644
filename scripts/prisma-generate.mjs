// `prisma generate` needs no schema engine, yet the CLI downloads one before it starts. Pointing it at a
// stub keeps installs working where Prisma's binary host is unreachable (offline CI, locked-down builds).
import { execFileSync } from 'node:child_process';

execFileSync('npx', ['prisma', 'generate'], {
  stdio: 'inherit',
  env: { PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, ...process.env },
});
