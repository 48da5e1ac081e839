import { z } from 'zod';
import { isCurrencyCode } from '../currency.js';
import { Money, UNSIGNED_DECIMAL_STRING_PATTERN } from '../money.js';
import { type DecodeResult, decodeWith, parseWith } from './contract.js';
import { amountField, identifierField, instantField, textField, typeError, uuidField } from './fields.js';
import { settlementPayoutRequestedV1Schema } from './settlement-payout-requested.v1.js';

export const SETTLEMENT_PAYOUT_RESULT_STATUSES = ['PAID', 'FAILED'] as const;
export type SettlementPayoutResultStatus = (typeof SETTLEMENT_PAYOUT_RESULT_STATUSES)[number];

/**
 * Why a payout failed. The same list, in the same order, as the settlement service's
 * PAYOUT_FAILURE_CODES (apps/settlement/src/payout/payout-attempt.ts), which refuses any other code;
 * a code added here must be added there first. Which codes are retried and which mean "the bank
 * may have paid" (TIMEOUT) is settlement's policy, not part of the contract.
 */
export const SETTLEMENT_PAYOUT_FAILURE_CODES = [
  /** The destination's inflow limit (Ⅱ类户 daily/yearly, or the bank's own). */
  'ACCOUNT_LIMIT_EXCEEDED',
  'ACCOUNT_CLOSED',
  'ACCOUNT_NOT_FOUND',
  /** Frozen by the bank or a court (冻结). */
  'ACCOUNT_FROZEN',
  /** The holder name does not match the account (户名不符). */
  'HOLDER_NAME_MISMATCH',
  /** The bank refused for now and did not pay. */
  'BANK_UNAVAILABLE',
  'RATE_LIMITED',
  /** No answer in time: the bank may or may not have paid. */
  'TIMEOUT',
] as const;
export type SettlementPayoutFailureCode = (typeof SETTLEMENT_PAYOUT_FAILURE_CODES)[number];

const KNOWN_STATUSES: ReadonlySet<string> = new Set(SETTLEMENT_PAYOUT_RESULT_STATUSES);

/** What each status requires; the other status's field must be absent. */
const FIELD_OF: Readonly<Record<SettlementPayoutResultStatus, 'bankReference' | 'failure'>> = {
  PAID: 'bankReference',
  FAILED: 'failure',
};

const failureSchema = z
  .object(
    {
      code: z
        .enum(SETTLEMENT_PAYOUT_FAILURE_CODES, {
          error: (issue) =>
            issue.input === undefined
              ? 'required'
              : `must be one of ${SETTLEMENT_PAYOUT_FAILURE_CODES.join(', ')}, got ${JSON.stringify(issue.input) ?? 'undefined'}`,
        })
        .describe(
          'Why the payout failed. TIMEOUT means the outcome is unknown (the bank may have paid): settlement asks about the same attemptId and never pays it again.',
        ),
      transient: z
        .boolean({ error: typeError('a boolean') })
        .describe(
          'The gateway says the failure may pass (the bank did not pay and a new attempt may succeed). Settlement retries only codes its policy also deems retryable.',
        ),
      // Free text: the bank's words as relayed, kept for the auditor and never parsed.
      message: textField({
        min: 1,
        max: 256,
        description: "The gateway's or the bank's own words, for the auditor; never parsed.",
      }).optional(),
    },
    { error: typeError('an object') },
  )
  .describe('Why the attempt did not pay: present exactly when status is FAILED.');

// Identity fields are settlement.payout-requested.v1's own, not restated copies: an answer must
// name its request with the same rule (and the same error).
const requested = settlementPayoutRequestedV1Schema.shape;

/**
 * The gateway may answer one attempt more than once (TIMEOUT, then PAID once it learned more);
 * each answer is its own event. Unknown fields are stripped and absent optional fields must be
 * absent, never null, as on the other topics.
 */
const shape = {
  eventId: uuidField(
    'Gateway-assigned, one per answer, lower case; a re-sent answer carries the same id and consumers deduplicate on it. (Settlement also recognises a repeated answer by attemptId, status, failure.code and failure.transient.)',
  ),
  occurredAt: instantField(
    "When the gateway learned the outcome, ISO-8601 with an explicit offset. Evidence only: settlement judges answers in arrival order, the gateway's clock is not its own.",
  ),
  settlementRecordId: requested.settlementRecordId,
  attemptId: requested.attemptId,
  status: z
    .enum(SETTLEMENT_PAYOUT_RESULT_STATUSES, {
      error: (issue) =>
        issue.input === undefined
          ? 'required'
          : `must be one of ${SETTLEMENT_PAYOUT_RESULT_STATUSES.join(', ')}, got ${JSON.stringify(issue.input) ?? 'undefined'}`,
    })
    .describe(
      'PAID: the bank moved the money (needs bankReference). FAILED: it did not, or the outcome is unknown (TIMEOUT) (needs failure).',
    ),
  bankReference: identifierField(
    64,
    "The bank's reference for the transfer (流水号): present exactly when status is PAID; finance matches the bank statement by it.",
  ).optional(),
  failure: failureSchema.optional(),
  amount: amountField(
    'What was paid (PAID) or attempted (FAILED), in currency: the amount of the request. Greater than zero.',
  ),
  currency: requested.currency,
};

