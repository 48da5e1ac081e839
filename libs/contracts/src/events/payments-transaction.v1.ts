import { z } from 'zod';
import { isCurrencyCode } from '../currency.js';
import { describeValue } from '../errors.js';
import { Money, UNSIGNED_DECIMAL_STRING_PATTERN, amountBoundError } from '../money.js';
import { type DecodeResult, decodeWith, parseWith } from './contract.js';
import {
  amountField,
  channelField,
  currencyField,
  identifierField,
  instantField,
  merchantIdField,
  describeJsonType,
  textField,
  typeError,
} from './fields.js';

export const PAYMENTS_TRANSACTION_TYPES = [
  'PAYMENT_SUCCEEDED',
  'REFUND_SUCCEEDED',
  'PAYMENT_REVERSED',
] as const;
export type PaymentsTransactionType = (typeof PAYMENTS_TRANSACTION_TYPES)[number];

const KNOWN_TYPES: ReadonlySet<string> = new Set(PAYMENTS_TRANSACTION_TYPES);
/** Types that name a refund and so must carry refundNo; every other type must not. */
const REFUND_TYPES: ReadonlySet<string> = new Set<PaymentsTransactionType>(['REFUND_SUCCEEDED']);

export const METADATA_MAX_KEYS = 32;
const METADATA_KEY = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;
const METADATA_STRING_MAX = 256;

const couponSchema = z
  .object(
    {
      amount: amountField('Coupon face value: merchantFunded + platformFunded, exactly.'),
      merchantFunded: amountField(
        'Part of the coupon the merchant pays for (reduces what the merchant is owed).',
      ),
      platformFunded: amountField('Part of the coupon the platform pays for (marketing expense).'),
    },
    { error: typeError('an object') },
  )
  .describe('Coupon applied on top of `amount`: order value = amount + coupon.amount.');

const METADATA_KEY_RULE = 'start with a letter and use letters, digits, "_", ".", ":" or "-" (at most 64)';

const metadataSchema = z
  .record(
    z.string().regex(METADATA_KEY),
    z.union(
      [
        z.string().max(METADATA_STRING_MAX, {
          error: (issue) =>
            `must be at most ${METADATA_STRING_MAX} characters, got ${typeof issue.input === 'string' ? [...issue.input].length : 0}`,
        }),
        z.number(),
        z.boolean(),
      ],
      { error: (issue) => `must be a string, number or boolean, got ${describeJsonType(issue.input)}` },
    ),
    {
      error: (issue) =>
        issue.code === 'invalid_key'
          ? `key ${describeValue(issue.input)} must ${METADATA_KEY_RULE}`
          : typeError('an object of string keys to string, number or boolean values')(issue),
    },
  )
  .check((payload) => {
    const keys = Object.keys(payload.value).length;
    if (keys > METADATA_MAX_KEYS) {
      payload.issues.push({
        code: 'custom',
        message: `has ${keys} keys; at most ${METADATA_MAX_KEYS} allowed`,
        input: payload.value,
        continue: true,
      });
    }
  })
  .meta({
    maxProperties: METADATA_MAX_KEYS,
    description: 'Free-form context for humans and tracing; never read by clearing or settlement rules.',
  });

/**
 * Unknown top-level (and coupon) fields are stripped, not rejected: publishers ship new optional
 * fields before every consumer knows them, and a v1 consumer must keep working when they do.
 * A field whose meaning changes needs a v2 topic instead. Absent optional fields must be absent,
 * not null: null would be a second spelling of "no value".
 */
