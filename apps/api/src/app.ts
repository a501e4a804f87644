import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { createLogger, unredactedSibling, type Logger } from '@smsq/shared';
import { AccessLog } from './access-log.js';
import type { ApiDeps } from './deps.js';
import { ApiError } from './errors.js';
import apiKeyAuth from './access/auth.js';
import apiRateLimit from './plugins/api-rate-limit.js';
import { dashboard } from './ops/dashboard.js';
import errorHandler from './plugins/error-handler.js';
import metrics from './ops/metrics.js';
import nulGuard from './plugins/nul-guard.js';
import openapi from './plugins/openapi.js';
import { healthRoutes } from './ops/health.js';
import { messageRoutes } from './messages/routes.js';
import { recipientRoutes } from './recipients/routes.js';
import { statsRoutes } from './stats/routes.js';
import { templateRoutes } from './templates/routes.js';
import { otpRoutes } from './otp/routes.js';
import { adminBlockRoutes } from './pumping/routes.js';
import { accessRoutes } from './access/routes.js';
import { messageBatchRoutes } from './messages/batch-routes.js';
import { webhookRoutes } from './twilio-webhooks/routes.js';
import { webhookEndpointRoutes } from './webhooks/routes.js';

/** A malformed or over-long path segment is the caller's mistake: our error shape, not Fastify's. */
function answerFrameworkError(err: FastifyError, _req: FastifyRequest, reply: FastifyReply) {
  const problem = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'is too long' : 'is not a valid URL';
  void reply.code(400).send(new ApiError(400, 'validation_failed', `the path ${problem}`).toJSON());
}

export interface BuildOptions {
  logger?: Logger;
}

/** The whole HTTP API, without a port: tests call it with `inject`, main.ts makes it listen. */
export async function buildApp(deps: ApiDeps, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const logger = opts.logger ?? createLogger(deps.config, 'api');
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w-]{1,64}$/.test(given) ? given : randomUUID();
    },
    logController: new AccessLog(unredactedSibling(logger, 'api')),
    bodyLimit: 2 * 1024 * 1024,
    frameworkErrors: answerFrameworkError,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Callers can quote it, and it is the reqId of every log line about their request.
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  await deps.keys.start(logger);
  deps.budget.onWarning = (service, used, limit) =>
    logger.warn({ service, used, limit }, 'a service has used 80 % of its daily segment budget');
  await app.register(errorHandler);
  await app.register(nulGuard);
  await app.register(openapi, { publicBaseUrl: deps.config.publicBaseUrl });
  await app.register(metrics, { queues: deps.queues, prisma: deps.prisma, budget: deps.budget, keys: deps.keys });
  await app.register(dashboard, {
    credentials: deps.config.dashboard,
    readOnly: deps.config.dashboardReadOnly,
    queues: deps.queues,
  });
  await app.register(healthRoutes, deps);
  await app.register(webhookRoutes, { prefix: '/webhooks/twilio', ...deps });
  await app.register(
    async (v1) => {
      v1.removeContentTypeParser('text/plain'); // /v1 speaks JSON only: anything else is a 415
      await v1.register(apiKeyAuth, { registry: deps.keys });
      await v1.register(apiRateLimit, {
        redis: deps.redis,
        queuePrefix: deps.config.queuePrefix,
        perMinute: deps.config.apiRateLimitPerMinute,
      });
      await v1.register(messageRoutes, deps);
      await v1.register(otpRoutes, deps);
      await v1.register(adminBlockRoutes, deps);
      await v1.register(accessRoutes, deps);
      await v1.register(recipientRoutes, deps);
      await v1.register(templateRoutes);
      await v1.register(statsRoutes, deps);
      await v1.register(messageBatchRoutes, deps);
      await v1.register(webhookEndpointRoutes, deps);
    },
    { prefix: '/v1' },
  );
  return app;
}
