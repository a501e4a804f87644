import {
  RestException,
  TwilioNotConfiguredError,
  createTwilioClient,
  type Config,
  type TwilioClient,
} from '@smsq/shared';
import { Failure } from './failure.js';

/** Twilio's answer (or silence) in words that say what to fix. */
function explainTwilioError(err: unknown, config: Config): string {
  if (err instanceof RestException) {
    if (err.status === 401 || err.code === 20003) {
      return 'Twilio refused the credentials (error 20003): check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN';
    }
    return `Twilio answered ${err.status}${err.code ? ` with error ${err.code}` : ''}: ${err.message}`;
  }
  const { code, message } = err as { code?: unknown; message?: unknown };
  // The SDK's HTTP client gives network failures (refused, DNS, timeout) a string code.
  if (typeof code === 'string') {
    return `Twilio is unreachable at ${config.twilio.apiBaseUrl ?? 'https://api.twilio.com'}: ${String(message || code)}`;
  }
  return `the Twilio call failed: ${String(message ?? err)}`;
}

export function twilioClient(config: Config): TwilioClient {
  try {
    return createTwilioClient(config.twilio);
  } catch (err) {
    if (err instanceof TwilioNotConfiguredError) throw new Failure(err.message);
    throw err;
  }
}

/** Runs one Twilio call, turning its failure into a plain reason. */
export async function askTwilio<T>(config: Config, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new Failure(explainTwilioError(err, config));
  }
}
