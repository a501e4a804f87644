import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Name of the API key that authenticated the request. */
    apiKeyName: string;
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Bearer auth for /v1 from API_KEYS. Keys are looked up by their hash, so the lookup's timing says
 * nothing about how much of a guessed secret was right.
 */
export default fp(
  async function apiKeyAuth(app: FastifyInstance, opts: { keys: Map<string, string> }) {
    const byHash = new Map([...opts.keys].map(([secret, name]) => [sha256(secret), name]));
    app.decorateRequest('apiKeyName', '');
    app.addHook('onRequest', async (req: FastifyRequest) => {
      const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      const name = match ? byHash.get(sha256(match[1]!)) : undefined;
      if (!name) throw new ApiError(401, 'unauthorized', 'a valid "Authorization: Bearer <key>" header is required');
      req.apiKeyName = name;
    });
  },
  { name: 'api-key-auth', encapsulate: false },
);
