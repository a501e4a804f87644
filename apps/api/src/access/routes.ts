import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ApiKey, PrismaClient, Service } from '@smsq/shared';
import { ErrorResponse, commonErrors } from '../common-schema.js';
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

const iso = (d: Date | null) => (d ? d.toISOString() : null);

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
  expiresAt: iso(k.expiresAt),
  revokedAt: iso(k.revokedAt),
  lastUsedAt: iso(k.lastUsedAt),
  createdAt: k.createdAt.toISOString(),
});

const adminErrors = { 403: ErrorResponse, ...commonErrors };

/**
 * Services, their keys and the audit log (scope `admin`, live keys only). Every change is audited and
 * reloaded into this process's key registry at once; other API processes see it within KEY_REFRESH_MS.
 */
export const accessRoutes: FastifyPluginAsyncTypebox<AccessDeps> = async (app, { prisma, keys }) => {
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
        s = await prisma.service.create({ data: { id: randomUUID(), ...req.body } });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        throw new ApiError(409, 'service_exists', `a service named "${req.body.name}" exists`, 'name');
      }
      await audit(prisma, req.caller, 'service.created', s.id, { name: s.name });
      await keys.refresh();
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
      const s = await prisma.service.update({ where: { id: req.params.id }, data: req.body });
      await audit(prisma, req.caller, 'service.updated', s.id, { name: s.name, changed: Object.keys(req.body) });
      await keys.refresh();
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
      if (type === 'test' && scopes.includes('admin')) {
        throw new ApiError(400, 'validation_failed', 'a test key cannot have the admin scope', 'scopes');
      }
      const expires = expiresAt === undefined ? undefined : parseInstant(expiresAt, 'expiresAt');
      if (expires && expires.getTime() <= Date.now()) {
        throw new ApiError(400, 'validation_failed', 'expiresAt must be in the future', 'expiresAt');
      }
      const service = await findService(req.params.id);
      const made = generateKey(type);
      const k = await prisma.apiKey.create({
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
      await audit(prisma, req.caller, 'key.created', k.id, { service: service.name, type, scopes });
      await keys.refresh();
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
        : await prisma.apiKey.update({ where: { id: found.id }, data: { revokedAt: new Date() } });
      if (!found.revokedAt) await audit(prisma, req.caller, 'key.revoked', k.id);
      await keys.refresh();
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
