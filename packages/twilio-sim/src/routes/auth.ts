import type { FastifyRequest } from 'fastify';
import type { SimContext } from '../context.js';
import { notFound, TwilioApiError } from '../errors.js';

function credentials(header: string | undefined): { username: string; password: string } | null {
  const match = header?.match(/^Basic\s+(\S+)$/i);
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function requestPath(request: FastifyRequest): string {
  return request.url.split('?')[0] ?? request.url;
}

/**
 * HTTP Basic with the account SID and auth token. A path naming another account answers 404 / 20404 (Twilio
 * answers either 404 or 403 there); to these credentials that account does not exist.
 */
export function authHook(context: SimContext) {
  return async (request: FastifyRequest): Promise<void> => {
    const given = credentials(request.headers.authorization);
    if (given?.username !== context.accountSid || given.password !== context.authToken) {
      throw new TwilioApiError(20003, 'Authenticate', 401, '');
    }
    const params = request.params;
    if (typeof params === 'object' && params !== null && 'AccountSid' in params) {
      if (params.AccountSid !== context.accountSid) throw notFound(requestPath(request));
    }
  };
}