type Shape = z.infer<z.ZodObject<typeof shape>>;
type Payload = z.core.ParsePayload<Partial<Shape>>;

function addIssue(payload: Payload, path: PropertyKey[], message: string): void {
  payload.issues.push({ code: 'custom', path, message, input: payload.value, continue: true });
}

const UNSIGNED_DECIMAL_RE = new RegExp(UNSIGNED_DECIMAL_STRING_PATTERN);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Presence by status, and the amount's scale and sign in its currency. Like the other contracts it
 * runs after field failures too (one reason names every problem), so it judges only values whose
 * own check passed.
 */
function checkAcrossFields(payload: Payload): void {
  const value = payload.value as Record<string, unknown>;
  const status = value.status;
  // An unknown status already has its own issue; judging presence against it would only add noise.
  if (typeof status === 'string' && KNOWN_STATUSES.has(status)) {
    for (const [when, field] of Object.entries(FIELD_OF)) {
      if (status === when) {
        if (value[field] === undefined) addIssue(payload, [field], `required when status is ${when}`);
      } else if (value[field] !== undefined) {
        addIssue(payload, [field], `must be absent when status is ${status}`);
      }
    }
  }
  const { amount, currency } = value;
  if (!isCurrencyCode(currency)) return;
  if (typeof amount !== 'string' || !UNSIGNED_DECIMAL_RE.test(amount)) return;
  // A payout is a sum (a merchant's cycle): bounded by what Money holds, not by one item's bound.
  const error = Money.validate(amount, currency, { allowZero: false, sum: true });
  if (error !== undefined) addIssue(payload, ['amount'], error.message);
}

/** The JSON Schema half of the presence rules. */
const presenceByStatus = (status: SettlementPayoutResultStatus) => ({
  if: { properties: { status: { const: status } }, required: ['status'] },
  then: { required: [FIELD_OF[status]] },
  else: { not: { required: [FIELD_OF[status]] } },
});

export const settlementPayoutResultV1Schema = z
  .object(shape, { error: typeError('a JSON object') })
  .superRefine((_, ctx) => checkAcrossFields(ctx), { when: (payload) => isPlainObject(payload.value) })
  .meta({
    title: 'SettlementPayoutResult v1',
    allOf: [presenceByStatus('PAID'), presenceByStatus('FAILED')],
    'x-rules': [
      'bankReference is required when status is PAID and absent when FAILED; failure is required when status is FAILED and absent when PAID.',
      'amount is greater than zero and has at most the ISO 4217 minor-unit fraction digits of currency (CNY 2: "239.54"; JPY 0: "1500"; BHD 3: "1.250"); it is the amount of the request the answer is about.',
      'amount is a sum over a settlement cycle: at most 30 integer digits (not bound by the 10^15 - 1 minor units of one item).',
      'attemptId names the settlement.payout-requested.v1 attempt answered. A PAID answer is honoured whichever attempt of the record it names; a FAILED answer counts only for the current attempt.',
      'failure.code TIMEOUT means the outcome is unknown: settlement asks the gateway about the same attemptId until it answers PAID or another code, and never requests a new attempt meanwhile.',
      'eventId is assigned by the gateway, one per answer; consumers deduplicate on it.',
      'The Kafka key is settlementRecordId (not merchantId), as on settlement.payout-requested.v1.',
      'Unknown fields are ignored (stripped) so that the producer can add optional fields first; absent optional fields are omitted, never null.',
    ],
    description:
      "The payout gateway's answer about one attempt of settlement.payout-requested.v1 (代付结果): PAID with the bank's reference, or FAILED with a code, whether it may pass, and the bank's words. Published to settlement.payout-result.v1 keyed by settlementRecordId. Settlement posts a PAID once (2204 in transit → 1002 bank) and returns the funds of a final failure to settleable (2204 → 2203).",
  });

export type SettlementPayoutResultV1 = z.output<typeof settlementPayoutResultV1Schema>;
export type SettlementPayoutResultV1Input = z.input<typeof settlementPayoutResultV1Schema>;

/** Compiled for the consume path; every rejection is re-explained by the full schema. */
const fastSchema = z.compile(z.object(shape).check(checkAcrossFields));

export function parseSettlementPayoutResultV1(input: unknown): DecodeResult<SettlementPayoutResultV1> {
  const fast = fastSchema.safeParse(input);
  if (fast.success) return { ok: true, value: fast.data };
  return parseWith(settlementPayoutResultV1Schema, input);
}

/** For a Kafka message value: also reports a null/empty value, bad UTF-8 and bad JSON. */
export function decodeSettlementPayoutResultV1(
  value: Uint8Array | string | null | undefined,
): DecodeResult<SettlementPayoutResultV1> {
  return decodeWith(parseSettlementPayoutResultV1, value);
}
