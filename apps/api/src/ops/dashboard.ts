import { createHash, timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import basicAuth from '@fastify/basic-auth';
import type { FastifyInstance } from 'fastify';
import type { Config, Queues } from '@smsq/shared';
import { ApiError } from '../errors.js';

const DASHBOARD_PATH = '/admin/queues';

export interface DashboardOptions {
  /** Without credentials nobody gets in. */
  credentials: Config['dashboard'];
  queues: Queues;
  /** Read-only hides the board's buttons and answers 405 to its write endpoints (DASHBOARD_READ_ONLY). */
  readOnly: boolean;
}

// Digests have one length, so the comparison takes the same time however much of a guess was right.
const digest = (s: string) => createHash('sha256').update(s).digest();
const sameSecret = (given: string, expected: string) => timingSafeEqual(digest(given), digest(expected));

/**
 * Bull Board behind HTTP Basic. Not wrapped in fastify-plugin: the auth hook must stay in this
 * context, where it covers the UI, its static assets and its JSON API, and nothing else.
 */
export async function dashboard(app: FastifyInstance, opts: DashboardOptions): Promise<void> {
  const { credentials, queues, readOnly } = opts;
  await app.register(basicAuth, {
    authenticate: { realm: 'smsq queues' },
    async validate(user, password) {
      // Both halves are always compared, so the timing does not tell which one was wrong.
      const userOk = credentials !== undefined && sameSecret(user, credentials.user);
      const passwordOk = credentials !== undefined && sameSecret(password, credentials.password);
      if (!(userOk && passwordOk)) throw new Error('wrong dashboard credentials');
    },
  });
  // Answered here rather than thrown: the board's own error handler would turn a thrown 401 into its
  // own body shape.
  app.addHook('onRequest', (req, reply, done) => {
    app.basicAuth(req, reply, (err) => {
      if (!err) return done();
      const refusal = new ApiError(401, 'unauthorized', 'the dashboard needs its HTTP Basic credentials');
      void reply.code(401).send(refusal.toJSON());
    });
  });

  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    // Job data holds message ids only (bodies and numbers stay in Postgres): nothing to redact.
    queues: [queues.send, queues.status, queues.webhooks].map((q) => new BullMQAdapter(q, { readOnlyMode: readOnly })),
    // @bull-board/fastify pins an exact @bull-board/api; package.json pins the same one, so there is one
    // copy of the adapter types.
    serverAdapter,
    options: { uiConfig: { boardTitle: 'smsq queues' } },
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH });
}
