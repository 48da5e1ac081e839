import { BusinessDateSchema, IdSchema } from '@app/http';
import { z } from 'zod';
import { SETTLEMENT_RECORD_STATUSES } from '../approval/settlement-approval.js';

/** The settlement API's request shapes: checked at the edge, and the OpenAPI description of them. */

const PrincipalSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .optional()
  .meta({
    description:
      "Who acts (principal id). With bearer tokens (HTTP_AUTH_*) it may be left out: the token's sub is the caller, and a different value here is refused (403)",
    example: 'finance:li',
  });

export const RecordIdParamsSchema = z.strictObject({ id: IdSchema });

export const RecordListQuerySchema = z.strictObject({
  date: BusinessDateSchema.optional().meta({ description: 'Records that closed on this date' }),
  merchantId: z.string().min(1).max(64).optional().meta({ example: 'M00042' }),
  status: z.enum(SETTLEMENT_RECORD_STATUSES).optional(),
});

export const ApproveRequestSchema = z
  .strictObject({
    by: PrincipalSchema,
    expectedVersion: z
      .number()
      .int()
      .min(1)
      .optional()
      .meta({ description: 'The version the approver looked at; refused with 409 if the record moved on' }),
  })
  .meta({ id: 'ApproveRequest' });

export const RejectRequestSchema = z
  .strictObject({
    by: PrincipalSchema,
    reason: z
      .string()
      .meta({ description: 'Why (1 to 500 characters)', example: 'payee name differs from the contract' }),
    expectedVersion: z.number().int().min(1).optional(),
  })
  .meta({ id: 'RejectRequest' });

export const RetryPayoutRequestSchema = z
  .strictObject({
    by: PrincipalSchema,
    reason: z.string().meta({
      description: 'Why (1 to 500 characters)',
      example: 'merchant moved to a new settlement account',
    }),
  })
  .meta({ id: 'RetryPayoutRequest' });

export const CloseRequestSchema = z.strictObject({ date: BusinessDateSchema }).meta({ id: 'CloseRequest' });

export const IdempotencyKeySchema = z
  .string({ message: 'the Idempotency-Key header is required' })
  .trim()
  .min(1, 'the Idempotency-Key header is required')
  .max(200, 'must be at most 200 characters');
