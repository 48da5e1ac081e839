import {
  DECIMAL_STRING_PATTERN,
  Money,
  amountBoundError,
  isCurrencyCode,
  isoInstantToEpochMillis,
  type RoundingMode,
} from '@app/contracts';
import { z } from 'zod';
import { FEE_KINDS, REFUND_FEE_POLICIES, type FeeFormula, type PaymentSplit } from '../fees/fee.types.js';
import { SCOPE_ID_PATTERNS } from '../fees/fee-rule.js';
import type { FeeRuleRecord } from '../fees/fee-rule.repository.js';

/**
 * The clearing API's request and response shapes as zod schemas. Requests are validated with them
 * (shape only: a well-formed rule the fee domain refuses is a 422, not a 400); all of them are the
 * OpenAPI description. The response schemas are checked against the service types at compile
 * time (bottom of the file), so the document cannot drift from the code.
 */

const ROUNDING_MODES = ['HALF_UP', 'HALF_EVEN', 'HALF_DOWN', 'UP', 'DOWN', 'CEIL', 'FLOOR'] as const;

const decimal = (description: string, example: string) =>
  z
    .string()
    .max(64, 'must be at most 64 characters')
    .regex(new RegExp(DECIMAL_STRING_PATTERN), 'must be a plain decimal string like "100.00"')
    .meta({ description, example });

const isoInstant = (description: string, example: string) =>
  z
    .string()
    .refine((value) => {
      try {
        isoInstantToEpochMillis(value);
        return true;
      } catch {
        return false;
      }
    }, 'must be an ISO 8601 instant with an offset, like 2026-12-01T00:00:00+08:00')
    .meta({ description, example });

export const ChannelSchema = z
  .string()
  .regex(SCOPE_ID_PATTERNS.channel, 'must be 1 to 32 characters of A-Z, 0-9 and _')
  .meta({ description: 'Payment channel code', example: 'WECHAT' });

export const MerchantIdSchema = z
  .string()
  .regex(SCOPE_ID_PATTERNS.merchantId, 'must be 1 to 64 of A-Z, a-z, 0-9, _ and -')
  .meta({ description: 'Merchant id', example: 'M00042' });

export const PaymentMethodSchema = z
  .string()
  .regex(SCOPE_ID_PATTERNS.paymentMethod, 'must be 1 to 32 of A-Z, a-z, 0-9, _ . and -')
  .meta({ description: 'Payment method', example: 'JSAPI' });

export const CurrencySchema = z
  .string()
  .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like CNY')
  .meta({ description: 'ISO 4217 currency', example: 'CNY' });

// ---- requests ------------------------------------------------------------------------------------

type RefinementContext = z.core.$RefinementCtx;

/**
 * One item's bound (AMOUNT_MAX_MINOR_UNITS, ADR 005) judged on the request, so an amount past it is
 * a 400 naming the field like any other malformed input, never a 500 later. Only the magnitude is
 * judged here: scale and sign stay the fee domain's rules (422), and an unknown currency is too.
 */
function checkAmountBounds(
  ctx: RefinementContext,
  currency: string,
  amounts: readonly (readonly [path: readonly (string | number)[], value: string | null | undefined])[],
): void {
  if (!isCurrencyCode(currency)) return;
  for (const [path, value] of amounts) {
    if (typeof value !== 'string') continue;
    const error = Money.validate(value, currency, { allowNegative: true });
    if (error?.code === 'MONEY.TOO_LARGE')
      ctx.addIssue({ code: 'custom', path: [...path], message: error.message });
  }
}

const FeeTierSchema = z.strictObject({
  upTo: decimal('Upper bound of the order value, inclusive; null for the last tier', '1000.00').nullable(),
  rate: decimal('Rate of the whole order value', '0.006'),
  fixed: decimal('Fixed part', '0.00'),
});

