import { randomBytes } from 'node:crypto';
import {
  DEFAULT_WEBHOOK_EVENTS,
  MessageSealer,
  checkWebhookUrl,
  newMessageId,
  type Config,
  type Prisma,
  type PrismaClient,
} from '@smsq/shared';
import { audit } from '../access/audit.js';
import { ownedBy, type Caller } from '../access/caller.js';
import { ApiError, notFound, parseInstant } from '../errors.js';
import type { CreateEndpointBody, ListDeliveriesQuery, ReplayBody, UpdateEndpointBody } from './schema.js';

/** Endpoints one owner (a service's live or test keys) may have. */
const MAX_ENDPOINTS = 10;
/** How long a rotated-out secret keeps signing beside the new one, for receivers to switch over. */
const PREVIOUS_SECRET_MS = 24 * 3600_000;

type WebhookEndpoint = Prisma.WebhookEndpointModel;
type WebhookDelivery = Prisma.WebhookDeliveryModel;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Standard Webhooks' form: `whsec_` and the base64 of the key, which any of its libraries takes as is. */
const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/** The host alone: a URL's path or query may itself carry a token, and the audit log holds no secret. */
const hostOf = (url: string) => new URL(url).host;

const endpointNotFound = () => notFound('webhook endpoint');
const deliveryNotFound = () => notFound('delivery');

/**
 * Sent again from scratch: the relay claims it anew, as a new job (a job's id carries its claim time), with
 * a fresh set of retries.
 */
const REPLAY: Prisma.WebhookDeliveryUpdateManyMutationInput = {
  state: 'pending',
  enqueuedAt: null,
  nextAttemptAt: null,
  attempts: 0,
};

export interface WebhookEndpointDeps {
  config: Config;
  prisma: PrismaClient;
}

/**
 * A caller's webhook endpoints and their deliveries (docs/api.md, "Webhooks"). Everything is looked up
 * with the caller's owner columns, so another service's endpoint, or a live key's for a test key, is not
 * found. Signing secrets are stored only sealed, bound to their endpoint's id; every change is audited in
 * the transaction that makes it.
 */
export class WebhookEndpoints {
  private readonly prisma: PrismaClient;
  private readonly sealer: MessageSealer;
  private readonly allowPrivate: boolean;

  constructor({ config, prisma }: WebhookEndpointDeps) {
    this.prisma = prisma;
    this.sealer = new MessageSealer(config.otpSecret, 'webhook secret');
    this.allowPrivate = config.webhooks.allowPrivate;
  }

  list(caller: Caller): Promise<WebhookEndpoint[]> {
    return this.prisma.webhookEndpoint.findMany({
      where: ownedBy(caller),
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    });
  }

  async get(caller: Caller, id: string): Promise<WebhookEndpoint> {
    const found = await this.prisma.webhookEndpoint.findFirst({ where: { id, ...ownedBy(caller) } });
    if (!found) throw endpointNotFound();
    return found;
  }

