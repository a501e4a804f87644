import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError, schemaViolation } from '../errors.js';

/** Errors from a store that is down: the request did nothing, so the caller may simply retry. */
function isStoreOutage(err: Error): boolean {
  const name = err.constructor?.name ?? '';
  return (
    /PrismaClient(Initialization|Known|Unknown|Rust)|DriverAdapterError/.test(name) ||
    /ECONNREFUSED|ETIMEDOUT|ECONNRESET|Connection is closed|enableOfflineQueue|Can't reach database|connection (terminated|timeout)|Max retries per request/i.test(
      err.message,
    )
  );
}

function fromFastify(err: FastifyError): ApiError | undefined {
  if (err.validation) return schemaViolation(err.validation[0], err.validationContext ?? 'request');
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, 'validation_failed', 'the body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'validation_failed', 'send the body as application/json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'payload_too_large', 'the body is too large');
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return new ApiError(err.statusCode, 'validation_failed', err.message);
  }
  return undefined;
}

/** Every error leaves as `{"error": {code, message, field?}}`; nothing unexpected leaves as a stack trace. */
export default fp(async function errorHandler(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    let apiErr = err instanceof ApiError ? err : fromFastify(err);
    if (!apiErr && isStoreOutage(err)) {
      req.log.warn({ err: { message: err.message, name: err.name } }, 'store unavailable');
      apiErr = new ApiError(503, 'unavailable', 'a data store is unavailable; nothing was recorded, try again');
      apiErr.headers['retry-after'] = '5';
    }
    if (!apiErr) {
      req.log.error({ err }, 'unhandled error');
      apiErr = new ApiError(500, 'internal_error', 'internal error');
    }
    return reply.code(apiErr.statusCode).headers(apiErr.headers).send(apiErr.toJSON());
  });
  app.setNotFoundHandler((req, reply) => {
    return reply
      .code(404)
      .send(new ApiError(404, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`).toJSON());
  });
});
