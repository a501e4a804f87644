import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Prisma } from '@smsq/shared';
import { ErrorResponse, commonErrors, isoOrNull } from '../common-schema.js';
import { WebhookEndpoints, type WebhookEndpointDeps } from './endpoints.js';
import {
  CreateEndpointBody,
  CreatedEndpoint,
  DeliveryDetail,
  DeliveryList,
  DeliveryParams,
  DeliveryView,
  EndpointList,
  EndpointParams,
  EndpointView,
  ListDeliveriesQuery,
  ReplayBody,
  Replayed,
  RotatedSecret,
  TestSent,
  UpdateEndpointBody,
  type DeliveryState,
} from './schema.js';

const endpointView = (e: Prisma.WebhookEndpointModel) => ({
  id: e.id,
  url: e.url,
  events: e.events,
  description: e.description,
  enabled: e.enabled,
  disabledReason: e.disabledReason,
  failingSince: isoOrNull(e.failingSince),
  createdAt: e.createdAt.toISOString(),
  updatedAt: e.updatedAt.toISOString(),
});

const deliveryView = (d: Prisma.WebhookDeliveryModel) => ({
  id: d.id,
  type: d.type,
  messageId: d.messageId,
  otpId: d.otpId,
  status: d.status,
  state: d.state as DeliveryState,
  attempts: d.attempts,
  nextAttemptAt: isoOrNull(d.nextAttemptAt),
  lastResponseStatus: d.lastResponseStatus,
  lastError: d.lastError,
  deliveredAt: isoOrNull(d.deliveredAt),
  createdAt: d.createdAt.toISOString(),
});

const notFoundErrors = { 404: ErrorResponse, ...commonErrors };
const TAGS = ['webhook-endpoints'];

/**
 * Where a calling service receives its delivery events (docs/api.md, "Webhooks"), scope `webhooks`: its
 * endpoints, their signing secrets, and what was delivered to them. The worker sends the events.
 */
