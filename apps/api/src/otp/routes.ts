import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OtpHasher } from './code.js';
import { ErrorResponse, commonErrors } from '../common-schema.js';
import { OtpAccepted, OtpVerdict, SendOtpBody, VerifyOtpBody } from './schema.js';
import type { IntakeDeps } from '../messages/intake.js';
import { OtpService } from './service.js';

export const otpRoutes: FastifyPluginAsyncTypebox<IntakeDeps> = async (app, deps) => {
  const hasher = new OtpHasher(deps.config.otpSecret);
  if (hasher.ephemeral) {
    app.log.warn(
      'OTP_SECRET is not set: OTP codes are hashed with a key of this process only (see docs/operations.md, "OTP_SECRET")',
    );
  }
  const otp = new OtpService(deps, hasher);

  app.post(
    '/otp',
    {
      config: { scope: 'messages:send' },
      schema: {
        tags: ['otp'],
        summary: 'Send a one-time code by SMS',
        body: SendOtpBody,
        response: { 202: OtpAccepted, 404: ErrorResponse, 422: ErrorResponse, 429: ErrorResponse, ...commonErrors },
      },
    },
    async (req, reply) => {
      const accepted = await otp.send(req.body, req.caller);
      req.acceptedCategories = ['otp'];
      req.logFields = { otpId: accepted.id, messageId: accepted.messageId, purpose: accepted.purpose };
      return reply.code(202).send(accepted);
    },
  );

  app.post(
    '/otp/verify',
    {
      config: { scope: 'otp:verify' },
      schema: {
        tags: ['otp'],
        summary: 'Check a one-time code',
        body: VerifyOtpBody,
        response: { 200: OtpVerdict, 404: ErrorResponse, 422: ErrorResponse, ...commonErrors },
      },
    },
    async (req) => {
      const result = await otp.verify(req.body, req.caller);
      req.logFields = { otpId: result.id, status: result.status, valid: result.valid };
      return result;
    },
  );
};
