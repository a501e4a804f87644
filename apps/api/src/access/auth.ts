import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.js';
import type { Caller } from './caller.js';
import type { Scope } from './key-format.js';
import type { KeyRegistry } from './key-registry.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The service that sent the request (its name): the owner of what it creates. */
    apiKeyName: string;
    caller: Caller;
  }
  interface FastifyContextConfig {
    /** The scope a key needs for this route; none: any valid key. */
    scope?: Scope;
  }
}

/** Scopes over live, deployment-wide data, which a test key never has. */
const LIVE_ONLY: ReadonlySet<Scope> = new Set(['admin', 'recipients:read', 'recipients:write']);

export const insufficientScope = (scope: Scope) =>
  new ApiError(403, 'insufficient_scope', `this key lacks the "${scope}" scope`);

/**
 * Bearer auth for /v1: the key's caller from the registry (no query per request), then the route's
 * scope. A revoked, expired, unknown or malformed key gets one answer, 401. A test key never passes an
 * admin or recipients route.
 */
export default fp(
  async function apiKeyAuth(app: FastifyInstance, opts: { registry: KeyRegistry }) {
    app.decorateRequest('apiKeyName', '');
    app.decorateRequest('caller', null as unknown as Caller);
    app.addHook('onRequest', async (req: FastifyRequest) => {
      const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      const caller = opts.registry.authenticate(match?.[1] ?? '');
      if (!caller) throw new ApiError(401, 'unauthorized', 'a valid "Authorization: Bearer <key>" header is required');
      req.caller = caller;
      req.apiKeyName = caller.service.name;
      const scope = req.routeOptions.config.scope;
      if (scope && (!caller.scopes.has(scope) || (caller.type === 'test' && LIVE_ONLY.has(scope)))) {
        throw insufficientScope(scope);
      }
    });
  },
  { name: 'api-key-auth', encapsulate: false },
);
