import type { Config, TwilioClient } from '@smsq/shared';
import { checkPostgres } from '../checks/postgres.js';
import { checkRedis } from '../checks/redis.js';
import { Failure } from '../failure.js';
import { EXIT, type Io, type Output } from '../io.js';
import { loadSettings, requireSender } from '../settings.js';
import { askTwilio, twilioClient } from '../twilio.js';

interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

async function checkAccount(config: Config, client: TwilioClient): Promise<string> {
  const account = await askTwilio(config, () => client.api.v2010.account.fetch());
  if (account.status !== 'active') {
    throw new Failure(`the Twilio account ${account.sid} is ${account.status}, not active`);
  }
  return `${account.sid} "${account.friendlyName}" is active (${account.type})`;
}

async function checkSender(config: Config, client: TwilioClient): Promise<string> {
  const { phoneNumber, messagingServiceSid } = config.twilio;
  if (messagingServiceSid) return `sends through Messaging Service ${messagingServiceSid}`;
  const listed = await askTwilio(config, () => client.incomingPhoneNumbers.list({ phoneNumber, limit: 20 }));
  const owned = listed.find((n) => n.phoneNumber === phoneNumber);
  if (!owned) {
    throw new Failure(
      `TWILIO_PHONE_NUMBER ${phoneNumber} is not a number of this Twilio account (see smsq phone-numbers)`,
    );
  }
  if (!owned.capabilities.sms) throw new Failure(`TWILIO_PHONE_NUMBER ${phoneNumber} cannot send SMS`);
  return `${phoneNumber} belongs to the account and can send SMS`;
}

const NAME_WIDTH = 'twilio account'.length;

/** Each check needs the ones before it to have passed, so the run stops at the first failure. */
export async function checkSetup(io: Io, out: Output): Promise<number> {
  const results: CheckResult[] = [];
  async function check<T>(name: string, run: () => Promise<T> | T, describe: (value: T) => string = String) {
    try {
      const value = await run();
      const detail = describe(value);
      results.push({ name, ok: true, detail });
      out.line(`✓ ${name.padEnd(NAME_WIDTH)}  ${detail}`);
      return value;
    } catch (err) {
      if (err instanceof Failure) {
        results.push({ name, ok: false, detail: err.message });
        out.problem(`✗ ${name.padEnd(NAME_WIDTH)}  ${err.message}`);
      }
      throw err;
    }
  }

  try {
    const { config, client } = await check(
      'settings',
      () => {
        const config = loadSettings(io.env);
        const client = twilioClient(config);
        return { config, client, sender: requireSender(config) };
      },
      ({ config, sender }) => `valid; sender ${sender}, ${config.apiKeys.size} API key(s)`,
    );
    await check('redis', () => checkRedis(config.redisUrl, config.redisClusterNodes));
    await check('postgres', () => checkPostgres(config.databaseUrl));
    await check('twilio account', () => checkAccount(config, client));
    await check('sender', () => checkSender(config, client));
  } catch (err) {
    if (!(err instanceof Failure)) throw err;
    out.result({ ok: false, checks: results });
    return EXIT.failed;
  }
  out.line('Setup is complete.');
  out.result({ ok: true, checks: results });
  return EXIT.ok;
}