export const FeeFormulaSchema = z
  .strictObject({
    kind: z.enum(FEE_KINDS),
    rate: decimal('PERCENTAGE, PERCENTAGE_PLUS_FIXED: rate in [0, 1)', '0.006').optional(),
    fixed: decimal('FIXED, PERCENTAGE_PLUS_FIXED: amount at the currency scale', '0.30').optional(),
    tiers: z.array(FeeTierSchema).max(100).optional(),
    min: decimal('Lower bound of the fee, after rounding', '0.01').optional(),
    max: decimal('Upper bound of the fee, after rounding', '50.00').optional(),
    rounding: z.enum(ROUNDING_MODES).optional().meta({ description: 'To the minor unit; default HALF_UP' }),
  })
  .meta({ id: 'FeeFormula', example: { kind: 'PERCENTAGE', rate: '0.0055', rounding: 'HALF_UP' } });

export const FeeRuleScopeSchema = z
  .strictObject({
    merchantId: MerchantIdSchema.nullable(),
    channel: ChannelSchema.nullable(),
    paymentMethod: PaymentMethodSchema.nullable(),
  })
  .meta({
    id: 'FeeRuleScope',
    description:
      'Who the rule applies to; null = any. Every key is required, so a rule never becomes platform-wide by omission.',
    example: { merchantId: 'M00042', channel: 'WECHAT', paymentMethod: null },
  });

export const CreateFeeRuleRequestSchema = z
  .strictObject({
    scope: FeeRuleScopeSchema,
    currency: CurrencySchema,
    formula: FeeFormulaSchema,
    refundPolicy: z.enum(REFUND_FEE_POLICIES),
    effectiveFrom: isoInstant(
      'First instant the version applies; not in the past',
      '2026-12-01T00:00:00+08:00',
    ),
    effectiveTo: isoInstant(
      'First instant it no longer applies; absent or null = open-ended',
      '2027-01-01T00:00:00+08:00',
    )
      .nullable()
      .optional(),
    actor: z
      .string()
      .regex(/^[\p{L}\p{N}_.@:-]{1,64}$/u, 'must be 1 to 64 letters, digits or _ . @ : -')
      .optional()
      .meta({
        description:
          "Operator id, recorded as createdBy. With bearer tokens (HTTP_AUTH_*) it may be left out: the token's sub is the operator, and a different value here is refused (403)",
        example: 'finance.li',
      }),
    note: z
      .string()
      .max(500, 'must be at most 500 characters')
      .optional()
      .meta({ example: 'contract 2026-17' }),
  })
  .superRefine((rule, ctx) =>
    checkAmountBounds(ctx, rule.currency, [
      [['formula', 'fixed'], rule.formula.fixed],
      [['formula', 'min'], rule.formula.min],
      [['formula', 'max'], rule.formula.max],
      ...(rule.formula.tiers ?? []).flatMap((tier, i) => [
        [['formula', 'tiers', i, 'upTo'], tier.upTo] as const,
        [['formula', 'tiers', i, 'fixed'], tier.fixed] as const,
      ]),
    ]),
  )
  .meta({ id: 'CreateFeeRuleRequest' });

export const FeeRuleListQuerySchema = z.strictObject({
  merchantId: MerchantIdSchema.optional().meta({ description: "The merchant's own rules" }),
  channel: ChannelSchema.optional(),
  paymentMethod: PaymentMethodSchema.optional(),
  currency: CurrencySchema.optional(),
});

export const FeeRuleInForceQuerySchema = z.strictObject({
  merchantId: MerchantIdSchema,
  channel: ChannelSchema,
  paymentMethod: PaymentMethodSchema.optional(),
  currency: CurrencySchema,
  at: isoInstant('The instant; default now', '2026-11-22T13:49:20Z').optional(),
});

