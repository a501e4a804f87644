import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorResponse, commonErrors, isoOrNull } from '../common-schema.js';
import { BlockIdParams, CreateBlockBody, ListBlocksQuery, PrefixBlockList, PrefixBlockView } from './schema.js';
import { PumpingGuard, type PrefixBlock, type PumpingGuardDeps } from './guard.js';
import { audit } from '../access/audit.js';

function blockView(b: PrefixBlock, now = new Date()) {
  return {
    id: b.id.toString(),
    prefix: b.prefix,
    reason: b.reason,
    observed: b.observed,
    baseline: b.baseline,
    blockedUntil: b.blockedUntil.toISOString(),
    liftedAt: isoOrNull(b.liftedAt),
    liftedBy: b.liftedBy,
    createdAt: b.createdAt.toISOString(),
    active: b.liftedAt === null && b.blockedUntil > now,
  };
}

/** The operator's view of the SMS-pumping guard: list, add and lift destination-prefix blocks. */
export const adminBlockRoutes: FastifyPluginAsyncTypebox<PumpingGuardDeps> = async (app, deps) => {
  const guard = new PumpingGuard(deps);

  app.get(
    '/admin/blocks',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'Destination-prefix blocks, newest first',
        querystring: ListBlocksQuery,
        response: { 200: PrefixBlockList, ...commonErrors },
      },
    },
    async (req) => ({ blocks: (await guard.list(req.query.active, req.query.limit)).map((b) => blockView(b)) }),
  );

  app.post(
    '/admin/blocks',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['admin'],
        summary: "Block OTPs to a destination prefix (an operator's own block)",
        body: CreateBlockBody,
        response: { 201: PrefixBlockView, ...commonErrors },
      },
    },
    async (req, reply) => {
      const { prefix, seconds, reason } = req.body;
      const block = await guard.blockByOperator(prefix.replace(/^\+/, ''), seconds, reason, req.apiKeyName);
      req.pumping = { prefix: block.prefix, blocked: 'operator' };
      req.log.warn({ blockId: block.id.toString(), prefix: block.prefix }, 'prefix blocked by operator');
      await audit(deps.prisma, req.caller, 'block.created', block.id.toString(), { prefix: block.prefix, seconds });
      return reply.code(201).send(blockView(block));
    },
  );

  app.delete(
    '/admin/blocks/:id',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'Lift a block (recorded with the API key that lifted it)',
        params: BlockIdParams,
        response: { 200: PrefixBlockView, 404: ErrorResponse, ...commonErrors },
      },
    },
    async (req) => {
      const { block, lifted } = await guard.lift(BigInt(req.params.id), req.apiKeyName);
      req.log.warn({ blockId: req.params.id, prefix: block.prefix, liftedBy: block.liftedBy }, 'prefix block lifted');
      if (lifted) await audit(deps.prisma, req.caller, 'block.lifted', req.params.id, { prefix: block.prefix });
      return blockView(block);
    },
  );
};
