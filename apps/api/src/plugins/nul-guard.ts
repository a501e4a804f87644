import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.js';

/** JSON may carry U+0000; JSON.stringify writes it as an escape, which is cheaper to look for than a walk. */
const carriesNul = (value: unknown) =>
  value !== undefined && value !== null && JSON.stringify(value).includes('\\u0000');

/**
 * Postgres text and jsonb cannot hold U+0000, and its refusal would surface as a store error. Such input
 * is the caller's mistake: 400 before any handler runs, for bodies, path parameters and query strings.
 */
export default fp(
  async function nulGuard(app: FastifyInstance) {
    app.addHook('preValidation', async (req) => {
      if (carriesNul(req.body) || carriesNul(req.params) || carriesNul(req.query)) {
        throw new ApiError(400, 'validation_failed', 'text may not contain the NUL character (U+0000)');
      }
    });
  },
  { name: 'nul-guard' },
);
