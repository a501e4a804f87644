import { advanceStatus, newMessageId, parsePhone, type Prisma } from '@smsq/shared';
import { generateOtpCode, type OtpHasher } from './code.js';
import { maskCode, otpMessageText } from './message.js';
import { ApiError, notFound } from '../errors.js';
import type { OtpAccepted, OtpVerdict, SendOtpBody, VerifyOtpBody } from './schema.js';
import { acceptMessage, type IntakeDeps } from '../messages/intake.js';
import { ownedBy, type Caller } from '../access/caller.js';

type Owner = ReturnType<typeof ownedBy>;
import { resolveRecipient } from '../recipients/lookup.js';

type OtpStatus = OtpVerdict['status'];

interface OtpRow {
  id: string;
  status: OtpStatus;
  attempts: number;
  maxAttempts: number;
  codeHash: string;
  expiresAt: Date;
  reference: string | null;
}

const verdict = (
  otp: Pick<OtpRow, 'id' | 'status' | 'attempts' | 'maxAttempts' | 'reference'>,
  valid: boolean,
): OtpVerdict => ({
  id: otp.id,
  status: otp.status,
  valid,
  attemptsRemaining: Math.max(0, otp.maxAttempts - otp.attempts),
  reference: otp.reference,
});

/**
 * One-time codes (docs/design.md, OTP rules): sent as an `otp` message through the normal pipeline, so destination
 * policy, recipients, priority and TTL apply as to any message; stored only as a keyed hash; checked with
 * one conditional UPDATE, so concurrent checks can neither exceed the attempts nor approve twice.
 */
export class OtpService {
  constructor(
    private readonly deps: IntakeDeps,
    private readonly hasher: OtpHasher,
  ) {}

  async send(req: SendOtpBody, caller: Caller): Promise<OtpAccepted> {
    const owner = ownedBy(caller);
    const { config, prisma } = this.deps;
    const ttlSeconds = req.ttlSeconds ?? config.otpTtlSeconds;
    const id = newMessageId(); // UUIDv7: creation order, which decides which OTP replaces which
    const code = generateOtpCode(req.codeLength ?? 6);
    // The SMS goes through the pipeline first: recipient lookup, destination policy, the OTP cap and the
    // pumping guard are applied there once, and a refused request leaves no OTP row behind.
    const accepted = await acceptMessage(
      this.deps,
      {
        req: {
          ...(req.userId === undefined ? {} : { userId: req.userId }),
          ...(req.to === undefined ? {} : { to: req.to }),
          // Stored and shown masked; the text with the code is kept only sealed, for the worker to send.
          body: otpMessageText(maskCode(code), ttlSeconds),
          category: 'otp',
          ttlSeconds,
          ...(req.reference === undefined ? {} : { reference: req.reference }),
        },
        secretBody: otpMessageText(code, ttlSeconds),
      },
      caller,
    );
    const { message } = accepted;
    const now = new Date();
    let otp;
    try {
      otp = await prisma.otp.create({
        data: {
          id,
          to: message.to,
          userId: req.userId,
          purpose: req.purpose,
          codeHash: this.hasher.hash(id, code),
          maxAttempts: config.otpMaxAttempts,
          messageId: message.id,
          reference: req.reference,
          ...owner,
          expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
          createdAt: now,
        },
      });
    } catch (err) {
      // No OTP to check it against: the code must not go out, and what it counted is given back.
      if (await this.cancelMessage(message.id)) await accepted.release();
      throw err;
    }
    await this.cancelEarlier(otp.to, otp.purpose, id, owner);
    // A newer OTP for the same number and purpose, recorded while this one's SMS was being queued, did
    // not see this row to cancel it: this one gives way, and its SMS with it.
    const overtaken = await this.cancelIfOvertaken(otp.to, otp.purpose, id, owner);
    if (overtaken) await this.cancelMessage(message.id);
    return {
      id,
      status: overtaken ? 'canceled' : 'pending',
      to: otp.to,
      purpose: otp.purpose,
      expiresAt: otp.expiresAt.toISOString(),
      attemptsRemaining: otp.maxAttempts,
      messageId: message.id,
      reference: otp.reference,
    };
  }

  /**
   * Cancels this OTP if a newer one of the same service for the same number and purpose is pending; says
   * whether it did. Another service's codes for the number are its own business.
   */
  private async cancelIfOvertaken(to: string, purpose: string, id: string, owner: Owner): Promise<boolean> {
    const canceled = await this.deps.prisma.$executeRaw`
      UPDATE otps SET status = 'canceled', updated_at = now()
      WHERE id = ${id}::uuid AND status = 'pending' AND EXISTS (
        SELECT 1 FROM otps n WHERE n."to" = ${to} AND n.purpose = ${purpose} AND n.status = 'pending'
          AND n.api_key = ${owner.apiKey} AND n.test = ${owner.test} AND n.id > ${id}::uuid)`;
    return canceled > 0;
  }

