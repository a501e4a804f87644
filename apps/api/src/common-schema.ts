import { Type } from '@sinclair/typebox';

export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      field: Type.Optional(Type.String()),
    }),
  },
  { $id: 'ErrorResponse' },
);

/** A value or null, for fields a response always has but may leave empty. */
/** A time as the nullable date-time fields above carry it. */
export const isoOrNull = (d: Date | null) => (d ? d.toISOString() : null);

export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

/** The caller's own label for a message or an OTP, returned wherever it is shown and in its webhook events. */
export const Reference = Type.String({
  minLength: 1,
  maxLength: 128,
  description: 'Your own reference (an order id, a ticket): returned with the message or OTP and in its webhook events',
  examples: ['order-8812'],
});

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

/** The error responses every /v1 route may give, for the OpenAPI document. */
export const commonErrors = {
  400: ErrorResponse,
  401: ErrorResponse,
  503: ErrorResponse,
};
