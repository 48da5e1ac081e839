import { BusinessDateSchema, ChannelSchema, IdSchema } from '@app/http';
import { z } from 'zod';
import {
  DISCREPANCY_ACTIONS,
  DISCREPANCY_CLASSES,
  DISCREPANCY_RESOLUTIONS,
  DISCREPANCY_STATUSES,
  type Discrepancy,
  type ReconReport,
} from '../discrepancy/discrepancy.types.js';
import type { MatchRunResult } from '../matching/match-run.service.js';
import { MATCH_CLASSES } from '../matching/match.types.js';
import type { StatementImportResult } from '../statement/statement-import.service.js';

/**
 * The reconciliation API's request and response shapes as zod schemas. Requests are validated with
 * them; all of them are the OpenAPI description. The response schemas are checked against the
 * service types at compile time (bottom of the file), so the document cannot drift from the code.
 */

// ---- requests ------------------------------------------------------------------------------------

export const STATEMENT_FORMATS = ['generic', 'wechat-all', 'alipay'] as const;

export const StatementUploadFieldsSchema = z.strictObject({
  channel: ChannelSchema,
  format: z.enum(STATEMENT_FORMATS).meta({ description: 'Statement layout', example: 'generic' }),
  businessDate: BusinessDateSchema.optional(),
  match: z
    .enum(['true', 'false'])
    .optional()
    .meta({ description: "'true': also run the day's match in the same pass (the result's matchRun)" }),
});

export const MatchRunRequestSchema = z
  .strictObject({ channel: ChannelSchema, businessDate: BusinessDateSchema })
  .meta({ id: 'MatchRunRequest' });

export const ReportQuerySchema = z.strictObject({
  businessDate: BusinessDateSchema,
  channel: ChannelSchema.optional().meta({ description: 'One channel; all channels when absent' }),
});

export const LIST_LIMIT_MAX = 10_000;

export const DiscrepancyListQuerySchema = z.strictObject({
  businessDate: BusinessDateSchema.optional(),
  channel: ChannelSchema.optional(),
  status: z.enum(DISCREPANCY_STATUSES).optional(),
  class: z.enum(DISCREPANCY_CLASSES).optional(),
  limit: z
    .string()
    .regex(/^\d{1,5}$/, `must be an integer from 1 to ${LIST_LIMIT_MAX}`)
    .transform(Number)
    .pipe(z.number().int().min(1).max(LIST_LIMIT_MAX))
    .optional()
    .meta({ description: `Page size, default 1000, at most ${LIST_LIMIT_MAX}` }),
  afterId: IdSchema.optional().meta({ description: 'Keyset pagination: ids greater than this' }),
  awaitingConfirmation: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional()
    .meta({
      description:
        "'true': only discrepancies with an adjustment waiting for a second person; 'false': only those without",
    }),
});

export const DiscrepancyIdSchema = IdSchema.meta({ description: 'Discrepancy id' });

export const ResolveDiscrepancyRequestSchema = z
  .strictObject({
    action: z.enum(DISCREPANCY_ACTIONS).meta({
      description:
        'ADJUST: correct the books with a journal entry (and release our transaction to clearing where it stands); WRITE_OFF: close with a reason, no entry',
    }),
    actor: z
      .string()
      .regex(/^[\p{L}\p{N}_.@:-]{1,64}$/u, 'must be 1 to 64 letters, digits or _ . @ : -')
      .optional()
      .meta({
        description:
          "Operator id, recorded as resolvedBy. With bearer tokens (HTTP_AUTH_*) it may be left out: the token's sub is the operator, and a different value here is refused (403)",
        example: 'finance.li',
      }),
    note: z
      .string()
      .max(500, 'must be at most 500 characters')
      .refine((note) => note.trim() !== '', 'must say why')
      .meta({ description: 'Why, 1 to 500 characters', example: 'channel confirmed the refund failed' }),
  })
  .meta({ id: 'ResolveDiscrepancyRequest' });

