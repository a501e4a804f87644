export type ErrorCode =
  | 'validation_failed'
  | 'invalid_phone_number'
  | 'unknown_template'
  | 'missing_template_data'
  | 'unauthorized'
  | 'insufficient_scope'
  | 'budget_exceeded'
  | 'service_exists'
  | 'not_found'
  | 'unknown_recipient'
  | 'idempotency_conflict'
  | 'not_cancelable'
  | 'recipient_opted_out'
  | 'recipient_has_no_phone'
  | 'category_disabled'
  | 'country_not_allowed'
  | 'rate_limited'
  | 'unavailable'
  | 'payload_too_large'
  | 'invalid_url'
  | 'url_not_allowed'
  | 'too_many_endpoints'
  | 'internal_error';

/** An error the caller can act on: its code is part of the public contract (docs/api.md, "Errors"). */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toJSON() {
    return { error: { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) } };
  }
}

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);
export const unavailable = (what: string) =>
  new ApiError(503, 'unavailable', `${what} is unavailable; nothing was recorded, try again`, undefined, {
    'retry-after': '5',
  });

/**
 * A `date-time` the schema accepted as text but JavaScript cannot place in time (a leap second,
 * `…T23:59:60Z`, passes RFC 3339's grammar): refused as the caller's mistake, never an Invalid Date.
 */
export function parseInstant(value: string, field: string): Date {
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw new ApiError(400, 'validation_failed', `${field} is not a usable time`, field);
  return at;
}

/** The part of an Ajv error that a caller's message is made of. */
export interface SchemaViolation {
  instancePath?: string;
  message?: string;
  params?: unknown;
}

/**
 * A body or query that fails its schema, as 400 `validation_failed` naming the field in dot form
 * (`data.amount`); `subject` names the whole when the error is about no one field.
 */
export function schemaViolation(first: SchemaViolation | undefined, subject: string): ApiError {
  const params = (first?.params ?? {}) as Record<string, unknown>;
  const path = [
    first?.instancePath?.replace(/^\//, '').replace(/\//g, '.'),
    params.missingProperty ?? params.additionalProperty,
  ]
    .filter(Boolean)
    .join('.');
  const message = params.additionalProperty
    ? `unknown field "${String(params.additionalProperty)}"`
    : `${path || subject} ${first?.message ?? 'is invalid'}`;
  return new ApiError(400, 'validation_failed', message, path || undefined);
}
