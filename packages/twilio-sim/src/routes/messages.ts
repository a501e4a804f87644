import type { FastifyInstance } from 'fastify';
import type { SimContext } from '../context.js';
import { createMessageHandler, holdWithoutAnswer } from '../create-message.js';
import type { FormBody } from '../create-params.js';
import { parseDateFilter, type TimeRange } from '../dates.js';
import { notFound, TwilioApiError } from '../errors.js';
import { messageJson, messagesPath } from '../message-resource.js';
import { pageEnvelope, readPageRequest } from '../paging.js';
import type { StoredMessage } from '../state.js';
import { requestPath } from './auth.js';

interface AccountParams {
  AccountSid: string;
}
type ListQuery = Record<string, string | undefined>;

const LIST_FILTERS = new Set(['To', 'From', 'DateSent', 'DateSent<', 'DateSent>']);

function dateFilter(name: string, value: string | undefined): TimeRange | null {
  if (value === undefined) return null;
  const range = parseDateFilter(value);
  if (range === null) throw new TwilioApiError(20001, `Invalid ${name}: ${value}`, 400);
  return range;
}

/**
 * Twilio filters on date_sent; a message not sent yet matches on date_created instead, so a client checking
 * "did my lost create go through?" right after a timeout finds it.
 */
function listFilter(query: ListQuery): (message: StoredMessage) => boolean {
  const on = dateFilter('DateSent', query.DateSent);
  const before = dateFilter('DateSent<', query['DateSent<']);
  const after = dateFilter('DateSent>', query['DateSent>']);
  return (message) => {
    const at = (message.dateSent ?? message.dateCreated).getTime();
    return (
      (query.To === undefined || message.to === query.To) &&
      (query.From === undefined || message.from === query.From) &&
      (on === null || (at >= on.from && at <= on.to)) &&
      (before === null || at <= before.to) &&
      (after === null || at >= after.from)
    );
  };
}

export function messageRoutes(app: FastifyInstance, context: SimContext): void {
  const { state, runner, accountSid } = context;
  const createMessage = createMessageHandler(context);

  app.post<{ Params: AccountParams; Body: FormBody | undefined }>(
    '/2010-04-01/Accounts/:AccountSid/Messages.json',
    async (request, reply) => {
      const answer = await createMessage(request.body);
      if (answer === null) {
        reply.hijack();
        holdWithoutAnswer(runner, reply.raw);
        return reply;
      }
      return reply.code(answer.httpStatus).headers(answer.headers).send(answer.body);
    },
  );

  app.get<{ Params: AccountParams & { Sid: string } }>(
    '/2010-04-01/Accounts/:AccountSid/Messages/:Sid.json',
    async (request) => {
      const message = state.message(request.params.Sid);
      if (message === undefined) throw notFound(requestPath(request));
      return messageJson(message);
    },
  );

  app.get<{ Params: AccountParams; Querystring: ListQuery }>(
    '/2010-04-01/Accounts/:AccountSid/Messages.json',
    async (request) => {
      const query = request.query;
      const filters = Object.entries(query).filter(
        (pair): pair is [string, string] => LIST_FILTERS.has(pair[0]) && typeof pair[1] === 'string',
      );
      return pageEnvelope({
        key: 'messages',
        path: `${messagesPath(accountSid)}.json`,
        filters,
        items: state.messages().filter(listFilter(query)),
        request: readPageRequest(query),
        render: messageJson,
      });
    },
  );
}
