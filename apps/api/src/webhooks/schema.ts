import { Type, type Static } from '@sinclair/typebox';
import { DEFAULT_WEBHOOK_EVENTS, WEBHOOK_EVENT_TYPES } from '@smsq/shared';
import { Nullable } from '../common-schema.js';

const ENDPOINT_ID = '019a8f2e-9d40-7c11-8a2b-5e6f7a8b9c0d';
const DELIVERY_ID = '5b1c9a7e-2f4d-4e8a-9c3b-1d2e3f4a5b6c';

const Url = Type.String({
  minLength: 1,
  maxLength: 2048,
  description:
    'https, resolving only to public addresses (unless WEBHOOK_ALLOW_PRIVATE); else 400 invalid_url or url_not_allowed',
  examples: ['https://example.com/hooks/smsq'],
});
const EventType = Type.Union(WEBHOOK_EVENT_TYPES.map((t) => Type.Literal(t)));
const Events = Type.Array(EventType, {
  minItems: 1,
  uniqueItems: true,
  description: `The events to receive; left out: ${DEFAULT_WEBHOOK_EVENTS.join(', ')}`,
  examples: [['message.delivered', 'message.failed', 'otp.verified']],
});
const Description = Type.String({ maxLength: 256, examples: ['order notifications, prod'] });

export const EndpointParams = Type.Object({ id: Type.String({ format: 'uuid', examples: [ENDPOINT_ID] }) });
export const DeliveryParams = Type.Object({
  id: Type.String({ format: 'uuid', examples: [ENDPOINT_ID] }),
  deliveryId: Type.String({ format: 'uuid', examples: [DELIVERY_ID] }),
});

export const CreateEndpointBody = Type.Object(
  { url: Url, events: Type.Optional(Events), description: Type.Optional(Description) },
  { additionalProperties: false },
);
export type CreateEndpointBody = Static<typeof CreateEndpointBody>;

