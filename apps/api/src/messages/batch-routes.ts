import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorResponse, commonErrors } from '../common-schema.js';
import { IdempotencyHeaders } from './schema.js';
import { BatchResponse, CreateBatchBody } from './batch-schema.js';
import { acceptBatch } from './batch.js';
import type { IntakeDeps } from './intake.js';

export const messageBatchRoutes: FastifyPluginAsyncTypebox<IntakeDeps> = async (app, deps) => {
  app.post(
    '/messages/batch',
    {
      config: { scope: 'messages:send' },
      // 1000 items of up to 1600 characters each; the app-wide limit is sized for one message.
      bodyLimit: 8 * 1024 * 1024,
      schema: {
        tags: ['messages'],
        summary: 'Accept up to 1000 messages; each item succeeds or fails on its own',
        description:
          'Each item is a POST /v1/messages body and gets a result at its index: `{index, id, status}` or ' +
          '`{index, error}`. The accepted ones are recorded and enqueued together; if that fails the answer ' +
          'is 503 and nothing was recorded, unless a worker had already taken some (the enqueue landed but ' +
          'its reply was lost): those are accepted, the others get `unavailable`. With an Idempotency-Key, ' +
          'item i is kept under `<key>#<i>`: a ' +
          'repeated batch returns the same ids for the items accepted before and retries the refused ones.',
        headers: IdempotencyHeaders,
        body: CreateBatchBody,
        response: { 200: BatchResponse, 413: ErrorResponse, ...commonErrors },
      },
    },
    async (req) => {
      const { results, acceptedCategories } = await acceptBatch(
        deps,
        req.body.messages,
        req.caller,
        req.headers['idempotency-key'],
      );
      req.acceptedCategories = acceptedCategories;
      const accepted = results.filter((r) => 'id' in r).length;
      req.logFields = { items: results.length, accepted, refused: results.length - accepted };
      return { results };
    },
  );
};
