// The drain floor's callback process (bench/drain-floor.ts starts it): a node:http server that takes
// Twilio's status callbacks, and per callback parses the form, checks X-Twilio-Signature with the SDK's
// `validateRequest` over the public URL, and applies the status with one monotonic UPDATE keyed on our
// own id (the `mid` the worker put in the StatusCallback URL), on a table with only a primary key.
import { createServer } from 'node:http';
import pg from 'pg';
import twilio from 'twilio';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set`);
  return value;
};
const authToken = env('TWILIO_AUTH_TOKEN');
const port = Number(env('FLOOR_CALLBACK_PORT'));
const publicBase = `http://127.0.0.1:${port}`;
// smsq's API pool.
const pool = new pg.Pool({ connectionString: env('DATABASE_URL'), max: 10 });

/** Statuses only move forward: queued 0, submitted 1, sent 2, a final one 3. */
const RANK: Record<string, number> = { sent: 2, delivered: 3, undelivered: 3, failed: 3 };
const APPLY = 'UPDATE floor_messages SET status = $2, rank = $3 WHERE id = $1 AND rank < $3';

const server = createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(200).end('ok'); // readiness
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    void (async () => {
      const url = publicBase + req.url;
      const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
      const signature = req.headers['x-twilio-signature'];
      if (typeof signature !== 'string' || !twilio.validateRequest(authToken, signature, url, params)) {
        res.writeHead(403).end();
        return;
      }
      const id = new URL(url).searchParams.get('mid');
      const status = params.MessageStatus ?? '';
      const rank = RANK[status];
      if (!id || rank === undefined) {
        res.writeHead(400).end();
        return;
      }
      await pool.query(APPLY, [id, status, rank]);
      res.writeHead(204).end();
    })().catch((err: Error) => {
      console.error(`callback failed: ${err.message}`);
      res.writeHead(500).end();
    });
  });
});
server.keepAliveTimeout = 30_000;
server.listen(port, '127.0.0.1', () => console.log('ready'));

process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void pool.end().then(() => process.exit(0));
});