export const ConfirmAdjustmentRequestSchema = z
  .strictObject({
    note: z
      .string()
      .max(500, 'must be at most 500 characters')
      .refine((note) => note.trim() !== '', 'must not be blank')
      .optional()
      .meta({
        description: 'Optional, 1 to 500 characters: what the second person checked',
        example: 'matched the channel’s confirmation mail',
      }),
  })
  .meta({ id: 'ConfirmAdjustmentRequest' });

export const RejectAdjustmentRequestSchema = z
  .strictObject({
    reason: z
      .string()
      .max(500, 'must be at most 500 characters')
      .refine((reason) => reason.trim() !== '', 'must say why')
      .meta({
        description: 'Why, 1 to 500 characters',
        example: 'the channel has not confirmed its figure yet',
      }),
  })
  .meta({ id: 'RejectAdjustmentRequest' });

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const IdempotencyKeySchema = z
  .string()
  .min(1, 'is required')
  .max(200, 'must be at most 200 characters');

// ---- responses -----------------------------------------------------------------------------------

const decimal = (example: string) =>
  z
    .string()
    .regex(/^-?\d+(\.\d+)?$/)
    .meta({ description: 'Decimal amount as a string', example });
const bigintId = (example: string) =>
  z.string().regex(/^\d+$/).meta({ description: 'bigint as a string', example });
const isoInstant = z.string().meta({ description: 'ISO 8601 instant, UTC', example: '2026-11-23T02:00:00Z' });
const date = z.string().meta({ format: 'date', example: '2026-11-22' });

export { ApiErrorSchema } from '@app/http';

const StatementTotalsSchema = z.object({
  currency: z.string().meta({ example: 'CNY' }),
  paymentCount: z.number().int(),
  paymentAmount: decimal('13781.94'),
  refundCount: z.number().int(),
  refundAmount: decimal('494.28'),
  fee: decimal('79.72'),
});

const matchCounts = z.record(z.enum(MATCH_CLASSES), z.number().int()).meta({
  description: 'Items per class',
  example: {
    MATCHED: 24,
    AMOUNT_MISMATCH: 3,
    STATUS_MISMATCH: 3,
    MISSING_IN_CHANNEL: 3,
    MISSING_INTERNAL: 3,
    PENDING_CROSS_DAY: 3,
    DUPLICATE: 0,
  },
});

export const MatchRunResultSchema = z
  .object({
    matchRunId: bigintId('1'),
    channel: z.string().meta({ example: 'WECHAT' }),
    businessDate: date,
    statementFileId: bigintId('1').nullable(),
    counts: matchCounts,
    internalItems: z.number().int(),
    statementLines: z.number().int(),
    emitted: z.number().int().meta({ description: 'Matched items released to clearing by this run' }),
    discrepancies: z.object({
      opened: z.number().int(),
      reclassified: z.number().int(),
      resolvedByRematch: z.number().int(),
    }),
    elapsedMs: z.number(),
  })
  .meta({ id: 'MatchRunResult' });

export const StatementImportResultSchema = z
  .object({
    statementFileId: bigintId('1'),
    channel: z.string().meta({ example: 'WECHAT' }),
    businessDate: date,
    format: z.enum(STATEMENT_FORMATS),
    lines: z.number().int().meta({ example: 33 }),
    totals: z.array(StatementTotalsSchema),
    rejectedLines: z.number().int().meta({
      description: 'Malformed lines set aside (channels configured for it); listed in the report',
      example: 0,
    }),
    controlsUnverified: z.string().nullable().meta({
      description: "Why the file's own control totals could not be verified (lines were set aside), or null",
    }),
    elapsedMs: z.number(),
    linesPerSecond: z.number(),
    matchRun: MatchRunResultSchema.nullable().meta({
      description: 'The match run made in the same pass (match=true), else null',
    }),
  })
  .meta({ id: 'StatementImportResult' });