export const UpdateEndpointBody = Type.Object(
  {
    url: Type.Optional(Url),
    events: Type.Optional(Events),
    enabled: Type.Optional(
      Type.Boolean({ description: 'true also clears disabledReason and the failing streak; false pauses deliveries' }),
    ),
    // null first: with type coercion on, a null tried against the string first would become "".
    description: Type.Optional(Type.Union([Type.Null(), Description])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateEndpointBody = Static<typeof UpdateEndpointBody>;

const endpointFields = {
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  description: Nullable(Type.String()),
  enabled: Type.Boolean(),
  disabledReason: Nullable(
    Type.String({ description: 'Why smsq disabled it: the receiver answered 410, or every attempt failed for 24 h' }),
  ),
  failingSince: Nullable(Type.String({ format: 'date-time', description: 'Since when every attempt has failed' })),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
};
const ENDPOINT_EXAMPLE = {
  id: ENDPOINT_ID,
  url: 'https://example.com/hooks/smsq',
  events: ['message.delivered', 'message.failed', 'otp.verified'],
  description: 'order notifications, prod',
  enabled: true,
  disabledReason: null,
  failingSince: null,
  createdAt: '2026-12-07T10:00:00.000Z',
  updatedAt: '2026-12-07T10:00:00.000Z',
};
const SECRET_EXAMPLE = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** An endpoint as listed: never its secret. */
export const EndpointView = Type.Object(endpointFields, { examples: [ENDPOINT_EXAMPLE] });
export const EndpointList = Type.Object(
  { items: Type.Array(EndpointView) },
  { examples: [{ items: [ENDPOINT_EXAMPLE] }] },
);
/** An endpoint just created: the only time its signing secret is shown. */
export const CreatedEndpoint = Type.Object(
  {
    ...endpointFields,
    secret: Type.String({ description: 'whsec_<base64>: the Standard Webhooks signing secret, shown only here' }),
  },
  { examples: [{ ...ENDPOINT_EXAMPLE, secret: SECRET_EXAMPLE }] },
);

export const RotatedSecret = Type.Object(
  {
    id: Type.String(),
    secret: Type.String({ description: 'The new signing secret, shown only here' }),
    previousSecretExpiresAt: Type.String({
      format: 'date-time',
      description: 'Until then the old secret signs beside the new one (two v1 signatures per request)',
    }),
  },
  { examples: [{ id: ENDPOINT_ID, secret: SECRET_EXAMPLE, previousSecretExpiresAt: '2026-12-08T10:00:00.000Z' }] },
);

export const TestSent = Type.Object(
  { deliveryId: Type.String({ description: 'The webhook.test delivery: GET …/deliveries/{deliveryId} follows it' }) },
  { examples: [{ deliveryId: DELIVERY_ID }] },
);

/** A delivery's own state: the query parameter is `status`, as operators ask for it. */
const DELIVERY_STATES = ['pending', 'failed', 'succeeded', 'dead'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

export const ListDeliveriesQuery = Type.Object(
  {
    status: Type.Optional(
      Type.Union(
        DELIVERY_STATES.map((s) => Type.Literal(s)),
        { description: "The delivery's state: pending (not tried yet), failed (to be retried), succeeded, dead" },
      ),
    ),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
    before: Type.Optional(
      Type.Union([Type.String({ format: 'uuid' }), Type.String({ format: 'date-time' })], {
        description: "Older than this: the previous page's nextCursor (a delivery id), or a time",
      }),
    ),
  },
  { additionalProperties: false },
);
export type ListDeliveriesQuery = Static<typeof ListDeliveriesQuery>;

const deliveryFields = {
  id: Type.String(),
  type: Type.String(),
  messageId: Nullable(Type.String()),
  otpId: Nullable(Type.String()),
  status: Nullable(Type.String({ description: "The status the event reports (the message's or the OTP's)" })),
  state: Type.Union(DELIVERY_STATES.map((s) => Type.Literal(s))),
  attempts: Type.Integer(),
  nextAttemptAt: Nullable(Type.String({ format: 'date-time' })),
  lastResponseStatus: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
  deliveredAt: Nullable(Type.String({ format: 'date-time' })),
  createdAt: Type.String({ format: 'date-time' }),
};
const DELIVERY_EXAMPLE = {
  id: DELIVERY_ID,
  type: 'message.delivered',
  messageId: '019a8f2e-7c1d-7b3a-9f10-3c5e2d1a4b6c',
  otpId: null,
  status: 'delivered',
  state: 'failed',
  attempts: 2,
  nextAttemptAt: '2026-12-07T10:06:02.000Z',
  lastResponseStatus: 502,
  lastError: null,
  deliveredAt: null,
  createdAt: '2026-12-07T10:00:02.210Z',
};
export const DeliveryView = Type.Object(deliveryFields, { examples: [DELIVERY_EXAMPLE] });
export const DeliveryList = Type.Object(
  {
    items: Type.Array(DeliveryView),
    nextCursor: Nullable(Type.String({ description: 'Pass as `before` for the next page; null: no more' })),
  },
  { examples: [{ items: [DELIVERY_EXAMPLE], nextCursor: null }] },
);
export const DeliveryDetail = Type.Object(
  {
    ...deliveryFields,
    attemptLog: Type.Array(
      Type.Object({
        at: Type.String({ format: 'date-time' }),
        responseStatus: Nullable(Type.Integer()),
        error: Nullable(Type.String()),
        latencyMs: Type.Integer(),
      }),
    ),
  },
  {
    examples: [
      {
        ...DELIVERY_EXAMPLE,
        attemptLog: [
          { at: '2026-12-07T10:00:02.300Z', responseStatus: null, error: 'timeout after 10000 ms', latencyMs: 10001 },
          { at: '2026-12-07T10:00:17.400Z', responseStatus: 502, error: null, latencyMs: 120 },
        ],
      },
    ],
  },
);

export const ReplayBody = Type.Object(
  {
    since: Type.String({ format: 'date-time', examples: ['2026-12-07T00:00:00Z'] }),
    until: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);
export type ReplayBody = Static<typeof ReplayBody>;

export const Replayed = Type.Object(
  { replayed: Type.Integer({ description: 'Dead deliveries sent again' }) },
  { examples: [{ replayed: 12 }] },
);