export const webhookEndpointRoutes: FastifyPluginAsyncTypebox<WebhookEndpointDeps> = async (app, deps) => {
  const endpoints = new WebhookEndpoints(deps);

  app.post(
    '/webhook-endpoints',
    {
      config: { scope: 'webhooks' },
      schema: {
        tags: TAGS,
        summary: 'Register an endpoint; the response is the only time its signing secret is shown',
        body: CreateEndpointBody,
        response: { 201: CreatedEndpoint, ...commonErrors },
      },
    },
    async (req, reply) => {
      const { endpoint, secret } = await endpoints.create(req.caller, req.body);
      req.logFields = { endpointId: endpoint.id };
      return reply.code(201).send({ ...endpointView(endpoint), secret });
    },
  );

  app.get(
    '/webhook-endpoints',
    {
      config: { scope: 'webhooks' },
      schema: {
        tags: TAGS,
        summary: "The key's endpoints, newest first",
        response: { 200: EndpointList, ...commonErrors },
      },
    },
    async (req) => ({ items: (await endpoints.list(req.caller)).map(endpointView) }),
  );

  app.get(
    '/webhook-endpoints/:id',
    {
      config: { scope: 'webhooks' },
      schema: {
        tags: TAGS,
        summary: 'One endpoint (never its secret)',
        params: EndpointParams,
        response: { 200: EndpointView, ...notFoundErrors },
      },
    },
    async (req) => endpointView(await endpoints.get(req.caller, req.params.id)),
  );

  app.patch(
    '/webhook-endpoints/:id',
    {
      config: { scope: 'webhooks' },
      schema: {
        tags: TAGS,
        summary: "Change an endpoint's URL, events, description, or switch it on or off",
        params: EndpointParams,
        body: UpdateEndpointBody,
        response: { 200: EndpointView, ...notFoundErrors },
      },
    },
    async (req) => endpointView(await endpoints.update(req.caller, req.params.id, req.body)),
  );

  app.delete(
    '/webhook-endpoints/:id',
    {
      config: { scope: 'webhooks' },
      schema: {
        tags: TAGS,
        summary: 'Delete an endpoint with its deliveries',
        params: EndpointParams,
        response: { 204: { type: 'null', description: 'Deleted' }, ...notFoundErrors },
      },
    },
    async (req, reply) => {
      await endpoints.remove(req.caller, req.params.id);
      return reply.code(204).send();
    },
  );

  app.post(
    '/webhook-endpoints/:id/rotate-secret',
    {
      config: { scope: 'webhooks' },
      schema: {
        tags: TAGS,
        summary: 'A new signing secret; the old one keeps signing beside it for 24 h',
        params: EndpointParams,
        response: { 200: RotatedSecret, ...notFoundErrors },
      },
    },
    async (req) => {
      const { secret, previousSecretExpiresAt } = await endpoints.rotateSecret(req.caller, req.params.id);
      return { id: req.params.id, secret, previousSecretExpiresAt: previousSecretExpiresAt.toISOString() };
    },
  );

  app.post(
    '/webhook-endpoints/:id/test',
    {
      config: { scope: 'webhooks' },
      schema: {
        tags: TAGS,
        summary: 'Send the endpoint a webhook.test event',
        params: EndpointParams,
        response: { 202: TestSent, ...notFoundErrors },
      },
    },
    async (req, reply) => reply.code(202).send({ deliveryId: await endpoints.sendTest(req.caller, req.params.id) }),
  );

  app.get(
    '/webhook-endpoints/:id/deliveries',
    {
      config: { scope: 'webhooks' },
      schema: {
        tags: TAGS,
        summary: "The endpoint's deliveries, newest first",
        params: EndpointParams,
        querystring: ListDeliveriesQuery,
        response: { 200: DeliveryList, ...notFoundErrors },
      },
    },
    async (req) => {
      const { items, more } = await endpoints.deliveries(req.caller, req.params.id, req.query);
      const last = items.at(-1);
      return { items: items.map(deliveryView), nextCursor: more && last ? last.id : null };
    },
  );

  app.get(
    '/webhook-endpoints/:id/deliveries/:deliveryId',
    {
      config: { scope: 'webhooks' },
      schema: {
        tags: TAGS,
        summary: 'One delivery with every attempt',
        params: DeliveryParams,
        response: { 200: DeliveryDetail, ...notFoundErrors },
      },
    },
    async (req) => {
      const d = await endpoints.delivery(req.caller, req.params.id, req.params.deliveryId);
      return {
        ...deliveryView(d),
        attemptLog: d.attemptsLog.map((a) => ({
          at: a.at.toISOString(),
          responseStatus: a.responseStatus,
          error: a.error,
          latencyMs: a.latencyMs,
        })),
      };
    },
  );

  app.post(
    '/webhook-endpoints/:id/deliveries/:deliveryId/retry',
    {
      config: { scope: 'webhooks' },
      schema: {
        tags: TAGS,
        summary: 'Send one delivery again, with a fresh set of retries',
        params: DeliveryParams,
        response: { 202: DeliveryView, ...notFoundErrors },
      },
    },
    async (req, reply) => {
      const d = await endpoints.retry(req.caller, req.params.id, req.params.deliveryId);
      return reply.code(202).send(deliveryView(d));
    },
  );

  app.post(
    '/webhook-endpoints/:id/deliveries/replay',
    {
      config: { scope: 'webhooks' },
      schema: {
        tags: TAGS,
        summary: 'Send again every dead delivery created since a time (and before `until`)',
        params: EndpointParams,
        body: ReplayBody,
        response: { 202: Replayed, ...notFoundErrors },
      },
    },
    async (req, reply) => {
      const replayed = await endpoints.replayDead(req.caller, req.params.id, req.body);
      req.logFields = { endpointId: req.params.id, replayed };
      return reply.code(202).send({ replayed });
    },
  );
};
