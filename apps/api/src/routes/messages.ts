import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { parsePhone, type Prisma } from '@smsq/shared';
import { ApiError, notFound } from '../errors.js';
import { ErrorResponse, IdParams, commonErrors } from '../schemas/common.js';
import {
  AcceptedMessage,
  CreateMessageBody,
  ListMessagesQuery,
  MessageDetail,
  MessageList,
} from '../schemas/messages.js';
import { acceptMessage, type IntakeDeps } from '../services/message-intake.js';
import { eventView, messageView } from '../services/message-views.js';

const encodeCursor = (id: string) => Buffer.from(id).toString('base64url');
function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString();
  if (!/^[0-9a-f-]{36}$/.test(id)) throw new ApiError(400, 'validation_failed', 'cursor is not valid', 'cursor');
  return id;
}

export const messageRoutes: FastifyPluginAsyncTypebox<IntakeDeps> = async (app, deps) => {
  app.post(
    '/messages',
    {
      schema: {
        tags: ['messages'],
        summary: 'Accept a message for sending',
        body: CreateMessageBody,
        response: { 202: AcceptedMessage, 404: ErrorResponse, 422: ErrorResponse, ...commonErrors },
      },
    },
    async (req, reply) => {
      const accepted = await acceptMessage(deps, req.body, req.apiKeyName);
      req.log.info({ messageId: accepted.id, category: accepted.category }, 'message accepted');
      return reply.code(202).send(accepted);
    },
  );

  app.get(
    '/messages/:id',
    {
      schema: {
        tags: ['messages'],
        summary: 'A message with its status history',
        params: IdParams,
        response: { 200: MessageDetail, 404: ErrorResponse, ...commonErrors },
      },
    },
    async (req) => {
      const m = await deps.prisma.message.findUnique({
        where: { id: req.params.id },
        include: { events: { orderBy: { id: 'asc' } } },
      });
      if (!m) throw notFound('message');
      return { ...messageView(m), events: m.events.map(eventView) };
    },
  );

  app.get(
    '/messages',
    {
      schema: {
        tags: ['messages'],
        summary: 'List messages, newest first',
        querystring: ListMessagesQuery,
        response: { 200: MessageList, ...commonErrors },
      },
    },
    async (req) => {
      const q = req.query;
      const where: Prisma.MessageWhereInput = {};
      if (q.status) where.status = q.status;
      if (q.category) where.category = q.category;
      if (q.userId) where.userId = q.userId;
      if (q.to) {
        const phone = parsePhone(q.to);
        if (!phone) throw new ApiError(400, 'invalid_phone_number', 'not a valid phone number in E.164 form', 'to');
        where.to = phone.e164;
      }
      if (q.since || q.until) {
        where.createdAt = {
          ...(q.since ? { gte: new Date(q.since) } : {}),
          ...(q.until ? { lt: new Date(q.until) } : {}),
        };
      }
      if (q.cursor) where.id = { lt: decodeCursor(q.cursor) };
      const rows = await deps.prisma.message.findMany({ where, orderBy: { id: 'desc' }, take: q.limit + 1 });
      const page = rows.slice(0, q.limit);
      const last = page.at(-1);
      return {
        items: page.map(messageView),
        nextCursor: rows.length > q.limit && last ? encodeCursor(last.id) : null,
      };
    },
  );
};
