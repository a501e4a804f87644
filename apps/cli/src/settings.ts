import { ConfigError, loadConfig, type Config } from '@smsq/shared';
import { Failure } from './failure.js';
import { EXIT, type Io } from './io.js';

/** The service's own config module, so the CLI judges every setting exactly as the processes do. */
export function loadSettings(env: Io['env']): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new Failure(`invalid setting: ${err.message}`, EXIT.failed, { variable: err.variable });
  }
}

/** What the worker refuses to start without. */
export function requireSender(config: Config): string {
  const { phoneNumber, messagingServiceSid } = config.twilio;
  if (messagingServiceSid) return `Messaging Service ${messagingServiceSid}`;
  if (phoneNumber) return phoneNumber;
  throw new Failure('TWILIO_PHONE_NUMBER or TWILIO_MESSAGING_SERVICE_SID must be set', EXIT.failed, {
    variable: 'TWILIO_PHONE_NUMBER',
  });
}
