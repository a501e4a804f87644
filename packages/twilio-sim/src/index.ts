import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import { CallbackSender } from './callbacks.js';
import type { SimContext } from './context.js';
import { MAGIC_VALID_FROM } from './create-params.js';
import { errorBody, notFound, TwilioApiError } from './errors.js';
import { accountRoutes } from './routes/account.js';
import { authHook, requestPath } from './routes/auth.js';
import { controlRoutes } from './routes/control.js';
import { messageRoutes } from './routes/messages.js';
import { SimState } from './state.js';
import { TaskRunner } from './tasks.js';

export interface SimOptions {
  /** Accepted Basic username and the {AccountSid} in paths. */
  accountSid: string;
  /** Basic password; also the key that signs status callbacks. */
  authToken: string;
  /** Numbers the account owns (IncomingPhoneNumbers; valid From values). Default ['+15005550006']. */
  phoneNumbers?: string[];
  /** Delay before the 'sent' callback, then again before the final one. Default 20. */
  callbackDelayMs?: number;
  /** Fastify logger. Default false. */
  logger?: boolean;
}

export interface Sim {
  app: FastifyInstance;
  state: SimState;
  /** Stops status lifecycles and held requests, waits for in-flight callbacks, then closes the server. */
  close(): Promise<void>;
}

const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;

export async function buildSim(options: SimOptions): Promise<Sim> {
  if (!ACCOUNT_SID.test(options.accountSid)) {
    throw new Error(`accountSid must be AC followed by 32 hex digits, got ${options.accountSid}`);
  }
  const state = new SimState();
  const runner = new TaskRunner((error) => app.log.error(error));
  const callbackDelayMs = options.callbackDelayMs ?? 20;
  const context: SimContext = {
    accountSid: options.accountSid,
    authToken: options.authToken,
    phoneNumbers: [...new Set(options.phoneNumbers ?? [MAGIC_VALID_FROM])],
    callbackDelayMs,
    state,
    runner,
    callbacks: new CallbackSender(state, runner, options.authToken, callbackDelayMs),
  };
  const app = Fastify({
    logger: options.logger ?? false,
    // Fault settings are JSON: reject unknown fields and strings-for-numbers instead of silently fixing them.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  });
  await app.register(formbody);

  await app.register(async (api) => {
    api.addHook('onRequest', authHook(context));
    api.setErrorHandler(async (error, _request, reply) => {
      if (!(error instanceof TwilioApiError)) throw error;
      return reply.code(error.httpStatus).send(errorBody(error));
    });
    messageRoutes(api, context);
    accountRoutes(api, context);
  });
  controlRoutes(app, context);
  app.setNotFoundHandler(async (request, reply) => reply.code(404).send(errorBody(notFound(requestPath(request)))));

  return {
    app,
    state,
    async close() {
      // Held requests must be released before the server can close; the second stop catches work that
      // requests still in flight started meanwhile.
      await runner.stop();
      await app.close();
      await runner.stop();
      context.callbacks.close();
    },
  };
}
