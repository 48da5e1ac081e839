import { FeeError, type PaymentSplit } from '../../../clearing/src/fees/fee.types.js';
import type { FeeRuleRecord } from '../../../clearing/src/fees/fee-rule.repository.js';
import { FeeRulesService, type FeeQuoteRequest } from '../../../clearing/src/fees/fee-rules.service.js';
import { CLEARING_SCHEMA, clearingMigrations } from '../../../clearing/src/migrations/index.js';
import { emit, table, UsageError, type OutputOptions } from '../output.js';
import { withSchemaDataSource } from '../schema-data-source.js';

export interface FeesQuoteOptions extends OutputOptions {
  merchant: string;
  channel: string;
  method?: string;
  amount: string;
  currency: string;
  coupon?: string;
  couponPlatform?: string;
  couponMerchant?: string;
  at?: string;
}

/** `fees quote`: the split a payment would get now (or at --at); reads the rules, writes nothing. */
export async function feesQuoteCommand(options: FeesQuoteOptions): Promise<PaymentSplit> {
  const request = quoteRequestOf(options);
  return withSchemaDataSource(CLEARING_SCHEMA, clearingMigrations, async (dataSource) => {
    const split = await asUsageError(() => new FeeRulesService(dataSource).quote(request));
    emit(options, split, () => formatSplit(request, split));
    return split;
  });
}

export interface FeesRulesOptions extends OutputOptions {
  merchant?: string;
}

/** `fees rules`: every version of the fee rules, or of one merchant's own rules. */
export async function feesRulesCommand(options: FeesRulesOptions): Promise<FeeRuleRecord[]> {
  return withSchemaDataSource(CLEARING_SCHEMA, clearingMigrations, async (dataSource) => {
    const rules = await new FeeRulesService(dataSource).list(
      options.merchant === undefined ? {} : { merchantId: options.merchant },
    );
    emit(options, rules, () => formatRules(rules));
    return rules;
  });
}

/** A coupon is all three figures or none: its funders are never guessed. */
function quoteRequestOf(options: FeesQuoteOptions): FeeQuoteRequest {
  const { coupon, couponPlatform, couponMerchant } = options;
  const given = [coupon, couponPlatform, couponMerchant].filter((part) => part !== undefined).length;
  if (given !== 0 && given !== 3)
    throw new UsageError('a coupon needs --coupon, --coupon-platform and --coupon-merchant together');
  return {
    merchantId: options.merchant,
    channel: options.channel,
    paymentMethod: options.method ?? null,
    amount: options.amount,
    currency: options.currency,
    ...(coupon !== undefined && couponPlatform !== undefined && couponMerchant !== undefined
      ? { coupon: { amount: coupon, platformFunded: couponPlatform, merchantFunded: couponMerchant } }
      : {}),
    ...(options.at === undefined ? {} : { at: options.at }),
  };
}

async function asUsageError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof FeeError) throw new UsageError(`${error.code}: ${error.message}`);
    throw error;
  }
}

export function formatSplit(request: FeeQuoteRequest, split: PaymentSplit): string {
  const rows: [string, string][] = [
    ['amount (paid through the channel)', split.amount],
    ['order value', split.orderValue],
    ['coupon, merchant-funded', split.couponMerchantFunded],
    ['coupon, platform-funded', split.couponPlatformFunded],
    ['merchant pending (2202)', split.pending],
    ['fee (6001)', split.fee],
    ['merchant net (2203)', split.merchantNet],
    ['channel cost (6401)', split.channelCost],
  ];
  return [
    `fee quote: merchant ${request.merchantId}, ${request.channel}${request.paymentMethod ? `/${request.paymentMethod}` : ''}, ${request.at ?? 'now'}`,
    table(rows.map(([part, value]) => ({ part, [split.currency]: value }))),
  ].join('\n');
}

export function formatRules(rules: FeeRuleRecord[]): string {
  return table(
    rules.map((r) => ({
      id: r.id,
      merchant: r.scope.merchantId ?? '*',
      channel: r.scope.channel ?? '*',
      method: r.scope.paymentMethod ?? '*',
      currency: r.currency,
      version: r.version,
      formula: describeFormula(r),
      refund: r.refundPolicy,
      from: r.effectiveFrom,
      to: r.effectiveTo ?? '∞',
      by: r.createdBy,
    })),
  );
}

function describeFormula({ formula }: FeeRuleRecord): string {
  const parts: string[] = [formula.kind];
  if (formula.rate !== undefined) parts.push(`rate ${formula.rate}`);
  if (formula.fixed !== undefined) parts.push(`fixed ${formula.fixed}`);
  if (formula.tiers !== undefined)
    parts.push(formula.tiers.map((t) => `≤${t.upTo ?? '∞'}: ${t.rate}+${t.fixed}`).join(', '));
  if (formula.min !== undefined) parts.push(`min ${formula.min}`);
  if (formula.max !== undefined) parts.push(`max ${formula.max}`);
  parts.push(formula.rounding ?? 'HALF_UP');
  return parts.join(' ');
}
