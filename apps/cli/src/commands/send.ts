import type { CategoryName } from '@smsq/shared';
import { ApiClient, type ApiOptions } from '../api-client.js';
import { followMessage } from '../follow-message.js';
import type { Io, Output } from '../io.js';

export interface SendOptions extends ApiOptions {
  to: string;
  body: string;
  category?: CategoryName;
  timeout: number;
}

interface Accepted {
  id: string;
  to: string;
  category: string;
  segments: number;
  encoding: string;
}

/** Through the real path (API → queue → worker → Twilio → webhook), then waits for the final status. */
export async function send(io: Io, out: Output, opts: SendOptions): Promise<number> {
  const api = ApiClient.from(opts, io.env);
  const accepted = await api.post<Accepted>('/v1/messages', {
    to: opts.to,
    body: opts.body,
    ...(opts.category ? { category: opts.category } : {}),
  });
  out.line(
    `Accepted ${accepted.id} for ${accepted.to} (${accepted.category}, ${accepted.segments} segment(s), ${accepted.encoding}).`,
  );
  return followMessage(api, out, accepted.id, opts.timeout, accepted);
}
