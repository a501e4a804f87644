import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { PrismaClient } from '@smsq/shared';
import { ErrorResponse, commonErrors } from '../schemas/common.js';
import { PutRecipientBody, RecipientParams, RecipientView } from '../schemas/recipients.js';
import { putRecipient, recipientView } from '../services/recipients.js';
import { unknownRecipient } from '../services/recipients-lookup.js';

export const recipientRoutes: FastifyPluginAsyncTypebox<{ prisma: PrismaClient }> = async (app, { prisma }) => {
  app.put(
    '/recipients/:userId',
    {
      schema: {
        tags: ['recipients'],
        summary: 'Create or replace a recipient: phone, category preferences, locale, timezone',
        params: RecipientParams,
        body: PutRecipientBody,
        response: { 200: RecipientView, ...commonErrors },
      },
    },
    async (req) => recipientView(await putRecipient(prisma, req.params.userId, req.body)),
  );

  app.get(
    '/recipients/:userId',
    {
      schema: {
        tags: ['recipients'],
        summary: 'A recipient',
        params: RecipientParams,
        response: { 200: RecipientView, 404: ErrorResponse, ...commonErrors },
      },
    },
    async (req) => {
      const r = await prisma.recipient.findUnique({ where: { userId: req.params.userId } });
      if (!r) throw unknownRecipient(req.params.userId);
      return recipientView(r);
    },
  );

  app.delete(
    '/recipients/:userId',
    {
      schema: {
        tags: ['recipients'],
        summary: 'Forget a recipient (its messages stay)',
        params: RecipientParams,
        response: { 204: Type.Null({ description: 'Deleted' }), 404: ErrorResponse, ...commonErrors },
      },
    },
    async (req, reply) => {
      const { count } = await prisma.recipient.deleteMany({ where: { userId: req.params.userId } });
      if (count === 0) throw unknownRecipient(req.params.userId);
      return reply.code(204).send(null);
    },
  );
};