const shape = {
  eventId: identifierField(
    128,
    'Producer-assigned unique id (a UUID is recommended). Consumers deduplicate on it (inbox), so a redelivery or replay takes effect once.',
  ),
  type: z
    .enum(PAYMENTS_TRANSACTION_TYPES, {
      error: (issue) =>
        issue.input === undefined
          ? 'required'
          : `must be one of ${PAYMENTS_TRANSACTION_TYPES.join(', ')}, got ${JSON.stringify(issue.input) ?? 'undefined'}`,
    })
    .describe(
      'PAYMENT_SUCCEEDED: the payer paid. REFUND_SUCCEEDED: money went back to the payer (needs refundNo). PAYMENT_REVERSED: the channel reversed (冲正) a payment it had reported as succeeded.',
    ),
  occurredAt: instantField(
    'When the channel reported success, ISO-8601 with an explicit offset (Z or ±HH:mm). The business date is derived from it with the channel calendar, so a local time without offset is refused.',
  ),
  merchantId: merchantIdField,
  channel: channelField,
  orderNo: identifierField(
    64,
    'Merchant order number as sent to the channel (out_trade_no): the reconciliation key of a payment.',
  ),
  refundNo: identifierField(
    64,
    'Refund number as sent to the channel (out_refund_no): required for REFUND_SUCCEEDED and absent for every other type.',
  ).optional(),
  amount: amountField(
    'What the payer paid (or was refunded) through the channel: the figure the channel statement shows. A positive decimal string with at most the currency minor-unit digits, e.g. "239.54" CNY, "1500" JPY. Never a JSON number.',
  ),
  currency: currencyField,
  channelTxnId: identifierField(
    64,
    "The channel's own transaction id (transaction_id / trade_no), when known.",
  ).optional(),
  paymentMethod: textField({
    min: 1,
    max: 32,
    pattern: /^[A-Za-z0-9_.-]+$/,
    patternHint: 'letters, digits, "_", "." or "-"',
    description: 'How the payer paid within the channel (e.g. BALANCE, BANK_CARD, CREDIT).',
  }).optional(),
  coupon: couponSchema.optional(),
  metadata: metadataSchema.optional(),
};

type Shape = z.infer<z.ZodObject<typeof shape>>;
type Payload = z.core.ParsePayload<Partial<Shape>>;

function addIssue(payload: Payload, path: PropertyKey[], message: string): void {
  payload.issues.push({ code: 'custom', path, message, input: payload.value, continue: true });
}

const UNSIGNED_DECIMAL_RE = new RegExp(UNSIGNED_DECIMAL_STRING_PATTERN);

