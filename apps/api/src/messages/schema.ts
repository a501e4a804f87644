import { Nullable, Reference } from '../common-schema.js';
import { Type, type Static } from '@sinclair/typebox';
import { CATEGORIES, MAX_BODY_LENGTH, STATUS_ORDER, TTL_MAX_SECONDS, TTL_MIN_SECONDS } from '@smsq/shared';
import { USER_ID_MAX_LENGTH } from '../recipients/schema.js';

const Category = Type.Union(CATEGORIES.map((c) => Type.Literal(c)));
const Status = Type.Union(STATUS_ORDER.map((s) => Type.Literal(s)));

export const CreateMessageBody = Type.Object(
  {
    to: Type.Optional(Type.String({ minLength: 1, maxLength: 32, examples: ['+14155552671'] })),
    userId: Type.Optional(Type.String({ minLength: 1, maxLength: USER_ID_MAX_LENGTH })),
    body: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_BODY_LENGTH })),
    template: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'A name from GET /v1/templates',
        examples: ['card_alert'],
      }),
    ),
    data: Type.Optional(
      Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]), {
        maxProperties: 20,
        description: "Values for the template's requiredFields",
        examples: [{ last4: '4242' }],
      }),
    ),
    category: Type.Optional(Category),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: TTL_MIN_SECONDS, maximum: TTL_MAX_SECONDS })),
    sendAt: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'Send at this time (at most 30 days ahead; a past time means now). The TTL counts from it.',
      }),
    ),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { maxProperties: 50 })),
    reference: Type.Optional(Reference),
  },
  { additionalProperties: false },
);
export type CreateMessageBody = Static<typeof CreateMessageBody>;

export const IdempotencyHeaders = Type.Object({
  // Printable ASCII without '#': a batch keeps item i under `<key>#<i>`, which no single key can then equal.
  'idempotency-key': Type.Optional(
    Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21\\x22\\x24-\\x7e]+$' }),
  ),
});

export const CanceledMessage = Type.Object(
  { id: Type.String(), status: Type.Literal('canceled') },
  { examples: [{ id: '019a8f2e-7c1d-7b3a-9f10-3c5e2d1a4b6c', status: 'canceled' }] },
);

export const AcceptedMessage = Type.Object({
  id: Type.String(),
  status: Status,
  to: Type.String(),
  category: Category,
  segments: Type.Integer(),
  encoding: Type.Union([Type.Literal('GSM-7'), Type.Literal('UCS-2')]),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
  sendAt: Nullable(
    Type.String({
      format: 'date-time',
      description: 'When it will be sent: the requested sendAt, or the end of quiet hours for marketing; null: now',
    }),
  ),
  reference: Nullable(Type.String()),
});
export type AcceptedMessage = Static<typeof AcceptedMessage>;

const MessageEventView = Type.Object({
  status: Status,
  at: Type.String({ format: 'date-time' }),
  source: Type.Union([Type.Literal('api'), Type.Literal('worker'), Type.Literal('webhook')]),
  errorCode: Nullable(Type.Integer()),
});

const MessageFields = {
  id: Type.String(),
  status: Status,
  to: Type.String(),
  from: Nullable(Type.String()),
  userId: Nullable(Type.String()),
  category: Category,
  template: Nullable(Type.String()),
  body: Nullable(Type.String()),
  segments: Type.Integer(),
  encoding: Type.String(),
  attempts: Type.Integer(),
  twilioSid: Nullable(Type.String()),
  errorCode: Nullable(Type.Integer()),
  errorMessage: Nullable(Type.String()),
  price: Nullable(Type.String()),
  priceUnit: Nullable(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  sentAt: Nullable(Type.String({ format: 'date-time' })),
  deliveredAt: Nullable(Type.String({ format: 'date-time' })),
  expiresAt: Type.String({ format: 'date-time' }),
  sendAt: Nullable(Type.String({ format: 'date-time' })),
  metadata: Nullable(Type.Record(Type.String(), Type.Unknown())),
  reference: Nullable(Type.String()),
};

const EXAMPLE_MESSAGE = {
  id: '019a8f2e-7c1d-7b3a-9f10-3c5e2d1a4b6c',
  status: 'delivered',
  to: '+14155552671',
  from: '+15005550006',
  userId: 'u_42',
  category: 'security',
  template: 'card_alert',
  body: 'Your card ending 4242 was blocked. If this was not you, call us at +1 800 555 0100.',
  segments: 1,
  encoding: 'GSM-7',
  attempts: 1,
  twilioSid: 'SM0123456789abcdef0123456789abcdef',
  errorCode: null,
  errorMessage: null,
  price: '-0.00790',
  priceUnit: 'USD',
  createdAt: '2026-11-21T10:00:00.000Z',
  updatedAt: '2026-11-21T10:00:02.210Z',
  sentAt: '2026-11-21T10:00:00.640Z',
  deliveredAt: '2026-11-21T10:00:02.210Z',
  expiresAt: '2026-11-21T11:00:00.000Z',
  sendAt: null,
  metadata: { ref: 'abc' },
  reference: 'order-8812',
};

const MessageSummary = Type.Object(MessageFields);
export const MessageDetail = Type.Object(
  { ...MessageFields, events: Type.Array(MessageEventView) },
  {
    examples: [
      {
        ...EXAMPLE_MESSAGE,
        events: [
          { status: 'queued', at: '2026-11-21T10:00:00.000Z', source: 'api', errorCode: null },
          { status: 'sending', at: '2026-11-21T10:00:00.012Z', source: 'worker', errorCode: null },
          { status: 'submitted', at: '2026-11-21T10:00:00.240Z', source: 'worker', errorCode: null },
          { status: 'sent', at: '2026-11-21T10:00:00.640Z', source: 'webhook', errorCode: null },
          { status: 'delivered', at: '2026-11-21T10:00:02.210Z', source: 'webhook', errorCode: null },
        ],
      },
    ],
  },
);

export const ListMessagesQuery = Type.Object(
  {
    status: Type.Optional(Status),
    to: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    userId: Type.Optional(Type.String({ minLength: 1, maxLength: USER_ID_MAX_LENGTH })),
    category: Type.Optional(Category),
    since: Type.Optional(Type.String({ format: 'date-time' })),
    until: Type.Optional(Type.String({ format: 'date-time' })),
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    cursor: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type ListMessagesQuery = Static<typeof ListMessagesQuery>;

export const MessageList = Type.Object(
  { items: Type.Array(MessageSummary), nextCursor: Nullable(Type.String()) },
  { examples: [{ items: [EXAMPLE_MESSAGE], nextCursor: 'MDE5YThmMmUtN2MxZC03YjNhLTlmMTAtM2M1ZTJkMWE0YjZj' }] },
);
