import { createHash } from 'node:crypto';
import { z } from 'zod';
import { isCurrencyCode } from '../currency.js';
import { Money, UNSIGNED_DECIMAL_STRING_PATTERN } from '../money.js';
import { SETTLEMENT_PAYOUT_REQUESTED_V1 } from '../topics.js';
import { type DecodeResult, decodeWith, parseWith } from './contract.js';
import {
  amountField,
  bigintIdField,
  businessDateField,
  currencyField,
  describeJsonKind,
  identifierField,
  instantField,
  merchantIdField,
  printableTextField,
  typeError,
  uuidField,
} from './fields.js';

/**
 * The destination account types (PBoC classification of personal accounts, 个人银行账户分类), the
 * same list as the settlement service's PAYOUT_ACCOUNT_TYPES: CORPORATE (对公账户),
 * PERSONAL_TYPE_I (Ⅰ类户), PERSONAL_TYPE_II (Ⅱ类户, whose inflow is capped).
 */
export const SETTLEMENT_PAYOUT_ACCOUNT_TYPES = ['CORPORATE', 'PERSONAL_TYPE_I', 'PERSONAL_TYPE_II'] as const;
export type SettlementPayoutAccountType = (typeof SETTLEMENT_PAYOUT_ACCOUNT_TYPES)[number];

/** Longest idempotency key the payout gateway stores. */
export const SETTLEMENT_PAYOUT_ATTEMPT_ID_MAX_LENGTH = 64;

/**
 * The event id of the request for `attemptId`: one request per attempt, so the outbox relay
 * re-publishing it (a crash between send and mark) carries the same id. Equal to Postgres
 * `md5('settlement.payout-requested.v1:' || attempt_id)::uuid`.
 */