function wellFormedAmount(value: unknown): value is string {
  return typeof value === 'string' && UNSIGNED_DECIMAL_RE.test(value);
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const COUPON_PARTS = ['amount', 'merchantFunded', 'platformFunded'] as const;

/**
 * Rules that span fields. Each rule only looks at fields whose own check passed, because in the
 * reporting schema it runs even when single fields failed, so that one reason lists every problem.
 * Cheap on the happy path: no Decimal is built unless a coupon has to be summed.
 */
function checkAcrossFields(payload: Payload): void {
  const { type, refundNo, amount, currency, coupon } = payload.value;
  // An unknown type already has its own issue; judging refundNo against it would only add noise.
  if (typeof type === 'string' && KNOWN_TYPES.has(type)) {
    if (REFUND_TYPES.has(type)) {
      if (refundNo === undefined) addIssue(payload, ['refundNo'], `required when type is ${type}`);
    } else if (refundNo !== undefined) {
      addIssue(payload, ['refundNo'], `must be absent when type is ${type}`);
    }
  }
  if (!isCurrencyCode(currency)) return;
  let amountValid = false;
  if (wellFormedAmount(amount)) {
    const error = Money.validate(amount, currency, { allowZero: false });
    if (error !== undefined) addIssue(payload, ['amount'], error.message);
    else amountValid = true;
  }
  if (typeof coupon !== 'object' || coupon === null) return;
  let partsValid = true;
  for (const key of COUPON_PARTS) {
    const raw: unknown = coupon[key];
    if (!wellFormedAmount(raw)) {
      partsValid = false;
      continue;
    }
    const error = Money.validate(raw, currency);
    if (error !== undefined) {
      partsValid = false;
      addIssue(payload, ['coupon', key], error.message);
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
      ['coupon'],
      `merchantFunded ${merchantFunded.toString()} + platformFunded ${platformFunded.toString()} = ${funded.toString()}, but amount is ${face.toString()}; the parts must add up exactly`,
    );
  }
  if (!amountValid || face.isZero()) return;
  // The order value is the largest figure clearing derives from one payment (pending, fee and net
  // are parts of it), so bounding it keeps every per-item figure downstream within the bound too.
  const orderValue = Money.parse(amount, currency).plus(face);
  const bound = amountBoundError(orderValue);
  if (bound !== undefined) {
    addIssue(payload, ['coupon', 'amount'], `order value amount + coupon.amount: ${bound.message}`);
  }
}

export const paymentsTransactionV1Schema = z
  .object(shape, { error: typeError('a JSON object') })
  // `when`: run even after field failures, so one reason names every bad field; but only on an
  // object, the one thing checkAcrossFields assumes.
  .superRefine((_, ctx) => checkAcrossFields(ctx), { when: (payload) => isPlainObject(payload.value) })
  .meta({
    title: 'PaymentsTransaction v1',
    // The JSON Schema half of checkAcrossFields: what JSON Schema can say is said here, the rest
    // is spelled out under x-rules so publishers see every rule the consumer enforces.
    allOf: [
      {
        if: { properties: { type: { const: 'REFUND_SUCCEEDED' } }, required: ['type'] },
        then: { required: ['refundNo'] },
        else: { not: { required: ['refundNo'] } },
      },
    ],
    'x-rules': [
      'refundNo is required when type is REFUND_SUCCEEDED and must be absent otherwise.',
      'amount is greater than zero and has at most the ISO 4217 minor-unit fraction digits of currency (CNY 2: "239.54"; JPY 0: "1500"; BHD 3: "1.250").',
      'coupon.amount, coupon.merchantFunded and coupon.platformFunded are >= 0 with the same scale rule, and merchantFunded + platformFunded equals amount exactly.',
      'Every amount, and the order value amount + coupon.amount, is at most 10^15 - 1 minor units of currency: at most 15 - (minor-unit digits) integer digits (CNY 9999999999999.99, JPY 999999999999999, BHD 999999999999.999).',
      'Unknown fields are ignored (stripped) so that publishers can add optional fields first; absent optional fields are omitted, never null.',
    ],
    description:
      'A payment, refund or reversal that succeeded at a payment channel, as recorded by the service that handled it. Published to payments.transaction.v1 keyed by merchantId. Reconciliation compares these against the channel statement of the business date derived from occurredAt.',
  });

export type PaymentsTransactionV1 = z.output<typeof paymentsTransactionV1Schema>;
export type PaymentsTransactionV1Input = z.input<typeof paymentsTransactionV1Schema>;

/**
 * The same rules, compiled (zod AOT) for the ingest path: ~3x faster on valid events. Compilation
 * cannot take a `when`, so this one skips cross-field rules after a type failure; it is used only to
 * say yes quickly, and every rejection is re-explained by the full schema. A spec holds the two to
 * the same verdict on valid and mutated events.
 */
const fastSchema = z.compile(z.object(shape).check(checkAcrossFields));

export function parsePaymentsTransactionV1(input: unknown): DecodeResult<PaymentsTransactionV1> {
  const fast = fastSchema.safeParse(input);
  if (fast.success) return { ok: true, value: fast.data };
  return parseWith(paymentsTransactionV1Schema, input);
}

/** For a Kafka message value: also reports a null/empty value, bad UTF-8 and bad JSON. */
export function decodePaymentsTransactionV1(
  value: Uint8Array | string | null | undefined,
): DecodeResult<PaymentsTransactionV1> {
  return decodeWith(parsePaymentsTransactionV1, value);
}
