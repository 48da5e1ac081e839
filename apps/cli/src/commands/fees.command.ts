import {
  FEE_KINDS,
  FeeError,
  REFUND_FEE_POLICIES,
  type PaymentSplit,
  type FeeRuleRecord,
  FeeRulesService,
  type FeeQuoteRequest,
  CLEARING_SCHEMA,
  clearingMigrations,
} from '../../../clearing/src/index.js';
import { ApiClient, idempotencyKeyOf, type ApiCommandOptions } from '../api-client.js';
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

export interface FeesAddOptions extends OutputOptions, ApiCommandOptions {
  merchant?: string;
  channel?: string;
  method?: string;
  currency: string;
  kind: string;
  rate?: string;
  fixed?: string;
  tiers?: string;
  min?: string;
  max?: string;
  rounding?: string;
  refundPolicy: string;
  from: string;
  to?: string;
  note?: string;
}

/**
 * `fees add`: a new version of a fee rule through the clearing service's `POST /fee-rules`, as the
 * token's principal (recorded as its createdBy). Figures travel as the strings typed, never as
 * numbers; the service validates the formula and the effective range and names the field it refuses.
 */
export async function feesAddCommand(options: FeesAddOptions, client?: ApiClient): Promise<FeeRuleRecord> {
  if (!(FEE_KINDS as readonly string[]).includes(options.kind))
    throw new UsageError(`--kind must be one of ${FEE_KINDS.join(', ')}, got "${options.kind}"`);
  if (!(REFUND_FEE_POLICIES as readonly string[]).includes(options.refundPolicy))
    throw new UsageError(
      `--refund-policy must be one of ${REFUND_FEE_POLICIES.join(', ')}, got "${options.refundPolicy}"`,
    );
  let tiers: unknown;
  if (options.tiers !== undefined) {
    try {
      tiers = JSON.parse(options.tiers);
    } catch {
      throw new UsageError(
        '--tiers must be a JSON array, e.g. \'[{"upTo":"1000.00","rate":"0.006","fixed":"0.00"}]\'',
      );
    }
    if (!Array.isArray(tiers)) throw new UsageError('--tiers must be a JSON array of tiers');
  }
  const draft = {
    scope: {
      merchantId: options.merchant ?? null,
      channel: options.channel ?? null,
      paymentMethod: options.method ?? null,
    },
    currency: options.currency,
    formula: {
      kind: options.kind,
      ...(options.rate === undefined ? {} : { rate: options.rate }),
      ...(options.fixed === undefined ? {} : { fixed: options.fixed }),
      ...(tiers === undefined ? {} : { tiers }),
      ...(options.min === undefined ? {} : { min: options.min }),
      ...(options.max === undefined ? {} : { max: options.max }),
      ...(options.rounding === undefined ? {} : { rounding: options.rounding }),
    },
    refundPolicy: options.refundPolicy,
    effectiveFrom: options.from,
    ...(options.to === undefined ? {} : { effectiveTo: options.to }),
    ...(options.note === undefined ? {} : { note: options.note }),
  };
  const api = client ?? (await ApiClient.for('clearing', options));
  const { body: rule } = await api.json<FeeRuleRecord>('POST', '/fee-rules', draft, {
    'idempotency-key': idempotencyKeyOf(options, 'fee-rule'),
  });
  emit(
    options,
    rule,
    () => `fee rule ${rule.id} v${rule.version} added by ${rule.createdBy}\n${formatRules([rule])}`,
  );
  return rule;
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
