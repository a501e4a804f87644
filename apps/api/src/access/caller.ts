import type { KeyType, Scope } from './key-format.js';

/** A calling service, as the keys see it. */
export interface ServiceInfo {
  id: string;
  name: string;
  dailySegmentLimit: number | null;
  from: string | null;
  messagingServiceSid: string | null;
}

/** Who sent a request: the key, its service, its scopes, and whether it is a test key. */
export interface Caller {
  /** The key's id (`env:<name>` for an API_KEYS entry). */
  keyId: string;
  service: ServiceInfo;
  type: KeyType;
  scopes: ReadonlySet<Scope>;
}

export const isTest = (caller: Pick<Caller, 'type'>) => caller.type === 'test';

/**
 * Whose Idempotency-Keys a request's keys are among: a service's live and test traffic never answer for
 * each other (`#` is not allowed in a service name).
 */
export const idempotencyOwner = (caller: Pick<Caller, 'service' | 'type'>) =>
  isTest(caller) ? `${caller.service.name}#test` : caller.service.name;

/** The rows a caller sees: its own service's, live or test as its key is. */
export const ownedBy = (caller: Pick<Caller, 'service' | 'type'>) => ({
  apiKey: caller.service.name,
  test: isTest(caller),
});
