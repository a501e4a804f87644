import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from '@smsq/shared';

declare module 'fastify' {
  interface FastifyRequest {
    /** What the route did (the message id, a batch's counts), carried by the request's access line. */
    logFields?: Record<string, unknown>;
  }
}

/**
 * One line per request, once it is answered, instead of Fastify's two ("incoming request", "request
 * completed") plus a route's own: a single POST's three lines cost about a third of the API's CPU per
 * request (serializing, redacting and writing each). A route adds what it did to this line through
 * `req.logFields` (ids, counts, statuses: never a body, a code or a number, since the line is written
 * without the redact paths, see unredactedSibling; numbers in the URL are still masked). The request's
 * own logger decides whether it is written, so a route with `logLevel: 'warn'` (the status callbacks)
 * writes none. A failed reply goes through the request's logger, redacted.
 */
export class AccessLog extends LogController {
  constructor(private readonly lines: Logger) {
    super();
  }

  override incomingRequest() {}

  override requestCompleted(error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply) {
    if (error) {
      reply.log.error({ res: { statusCode: reply.statusCode }, err: error }, 'request errored');
      return;
    }
    // The request's logger is a child of the pino logger the app was built with (buildApp).
    if (!(reply.log as Logger).isLevelEnabled('info')) return;
    this.lines.info(
      {
        reqId: req.id,
        req: { method: req.method, url: req.url, remoteAddress: req.ip },
        res: { statusCode: reply.statusCode },
        responseTime: reply.elapsedTime,
        ...req.logFields,
      },
      'request completed',
    );
  }
}
