import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { isValidTwilioSignature, type Config, type Queues } from '@smsq/shared';
import { boundedEnqueue } from '../services/bounded-enqueue.js';

export interface WebhookDeps {
  config: Config;
  queues: Queues;
}

const StatusCallback = Type.Object(
  {
    MessageSid: Type.String({ pattern: '^(SM|MM)[0-9a-fA-F]{32}$' }),
    MessageStatus: Type.String({ minLength: 1, maxLength: 32 }),
    ErrorCode: Type.Optional(Type.String({ pattern: '^[0-9]*$' })),
  },
  { additionalProperties: true },
);

/**
 * Twilio signs the exact URL it called (our public base URL + path + query) and the form fields, so
 * the URL is rebuilt from PUBLIC_BASE_URL: behind a proxy the Host header and scheme would be wrong.
 */
export const webhookRoutes: FastifyPluginAsyncTypebox<WebhookDeps> = async (app, deps) => {
  await app.register(formbody, { bodyLimit: 64 * 1024 });

  app.addHook('preValidation', async (req, reply) => {
    const token = deps.config.twilio.authToken;
    const signature = req.headers['x-twilio-signature'];
    const url = `${deps.config.publicBaseUrl}${req.url}`;
    const params = (req.body ?? {}) as Record<string, unknown>;
    if (!token || !isValidTwilioSignature(token, typeof signature === 'string' ? signature : undefined, url, params)) {
      req.log.warn({ path: req.routeOptions.url }, 'webhook signature rejected');
      return reply.code(403).send({ error: { code: 'forbidden', message: 'invalid X-Twilio-Signature' } });
    }
  });

  app.post(
    '/status',
    {
      schema: {
        tags: ['webhooks'],
        summary: "Twilio's message status callback (signed)",
        querystring: Type.Object({ mid: Type.Optional(Type.String({ format: 'uuid' })) }),
        body: StatusCallback,
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const errorCode = b.ErrorCode ? Number(b.ErrorCode) : undefined;
      await boundedEnqueue(
        deps.queues.status.add(
          'status',
          {
            messageId: req.query.mid,
            twilioSid: b.MessageSid,
            twilioStatus: b.MessageStatus,
            errorCode,
            receivedAt: new Date().toISOString(),
          },
          // A retried callback while the first is still queued is the same job.
          { jobId: `${b.MessageSid}-${b.MessageStatus}` },
        ),
      );
      return reply.code(204).send(null);
    },
  );
};