  /**
   * A new OTP replaces the pending ones for the same number and purpose: they are canceled, and so is
   * their SMS while it still waits in the queue. Only older ones (smaller id), so of two racing requests
   * the later one survives rather than each canceling the other.
   */
  private async cancelEarlier(to: string, purpose: string, newId: string, owner: Owner): Promise<void> {
    const canceled = await this.deps.prisma.$queryRaw<{ message_id: string | null }[]>`
      UPDATE otps SET status = 'canceled', updated_at = now()
      WHERE "to" = ${to} AND purpose = ${purpose} AND status = 'pending' AND id < ${newId}::uuid
        AND api_key = ${owner.apiKey} AND test = ${owner.test}
      RETURNING message_id`;
    for (const { message_id: messageId } of canceled) if (messageId) await this.cancelMessage(messageId);
  }

  /** Cancels an OTP's SMS while it still waits in the queue (one already sending goes its way); says whether it did. */
  private async cancelMessage(messageId: string): Promise<boolean> {
    const moved = await advanceStatus(this.deps.prisma, {
      messageId,
      to: 'canceled',
      source: 'api',
      onlyFrom: ['queued'],
    });
    if (moved) await this.deps.queues.send.remove(messageId).catch(() => undefined);
    return moved;
  }

  /** Checks a code against the caller's own OTP; another service's (or a test key's, for a live key) is not found. */
  async verify(req: VerifyOtpBody, caller: Caller): Promise<OtpVerdict> {
    const otp = await this.find(req, ownedBy(caller));
    const now = new Date();
    if (otp.status !== 'pending') return verdict(otp, false);
    if (otp.expiresAt <= now) return verdict(await this.expire(otp, now), false);

    const valid = this.hasher.matches(otp.id, req.code, otp.codeHash);
    // One statement decides: it counts the attempt only while the OTP is pending, unexpired and under its
    // limit, and the fifth wrong code already answers max_attempts_reached.
    const [after] = await this.deps.prisma.$queryRaw<Pick<OtpRow, 'status' | 'attempts'>[]>`
      UPDATE otps SET
        attempts = attempts + 1,
        status = (CASE WHEN ${valid}::boolean THEN 'approved'
                       WHEN attempts + 1 >= max_attempts THEN 'max_attempts_reached'
                       ELSE 'pending' END)::"OtpStatus",
        approved_at = CASE WHEN ${valid}::boolean THEN ${now}::timestamptz ELSE approved_at END,
        updated_at = now()
      WHERE id = ${otp.id}::uuid AND status = 'pending' AND expires_at > ${now}::timestamptz AND attempts < max_attempts
      RETURNING status, attempts`;
    if (after) return verdict({ ...otp, ...after }, valid);
    // Another check got there first (approved it, used the last attempt) or it expired meanwhile.
    const current = await this.byId(otp.id);
    return verdict(current.status === 'pending' ? await this.expire(current, now) : current, false);
  }

  private async find(req: VerifyOtpBody, owner: Owner): Promise<OtpRow> {
    if (req.id !== undefined) {
      if (req.to !== undefined || req.userId !== undefined || req.purpose !== undefined) {
        throw new ApiError(400, 'validation_failed', 'give either "id", or "to"/"userId" with "purpose"', 'id');
      }
      const own = await this.deps.prisma.otp.findFirst({ where: { id: req.id, ...owner }, select: OTP_FIELDS });
      if (!own) throw notFound('OTP');
      return own;
    }
    if ((req.to === undefined) === (req.userId === undefined)) {
      throw new ApiError(400, 'validation_failed', 'give "id", or exactly one of "to" and "userId"', 'to');
    }
    if (req.purpose === undefined) {
      throw new ApiError(400, 'validation_failed', '"purpose" is required with "to" or "userId"', 'purpose');
    }
    let to: string;
    if (req.userId !== undefined) {
      to = (await resolveRecipient(this.deps.prisma, req.userId, 'otp')).phone;
    } else {
      const phone = parsePhone(req.to!);
      if (!phone) throw new ApiError(400, 'invalid_phone_number', 'not a valid phone number in E.164 form', 'to');
      to = phone.e164;
    }
    // The newest OTP for the number and purpose: an older one was canceled when it was replaced.
    const otp = await this.deps.prisma.otp.findFirst({
      where: { to, purpose: req.purpose, ...owner },
      orderBy: { id: 'desc' },
      select: OTP_FIELDS,
    });
    if (!otp) throw notFound('OTP');
    return otp;
  }

  private async byId(id: string): Promise<OtpRow> {
    const otp = await this.deps.prisma.otp.findUnique({ where: { id }, select: OTP_FIELDS });
    if (!otp) throw notFound('OTP');
    return otp;
  }

  /** Records that a pending OTP outlived its TTL; returns it as it now is. */
  private async expire(otp: OtpRow, now: Date): Promise<OtpRow> {
    await this.deps.prisma.otp.updateMany({
      where: { id: otp.id, status: 'pending', expiresAt: { lte: now } },
      data: { status: 'expired' },
    });
    return this.byId(otp.id);
  }
}

const OTP_FIELDS = {
  id: true,
  status: true,
  attempts: true,
  maxAttempts: true,
  codeHash: true,
  expiresAt: true,
  reference: true,
} satisfies Prisma.OtpSelect;
