import type { FastifyInstance } from 'fastify';
import type { SimContext } from '../context.js';
import { rfc2822 } from '../dates.js';
import { API_VERSION } from '../message-resource.js';
import { pageEnvelope, readPageRequest } from '../paging.js';
import { stableSid } from '../sids.js';

interface AccountParams {
  AccountSid: string;
}

const SUBRESOURCES: Record<string, string> = {
  addresses: 'Addresses',
  applications: 'Applications',
  authorized_connect_apps: 'AuthorizedConnectApps',
  available_phone_numbers: 'AvailablePhoneNumbers',
  balance: 'Balance',
  calls: 'Calls',
  conferences: 'Conferences',
  connect_apps: 'ConnectApps',
  incoming_phone_numbers: 'IncomingPhoneNumbers',
  keys: 'Keys',
  messages: 'Messages',
  notifications: 'Notifications',
  outgoing_caller_ids: 'OutgoingCallerIds',
  queues: 'Queues',
  recordings: 'Recordings',
  short_codes: 'SMS/ShortCodes',
  signing_keys: 'SigningKeys',
  sip: 'SIP',
  transcriptions: 'Transcriptions',
  usage: 'Usage',
};

/** Twilio's friendly name for a NANP number is `(500) 555-0006`; other numbers keep their E.164 form. */
function friendlyName(phoneNumber: string): string {
  const nanp = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(phoneNumber);
  return nanp ? `(${nanp[1]}) ${nanp[2]}-${nanp[3]}` : phoneNumber;
}

/** `*` is Twilio's wildcard in the PhoneNumber filter; anything else matches as a substring. */
function phoneNumberMatcher(pattern: string | undefined): (phoneNumber: string) => boolean {
  if (pattern === undefined) return () => true;
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  const regex = new RegExp(escaped);
  return (phoneNumber) => regex.test(phoneNumber);
}

export function accountRoutes(app: FastifyInstance, context: SimContext): void {
  const { accountSid, authToken } = context;
  const accountPath = `/${API_VERSION}/Accounts/${accountSid}`;
  // A fixed date keeps responses stable across restarts.
  const created = rfc2822(new Date(Date.UTC(2024, 0, 1)));

  const numbers = context.phoneNumbers.map((phoneNumber) => {
    const sid = stableSid('PN', `${accountSid}:${phoneNumber}`);
    return {
      sid,
      account_sid: accountSid,
      address_requirements: 'none',
      address_sid: null,
      api_version: API_VERSION,
      beta: false,
      bundle_sid: null,
      capabilities: { voice: true, sms: true, mms: true, fax: false },
      date_created: created,
      date_updated: created,
      emergency_address_sid: null,
      emergency_address_status: 'unregistered',
      emergency_status: 'Inactive',
      friendly_name: friendlyName(phoneNumber),
      identity_sid: null,
      origin: 'twilio',
      phone_number: phoneNumber,
      sms_application_sid: null,
      sms_fallback_method: 'POST',
      sms_fallback_url: null,
      sms_method: 'POST',
      sms_url: null,
      status: 'in-use',
      status_callback: null,
      status_callback_method: 'POST',
      trunk_sid: null,
      type: 'local',
      uri: `${accountPath}/IncomingPhoneNumbers/${sid}.json`,
      voice_application_sid: null,
      voice_caller_id_lookup: false,
      voice_fallback_method: 'POST',
      voice_fallback_url: null,
      voice_method: 'POST',
      voice_receive_mode: 'voice',
      voice_url: null,
    };
  });

  app.get<{ Params: AccountParams }>('/2010-04-01/Accounts/:AccountSid.json', async () => ({
    auth_token: authToken,
    date_created: created,
    date_updated: created,
    friendly_name: 'smsq Twilio simulator',
    owner_account_sid: accountSid,
    sid: accountSid,
    status: 'active',
    subresource_uris: Object.fromEntries(
      Object.entries(SUBRESOURCES).map(([key, name]) => [key, `${accountPath}/${name}.json`]),
    ),
    type: 'Full',
    uri: `${accountPath}.json`,
  }));

  app.get<{ Params: AccountParams; Querystring: Record<string, string | undefined> }>(
    '/2010-04-01/Accounts/:AccountSid/IncomingPhoneNumbers.json',
    async (request) => {
      const { PhoneNumber } = request.query;
      const matches = phoneNumberMatcher(PhoneNumber);
      return pageEnvelope({
        key: 'incoming_phone_numbers',
        path: `${accountPath}/IncomingPhoneNumbers.json`,
        filters: PhoneNumber === undefined ? [] : [['PhoneNumber', PhoneNumber]],
        items: numbers.filter((number) => matches(number.phone_number)),
        request: readPageRequest(request.query),
        render: (number) => number,
      });
    },
  );

  app.get<{ Params: AccountParams }>('/2010-04-01/Accounts/:AccountSid/Balance.json', async () => ({
    account_sid: accountSid,
    balance: '20.00',
    currency: 'USD',
  }));
}