export const PendingAdjustmentSchema = z
  .object({
    proposalId: bigintId('3'),
    proposedBy: z.string().meta({ description: 'Who proposed it: the one person who cannot confirm it' }),
    proposedAt: isoInstant,
    note: z.string(),
    class: z.enum(DISCREPANCY_CLASSES),
    amount: decimal('12000.00').meta({ description: 'What it moves between us and the channel' }),
    currency: z.string(),
    confirmationAbove: decimal('10000.00').meta({
      description: 'The threshold it exceeds (reconciliation.adjustment_policy)',
    }),
    effect: z.enum(['POST', 'REVERSE_T_DAY_ENTRY']),
    postings: z.array(
      z.object({
        account: z.string().meta({ example: 'channel_receivable:WECHAT' }),
        side: z.enum(['DEBIT', 'CREDIT']),
        amount: decimal('12000.00'),
      }),
    ),
    releasesToClearing: z.boolean(),
  })
  .meta({
    id: 'PendingAdjustment',
    description:
      'An ADJUST above the threshold, waiting for a second person: nothing is posted until another holder of recon.resolve confirms it',
  });

export const DiscrepancySchema = z
  .object({
    id: bigintId('7'),
    channel: z.string(),
    businessDate: date,
    detectedOn: date,
    class: z.enum(DISCREPANCY_CLASSES),
    side: z.enum(['BOTH', 'INTERNAL', 'CHANNEL']),
    itemType: z.enum(['PAYMENT', 'REFUND']),
    eventId: z.string().nullable(),
    statementFileId: z.string().nullable(),
    lineNo: z.number().int().nullable(),
    merchantId: z.string().nullable(),
    orderNo: z.string(),
    refundNo: z.string().nullable(),
    internalAmount: decimal('239.54').nullable(),
    channelAmount: decimal('239.45').nullable(),
    currency: z.string(),
    feeDifference: decimal('0.01').nullable(),
    reason: z.string(),
    status: z.enum(DISCREPANCY_STATUSES),
    resolution: z.enum(DISCREPANCY_RESOLUTIONS).nullable(),
    resolutionNote: z.string().nullable(),
    resolvedBy: z.string().nullable(),
    resolvedAt: isoInstant.nullable(),
    journalEntryId: z.string().nullable(),
    pendingAdjustment: PendingAdjustmentSchema.nullable(),
    adjustmentConfirmedBy: z.string().nullable().meta({
      description: 'The second person who confirmed the ADJUSTMENT (resolvedBy proposed it)',
    }),
    openedAt: isoInstant,
    lastMatchRunId: bigintId('1'),
  })
  .meta({ id: 'Discrepancy', description: 'A reconciliation item that did not match (差错)' });

export const ReconReportSchema = z
  .object({
    businessDate: date,
    channel: z.string().nullable(),
    runs: z.array(
      z.object({
        matchRunId: z.string(),
        channel: z.string(),
        businessDate: date,
        statementFileId: z.string().nullable(),
        counts: matchCounts,
        finishedAt: isoInstant,
      }),
    ),
    summary: z.array(
      z.object({
        channel: z.string(),
        class: z.enum(DISCREPANCY_CLASSES),
        open: z.number().int(),
        resolved: z.number().int(),
        currency: z.string(),
        internalAmount: decimal('718.62'),
        channelAmount: decimal('718.35'),
      }),
    ),
    discrepancies: z.array(DiscrepancySchema),
    rejectedLines: z
      .array(
        z.object({
          statementFileId: z.string(),
          channel: z.string(),
          lineNo: z.number().int(),
          field: z.string().nullable(),
          reason: z.string(),
          text: z.string(),
        }),
      )
      .meta({
        description: 'Statement lines set aside at import as malformed, never matched: to be looked at',
      }),
  })
  .meta({ id: 'ReconReport', description: 'The discrepancy report (差错报表) of a business date' });

// ---- the documented shapes are the service's types -----------------------------------------------

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const documentedAsTyped: [
  Same<z.output<typeof StatementImportResultSchema>, StatementImportResult>,
  Same<z.output<typeof MatchRunResultSchema>, MatchRunResult>,
  Same<z.output<typeof DiscrepancySchema>, Discrepancy>,
  Same<z.output<typeof ReconReportSchema>, ReconReport>,
] = [true, true, true, true];
void documentedAsTyped;
