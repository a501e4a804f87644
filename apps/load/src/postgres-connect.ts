import pg from 'pg';

/**
 * A client for a short look at the database. Postgres may be at max_connections for a moment when
 * other stacks share the server; a measurement waits for a slot rather than failing the run.
 */
export async function connectPostgres(databaseUrl: string): Promise<pg.Client> {
  for (let attempt = 0; ; attempt++) {
    const client = new pg.Client({ connectionString: databaseUrl });
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      const busy = (err as { code?: string }).code === '53300'; // too_many_connections
      if (!busy || attempt >= 50) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
