import { isoInstantToEpochMillis, type RoundingMode } from '@app/contracts';
import type { EntityManager } from 'typeorm';
import { selectRule, type FeeRuleQuery } from '../fees/fee-rule.js';
import type { ChannelCostRate, FeeFormula, FeeRule, RefundFeePolicy } from '../fees/fee.types.js';

interface RuleRow {
  id: string;
  merchant_id: string | null;
  channel: string | null;
  payment_method: string | null;
  currency: string;
  formula: FeeFormula;
  refund_policy: RefundFeePolicy;
  version: number;
  effective_from: Date;
  effective_to: Date | null;
}

interface RateRow {
  channel: string;
  rate: string;
  rounding: RoundingMode;
  effective_from: Date;
  effective_to: Date | null;
}

type Timed<T> = { value: T; from: number; to: number };

/** A selection and the span of instants over which the same candidates are in force. */
type Selection = { from: number; to: number; rule: FeeRule };

/**
 * The fee rules and channel cost rates a batch of transactions can need, read in one query each
 * instead of one `FeeRuleRepository.ruleFor` per transaction (a 5,000-item batch would otherwise
 * make 5,000 round trips). The choice itself is the fee module's `selectRule`, given the same
 * candidates `ruleFor` would give it (a superset: selectRule filters scope, currency and time).
 *
 * Within a batch, a (merchant, channel, method, currency) selection is reused for every instant
 * between the same candidate boundaries: no rule starts or ends there, so selectRule would pick the
 * same rule (or fail the same way). Built per batch, so a rule version created meanwhile is seen by
 * the next batch.
 */
export class BatchFeeRules {
  private readonly selections = new Map<string, Selection>();

  private constructor(
    private readonly general: Timed<FeeRule>[],
    private readonly byMerchant: Map<string, Timed<FeeRule>[]>,
    private readonly rates: Map<string, Timed<ChannelCostRate>[]>,
  ) {}

  /**
   * @param needs the transactions to price; `rateNeeded` marks those whose channel cost comes from
   * the rate (no statement fee), the only ones rates are read for.
   */
  static async load(
    tx: EntityManager,
    needs: { merchantId: string; channel: string; currency: string; at: string; rateNeeded: boolean }[],
  ): Promise<BatchFeeRules> {
    if (needs.length === 0) return new BatchFeeRules([], new Map(), new Map());
    let min = Infinity;
    let max = -Infinity;
    for (const n of needs) {
      const at = isoInstantToEpochMillis(n.at);
      if (at < min) min = at;
      if (at > max) max = at;
    }
    const distinct = (values: string[]) => [...new Set(values)];
    const rules = await tx.query<RuleRow[]>(
      `SELECT id::text AS id, merchant_id, channel, payment_method, currency, formula, refund_policy, version,
              effective_from, effective_to
       FROM clearing.fee_rule
       WHERE currency = ANY($1::text[])
         AND (merchant_id IS NULL OR merchant_id = ANY($2::text[]))
         AND (channel IS NULL OR channel = ANY($3::text[]))
         AND effective_from <= $5::timestamptz
         AND (effective_to IS NULL OR effective_to > $4::timestamptz)
       ORDER BY fee_rule.id`,
      [
        distinct(needs.map((n) => n.currency)),
        distinct(needs.map((n) => n.merchantId)),
        distinct(needs.map((n) => n.channel)),
        new Date(min).toISOString(),
        new Date(max).toISOString(),
      ],
    );
    const general: Timed<FeeRule>[] = [];
    const byMerchant = new Map<string, Timed<FeeRule>[]>();
    for (const row of rules) {
      const timed = timedRule(row);
      if (row.merchant_id === null) general.push(timed);
      else byMerchant.set(row.merchant_id, [...(byMerchant.get(row.merchant_id) ?? []), timed]);
    }

    const rateChannels = distinct(needs.filter((n) => n.rateNeeded).map((n) => n.channel));
    const rates = new Map<string, Timed<ChannelCostRate>[]>();
    if (rateChannels.length > 0) {
      const rows = await tx.query<RateRow[]>(
        `SELECT channel, rate::text AS rate, rounding, effective_from, effective_to
         FROM clearing.channel_cost_rate
         WHERE channel = ANY($1::text[]) AND effective_from <= $3::timestamptz
           AND (effective_to IS NULL OR effective_to > $2::timestamptz)`,
        [rateChannels, new Date(min).toISOString(), new Date(max).toISOString()],
      );
      for (const row of rows) {
        const value: ChannelCostRate = {
          channel: row.channel,
          rate: row.rate,
          rounding: row.rounding,
          effectiveFrom: row.effective_from.toISOString(),
          effectiveTo: row.effective_to?.toISOString() ?? null,
        };
        const timed = {
          value,
          from: row.effective_from.getTime(),
          to: row.effective_to?.getTime() ?? Infinity,
        };
        rates.set(row.channel, [...(rates.get(row.channel) ?? []), timed]);
      }
    }
    return new BatchFeeRules(general, byMerchant, rates);
  }

  /**
   * The rule pricing `query`, as FeeRuleRepository.ruleFor would answer it.
   * @throws FeeError FEES.NO_RULE | FEES.OVERLAP | FEES.INVALID_INPUT
   */
  ruleFor(query: FeeRuleQuery): FeeRule {
    const at = isoInstantToEpochMillis(query.at);
    const key = `${query.merchantId}|${query.channel}|${query.paymentMethod ?? ''}|${query.currency}`;
    const cached = this.selections.get(key);
    if (cached !== undefined && at >= cached.from && at < cached.to) return cached.rule;
    const candidates = [...this.general, ...(this.byMerchant.get(query.merchantId) ?? [])];
    // The span around `at` in which no candidate starts or ends.
    let from = -Infinity;
    let to = Infinity;
    for (const c of candidates) {
      for (const bound of [c.from, c.to]) {
        if (bound <= at && bound > from) from = bound;
        if (bound > at && bound < to) to = bound;
      }
    }
    // A failure is not remembered: its message names this transaction's instant.
    const rule = selectRule(
      candidates.map((c) => c.value),
      query,
    );
    this.selections.set(key, { from, to, rule });
    return rule;
  }

  /** The channel's cost rate in force at `at`, or null, as FeeRuleRepository.channelCostRateAt. */
  channelCostRateAt(channel: string, at: string): ChannelCostRate | null {
    const instant = isoInstantToEpochMillis(at);
    return this.rates.get(channel)?.find((r) => r.from <= instant && instant < r.to)?.value ?? null;
  }
}

function timedRule(row: RuleRow): Timed<FeeRule> {
  const value: FeeRule = {
    id: row.id,
    version: row.version,
    scope: { merchantId: row.merchant_id, channel: row.channel, paymentMethod: row.payment_method },
    currency: row.currency,
    formula: row.formula,
    refundPolicy: row.refund_policy,
    effectiveFrom: row.effective_from.toISOString(),
    effectiveTo: row.effective_to?.toISOString() ?? null,
  };
  return { value, from: row.effective_from.getTime(), to: row.effective_to?.getTime() ?? Infinity };
}
