import { timingSafeEqual } from 'node:crypto';
import type { Logger, PrismaClient } from '@smsq/shared';
import type { Caller, ServiceInfo } from './caller.js';
import { SCOPES, hashSecret, parseKey, type KeyType, type Scope } from './key-format.js';

/** How often every API process reloads the keys: a revoked key is refused everywhere within this (+ a query). */
const KEY_REFRESH_MS = 2000;
/** lastUsedAt is coarse: written at most once a minute per key, never once per request. */
const LAST_USED_EVERY_MS = 60_000;

interface StoredKey {
  id: string;
  type: KeyType;
  secretHash: Buffer;
  scopes: ReadonlySet<Scope>;
  serviceId: string;
  expiresAt: number | undefined;
  revoked: boolean;
}

/** Compared against when no key matched, so an unknown key costs what a known one does. */
const NO_KEY_HASH = Buffer.from(hashSecret('no such key'), 'hex');

/**
 * Every key and service, held in memory and reloaded every KEY_REFRESH_MS: authenticating a request
 * asks Postgres nothing (the accept path does not grow a query), and a key created, changed or revoked
 * in any process reaches this one within seconds. API_KEYS entries are services of their name whose one
 * key has every scope; their services are created on start.
 */
export class KeyRegistry {
  private keys = new Map<string, StoredKey>();
  private services = new Map<string, ServiceInfo>();
  private servicesByName = new Map<string, ServiceInfo>();
  private readonly envKeys: Map<string, string>;
  private readonly lastNoted = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private started: Promise<void> | undefined;
  private logger: Pick<Logger, 'warn'> = { warn: () => undefined };

  constructor(
    private readonly prisma: PrismaClient,
    /** API_KEYS: secret → service name. */
    apiKeys: ReadonlyMap<string, string>,
  ) {
    this.envKeys = new Map([...apiKeys].map(([secret, name]) => [hashSecret(secret), name]));
  }

  /**
   * Creates the services of API_KEYS, loads everything, then keeps reloading (once, however often
   * called). Postgres down at start is no reason not to serve: API_KEYS still authenticate (their
   * services without budget or sender until the first load), and loading is tried again every period.
   */
  start(logger: Pick<Logger, 'warn'>): Promise<void> {
    this.logger = logger;
    if (!this.started) {
      // One periodic load at a time: a slow database does not pile them up.
      this.timer = setInterval(() => {
        this.inFlight ??= this.load().finally(() => (this.inFlight = undefined));
      }, KEY_REFRESH_MS);
      this.timer.unref();
      this.started = this.load();
    }
    return this.started;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private envServicesCreated = false;

  private async load(): Promise<void> {
    try {
      const names = [...new Set(this.envKeys.values())];
      if (!this.envServicesCreated && names.length > 0) {
        await this.prisma.$executeRaw`
          INSERT INTO services (id, name)
          SELECT gen_random_uuid(), n FROM unnest(${names}::text[]) AS n
          ON CONFLICT (name) DO NOTHING`;
      }
      this.envServicesCreated = true;
      await this.refresh();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not load API keys; trying again');
    }
  }

  private generation = 0;
  private applied = 0;
  private inFlight: Promise<void> | undefined;

  /**
   * Reloads keys and services now (after this process changed one, so it sees its own change at once).
   * A snapshot older than one already applied is dropped: a slow periodic reload that began before a
   * revocation must not bring the revoked key back.
   */
  async refresh(): Promise<void> {
    const generation = ++this.generation;
    const [services, keys] = await Promise.all([this.prisma.service.findMany(), this.prisma.apiKey.findMany()]);
    if (generation < this.applied) return;
    this.applied = generation;
    this.services = new Map(
      services.map((s) => [
        s.id,
        {
          id: s.id,
          name: s.name,
          dailySegmentLimit: s.dailySegmentLimit,
          from: s.from,
          messagingServiceSid: s.messagingServiceSid,
        },
      ]),
    );
    this.servicesByName = new Map([...this.services.values()].map((s) => [s.name, s]));
    this.keys = new Map(
      keys.map((k) => [
        k.id,
        {
          id: k.id,
          type: k.type as KeyType,
          secretHash: Buffer.from(k.secretHash, 'hex'),
          scopes: new Set(k.scopes as Scope[]),
          serviceId: k.serviceId,
          expiresAt: k.expiresAt?.getTime(),
          revoked: k.revokedAt !== null,
        },
      ]),
    );
  }

  /** The services with a daily budget (metrics). */
  budgeted(): ServiceInfo[] {
    return [...this.services.values()].filter((s) => s.dailySegmentLimit !== null);
  }

  serviceByName(name: string): ServiceInfo | undefined {
    return this.servicesByName.get(name);
  }

  /**
   * The caller a bearer token stands for, or undefined. Every token, known or not, malformed or not,
   * costs the same: two hashes, one map lookup each, one constant-time comparison.
   */
  authenticate(token: string, now = Date.now()): Caller | undefined {
    const envName = this.envKeys.get(hashSecret(token));
    const parsed = parseKey(token);
    const stored = parsed ? this.keys.get(parsed.id) : undefined;
    const given = Buffer.from(hashSecret(parsed?.secret ?? token), 'hex');
    const matches = timingSafeEqual(given, stored?.secretHash ?? NO_KEY_HASH) && stored !== undefined;
    if (envName !== undefined) {
      const service = this.serviceByName(envName) ?? envService(envName);
      return { keyId: `env:${envName}`, service, type: 'live', scopes: ALL_SCOPES };
    }
    if (!matches || !stored || stored.revoked || stored.type !== parsed!.type) return undefined;
    if (stored.expiresAt !== undefined && stored.expiresAt <= now) return undefined;
    const service = this.services.get(stored.serviceId);
    if (!service) return undefined;
    this.noteUse(stored.id, now);
    return { keyId: stored.id, service, type: stored.type, scopes: stored.scopes };
  }

  private noteUse(keyId: string, now: number): void {
    if (now - (this.lastNoted.get(keyId) ?? 0) < LAST_USED_EVERY_MS) return;
    this.lastNoted.set(keyId, now);
    // Conditional: with several API processes the row is still written at most once a minute.
    this.prisma.$executeRaw`
      UPDATE api_keys SET last_used_at = now()
      WHERE id = ${keyId} AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`.catch(
      (err: Error) => this.logger.warn({ err: err.message, keyId }, 'could not record the key as used'),
    );
  }
}

const ALL_SCOPES: ReadonlySet<Scope> = new Set(SCOPES);

/** An API_KEYS service before its row was loaded (Postgres down at start): no budget, no sender of its own. */
const envService = (name: string): ServiceInfo => ({
  id: `env:${name}`,
  name,
  dailySegmentLimit: null,
  from: null,
  messagingServiceSid: null,
});
