import { createHash } from 'node:crypto';
import { z } from 'zod';
import { isCurrencyCode } from '../currency.js';
import { DECIMAL_STRING_PATTERN, Money, UNSIGNED_DECIMAL_STRING_PATTERN } from '../money.js';
import { CLEARING_ITEM_CLEARED_V1 } from '../topics.js';
import { type DecodeResult, decodeWith, parseWith } from './contract.js';
import {
  amountField,
  bigintIdField,
  businessDateField,
  channelField,
  currencyField,
  identifierField,
  instantField,
  merchantIdField,
  signedAmountField,
  typeError,
  uuidField,
} from './fields.js';

export const CLEARING_ITEM_TYPES = ['PAYMENT', 'REFUND'] as const;
export type ClearingItemType = (typeof CLEARING_ITEM_TYPES)[number];

const KNOWN_TYPES: ReadonlySet<string> = new Set(CLEARING_ITEM_TYPES);

/**
 * The event id clearing uses for the cleared item of `transactionEventId`: one cleared item per
 * transaction, so re-emitting it (a relay retry, a replay) carries the same id and settlement's
 * inbox takes it once. Equal to Postgres `md5('clearing.item-cleared.v1:' || event_id)::uuid`.
 */
export function clearingItemClearedEventId(transactionEventId: string): string {
  const hex = createHash('md5')
    .update(`${CLEARING_ITEM_CLEARED_V1}:${transactionEventId}`, 'utf8')
    .digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Fields a PAYMENT carries and a REFUND must not, and the other way round. */
const PAYMENT_ONLY = ['orderValue', 'couponMerchantFunded', 'couponPlatformFunded'] as const;
const REFUND_ONLY = ['refundNo', 'paymentTransactionEventId'] as const;

const signedFigure = (description: string) => signedAmountField(description);

/**
 * Every money figure is in `currency`. The split figures (gross, fee, channelCost, net) are signed
 * movements, so that a settlement sums them over any mix of payments and refunds without looking at
 * the type: a payment adds, a refund takes back. Unknown fields are stripped and absent optional
 * fields must be absent, never null, as on the other topics.
 */
const shape = {
  eventId: uuidField(
    "Deterministic: the lower-case uuid of md5('clearing.item-cleared.v1:' || transactionEventId) (clearingItemClearedEventId). One cleared item per transaction, so a re-emission carries the same id and consumers deduplicate on it.",
  ),
  occurredAt: instantField('When clearing cleared the item (清分), ISO-8601 with an explicit offset.'),
  merchantId: merchantIdField,
  channel: channelField,
  businessDate: businessDateField(
    "The transaction's business date (账期日) on its channel calendar, 'YYYY-MM-DD': the day whose settlement cycle the item belongs to.",
  ),
  type: z
    .enum(CLEARING_ITEM_TYPES, {
      error: (issue) =>
        issue.input === undefined
          ? 'required'
          : `must be one of ${CLEARING_ITEM_TYPES.join(', ')}, got ${JSON.stringify(issue.input) ?? 'undefined'}`,
    })
    .describe(
      'PAYMENT: a matched payment (needs orderValue, couponMerchantFunded, couponPlatformFunded). REFUND: a matched refund of an already-cleared payment (needs refundNo, paymentTransactionEventId).',
    ),
  transactionEventId: identifierField(
    128,
    'The payments.transaction.v1 eventId of the cleared transaction: clearing keys the item, its journal entry (clearing:<id>) and this event by it.',
  ),
  matchedEventId: uuidField('The recon.item-matched.v1 eventId that released the item to clearing.'),
  orderNo: identifierField(64, "Merchant order number (out_trade_no); a refund carries its payment's."),
  refundNo: identifierField(
    64,
    'Refund number (out_refund_no): present exactly when type is REFUND.',
  ).optional(),
  paymentTransactionEventId: identifierField(
    128,
    'The transactionEventId of the cleared payment this refund takes back from: present exactly when type is REFUND.',
  ).optional(),
  currency: currencyField,
  amount: amountField(
    'What passed through the channel: paid by the payer (PAYMENT) or returned to them (REFUND). Greater than zero.',
  ),
  orderValue: amountField(
    "PAYMENT only: the merchant's sale, amount + couponMerchantFunded + couponPlatformFunded; the base of the platform fee.",
  ).optional(),
  couponMerchantFunded: amountField(
    'PAYMENT only: the part of the coupon the merchant pays for; never owed to the merchant.',
  ).optional(),
  couponPlatformFunded: amountField(
    'PAYMENT only: the part of the coupon the platform pays for (marketing expense); owed to the merchant.',
  ).optional(),
  gross: signedFigure(
    'Signed: the sale the item adds to the merchant. PAYMENT: +orderValue. REFUND: −amount (refunded coupons are not modelled).',
  ),
  fee: signedFigure(
    "Signed platform fee (手续费, fee income 6001). PAYMENT: the fee charged, ≥ 0. REFUND: minus the fee returned to the merchant under the payment rule's refund policy, ≤ 0.",
  ),
  channelCost: signedFigure(
    "Signed: what the channel charges the platform for the item (6401 against 1122), not the merchant's cost. PAYMENT: ≥ 0 (the statement line's fee, else the contracted channel rate). REFUND: minus what the channel returns, ≤ 0.",
  ),
  net: signedFigure(
    "Signed movement of the merchant's settleable balance (商户可结算, 2203): what settlement pays out. PAYMENT: gross − couponMerchantFunded − fee. REFUND: gross − fee = −(amount − fee returned), negative unless the fee returned exceeds the refund.",
  ),
  feeRuleId: bigintIdField(
    'The fee rule the item was split with (for a refund: the rule its payment was cleared with, whose refund policy applied).',
  ),
  feeRuleVersion: z
    .int({ error: typeError('an integer') })
    .min(1, { error: (issue) => `must be at least 1, got ${String(issue.input)}` })
    .describe('Version of the fee rule (rules are versioned, never edited).'),
  journalEntryId: bigintIdField(
    'The ledger journal entry that moved the money (idempotency key clearing:<transactionEventId>).',
  ),
};

type Shape = z.infer<z.ZodObject<typeof shape>>;
type Payload = z.core.ParsePayload<Partial<Shape>>;

function addIssue(payload: Payload, path: PropertyKey[], message: string): void {
  payload.issues.push({ code: 'custom', path, message, input: payload.value, continue: true });
}

const UNSIGNED_DECIMAL_RE = new RegExp(UNSIGNED_DECIMAL_STRING_PATTERN);
const SIGNED_DECIMAL_RE = new RegExp(DECIMAL_STRING_PATTERN);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const UNSIGNED_FIGURES = ['amount', ...PAYMENT_ONLY] as const;
const SIGNED_FIGURES = ['gross', 'fee', 'channelCost', 'net'] as const;

/**
 * Rules across fields: presence by type, currency scale, the signs each type allows, and that the
 * split adds up. Like the other contracts it runs after field failures too (one reason names every
 * problem), so it judges only values whose own check passed.
 */
function checkAcrossFields(payload: Payload): void {
  const value = payload.value as Record<string, unknown>;
  const type = value.type;
  const known = typeof type === 'string' && KNOWN_TYPES.has(type);
  if (known) {
    const [required, forbidden] =
      type === 'PAYMENT' ? [PAYMENT_ONLY, REFUND_ONLY] : [REFUND_ONLY, PAYMENT_ONLY];
    for (const field of required)
      if (value[field] === undefined) addIssue(payload, [field], `required when type is ${type}`);
    for (const field of forbidden)
      if (value[field] !== undefined) addIssue(payload, [field], `must be absent when type is ${type}`);
  }

  const currency = value.currency;
  if (!isCurrencyCode(currency)) return;
  const money = new Map<string, Money>();
  for (const field of UNSIGNED_FIGURES) {
    const raw = value[field];
    if (typeof raw !== 'string' || !UNSIGNED_DECIMAL_RE.test(raw)) continue;
    const error = Money.validate(raw, currency, { allowZero: field !== 'amount' });
    if (error !== undefined) addIssue(payload, [field], error.message);
    else money.set(field, Money.parse(raw, currency));
  }
  for (const field of SIGNED_FIGURES) {
    const raw = value[field];
    if (typeof raw !== 'string' || !SIGNED_DECIMAL_RE.test(raw)) continue;
    const error = Money.validate(raw, currency, { allowNegative: true });
    if (error !== undefined) addIssue(payload, [field], error.message);
    else money.set(field, Money.parse(raw, currency, { allowNegative: true }));
  }
  if (!known) return;

  const [amount, gross, fee, channelCost, net] = (
    ['amount', 'gross', 'fee', 'channelCost', 'net'] as const
  ).map((f) => money.get(f));
  const sign = (field: string, m: Money | undefined, wanted: 'positive' | 'negative' | '≥ 0' | '≤ 0') => {
    if (m === undefined) return;
    const ok =
      wanted === 'positive'
        ? m.isPositive()
        : wanted === 'negative'
          ? m.isNegative()
          : wanted === '≥ 0'
            ? !m.isNegative()
            : !m.isPositive();
    if (!ok) addIssue(payload, [field], `must be ${wanted} when type is ${type}, got ${m.toString()}`);
  };
  let merchantFunded: Money | undefined;
  if (type === 'PAYMENT') {
    sign('gross', gross, 'positive');
    sign('fee', fee, '≥ 0');
    sign('channelCost', channelCost, '≥ 0');
    const [orderValue, cmf, cpf] = PAYMENT_ONLY.map((f) => money.get(f));
    merchantFunded = cmf;
    if (amount && orderValue && cmf && cpf) {
      const sum = amount.plus(cmf).plus(cpf);
      if (!sum.equals(orderValue))
        addIssue(
          payload,
          ['orderValue'],
          `amount ${amount.toString()} + couponMerchantFunded ${cmf.toString()} + couponPlatformFunded ${cpf.toString()} = ${sum.toString()}, but orderValue is ${orderValue.toString()}`,
        );
    }
    if (orderValue && gross && !gross.equals(orderValue))
      addIssue(
        payload,
        ['gross'],
        `must equal orderValue ${orderValue.toString()} for a PAYMENT, got ${gross.toString()}`,
      );
  } else {
    sign('gross', gross, 'negative');
    sign('fee', fee, '≤ 0');
    sign('channelCost', channelCost, '≤ 0');
    merchantFunded = Money.zero(currency);
    if (amount && gross && !gross.equals(amount.negated()))
      addIssue(
        payload,
        ['gross'],
        `must be −amount (${amount.negated().toString()}) for a REFUND, got ${gross.toString()}`,
      );
  }
  if (gross && fee && net && merchantFunded) {
    const expected = gross.minus(merchantFunded).minus(fee);
    if (!expected.equals(net))
      addIssue(
        payload,
        ['net'],
        `must be gross − couponMerchantFunded − fee = ${expected.toString()}, got ${net.toString()}; the split must add up exactly`,
      );
  }
}

/** The JSON Schema half of the presence rules; the rest is under x-rules. */
const presenceByType = (
  type: ClearingItemType,
  required: readonly string[],
  forbidden: readonly string[],
) => ({
  if: { properties: { type: { const: type } }, required: ['type'] },
  then: {
    required: [...required],
    not: { anyOf: forbidden.map((field) => ({ required: [field] })) },
  },
});

export const clearingItemClearedV1Schema = z
  .object(shape, { error: typeError('a JSON object') })
  .superRefine((_, ctx) => checkAcrossFields(ctx), { when: (payload) => isPlainObject(payload.value) })
  .meta({
    title: 'ClearingItemCleared v1',
    allOf: [
      presenceByType('PAYMENT', PAYMENT_ONLY, REFUND_ONLY),
      presenceByType('REFUND', REFUND_ONLY, PAYMENT_ONLY),
    ],
    'x-rules': [
      'orderValue, couponMerchantFunded and couponPlatformFunded are required when type is PAYMENT and absent when REFUND; refundNo and paymentTransactionEventId are required when type is REFUND and absent when PAYMENT.',
      'Every amount is in currency with at most its ISO 4217 minor-unit fraction digits (CNY 2: "239.54"; JPY 0: "1500"; BHD 3: "1.250").',
      'amount > 0; orderValue and the coupon parts >= 0.',
      'Every amount is at most 10^15 - 1 minor units of currency in magnitude (CNY 9999999999999.99, JPY 999999999999999): one item, whose order value payments.transaction.v1 bounds so.',
      'gross, fee, channelCost and net are signed movements: a settlement sums them over payments and refunds alike.',
      'PAYMENT: gross = orderValue = amount + couponMerchantFunded + couponPlatformFunded; fee >= 0; channelCost >= 0; net = gross - couponMerchantFunded - fee (merchant net + fee = what the T-day entry credited to merchant pending).',
      'REFUND: gross = -amount; fee <= 0 (minus the fee returned); channelCost <= 0 (minus the channel fee returned); net = gross - fee, the amount taken back from the merchant net of the fee returned.',
      "eventId is the lower-case uuid of md5('clearing.item-cleared.v1:' || transactionEventId); consumers deduplicate on it.",
      'Unknown fields are ignored (stripped) so that the producer can add optional fields first; absent optional fields are omitted, never null.',
    ],
    description:
      "A matched transaction cleared (清分): split into the merchant's net, the platform fee, the channel's cost and the coupon funders, and journaled (Dr 2202 merchant pending → Cr 2203 merchant settleable and 6001 fee income; channel cost Dr 6401 / Cr 1122; a refund the other way). Published to clearing.item-cleared.v1 keyed by merchantId, once per transaction. `net` is the signed movement of the merchant's settleable balance: what settlement accumulates and pays.",
  });

export type ClearingItemClearedV1 = z.output<typeof clearingItemClearedV1Schema>;
export type ClearingItemClearedV1Input = z.input<typeof clearingItemClearedV1Schema>;

/** Compiled for the consume path; every rejection is re-explained by the full schema. */
const fastSchema = z.compile(z.object(shape).check(checkAcrossFields));

export function parseClearingItemClearedV1(input: unknown): DecodeResult<ClearingItemClearedV1> {
  const fast = fastSchema.safeParse(input);
  if (fast.success) return { ok: true, value: fast.data };
  return parseWith(clearingItemClearedV1Schema, input);
}

/** For a Kafka message value: also reports a null/empty value, bad UTF-8 and bad JSON. */
export function decodeClearingItemClearedV1(
  value: Uint8Array | string | null | undefined,
): DecodeResult<ClearingItemClearedV1> {
  return decodeWith(parseClearingItemClearedV1, value);
}
