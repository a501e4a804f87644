/** A refusal the sim answers in Twilio's legacy v2010 error shape. */
export class TwilioApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly httpStatus: number,
    /** Only some Twilio errors (e.g. 20003) carry a `detail`. */
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'TwilioApiError';
  }
}

export interface TwilioErrorBody {
  code: number;
  detail?: string;
  message: string;
  more_info: string;
  status: number;
}

export function errorBody(error: TwilioApiError): TwilioErrorBody {
  return {
    code: error.code,
    ...(error.detail === undefined ? {} : { detail: error.detail }),
    message: error.message,
    more_info: `https://www.twilio.com/docs/errors/${error.code}`,
    status: error.httpStatus,
  };
}

export function notFound(path: string): TwilioApiError {
  return new TwilioApiError(20404, `The requested resource ${path} was not found`, 404);
}
