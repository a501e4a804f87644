import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { PrismaClient } from '@smsq/shared';
import { ApiError, parseInstant } from '../errors.js';
import { ErrorResponse, commonErrors } from '../common-schema.js';
import { STATS_MAX_WINDOW_DAYS, StatsQuery, StatsResponse } from './schema.js';
import { computeStats } from './service.js';
import { insufficientScope } from '../access/auth.js';
import { isTest } from '../access/caller.js';

const DAY_MS = 86_400_000;
const DEFAULT_WINDOW_DAYS = 7;

export const statsRoutes: FastifyPluginAsyncTypebox<{ prisma: PrismaClient }> = async (app, { prisma }) => {
  app.get(
    '/stats',
    {
      config: { scope: 'messages:read' },
      schema: {
        tags: ['stats'],
        summary: 'Counts by status, delivery rate, segments and cost of the messages created in a window',
        querystring: StatsQuery,
        response: { 200: StatsResponse, 403: ErrorResponse, ...commonErrors },
      },
    },
    async (req) => {
      const until = req.query.until ? parseInstant(req.query.until, 'until') : new Date();
      const since = req.query.since
        ? parseInstant(req.query.since, 'since')
        : new Date(until.getTime() - DEFAULT_WINDOW_DAYS * DAY_MS);
      if (since >= until) throw new ApiError(400, 'validation_failed', 'since must be before until', 'since');
      if (until.getTime() - since.getTime() > STATS_MAX_WINDOW_DAYS * DAY_MS) {
        throw new ApiError(
          400,
          'validation_failed',
          `the window may span at most ${STATS_MAX_WINDOW_DAYS} days`,
          'since',
        );
      }
      // A service sees its own figures; an admin key every service's, or one named. Test keys see test traffic.
      const { caller } = req;
      const admin = caller.scopes.has('admin') && !isTest(caller);
      if (req.query.service !== undefined && req.query.service !== caller.service.name && !admin) {
        throw insufficientScope('admin');
      }
      const service = admin ? req.query.service : caller.service.name;
      return computeStats(prisma, since, until, req.query.groupBy, {
        ...(service === undefined ? {} : { service }),
        test: isTest(caller),
      });
    },
  );
};
