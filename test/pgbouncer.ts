import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface Pgbouncer {
  /** `databaseUrl` (a database of the server pgbouncer fronts) reached through pgbouncer instead. */
  via(databaseUrl: string): string;
  /** A command on pgbouncer's admin console (`SHOW SERVERS`, `SHOW STATS`, …). */
  admin<T extends object>(command: string): Promise<T[]>;
  stop(): Promise<void>;
}

/** A port the OS says is free; pgbouncer takes it a moment later (a clash is retried by the caller). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

const quoted = (s: string) => `"${s.replaceAll('"', '""')}"`;

/**
 * A pgbouncer of the machine's (Debian's `pgbouncer` package) in transaction mode in front of the Postgres
 * server of `serverUrl`, every database of it passed through, with at most `poolSize` server connections
 * per database, so the clients really share them.
 */
export async function startPgbouncer(serverUrl: string, poolSize: number): Promise<Pgbouncer> {
  const probe = spawnSync('pgbouncer', ['--version'], { encoding: 'utf8' });
  if (probe.error) {
    throw new Error(
      `pgbouncer is not installed (${probe.error.message}): apt-get install -y pgbouncer, as .ci/run does`,
    );
  }
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username) || 'postgres';
  const dir = mkdtempSync(join(tmpdir(), 'smsq-pgbouncer-'));
  // The password sits in the auth file because pgbouncer logs in to Postgres with it; clients need none.
  writeFileSync(join(dir, 'users.txt'), `${quoted(user)} ${quoted(decodeURIComponent(server.password))}\n`);

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const ini = join(dir, 'pgbouncer.ini');
    writeFileSync(
      ini,
      [
        '[databases]',
        `* = host=${server.hostname.replace(/^\[|\]$/g, '')} port=${server.port || '5432'}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        'auth_type = trust',
        `auth_file = ${join(dir, 'users.txt')}`,
        `admin_users = ${user}`,
        'pool_mode = transaction',
        `default_pool_size = ${poolSize}`,
        'max_client_conn = 500',
        '',
      ].join('\n'),
    );
    // pgbouncer refuses to run as root; `-u`, which only root may give, makes it drop to another user.
    const args = process.getuid?.() === 0 ? ['-u', 'nobody', ini] : [ini];
    const child = spawn('pgbouncer', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const closed = once(child, 'close');
    let log = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
    });
    const adminUrl = `postgresql://${encodeURIComponent(user)}@127.0.0.1:${port}/pgbouncer`;
    if (await answers(adminUrl, child)) {
      return {
        via(databaseUrl) {
          const url = new URL(databaseUrl);
          url.hostname = '127.0.0.1';
          url.port = String(port);
          return url.toString();
        },
        async admin<T extends object>(command: string) {
          const c = new pg.Client({ connectionString: adminUrl });
          await c.connect();
          try {
            return (await c.query<T>(command)).rows;
          } finally {
            await c.end();
          }
        },
        async stop() {
          child.kill('SIGTERM');
          await closed;
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    child.kill('SIGKILL');
    await closed;
    if (attempt === 3 || !/Address already in use/.test(log)) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`pgbouncer did not start:\n${log}`);
    }
  }
}

/** Whether pgbouncer's admin console takes a connection within 5 s (false once the process has exited). */
async function answers(adminUrl: string, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 5000;
  while (child.exitCode === null && Date.now() < deadline) {
    const c = new pg.Client({ connectionString: adminUrl });
    try {
      await c.connect();
      await c.end();
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return false;
}
