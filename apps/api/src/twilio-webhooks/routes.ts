import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  inboundKeyword,
  isValidTwilioSignature,
  maskPhone,
  parsePhone,
  setOptOut,
  type Config,
  type InboundKeyword,
  type PrismaClient,
  type Queues,
} from '@smsq/shared';
import twilio from 'twilio';
import { StatusCallbacks } from './status-callbacks.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** What an inbound SMS asked for, for the metrics. */
    inboundKeyword?: InboundKeyword;
  }
}

export interface WebhookDeps {
  config: Config;
  prisma: PrismaClient;
  queues: Queues;
}

const MessageSid = Type.String({ pattern: '^(SM|MM)[0-9a-fA-F]{32}$' });

const StatusCallback = Type.Object(
  {
    MessageSid,
    MessageStatus: Type.String({ minLength: 1, maxLength: 32 }),
    ErrorCode: Type.Optional(Type.String({ pattern: '^[0-9]*$' })),
  },
  { additionalProperties: true },
);

/** Twilio's incoming-message webhook; Twilio adds fields without notice, so others are let through. */
const InboundMessage = Type.Object(
  {
    MessageSid,
    From: Type.String({ minLength: 1, maxLength: 64 }),
    To: Type.Optional(Type.String({ maxLength: 64 })),
    Body: Type.String({ maxLength: 1600, default: '' }),
  },
  { additionalProperties: true },
);

const TwiML = {
  description: 'TwiML: a confirmation for STOP/START, the help text for HELP, otherwise an empty `<Response/>`',
  content: { 'application/xml': { schema: Type.String() } },
};

/** Twilio's default replies on long codes, so a recipient reads the same words either way. */
const REPLIES: Record<InboundKeyword, string> = {
  opt_out:
    'You have successfully been unsubscribed. You will not receive any more messages from this number. Reply START to resubscribe.',
  opt_in:
    'You have successfully been re-subscribed to messages from this number. Reply HELP for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply.',
  help: 'Reply STOP to unsubscribe. Msg&Data Rates May Apply.',
};

/**
 * Twilio signs the exact URL it called (our public base URL + path + query) and the form fields, so
 * the URL is rebuilt from PUBLIC_BASE_URL: behind a proxy the Host header and scheme would be wrong.
 */
export const webhookRoutes: FastifyPluginAsyncTypebox<WebhookDeps> = async (app, deps) => {
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  app.decorateRequest('inboundKeyword', undefined);
  const statusCallbacks = new StatusCallbacks({ prisma: deps.prisma, queues: deps.queues, logger: app.log });

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
      // Two callbacks per message: their per-request lines were a fifth of the API's CPU in the drain.
      // Refusals and failures still log (warn, error), and the metrics count every callback by answer.
      logLevel: 'warn',
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
      await statusCallbacks.take({
        messageId: req.query.mid,
        twilioSid: b.MessageSid,
        twilioStatus: b.MessageStatus,
        errorCode: b.ErrorCode ? Number(b.ErrorCode) : undefined,
      });
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/inbound',
    {
      schema: {
        tags: ['webhooks'],
        summary: "Twilio's incoming message webhook (signed): STOP/START/HELP keywords",
        body: InboundMessage,
        response: { 200: TwiML },
      },
    },
    async (req, reply) => {
      const { Body, From, MessageSid: sid } = req.body;
      const keyword = inboundKeyword(Body);
      // Short codes and alphanumeric senders cannot be sent to, so there is nothing to opt out.
      const sender = parsePhone(From)?.e164;
      req.inboundKeyword = keyword;
      if (sender && (keyword === 'opt_out' || keyword === 'opt_in')) {
        await setOptOut(deps.prisma, sender, keyword === 'opt_out', Body.trim().toUpperCase(), 'inbound');
      }
      req.log.info({ messageSid: sid, keyword, sender: maskPhone(sender ?? From) }, 'inbound message');
      const twiml = new twilio.twiml.MessagingResponse();
      if (sender && keyword && deps.config.inboundKeywordReplies) twiml.message(REPLIES[keyword]);
      return reply.type('application/xml').send(twiml.toString());
    },
  );
};
