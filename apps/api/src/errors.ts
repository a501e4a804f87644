export type ErrorCode =
  | 'validation_failed'
  | 'invalid_phone_number'
  | 'unknown_template'
  | 'missing_template_data'
  | 'unauthorized'
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
  | 'internal_error';

/** An error the caller can act on: its code is part of the public contract (DESIGN §4). */
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