export function settlementPayoutRequestedEventId(attemptId: string): string {
  const hex = createHash('md5')
    .update(`${SETTLEMENT_PAYOUT_REQUESTED_V1}:${attemptId}`, 'utf8')
    .digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const ACCOUNT_NO_MIN = 8;
const ACCOUNT_NO_MAX = 34;
const ACCOUNT_NO_RE = new RegExp(`^[0-9]{${ACCOUNT_NO_MIN},${ACCOUNT_NO_MAX}}$`);

/**
 * Digits only (a card or account number as the bank prints it, without spaces). A message never
 * repeats the number: a DLQ reason ends up in logs, where only a masked number belongs.
 */
const accountNoField = z
  .string({
    error: (issue) =>
      issue.input === undefined
        ? 'required'
        : `must be a string of ${ACCOUNT_NO_MIN}..${ACCOUNT_NO_MAX} digits, got ${describeJsonKind(issue.input)}`,
  })
  .check((payload) => {
    const value = payload.value;
    if (ACCOUNT_NO_RE.test(value)) return;
    const length = [...value].length;
    const nonDigit = [...value].findIndex((c) => c < '0' || c > '9');
    const message =
      length < ACCOUNT_NO_MIN || length > ACCOUNT_NO_MAX
        ? `must be ${ACCOUNT_NO_MIN}..${ACCOUNT_NO_MAX} digits, got ${length} characters`
        : `must be digits only, got a non-digit at character ${nonDigit + 1}`;
    payload.issues.push({ code: 'custom', message, input: value, continue: true });
  })
  .meta({
    pattern: ACCOUNT_NO_RE.source,
    description: `The account or card number, ${ACCOUNT_NO_MIN}..${ACCOUNT_NO_MAX} digits without spaces. Log it masked (****1234).`,
  });

const payoutAccountSchema = z
  .object(
    {
      bank: printableTextField(64, "The bank's code or name as the payout gateway knows it (e.g. ICBC)."),
      accountNo: accountNoField,
      holder: printableTextField(
        128,
        "The account holder's name exactly as the bank has it: a bank refuses a payout whose name does not match (户名不符).",
      ),
      type: z
        .enum(SETTLEMENT_PAYOUT_ACCOUNT_TYPES, {
          error: (issue) =>
            issue.input === undefined
              ? 'required'
              : `must be one of ${SETTLEMENT_PAYOUT_ACCOUNT_TYPES.join(', ')}, got ${JSON.stringify(issue.input) ?? 'undefined'}`,
        })
        .describe(
          'CORPORATE (对公账户), PERSONAL_TYPE_I (Ⅰ类户) or PERSONAL_TYPE_II (Ⅱ类户: inflow from other accounts capped per day and year; settlement checks the payout fits before it asks).',
        ),
    },
    { error: typeError('an object') },
  )
  .describe(
    "The merchant's settlement account (结算账户) to pay into, as it stood when the record was approved.",
  );

/** Unknown fields are stripped and absent optional fields must be absent, never null, as on the other topics. */
const shape = {
  eventId: uuidField(
    "Deterministic: the lower-case uuid of md5('settlement.payout-requested.v1:' || attemptId) (settlementPayoutRequestedEventId). One request per attempt, so a re-publication carries the same id.",
  ),
  occurredAt: instantField(
    'When settlement requested the attempt (wrote its outbox row), ISO-8601 with an explicit offset.',
  ),
  settlementRecordId: bigintIdField(
    "The approved settlement record (结算单) the payout is for; also the Kafka message key, so one record's requests and results stay in order on one partition.",
  ),
  attemptId: identifierField(
    SETTLEMENT_PAYOUT_ATTEMPT_ID_MAX_LENGTH,
    'The idempotency key the gateway must honour for this payment (e.g. "<settlementRecordId>-<attemptNo>"), unique across all records: a request with an attempt id the gateway has seen returns the first outcome and never pays twice. A retry after a definitive failure is a new attempt with a new id.',
  ),
  attemptNo: z
    .int({ error: typeError('an integer') })
    .min(1, { error: (issue) => `must be at least 1 (attempts count from 1), got ${String(issue.input)}` })
    .describe("1-based number of this attempt within the record's payout."),
  merchantId: merchantIdField.describe('The merchant being paid.'),
  amount: amountField(
    'What to pay the merchant, in currency: the approved settlement amount. Greater than zero, at most the currency minor-unit digits.',
  ),
  currency: currencyField,
  payoutAccount: payoutAccountSchema,
  payoutDueOn: businessDateField(
    "The day the merchant is due to be paid (the settlement cycle's payout date on the settlement calendar), 'YYYY-MM-DD'.",
  ),
  memo: printableTextField(
    140,
    "Text for the merchant's bank statement (附言), when settlement gives one.",
  ).optional(),
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
 * The amount's scale and sign depend on the currency, so they are judged here. Like the other
 * contracts this runs after field failures too (one reason names every problem), so it judges only
 * values whose own check passed.
 */
function checkAcrossFields(payload: Payload): void {
  const { amount, currency } = payload.value as Record<string, unknown>;
  if (!isCurrencyCode(currency)) return;
  if (typeof amount !== 'string' || !UNSIGNED_DECIMAL_RE.test(amount)) return;
  // A payout is a sum (a merchant's cycle): bounded by what Money holds, not by one item's bound.
  const error = Money.validate(amount, currency, { allowZero: false, sum: true });
  if (error !== undefined) addIssue(payload, ['amount'], error.message);
}

export const settlementPayoutRequestedV1Schema = z
  .object(shape, { error: typeError('a JSON object') })
  .superRefine((_, ctx) => checkAcrossFields(ctx), { when: (payload) => isPlainObject(payload.value) })
  .meta({
    title: 'SettlementPayoutRequested v1',
    'x-rules': [
      'amount is greater than zero and has at most the ISO 4217 minor-unit fraction digits of currency (CNY 2: "239.54"; JPY 0: "1500"; BHD 3: "1.250").',
      'amount is a sum over a settlement cycle: at most 30 integer digits (not bound by the 10^15 - 1 minor units of one item).',
      'attemptId is the idempotency key: the gateway must answer a request whose attemptId it has seen with the first outcome and never pay it twice. It is unique across all records, since the gateway deduplicates on it alone.',
      'A new attempt (new attemptId, attemptNo + 1) is requested only after the previous one definitively failed; an unknown outcome (TIMEOUT) is resolved by asking about the same attemptId, never by a new request.',
      "eventId is the lower-case uuid of md5('settlement.payout-requested.v1:' || attemptId); consumers deduplicate on it.",
      "The Kafka key is settlementRecordId (not merchantId): one record's requests and results stay in order on one partition.",
      'Unknown fields are ignored (stripped) so that the producer can add optional fields first; absent optional fields are omitted, never null.',
    ],
    description:
      'An approved settlement record (结算单) asks the payout gateway to pay a merchant (代付): one message per payout attempt, written to the outbox in the same transaction that records the attempt. Published to settlement.payout-requested.v1 keyed by settlementRecordId; the gateway answers on settlement.payout-result.v1 with the same attemptId.',
  });

export type SettlementPayoutRequestedV1 = z.output<typeof settlementPayoutRequestedV1Schema>;
export type SettlementPayoutRequestedV1Input = z.input<typeof settlementPayoutRequestedV1Schema>;

/** Compiled for the consume path; every rejection is re-explained by the full schema. */
const fastSchema = z.compile(z.object(shape).check(checkAcrossFields));

export function parseSettlementPayoutRequestedV1(input: unknown): DecodeResult<SettlementPayoutRequestedV1> {
  const fast = fastSchema.safeParse(input);
  if (fast.success) return { ok: true, value: fast.data };
  return parseWith(settlementPayoutRequestedV1Schema, input);
}

/** For a Kafka message value: also reports a null/empty value, bad UTF-8 and bad JSON. */
export function decodeSettlementPayoutRequestedV1(
  value: Uint8Array | string | null | undefined,
): DecodeResult<SettlementPayoutRequestedV1> {
  return decodeWith(parseSettlementPayoutRequestedV1, value);
}
