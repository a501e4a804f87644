import { Type, type Static } from '@sinclair/typebox';
import { CATEGORIES, MAX_BODY_LENGTH, STATUS_ORDER, TTL_MAX_SECONDS, TTL_MIN_SECONDS } from '@smsq/shared';
import { USER_ID_MAX_LENGTH } from './recipients.js';

const Category = Type.Union(CATEGORIES.map((c) => Type.Literal(c)));
const Status = Type.Union(STATUS_ORDER.map((s) => Type.Literal(s)));
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

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
  },
  { additionalProperties: false },
);
export type CreateMessageBody = Static<typeof CreateMessageBody>;

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' })),
});

export const CanceledMessage = Type.Object({ id: Type.String(), status: Type.Literal('canceled') });

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
});
export type AcceptedMessage = Static<typeof AcceptedMessage>;

export const MessageEventView = Type.Object({
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
};

export const MessageSummary = Type.Object(MessageFields);
export const MessageDetail = Type.Object({ ...MessageFields, events: Type.Array(MessageEventView) });

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

export const MessageList = Type.Object({
  items: Type.Array(MessageSummary),
  nextCursor: Nullable(Type.String()),
});
