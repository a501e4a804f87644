import { Type, type Static } from '@sinclair/typebox';
import { STATUS_ORDER } from '@smsq/shared';

const MAX_BATCH_ITEMS = 1000;

/**
 * Items are deliberately `unknown` here: each one is checked against CreateMessageBody on its own
 * (services/message-batch.ts), so one bad item gets an error at its index instead of failing the batch.
 */
export const CreateBatchBody = Type.Object(
  {
    messages: Type.Array(Type.Unknown({ description: 'a POST /v1/messages body' }), {
      minItems: 1,
      maxItems: MAX_BATCH_ITEMS,
    }),
  },
  {
    additionalProperties: false,
    examples: [
      {
        messages: [
          { to: '+14155552671', template: 'low_balance', data: { last4: '4242', balance: '$12.40' } },
          { userId: 'u_42', body: 'Your statement is ready.', category: 'account' },
        ],
      },
    ],
  },
);
export type CreateBatchBody = Static<typeof CreateBatchBody>;

export const BatchItemError = Type.Object({
  code: Type.String(),
  message: Type.String(),
  field: Type.Optional(Type.String()),
});
export type BatchItemError = Static<typeof BatchItemError>;

/**
 * `{index, id, status}` for an accepted item or `{index, error}` for a refused one. One object with
 * optional fields rather than a union: fast-json-stringify would test every item against each branch.
 */
export const BatchItemResult = Type.Object({
  index: Type.Integer(),
  id: Type.Optional(Type.String()),
  // "queued" for a new message; a replayed Idempotency-Key gives the message's current status.
  status: Type.Optional(Type.Union(STATUS_ORDER.map((s) => Type.Literal(s)))),
  error: Type.Optional(BatchItemError),
});
export type BatchItemResult = Static<typeof BatchItemResult>;

export const BatchResponse = Type.Object(
  { results: Type.Array(BatchItemResult) },
  {
    examples: [
      {
        results: [
          { index: 0, id: '019a8f2e-7c1d-7b3a-9f10-3c5e2d1a4b6c', status: 'queued' },
          { index: 1, error: { code: 'unknown_recipient', message: 'no recipient "u_42"', field: 'userId' } },
        ],
      },
    ],
  },
);
