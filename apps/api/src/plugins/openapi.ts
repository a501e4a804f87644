import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ErrorResponse } from '../common-schema.js';

const BEARER = 'bearerAuth';
const TWILIO_SIGNATURE = 'twilioSignature';

/**
 * Which credential each part of the API takes, with the scope a key needs (docs/api.md, "Services and
 * keys"); other routes (health, docs) are open.
 */
function securityFor(url: string, scope: string | undefined): Record<string, string[]>[] | undefined {
  if (url.startsWith('/v1/')) return [{ [BEARER]: scope ? [scope] : [] }];
  if (url.startsWith('/webhooks/twilio/')) return [{ [TWILIO_SIGNATURE]: [] }];
  return undefined;
}

/**
 * The API-key rate limit (api-rate-limit.ts) answers on every /v1 route without the route declaring it,
 * and so does the scope check (403 insufficient_scope) on every route that names a scope.
 */
const withAuthAnswers = (url: string, scope: string | undefined, response: object) =>
  url.startsWith('/v1/') ? { ...response, 429: ErrorResponse, ...(scope ? { 403: ErrorResponse } : {}) } : response;

/** Routes embed the error schema; the document refers to its one component instead of repeating it. */
function referToErrorSchema(response: object): object {
  return Object.fromEntries(
    Object.entries(response).map(([status, s]: [string, { $id?: unknown }]) => [
      status,
      s?.$id === ErrorResponse.$id ? { $ref: `${ErrorResponse.$id}#` } : s,
    ]),
  );
}

/**
 * The OpenAPI document is generated from the TypeBox schemas the routes validate with, so it cannot
 * drift from what the API accepts. Registered before the routes: @fastify/swagger only sees routes
 * added after it.
 */
export default fp(
  async function openapi(app: FastifyInstance, opts: { publicBaseUrl: string }) {
    app.addSchema(ErrorResponse);
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'smsq',
          version: '1.0.0',
          description:
            'SMS notifications through Twilio. Every error is `{"error": {"code", "message", "field"?}}`; the codes are stable.',
        },
        servers: [{ url: opts.publicBaseUrl }],
        components: {
          securitySchemes: {
            [BEARER]: {
              type: 'http',
              scheme: 'bearer',
              description:
                'An API key (`smsq_live_…`/`smsq_test_…`, or a secret from API_KEYS). The scope an operation ' +
                'names is the one the key needs: messages:send, messages:read, otp:verify, recipients:read, ' +
                'recipients:write, webhooks, admin; without it the answer is 403 insufficient_scope.',
            },
            [TWILIO_SIGNATURE]: { type: 'apiKey', in: 'header', name: 'X-Twilio-Signature' },
          },
        },
      },
      transform: ({ schema, url, route }) => {
        const scope = (route.config as { scope?: string } | undefined)?.scope;
        const security = securityFor(url, scope);
        const response = schema?.response && referToErrorSchema(withAuthAnswers(url, scope, schema.response));
        return { schema: { ...schema, ...(response ? { response } : {}), ...(security ? { security } : {}) }, url };
      },
      // Shared schemas keep their $id as component name: `#/components/schemas/ErrorResponse`.
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  },
  { name: 'openapi' },
);
