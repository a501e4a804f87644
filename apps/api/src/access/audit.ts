import type { Prisma, PrismaClient } from '@smsq/shared';
import type { Caller } from './caller.js';

export type AuditAction =
  | 'service.created'
  | 'service.updated'
  | 'key.created'
  | 'key.revoked'
  | 'block.created'
  | 'block.lifted'
  | 'webhook.created'
  | 'webhook.updated'
  | 'webhook.deleted'
  | 'webhook.secret_rotated';

/**
 * Records an admin action, or a change to where a service's events go (its webhook endpoints): who (key
 * and service), what, on what. Never a secret, never a number. Given the transaction of the change itself,
 * so that no change goes unaudited.
 */
export async function audit(
  prisma: Pick<PrismaClient, 'auditEvent'>,
  caller: Pick<Caller, 'keyId' | 'service'>,
  action: AuditAction,
  target: string,
  detail?: Prisma.InputJsonValue,
): Promise<void> {
  await prisma.auditEvent.create({
    data: { keyId: caller.keyId, service: caller.service.name, action, target, ...(detail ? { detail } : {}) },
  });
}
