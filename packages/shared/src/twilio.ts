import { timingSafeEqual } from 'node:crypto';
import twilio from 'twilio';
import type { Config } from './config.js';
import { TwilioHttpClient } from './twilio-http.js';

export type TwilioClient = twilio.Twilio;
export const { RestException } = twilio;
export type RestException = InstanceType<typeof twilio.RestException>;

export class TwilioNotConfiguredError extends Error {
  constructor() {
    super('TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set');
  }
}

export function createTwilioClient(cfg: Config['twilio']): TwilioClient {
  if (!cfg.accountSid || !cfg.authToken) throw new TwilioNotConfiguredError();
  const httpClient = new TwilioHttpClient(cfg.timeoutMs, cfg.apiBaseUrl);
  return twilio(cfg.accountSid, cfg.authToken, { httpClient });
}

/**
 * Loads what the first send would otherwise load after its slot was granted: the SDK's Messages resource
 * (a getter that requires its modules on first use), the HTTP layer and a connection.
 */
export async function warmUpTwilioClient(client: TwilioClient): Promise<void> {
  void client.messages;
  if (client.httpClient instanceof TwilioHttpClient) await client.httpClient.warmUp();
  // One real round trip (the account, a read that costs nothing): the first send would otherwise open the
  // connection and run the request path for the first time after its slot, 100–200 ms late on a busy
  // machine. An error does not matter: the path has run.
  await client.api.v2010.account.fetch().catch(() => undefined);
}

/**
 * Checks X-Twilio-Signature over the public URL Twilio called and the decoded form parameters. The URL
 * exactly as given is tried first, with one HMAC: that is what Twilio signs, and the SDK's check begins
 * with the URL without its port and then with it, two URL parses and two HMACs for a URL with a port.
 * Only a signature that does not match it goes through the SDK's variants (ports, escaping).
 */
export function isValidTwilioSignature(
  authToken: string,
  signature: string | undefined,
  url: string,
  params: Record<string, unknown>,
): boolean {
  if (!signature) return false;
  const expected = Buffer.from(twilio.getExpectedTwilioSignature(authToken, url, params));
  const given = Buffer.from(signature);
  if (given.length === expected.length && timingSafeEqual(given, expected)) return true;
  return twilio.validateRequest(authToken, signature, url, params);
}
