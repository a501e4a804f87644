import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { advanceStatus, parsePhone, type Prisma } from '@smsq/shared';
import { ApiError, notFound, parseInstant } from '../errors.js';
import { ErrorResponse, IdParams, commonErrors } from '../common-schema.js';
import {
  AcceptedMessage,
  CanceledMessage,
  CreateMessageBody,
  IdempotencyHeaders,
  ListMessagesQuery,
  MessageDetail,
  MessageList,
} from './schema.js';
import { acceptMessage, type IntakeDeps } from './intake.js';
import { eventView, messageView } from './views.js';
import { ownedBy } from '../access/caller.js';

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
      config: { scope: 'messages:send' },
      schema: {
        tags: ['messages'],
        summary: 'Accept a message for sending',
        headers: IdempotencyHeaders,
        body: CreateMessageBody,
        response: {
          200: AcceptedMessage,
          202: AcceptedMessage,
          404: ErrorResponse,
          409: ErrorResponse,
          422: ErrorResponse,
          ...commonErrors,
        },
      },
    },
    async (req, reply) => {
      const key = req.headers['idempotency-key'];
      const item = key === undefined ? { req: req.body } : { req: req.body, idempotencyKey: key };
      const { message, replayed } = await acceptMessage(deps, item, req.caller);
      req.logFields = { messageId: message.id, category: message.category, replayed };
      if (!replayed) req.acceptedCategories = [message.category];
      return reply.code(replayed ? 200 : 202).send(message);
    },
  );

  app.post(
    '/messages/:id/cancel',
    {
      config: { scope: 'messages:send' },
      schema: {
        tags: ['messages'],
        summary: 'Cancel a message that has not started sending',
        params: IdParams,
        response: { 200: CanceledMessage, 404: ErrorResponse, 409: ErrorResponse, ...commonErrors },
      },
    },
    async (req) => {
      const { id } = req.params;
      // Another service's message is not found: its existence is not revealed.
      const own = await deps.prisma.message.findFirst({ where: { id, ...ownedBy(req.caller) }, select: { id: true } });
      if (!own) throw notFound('message');
      const canceled = await advanceStatus(deps.prisma, {
        messageId: id,
        to: 'canceled',
        source: 'api',
        onlyFrom: ['queued'],
      });
      if (!canceled) {
        const m = await deps.prisma.message.findUnique({ where: { id }, select: { status: true } });
        if (!m) throw notFound('message');
        throw new ApiError(409, 'not_cancelable', `the message is ${m.status}; only queued messages can be canceled`);
      }
      // The job may be running right now; the worker then finds the message canceled and skips it.
      await deps.queues.send.remove(id).catch(() => undefined);
      return { id, status: 'canceled' as const };
    },
  );

  app.get(
    '/messages/:id',
    {
      config: { scope: 'messages:read' },
      schema: {
        tags: ['messages'],
        summary: 'A message with its status history',
        params: IdParams,
        response: { 200: MessageDetail, 404: ErrorResponse, ...commonErrors },
      },
    },
    async (req) => {
      const m = await deps.prisma.message.findFirst({
        where: { id: req.params.id, ...ownedBy(req.caller) },
        include: { events: { orderBy: { id: 'asc' } } },
      });
      if (!m) throw notFound('message');
      return { ...messageView(m), events: m.events.map(eventView) };
    },
  );

  app.get(
    '/messages',
    {
      config: { scope: 'messages:read' },
      schema: {
        tags: ['messages'],
        summary: 'List messages, newest first',
        querystring: ListMessagesQuery,
        response: { 200: MessageList, ...commonErrors },
      },
    },
    async (req) => {
      const q = req.query;
      const where: Prisma.MessageWhereInput = { ...ownedBy(req.caller) };
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
          ...(q.since ? { gte: parseInstant(q.since, 'since') } : {}),
          ...(q.until ? { lt: parseInstant(q.until, 'until') } : {}),
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
