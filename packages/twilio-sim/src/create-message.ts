import type { ServerResponse } from 'node:http';
import type { SimContext } from './context.js';
import { type FormBody, integerOrNull, readCreateParams, type ValidCreate, validateCreate } from './create-params.js';
import { errorBody, TwilioApiError } from './errors.js';
import { httpStatusForCode, roll } from './faults.js';
import { startLifecycle } from './lifecycle.js';
import { messageJson } from './message-resource.js';
import { countSegments } from './segments.js';
import { randomSid } from './sids.js';
import type { ReceivedCreate, StoredMessage } from './state.js';
import type { TaskRunner } from './tasks.js';

/** A held (timeout-fault) request is dropped after this long if the client is still waiting. */
const HOLD_MS = 10 * 60_000;

/** What a create is answered with: a JSON body with its status and extra headers. */
interface CreateAnswer {
  httpStatus: number;
  headers: Record<string, string>;
  body: object;
}

/**
 * Handles one POST to Messages.json from its form fields, apart from HTTP. Resolves null when the timeout fault
 * holds the request: the route then calls holdWithoutAnswer.
 */
export type CreateMessage = (form: FormBody | undefined) => Promise<CreateAnswer | null>;

function injectedError(code: number): TwilioApiError {
  const messages: Record<number, string> = {
    20429: 'Too Many Requests',
    20500: 'Internal Server Error',
    20503: 'Service Unavailable',
  };
  return new TwilioApiError(code, messages[code] ?? `Simulated error ${code}`, httpStatusForCode(code));
}

function refusal(entry: ReceivedCreate, error: TwilioApiError, headers: Record<string, string> = {}): CreateAnswer {
  entry.response = { httpStatus: error.httpStatus, code: error.code };
  if (entry.message === null) entry.refusal = error.code;
  return { httpStatus: error.httpStatus, headers, body: errorBody(error) };
}

export function createMessageHandler(context: SimContext): CreateMessage {
  const { state, runner, accountSid } = context;
  const owned = new Set(context.phoneNumbers);

  return async (form) => {
    const params = readCreateParams(form);
    // Field by field rather than spreading params: replacing the spread strings with numbers made V8 rebuild
    // the object's shape for every create.
    const entry: ReceivedCreate = {
      to: params.to,
      from: params.from,
      messagingServiceSid: params.messagingServiceSid,
      body: params.body,
      statusCallback: params.statusCallback,
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
      return null;
    }
    if (roll(faults.rate429)) return refusal(entry, injectedError(20429), { 'Retry-After': '1' });
    if (roll(faults.errorRate)) {
      const code = faults.errorCodes[Math.floor(Math.random() * faults.errorCodes.length)] ?? 20500;
      return refusal(entry, injectedError(code));
    }
    let valid: ValidCreate;
    try {
      valid = validateCreate(params, owned);
    } catch (error) {
      if (error instanceof TwilioApiError) return refusal(entry, error);
      throw error;
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
    if (roll(faults.createThenFailRate)) return refusal(entry, injectedError(20500));
    entry.response = { httpStatus: 201, code: null };
    return { httpStatus: 201, headers: {}, body: messageJson(message) };
  };
}

/** Leaves a held request unanswered until HOLD_MS pass or the sim stops, then drops its connection. */
export function holdWithoutAnswer(runner: TaskRunner, response: ServerResponse): void {
  runner.run(async () => {
    await runner.wait(HOLD_MS);
    response.destroy();
  });
}
