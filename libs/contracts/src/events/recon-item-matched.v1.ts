import { createHash } from 'node:crypto';
import { z } from 'zod';
import { isCurrencyCode } from '../currency.js';
import { DECIMAL_STRING_PATTERN, Money, UNSIGNED_DECIMAL_STRING_PATTERN } from '../money.js';
import { RECON_ITEM_MATCHED_V1 } from '../topics.js';
import { type DecodeResult, decodeWith, parseWith } from './contract.js';
import {
  amountField,
  bigintIdField,
  businessDateField,
  channelField,
  identifierField,
  instantField,
  localDateTimeField,
  merchantIdField,
  signedAmountField,
  typeError,
  uuidField,
} from './fields.js';
import { paymentsTransactionV1Schema } from './payments-transaction.v1.js';

export const RECON_ITEM_MATCHED_BY = ['MATCH_RUN', 'DISCREPANCY_RESOLUTION'] as const;
export type ReconItemMatchedBy = (typeof RECON_ITEM_MATCHED_BY)[number];

/** A reversal (冲正) is never cleared, so it never matches into clearing. */
export const RECON_ITEM_MATCHED_TRANSACTION_TYPES = ['PAYMENT_SUCCEEDED', 'REFUND_SUCCEEDED'] as const;
export type ReconItemMatchedTransactionType = (typeof RECON_ITEM_MATCHED_TRANSACTION_TYPES)[number];

const KNOWN_MATCHED_BY: ReadonlySet<string> = new Set(RECON_ITEM_MATCHED_BY);
const KNOWN_TYPES: ReadonlySet<string> = new Set(RECON_ITEM_MATCHED_TRANSACTION_TYPES);
const REFUND_TYPES: ReadonlySet<string> = new Set<ReconItemMatchedTransactionType>(['REFUND_SUCCEEDED']);

/**
 * The event id a producer must use for the item of `transactionEventId` on `channel`: the same
 * item re-emitted (a re-run, a crash between commit and publish) gets the same id, so clearing's
 * inbox takes it once. The producer computes it in SQL as
 * `md5('recon.item-matched.v1:' || channel || ':' || event_id)::uuid`; this is that value, to the
 * character (Postgres hashes the UTF-8 bytes and prints the uuid in lower case).
 */