export const FeeQuoteRequestSchema = z
  .strictObject({
    merchantId: MerchantIdSchema,
    channel: ChannelSchema,
    paymentMethod: PaymentMethodSchema.optional(),
    amount: decimal('What the payer pays through the channel (the statement figure)', '90.00'),
    currency: CurrencySchema,
    coupon: z
      .strictObject({
        amount: decimal('On top of amount: order value = amount + coupon.amount', '10.00'),
        merchantFunded: decimal('The merchant-funded part', '4.00'),
        platformFunded: decimal('The platform-funded part', '6.00'),
      })
      .optional(),
    at: isoInstant('When the payment happens; default now', '2026-11-22T13:49:20Z').optional(),
  })
  .superRefine((quote, ctx) => {
    const coupon = quote.coupon;
    checkAmountBounds(ctx, quote.currency, [
      [['amount'], quote.amount],
      [['coupon', 'amount'], coupon?.amount],
      [['coupon', 'merchantFunded'], coupon?.merchantFunded],
      [['coupon', 'platformFunded'], coupon?.platformFunded],
    ]);
    // The order value too, as payments.transaction.v1 bounds it: each part can be within the bound
    // and their sum not. Only when both parts are valid amounts; anything else is judged above or
    // by the fee domain.
    if (coupon === undefined || !isCurrencyCode(quote.currency)) return;
    if (Money.validate(quote.amount, quote.currency) !== undefined) return;
    if (Money.validate(coupon.amount, quote.currency) !== undefined) return;
    const orderValue = Money.parse(quote.amount, quote.currency).plus(
      Money.parse(coupon.amount, quote.currency),
    );
    const bound = amountBoundError(orderValue);
    if (bound !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['coupon', 'amount'],
        message: `order value amount + coupon.amount: ${bound.message}`,
      });
    }
  })
  .meta({ id: 'FeeQuoteRequest' });

// ---- responses -----------------------------------------------------------------------------------

const money = (example: string) => decimal('Decimal amount as a string', example);

export { ApiErrorSchema } from '@app/http';

export const FeeRuleSchema = z
  .object({
    id: z.string().regex(/^\d+$/).meta({ description: 'bigint as a string', example: '2' }),
    version: z.number().int().meta({ description: 'Position in the scope’s version chain', example: 2 }),
    scope: z.object({
      merchantId: z.string().nullable(),
      channel: z.string().nullable(),
      paymentMethod: z.string().nullable(),
    }),
    currency: z.string(),
    formula: FeeFormulaSchema,
    refundPolicy: z.enum(REFUND_FEE_POLICIES),
    effectiveFrom: z.string().meta({ description: 'ISO instant, UTC; inclusive' }),
    effectiveTo: z
      .string()
      .nullable()
      .meta({ description: 'ISO instant, UTC; exclusive; null = open-ended' }),
    createdBy: z.string(),
    createdAt: z.string(),
    note: z.string().nullable(),
  })
  .meta({ id: 'FeeRule', description: 'One version of a fee rule (手续费规则)' });

export const PaymentSplitSchema = z
  .object({
    currency: z.string(),
    amount: money('90.00'),
    orderValue: money('100.00'),
    couponMerchantFunded: money('4.00'),
    couponPlatformFunded: money('6.00'),
    pending: money('96.00'),
    fee: money('0.60'),
    merchantNet: money('95.40'),
    channelCost: money('0.54'),
  })
  .meta({
    id: 'PaymentSplit',
    description:
      'The clearing split (清分) of a payment: merchantNet + fee = pending = amount + couponPlatformFunded',
  });

// ---- the documented shapes are the service's types -----------------------------------------------

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const documentedAsTyped: [
  Same<z.output<typeof FeeFormulaSchema>, FeeFormula>,
  Same<z.output<typeof FeeRuleSchema>, FeeRuleRecord>,
  Same<z.output<typeof PaymentSplitSchema>, PaymentSplit>,
  Same<(typeof ROUNDING_MODES)[number], RoundingMode>,
] = [true, true, true, true];
void documentedAsTyped;
