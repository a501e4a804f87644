import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SimContext } from '../context.js';
import { type FormBody, integerOrNull, readCreateParams, type ValidCreate, validateCreate } from '../create-params.js';
import { parseDateFilter, type TimeRange } from '../dates.js';
import { notFound, TwilioApiError } from '../errors.js';
import { httpStatusForCode, roll } from '../faults.js';
import { startLifecycle } from '../lifecycle.js';
import { messageJson, messagesPath } from '../message-resource.js';
import { pageEnvelope, readPageRequest } from '../paging.js';
import { countSegments } from '../segments.js';
import { randomSid } from '../sids.js';
import type { ReceivedCreate, StoredMessage } from '../state.js';
import { requestPath } from './auth.js';

interface AccountParams {
  AccountSid: string;
}
type ListQuery = Record<string, string | undefined>;

/** A held (timeout-fault) request is dropped after this long if the client is still waiting. */
const HOLD_MS = 10 * 60_000;
const LIST_FILTERS = new Set(['To', 'From', 'DateSent', 'DateSent<', 'DateSent>']);

function injectedError(code: number): TwilioApiError {
  const messages: Record<number, string> = {
    20429: 'Too Many Requests',
    20500: 'Internal Server Error',
    20503: 'Service Unavailable',
  };
  return new TwilioApiError(code, messages[code] ?? `Simulated error ${code}`, httpStatusForCode(code));
}

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
  const owned = new Set(context.phoneNumbers);

  function holdWithoutAnswer(reply: FastifyReply): void {
    reply.hijack();
    runner.run(async () => {
      await runner.wait(HOLD_MS);
      reply.raw.destroy();
    });
  }

  function refuse(entry: ReceivedCreate, error: TwilioApiError): TwilioApiError {
    entry.response = { httpStatus: error.httpStatus, code: error.code };
    if (entry.message === null) entry.refusal = error.code;
    return error;
  }

  app.post<{ Params: AccountParams; Body: FormBody | undefined }>(
    '/2010-04-01/Accounts/:AccountSid/Messages.json',
    async (request, reply) => {
      const params = readCreateParams(request.body);
      const entry: ReceivedCreate = {
        ...params,
        validityPeriod: integerOrNull(params.validityPeriod),
        attempt: integerOrNull(params.attempt),
        receivedAt: new Date(),
        refusal: null,
        heldWithoutAnswer: false,
        response: null,
        message: null,
        callbacks: [],
      };
      state.record(entry);
      const faults = state.faults;
      if (faults.latencyMs > 0) await runner.wait(faults.latencyMs);
      if (roll(faults.timeoutRate)) {
        entry.heldWithoutAnswer = true;
        holdWithoutAnswer(reply);
        return reply;
      }
      if (roll(faults.rate429)) {
        reply.header('Retry-After', '1');
        throw refuse(entry, injectedError(20429));
      }
      if (roll(faults.errorRate)) {
        const code = faults.errorCodes[Math.floor(Math.random() * faults.errorCodes.length)] ?? 20500;
        throw refuse(entry, injectedError(code));
      }
      let valid: ValidCreate;
      try {
        valid = validateCreate(params, owned);
      } catch (error) {
        throw error instanceof TwilioApiError ? refuse(entry, error) : error;
      }

      const now = new Date();
      const message: StoredMessage = {
        sid: randomSid('SM'),
        accountSid,
        to: valid.to,
        from: valid.from,
        messagingServiceSid: valid.messagingServiceSid,
        body: valid.body,
        numSegments: countSegments(valid.body),
        status: valid.messagingServiceSid === null ? 'queued' : 'accepted',
        errorCode: null,
        errorMessage: null,
        price: null,
        dateCreated: now,
        dateUpdated: now,
        dateSent: null,
      };
      state.store(entry, message);
      startLifecycle(context, entry, message, valid.statusCallback);
      if (roll(faults.createThenFailRate)) throw refuse(entry, injectedError(20500));
      entry.response = { httpStatus: 201, code: null };
      return reply.code(201).send(messageJson(message));
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