export function reconItemMatchedEventId(channel: string, transactionEventId: string): string {
  const hex = createHash('md5')
    .update(`${RECON_ITEM_MATCHED_V1}:${channel}:${transactionEventId}`, 'utf8')
    .digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// The transaction is payments.transaction.v1's own fields, not restated copies: the same field
// must mean the same rule (and say the same error) on both topics.
const payments = paymentsTransactionV1Schema.shape;

const transactionSchema = z
  .object(
    {
      eventId: identifierField(
        128,
        'The payments.transaction.v1 eventId of the transaction that matched; clearing keys its own records by it.',
      ),
      type: z
        .enum(RECON_ITEM_MATCHED_TRANSACTION_TYPES, {
          error: (issue) =>
            issue.input === undefined
              ? 'required'
              : `must be one of ${RECON_ITEM_MATCHED_TRANSACTION_TYPES.join(', ')}, got ${JSON.stringify(issue.input) ?? 'undefined'}`,
        })
        .describe(
          'PAYMENT_SUCCEEDED or REFUND_SUCCEEDED (needs refundNo). Reversals are never matched into clearing.',
        ),
      orderNo: payments.orderNo,
      refundNo: payments.refundNo,
      amount: payments.amount,
      currency: payments.currency,
      occurredAt: payments.occurredAt,
      channelTxnId: payments.channelTxnId,
      paymentMethod: payments.paymentMethod,
      coupon: payments.coupon,
    },
    { error: typeError('an object') },
  )
  .meta({
    description:
      'The internal transaction as received on payments.transaction.v1 (metadata left out): what clearing splits.',
    allOf: [
      {
        if: { properties: { type: { const: 'REFUND_SUCCEEDED' } }, required: ['type'] },
        then: { required: ['refundNo'] },
        else: { not: { required: ['refundNo'] } },
      },
    ],
  });

const statementLineSchema = z
  .object(
    {
      statementFileId: bigintIdField('The imported statement file (reconciliation.statement_file id).'),
      lineNo: z
        .int({ error: typeError('an integer') })
        .min(1, { error: (issue) => `must be at least 1 (lines count from 1), got ${String(issue.input)}` })
        .describe('1-based line number in the statement file: where finance finds the line.'),
      amount: amountField(
        "The channel's figure for the item, in the transaction's currency (statement amounts are positive for refunds too). Greater than zero.",
      ),
      fee: signedAmountField(
        'The channel fee (手续费) as the channel books it from the merchant side: positive when charged, negative when returned on a refund. Absent when the statement has no fee column.',
      ).optional(),
      channelTxnId: identifierField(
        64,
        "The channel's transaction id as the statement prints it.",
      ).optional(),
      tradeTime: localDateTimeField(
        "When the channel booked it, 'YYYY-MM-DD HH:mm:ss' as printed: local wall-clock time of the channel, no offset.",
      ),
    },
    { error: typeError('an object') },
  )
  .describe(
    'The channel statement line (渠道对账单行) the transaction matched. Absent only when a discrepancy resolution released the item without a line.',
  );

/**
 * Unknown fields are stripped and absent optional fields must be absent, never null, as on
 * payments.transaction.v1 (see there for why).
 */
const shape = {
  eventId: uuidField(
    "Deterministic: the lower-case uuid of md5('recon.item-matched.v1:' || channel || ':' || transaction.eventId) (reconItemMatchedEventId), so a re-emission carries the same id and clearing's inbox takes it once.",
  ),
  occurredAt: instantField('When the item was matched, ISO-8601 with an explicit offset (Z or ±HH:mm).'),
  matchedBy: z
    .enum(RECON_ITEM_MATCHED_BY, {
      error: (issue) =>
        issue.input === undefined
          ? 'required'
          : `must be one of ${RECON_ITEM_MATCHED_BY.join(', ')}, got ${JSON.stringify(issue.input) ?? 'undefined'}`,
    })
    .describe(
      'MATCH_RUN: a match run found transaction and line agreeing (对平; needs matchRunId and statementLine). DISCREPANCY_RESOLUTION: finance resolved a discrepancy and released the item to clearing (needs discrepancyId).',
    ),
  matchRunId: bigintIdField(
    'The match run that matched the item: present exactly when matchedBy is MATCH_RUN.',
  ).optional(),
  discrepancyId: bigintIdField(
    'The discrepancy (差错) whose resolution released the item: present exactly when matchedBy is DISCREPANCY_RESOLUTION.',
  ).optional(),
  channel: channelField,
  businessDate: businessDateField(
    "The transaction's business date (账期日) on the channel calendar, 'YYYY-MM-DD': the statement day it belongs to (an item carried over keeps its own day).",
  ),
  merchantId: merchantIdField,
  transaction: transactionSchema,
  statementLine: statementLineSchema.optional(),
};

type Shape = z.infer<z.ZodObject<typeof shape>>;
type Payload = z.core.ParsePayload<Partial<Shape>>;

function addIssue(payload: Payload, path: PropertyKey[], message: string): void {
  payload.issues.push({ code: 'custom', path, message, input: payload.value, continue: true });
}

const UNSIGNED_DECIMAL_RE = new RegExp(UNSIGNED_DECIMAL_STRING_PATTERN);
const SIGNED_DECIMAL_RE = new RegExp(DECIMAL_STRING_PATTERN);

function wellFormedAmount(value: unknown): value is string {
  return typeof value === 'string' && UNSIGNED_DECIMAL_RE.test(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The id field matchedBy requires; the other one must be absent. */
const ID_FIELD_OF: Readonly<Record<ReconItemMatchedBy, 'matchRunId' | 'discrepancyId'>> = {
  MATCH_RUN: 'matchRunId',
  DISCREPANCY_RESOLUTION: 'discrepancyId',
};

const COUPON_PARTS = ['amount', 'merchantFunded', 'platformFunded'] as const;

function checkCoupon(payload: Payload, coupon: Record<string, unknown>, currency: string): void {
  let partsValid = true;
  for (const key of COUPON_PARTS) {
    const raw = coupon[key];
    if (!wellFormedAmount(raw)) {
      partsValid = false;
      continue;
    }
    const error = Money.validate(raw, currency);
    if (error !== undefined) {
      partsValid = false;
      addIssue(payload, ['transaction', 'coupon', key], error.message);
    }
  }
  if (!partsValid) return;
  const face = Money.parse(coupon.amount, currency);
  const merchantFunded = Money.parse(coupon.merchantFunded, currency);
  const platformFunded = Money.parse(coupon.platformFunded, currency);
  const funded = merchantFunded.plus(platformFunded);
  if (!funded.equals(face)) {
    addIssue(
      payload,
      ['transaction', 'coupon'],
      `merchantFunded ${merchantFunded.toString()} + platformFunded ${platformFunded.toString()} = ${funded.toString()}, but amount is ${face.toString()}; the parts must add up exactly`,
    );
  }
}

/**
 * Rules that span fields. As on payments.transaction.v1 this runs even when single fields failed
 * (so one reason names every problem), so it judges only values whose own check passed. Every
 * amount is in transaction.currency: the statement line has no currency of its own here, because a
 * line in another currency cannot have matched.
 */
function checkAcrossFields(payload: Payload): void {
  const { matchedBy, statementLine } = payload.value;
  // An unknown matchedBy already has its own issue; judging the ids against it would only add noise.
  if (typeof matchedBy === 'string' && KNOWN_MATCHED_BY.has(matchedBy)) {
    for (const [by, field] of Object.entries(ID_FIELD_OF)) {
      if (matchedBy === by) {
        if (payload.value[field] === undefined)
          addIssue(payload, [field], `required when matchedBy is ${by}`);
      } else if (payload.value[field] !== undefined) {
        addIssue(payload, [field], `must be absent when matchedBy is ${matchedBy}`);
      }
    }
    // A match run only ever pairs a transaction with a line; no line means a person released it.
    if (matchedBy === 'MATCH_RUN' && statementLine === undefined) {
      addIssue(payload, ['statementLine'], 'required when matchedBy is MATCH_RUN');
    }
  }

  const transaction: unknown = payload.value.transaction;
  if (!isPlainObject(transaction)) return;
  const { type, refundNo, amount, currency, coupon } = transaction;
  if (typeof type === 'string' && KNOWN_TYPES.has(type)) {
    if (REFUND_TYPES.has(type)) {
      if (refundNo === undefined)
        addIssue(payload, ['transaction', 'refundNo'], `required when type is ${type}`);
    } else if (refundNo !== undefined) {
      addIssue(payload, ['transaction', 'refundNo'], `must be absent when type is ${type}`);
    }
  }
  if (!isCurrencyCode(currency)) return;
  if (wellFormedAmount(amount)) {
    const error = Money.validate(amount, currency, { allowZero: false });
    if (error !== undefined) addIssue(payload, ['transaction', 'amount'], error.message);
  }
  if (isPlainObject(coupon)) checkCoupon(payload, coupon, currency);

  const line: unknown = statementLine;
  if (!isPlainObject(line)) return;
  if (wellFormedAmount(line.amount)) {
    const error = Money.validate(line.amount, currency, { allowZero: false });
    if (error !== undefined) addIssue(payload, ['statementLine', 'amount'], error.message);
  }
  if (typeof line.fee === 'string' && SIGNED_DECIMAL_RE.test(line.fee)) {
    const error = Money.validate(line.fee, currency, { allowNegative: true });
    if (error !== undefined) addIssue(payload, ['statementLine', 'fee'], error.message);
  }
}

export const reconItemMatchedV1Schema = z
  .object(shape, { error: typeError('a JSON object') })
  .superRefine((_, ctx) => checkAcrossFields(ctx), { when: (payload) => isPlainObject(payload.value) })
  .meta({
    title: 'ReconItemMatched v1',
    allOf: [
      {
        if: { properties: { matchedBy: { const: 'MATCH_RUN' } }, required: ['matchedBy'] },
        then: { required: ['matchRunId', 'statementLine'] },
        else: { not: { required: ['matchRunId'] } },
      },
      {
        if: { properties: { matchedBy: { const: 'DISCREPANCY_RESOLUTION' } }, required: ['matchedBy'] },
        then: { required: ['discrepancyId'] },
        else: { not: { required: ['discrepancyId'] } },
      },
    ],
    'x-rules': [
      'matchRunId and statementLine are required when matchedBy is MATCH_RUN; matchRunId must be absent otherwise.',
      'discrepancyId is required when matchedBy is DISCREPANCY_RESOLUTION and must be absent otherwise.',
      'transaction.refundNo is required when transaction.type is REFUND_SUCCEEDED and must be absent otherwise.',
      'Every amount is in transaction.currency and has at most its ISO 4217 minor-unit fraction digits (CNY 2: "239.54"; JPY 0: "1500"; BHD 3: "1.250").',
      'transaction.amount and statementLine.amount are greater than zero; statementLine.fee may be negative or zero.',
      'transaction.coupon.amount, merchantFunded and platformFunded are >= 0, and merchantFunded + platformFunded equals amount exactly.',
      'Every amount is at most 10^15 - 1 minor units of the currency (CNY 9999999999999.99, JPY 999999999999999), the bound payments.transaction.v1 puts on one item.',
      "eventId is the lower-case uuid of md5('recon.item-matched.v1:' || channel || ':' || transaction.eventId); consumers deduplicate on it.",
      'Unknown fields are ignored (stripped) so that publishers can add optional fields first; absent optional fields are omitted, never null.',
    ],
    description:
      'An internal transaction that reconciliation found agreeing with its channel statement line (对平), or that a discrepancy resolution released. Published to recon.item-matched.v1 keyed by merchantId, once per transaction (a re-emission has the same eventId). Clearing clears only these.',
  });

export type ReconItemMatchedV1 = z.output<typeof reconItemMatchedV1Schema>;
export type ReconItemMatchedV1Input = z.input<typeof reconItemMatchedV1Schema>;

/**
 * Compiled for the consume path like payments.transaction.v1's: says yes quickly, and every
 * rejection is re-explained by the full schema. A spec holds the two to the same verdict.
 */
const fastSchema = z.compile(z.object(shape).check(checkAcrossFields));

export function parseReconItemMatchedV1(input: unknown): DecodeResult<ReconItemMatchedV1> {
  const fast = fastSchema.safeParse(input);
  if (fast.success) return { ok: true, value: fast.data };
  return parseWith(reconItemMatchedV1Schema, input);
}

/** For a Kafka message value: also reports a null/empty value, bad UTF-8 and bad JSON. */
export function decodeReconItemMatchedV1(
  value: Uint8Array | string | null | undefined,
): DecodeResult<ReconItemMatchedV1> {
  return decodeWith(parseReconItemMatchedV1, value);
}