  /** The new endpoint and its secret, which exists in clear only in this answer. */
  async create(caller: Caller, body: CreateEndpointBody): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    await this.checkUrl(body.url);
    const owner = ownedBy(caller);
    const id = newMessageId();
    const secret = newSecret();
    const events = body.events ?? [...DEFAULT_WEBHOOK_EVENTS];
    const endpoint = await this.prisma.$transaction(async (tx) => {
      // Creates for one owner take turns, so two at once cannot both see 9 and make 11. A transaction
      // lock, released at commit: a session lock would outlive the transaction behind pgbouncer.
      const lock = `webhook_endpoints:${owner.apiKey}:${owner.test}`;
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${lock}, 0))`;
      if ((await tx.webhookEndpoint.count({ where: owner })) >= MAX_ENDPOINTS) {
        throw new ApiError(400, 'too_many_endpoints', `a key may have at most ${MAX_ENDPOINTS} webhook endpoints`);
      }
      const made = await tx.webhookEndpoint.create({
        data: {
          id,
          ...owner,
          url: body.url,
          events,
          description: body.description ?? null,
          sealedSecret: this.sealer.seal(id, secret),
        },
      });
      await audit(tx, caller, 'webhook.created', id, { host: hostOf(body.url), events });
      return made;
    });
    return { endpoint, secret };
  }

  async update(caller: Caller, id: string, body: UpdateEndpointBody): Promise<WebhookEndpoint> {
    if (body.url !== undefined) await this.checkUrl(body.url);
    const data: Prisma.WebhookEndpointUpdateManyMutationInput = {
      url: body.url,
      events: body.events,
      description: body.description,
      enabled: body.enabled,
      // Switched back on: a fresh start, not one failure away from being disabled again.
      ...(body.enabled === true
        ? { disabledReason: null, failingSince: null, consecutiveFailures: 0, pausedUntil: null }
        : {}),
    };
    return this.prisma.$transaction(async (tx) => {
      const { count } = await tx.webhookEndpoint.updateMany({ where: { id, ...ownedBy(caller) }, data });
      if (count === 0) throw endpointNotFound();
      await audit(tx, caller, 'webhook.updated', id, {
        changed: Object.keys(body),
        ...(body.url === undefined ? {} : { host: hostOf(body.url) }),
      });
      return tx.webhookEndpoint.findUniqueOrThrow({ where: { id } });
    });
  }

  /** Deletes the endpoint with its deliveries and their attempts (the foreign keys cascade). */
  async remove(caller: Caller, id: string): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const { count } = await tx.webhookEndpoint.deleteMany({ where: { id, ...ownedBy(caller) } });
      if (count === 0) throw endpointNotFound();
      await audit(tx, caller, 'webhook.deleted', id);
    });
  }

  /**
   * A new secret; the current one becomes the previous one, signing beside it for PREVIOUS_SECRET_MS. One
   * statement, so two rotations at once each keep the secret the other replaced as their previous one.
   */
  async rotateSecret(caller: Caller, id: string): Promise<{ secret: string; previousSecretExpiresAt: Date }> {
    const owner = ownedBy(caller);
    const secret = newSecret();
    const previousSecretExpiresAt = new Date(Date.now() + PREVIOUS_SECRET_MS);
    await this.prisma.$transaction(async (tx) => {
      const rotated = await tx.$executeRaw`
        UPDATE webhook_endpoints
        SET sealed_previous_secret = sealed_secret, sealed_secret = ${this.sealer.seal(id, secret)},
            previous_secret_until = ${previousSecretExpiresAt}, updated_at = now()
        WHERE id = ${id}::uuid AND api_key = ${owner.apiKey} AND test = ${owner.test}`;
      if (rotated === 0) throw endpointNotFound();
      await audit(tx, caller, 'webhook.secret_rotated', id);
    });
    return { secret, previousSecretExpiresAt };
  }

  /** A webhook.test delivery, for the relay to send as it sends any event; answers its id. */
  async sendTest(caller: Caller, id: string): Promise<string> {
    const owner = ownedBy(caller);
    const [made] = await this.prisma.$queryRaw<{ id: string }[]>`
      INSERT INTO webhook_deliveries (endpoint_id, type, state)
      SELECT id, 'webhook.test', 'pending' FROM webhook_endpoints
      WHERE id = ${id}::uuid AND api_key = ${owner.apiKey} AND test = ${owner.test}
      RETURNING id`;
    if (!made) throw endpointNotFound();
    return made.id;
  }

  /** A page of the endpoint's deliveries, newest first, and whether there is another. */
  async deliveries(
    caller: Caller,
    endpointId: string,
    q: ListDeliveriesQuery,
  ): Promise<{ items: WebhookDelivery[]; more: boolean }> {
    await this.get(caller, endpointId);
    const where: Prisma.WebhookDeliveryWhereInput = { endpointId, ...(q.status ? { state: q.status } : {}) };
    if (q.before !== undefined && UUID.test(q.before)) {
      const from = await this.prisma.webhookDelivery.findFirst({
        where: { id: q.before, endpointId },
        select: { id: true, createdAt: true },
      });
      if (!from) throw new ApiError(400, 'validation_failed', 'before is not a delivery of this endpoint', 'before');
      where.OR = [{ createdAt: { lt: from.createdAt } }, { createdAt: from.createdAt, id: { lt: from.id } }];
    } else if (q.before !== undefined) {
      where.createdAt = { lt: parseInstant(q.before, 'before') };
    }
    const rows = await this.prisma.webhookDelivery.findMany({
      where,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: q.limit + 1,
    });
    return { items: rows.slice(0, q.limit), more: rows.length > q.limit };
  }

  async delivery(caller: Caller, endpointId: string, deliveryId: string) {
    const found = await this.prisma.webhookDelivery.findFirst({
      where: { id: deliveryId, endpointId, endpoint: ownedBy(caller) },
      include: { attemptsLog: { orderBy: { id: 'asc' } } },
    });
    if (!found) throw deliveryNotFound();
    return found;
  }

  /** Sends one delivery again, whatever its state (a dead one, or a succeeded one the receiver lost). */
  async retry(caller: Caller, endpointId: string, deliveryId: string): Promise<WebhookDelivery> {
    const { count } = await this.prisma.webhookDelivery.updateMany({
      where: { id: deliveryId, endpointId, endpoint: ownedBy(caller) },
      data: REPLAY,
    });
    const after = count === 0 ? null : await this.prisma.webhookDelivery.findUnique({ where: { id: deliveryId } });
    if (!after) throw deliveryNotFound();
    return after;
  }

  /** Sends again every dead delivery of the endpoint created in [since, until); answers how many. */
  async replayDead(caller: Caller, endpointId: string, body: ReplayBody): Promise<number> {
    await this.get(caller, endpointId);
    const since = parseInstant(body.since, 'since');
    const until = body.until === undefined ? undefined : parseInstant(body.until, 'until');
    if (until && until <= since) throw new ApiError(400, 'validation_failed', 'until must be after since', 'until');
    const { count } = await this.prisma.webhookDelivery.updateMany({
      where: { endpointId, state: 'dead', createdAt: { gte: since, ...(until ? { lt: until } : {}) } },
      data: REPLAY,
    });
    return count;
  }

  private async checkUrl(url: string): Promise<void> {
    const problem = await checkWebhookUrl(url, this.allowPrivate);
    if (problem) throw new ApiError(400, problem.code, problem.message, 'url');
  }
}
