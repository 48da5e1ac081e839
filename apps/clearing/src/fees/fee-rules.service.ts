import { inTransaction } from '@app/platform';
import type { DataSource, EntityManager } from 'typeorm';
import { FeeError, type Coupon, type PaymentSplit } from './fee.types.js';
import { selectRule, type FeeRuleQuery } from './fee-rule.js';
import {
  FeeRuleRepository,
  type FeeRuleDraft,
  type FeeRuleFilter,
  type FeeRuleRecord,
} from './fee-rule.repository.js';
import { splitPayment } from './split.js';

/** A rule look-up as an operator asks it: `at` defaults to now. */
export type FeeRuleInForceQuery = Omit<FeeRuleQuery, 'at'> & { at?: string };

/** What a payment would be: the fields of payments.transaction.v1 the split depends on. */
export interface FeeQuoteRequest {
  merchantId: string;
  channel: string;
  paymentMethod?: string | null;
  /** What the payer pays through the channel; the coupon comes on top (DESIGN §5). */
  amount: string;
  currency: string;
  coupon?: Coupon;
  /** ISO instant with an offset; default now. */
  at?: string;
}

/**
 * Fee rule administration and the fee quote (清分试算), for the REST API and the CLI alike: each
 * call is one transaction over the repository, and the quote is the pure split over the rule and
 * channel cost rate that the payment would get.
 */
export class FeeRulesService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly rules = new FeeRuleRepository(),
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** @throws FeeError FEES.INVALID_RULE | FEES.INVALID_INPUT | FEES.OVERLAP */
  createVersion(draft: FeeRuleDraft, actor: string): Promise<FeeRuleRecord> {
    return inTransaction(this.dataSource, (tx) => this.rules.createVersion(tx, draft, actor));
  }

  list(filter: FeeRuleFilter = {}): Promise<FeeRuleRecord[]> {
    return this.rules.list(this.dataSource.manager, filter);
  }

  /**
   * The rule `selectRule` picks for a transaction at `at`, with its audit fields.
   * @throws FeeError FEES.NO_RULE | FEES.OVERLAP | FEES.INVALID_INPUT
   */
  inForce(query: FeeRuleInForceQuery): Promise<FeeRuleRecord> {
    return this.readOnly(async (tx) => {
      const at = query.at ?? this.now().toISOString();
      const candidates = await this.rules.rulesInForce(tx, { ...query, at });
      const chosen = selectRule(candidates, { ...query, at });
      const record = candidates.find((rule) => rule.id === chosen.id);
      if (record === undefined) throw new FeeError('FEES.NO_RULE', `rule ${chosen.id} is not a candidate`);
      return record;
    });
  }

  /**
   * The split the payment would get if it were cleared now: its fee rule and its channel's cost
   * rate at `at`, through `splitPayment`. Reads in one read-only snapshot; writes nothing.
   * @throws FeeError FEES.NO_RULE | FEES.INVALID_INPUT | FEES.INVALID_RULE
   */
  quote(request: FeeQuoteRequest): Promise<PaymentSplit> {
    return this.readOnly(async (tx) => {
      const at = request.at ?? this.now().toISOString();
      const rule = await this.rules.ruleFor(tx, {
        merchantId: request.merchantId,
        channel: request.channel,
        paymentMethod: request.paymentMethod ?? null,
        currency: request.currency,
        at,
      });
      const costRate = await this.rules.channelCostRateAt(tx, request.channel, at);
      return splitPayment(
        {
          amount: request.amount,
          currency: request.currency,
          ...(request.coupon === undefined ? {} : { coupon: request.coupon }),
        },
        rule,
        costRate,
      );
    });
  }

  private readOnly<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    // One snapshot for the rule and the rate; READ ONLY makes "a quote writes nothing" the database's word.
    return this.dataSource.transaction('REPEATABLE READ', async (tx) => {
      await tx.query('SET TRANSACTION READ ONLY');
      return work(tx);
    });
  }
}
