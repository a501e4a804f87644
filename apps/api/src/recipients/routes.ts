import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { PrismaClient } from '@smsq/shared';
import { ErrorResponse, commonErrors } from '../common-schema.js';
import { PutRecipientBody, RecipientParams, RecipientView } from './schema.js';
import { putRecipient, recipientView } from './service.js';
import { unknownRecipient } from './lookup.js';

export const recipientRoutes: FastifyPluginAsyncTypebox<{ prisma: PrismaClient }> = async (app, { prisma }) => {
  app.put(
    '/recipients/:userId',
    {
      config: { scope: 'recipients:write' },
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
      config: { scope: 'recipients:read' },
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
      config: { scope: 'recipients:write' },
      schema: {
        tags: ['recipients'],
        summary: 'Forget a recipient (its messages stay); answers with what was deleted',
        params: RecipientParams,
        response: { 200: RecipientView, 404: ErrorResponse, ...commonErrors },
      },
    },
    async (req) => {
      // docs/api.md: 200, as for PUT and GET. One statement: a concurrent DELETE gets 404, not a second 200.
      const [deleted] = await prisma.$queryRaw<Parameters<typeof recipientView>[0][]>`
        DELETE FROM recipients WHERE user_id = ${req.params.userId}
        RETURNING user_id AS "userId", phone, preferences, locale, timezone,
                  created_at AS "createdAt", updated_at AS "updatedAt"`;
      if (!deleted) throw unknownRecipient(req.params.userId);
      return recipientView(deleted);
    },
  );
};
