import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ApiKey, PrismaClient, Service } from '@smsq/shared';
import { ErrorResponse, commonErrors, isoOrNull } from '../common-schema.js';
import { ApiError, notFound, parseInstant } from '../errors.js';
import { isUniqueViolation } from '../messages/record.js';
import { audit } from './audit.js';
import { generateKey, hashSecret, type KeyType, type Scope } from './key-format.js';
import type { KeyRegistry } from './key-registry.js';
import {
  AuditList,
  AuditQuery,
  CreateKeyBody,
  CreateServiceBody,
  CreatedKey,
  KeyIdParams,
  KeyList,
  KeyView,
  ServiceIdParams,
  ServiceList,
  ServiceView,
  UpdateServiceBody,
} from './schema.js';

export interface AccessDeps {
  prisma: PrismaClient;
  keys: KeyRegistry;
}

const serviceView = (s: Service) => ({
  id: s.id,
  name: s.name,
  dailySegmentLimit: s.dailySegmentLimit,
  from: s.from,
  messagingServiceSid: s.messagingServiceSid,
  createdAt: s.createdAt.toISOString(),
});

const keyView = (k: ApiKey) => ({
  id: k.id,
  serviceId: k.serviceId,
  type: k.type as KeyType,
  scopes: k.scopes as Scope[],
  description: k.description,
  expiresAt: isoOrNull(k.expiresAt),
  revokedAt: isoOrNull(k.revokedAt),
  lastUsedAt: isoOrNull(k.lastUsedAt),
  createdAt: k.createdAt.toISOString(),
});

const adminErrors = { 403: ErrorResponse, ...commonErrors };

/**
 * Services, their keys and the audit log (scope `admin`, live keys only). Every change is audited and
 * reloaded into this process's key registry at once; other API processes see it within KEY_REFRESH_MS.
 */
export const accessRoutes: FastifyPluginAsyncTypebox<AccessDeps> = async (app, { prisma, keys }) => {
  /** This process sees its own change at once; the others within their reload. Never fails the change. */
  const reload = (log: { warn(obj: object, msg: string): void }) =>
    keys.refresh().catch((err: Error) => log.warn({ err: err.message }, 'could not reload API keys'));

  const findService = async (id: string) => {
    const s = await prisma.service.findUnique({ where: { id } });
    if (!s) throw notFound('service');
    return s;
  };

  app.post(
    '/admin/services',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'Create a calling service',
        body: CreateServiceBody,
        response: { 201: ServiceView, 409: ErrorResponse, ...adminErrors },
      },
    },
    async (req, reply) => {
      let s;
      try {
        s = await prisma.$transaction(async (tx) => {
          const made = await tx.service.create({ data: { id: randomUUID(), ...req.body } });
          await audit(tx, req.caller, 'service.created', made.id, { name: made.name });
          return made;
        });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        throw new ApiError(409, 'service_exists', `a service named "${req.body.name}" exists`, 'name');
      }
      await reload(req.log);
      return reply.code(201).send(serviceView(s));
    },
  );

  app.get(
    '/admin/services',
    {
      config: { scope: 'admin' },
      schema: { tags: ['admin'], summary: 'Every calling service', response: { 200: ServiceList, ...adminErrors } },
    },
    async () => ({ items: (await prisma.service.findMany({ orderBy: { name: 'asc' } })).map(serviceView) }),
  );

  app.patch(
    '/admin/services/:id',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['admin'],
        summary: "Change a service's budget or sender (null removes it)",
        params: ServiceIdParams,
        body: UpdateServiceBody,
        response: { 200: ServiceView, 404: ErrorResponse, ...adminErrors },
      },
    },
    async (req) => {
      await findService(req.params.id);
      const s = await prisma.$transaction(async (tx) => {
        const changed = await tx.service.update({ where: { id: req.params.id }, data: req.body });
        await audit(tx, req.caller, 'service.updated', changed.id, {
          name: changed.name,
          changed: Object.keys(req.body),
        });
        return changed;
      });
      await reload(req.log);
      return serviceView(s);
    },
  );

  app.post(
    '/admin/services/:id/keys',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'Create a key for a service; the response is the only time its secret is shown',
        params: ServiceIdParams,
        body: CreateKeyBody,
        response: { 201: CreatedKey, 404: ErrorResponse, ...adminErrors },
      },
    },
    async (req, reply) => {
      const { type, scopes, expiresAt, description } = req.body;
      // Test traffic touches nothing live: no admin, and no deployment-wide recipients.
      const live = scopes.filter((sc) => sc === 'admin' || sc.startsWith('recipients:'));
      if (type === 'test' && live.length > 0) {
        throw new ApiError(400, 'validation_failed', `a test key cannot have the ${live.join(', ')} scope`, 'scopes');
      }
      const expires = expiresAt === undefined ? undefined : parseInstant(expiresAt, 'expiresAt');
      if (expires && expires.getTime() <= Date.now()) {
        throw new ApiError(400, 'validation_failed', 'expiresAt must be in the future', 'expiresAt');
      }
      const service = await findService(req.params.id);
      const made = generateKey(type);
      const k = await prisma.$transaction(async (tx) => {
        const created = await tx.apiKey.create({
          data: {
            id: made.id,
            serviceId: service.id,
            type,
            secretHash: hashSecret(made.secret),
            scopes,
            ...(description === undefined ? {} : { description }),
            ...(expires ? { expiresAt: expires } : {}),
          },
        });
        await audit(tx, req.caller, 'key.created', created.id, { service: service.name, type, scopes });
        return created;
      });
      // The secret is answered whatever happens next: it cannot be shown again.
      await reload(req.log);
      return reply.code(201).send({ ...keyView(k), key: made.key });
    },
  );

  app.get(
    '/admin/services/:id/keys',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['admin'],
        summary: "A service's keys (never their secrets)",
        params: ServiceIdParams,
        response: { 200: KeyList, 404: ErrorResponse, ...adminErrors },
      },
    },
    async (req) => {
      await findService(req.params.id);
      const rows = await prisma.apiKey.findMany({ where: { serviceId: req.params.id }, orderBy: { createdAt: 'asc' } });
      return { items: rows.map(keyView) };
    },
  );

  app.delete(
    '/admin/keys/:id',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'Revoke a key: refused by every API process within a few seconds',
        params: KeyIdParams,
        response: { 200: KeyView, 404: ErrorResponse, ...adminErrors },
      },
    },
    async (req) => {
      const found = await prisma.apiKey.findUnique({ where: { id: req.params.id } });
      if (!found) throw notFound('key');
      const k = found.revokedAt
        ? found
        : await prisma.$transaction(async (tx) => {
            const revoked = await tx.apiKey.update({ where: { id: found.id }, data: { revokedAt: new Date() } });
            await audit(tx, req.caller, 'key.revoked', revoked.id);
            return revoked;
          });
      await reload(req.log);
      return keyView(k);
    },
  );

  app.get(
    '/admin/audit',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'Admin actions, newest first',
        querystring: AuditQuery,
        response: { 200: AuditList, ...adminErrors },
      },
    },
    async (req) => {
      const rows = await prisma.auditEvent.findMany({ orderBy: { id: 'desc' }, take: req.query.limit });
      return {
        items: rows.map((r) => ({
          id: r.id.toString(),
          at: r.at.toISOString(),
          keyId: r.keyId,
          service: r.service,
          action: r.action,
          target: r.target,
          detail: r.detail,
        })),
      };
    },
  );
};
