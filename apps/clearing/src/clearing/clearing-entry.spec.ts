import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Money, parseClearingItemClearedV1 } from '@app/contracts';
import { DEFAULT_ACCOUNT_TEMPLATES, validateEntry, type EntryDraft } from '@app/ledger';
import type { FeeRule } from '../fees/fee.types.js';
import { splitPayment, splitRefund } from '../fees/split.js';
import { itemClearedEventOf, type ClearedItem } from './cleared-item.js';
import {
  clearingEntryOf,
  paymentFigures,
  refundFigures,
  type ClearingEntryFacts,
  type ClearingFigures,
} from './clearing-entry.js';

const templates = new Map(DEFAULT_ACCOUNT_TEMPLATES.map((t) => [t.code, t]));

const rule: FeeRule = {
  id: '1',
  version: 1,
  scope: { merchantId: null, channel: null, paymentMethod: null },
  currency: 'CNY',
  formula: { kind: 'PERCENTAGE', rate: '0.006', rounding: 'HALF_UP' },
  refundPolicy: 'PRO_RATA',
  effectiveFrom: '2026-01-01T00:00:00+08:00',
  effectiveTo: null,
};

const facts = (type: 'PAYMENT' | 'REFUND'): ClearingEntryFacts => ({
  transactionEventId: type === 'PAYMENT' ? 'e-O1' : 'e-R1',
  type,
  merchantId: 'M00016',
  channel: 'WECHAT',
  orderNo: 'O1',
  refundNo: type === 'PAYMENT' ? null : 'R1',
  businessDate: '2026-11-22',
  effectiveAt: '2026-11-23T02:00:00.000Z',
});

const lines = (draft: EntryDraft) =>
  draft.postings.map(
    (p) =>
      `${p.side === 'DEBIT' ? 'Dr' : 'Cr'} ${p.account.template}${p.account.owner ? `:${p.account.owner}` : ''} ${p.amount}`,
  );

describe('clearingEntryOf', () => {
  it("books a payment's split: pending to settleable and fee income, the channel's cost against its receivable", () => {
    // The sample's O202611220000011: 114.91 paid, fee 0.6% = 0.69, the statement's fee 0.69.
    const split = splitPayment({ amount: '114.91', currency: 'CNY', channelFee: '0.69' }, rule, null);
    const draft = clearingEntryOf(facts('PAYMENT'), paymentFigures(split));
    expect(lines(draft)).toEqual([
      'Dr merchant_pending:M00016 114.91',
      'Cr merchant_settleable:M00016 114.22',
      'Cr fee_income 0.69',
      'Dr channel_fee_expense:WECHAT 0.69',
      'Cr channel_receivable:WECHAT 0.69',
    ]);
    expect(draft).toMatchObject({
      idempotencyKey: 'clearing:e-O1',
      businessRef: 'WECHAT:O1',
      effectiveAt: '2026-11-23T02:00:00.000Z',
      metadata: { businessDate: '2026-11-22', type: 'PAYMENT' },
    });
    expect(() => validateEntry(draft, templates)).not.toThrow();
  });

  it('a coupon: the merchant-funded part is never owed, the platform-funded part is', () => {
    const split = splitPayment(
      {
        amount: '90.00',
        currency: 'CNY',
        coupon: { amount: '10.00', merchantFunded: '4.00', platformFunded: '6.00' },
      },
      rule,
      { channel: 'WECHAT', rate: '0.006', effectiveFrom: '2026-01-01T00:00:00Z', effectiveTo: null },
    );
    // Order value 100.00, fee 0.60; pending 96.00; channel cost 0.6% of the 90.00 paid = 0.54.
    expect(lines(clearingEntryOf(facts('PAYMENT'), paymentFigures(split)))).toEqual([
      'Dr merchant_pending:M00016 96.00',
      'Cr merchant_settleable:M00016 95.40',
      'Cr fee_income 0.60',
      'Dr channel_fee_expense:WECHAT 0.54',
      'Cr channel_receivable:WECHAT 0.54',
    ]);
  });

  it("mirrors a payment for its refund: back into pending, out of settleable, the fee and the channel's fee returned", () => {
    const payment = splitPayment({ amount: '114.91', currency: 'CNY', channelFee: '0.69' }, rule, null);
    const split = splitRefund({
      amount: '57.45',
      currency: 'CNY',
      payment,
      refundedBefore: '0.00',
      feeReturnedBefore: '0.00',
      policy: 'PRO_RATA',
      channelFee: '-0.34',
    });
    const figures = refundFigures(split);
    // 0.69 × 57.45 / 114.91 = 0.3449… → 0.34 returned.
    expect(figures).toMatchObject({
      gross: '-57.45',
      pending: '-57.45',
      fee: '-0.34',
      net: '-57.11',
      channelCost: '-0.34',
    });
    expect(lines(clearingEntryOf(facts('REFUND'), figures))).toEqual([
      'Cr merchant_pending:M00016 57.45',
      'Dr merchant_settleable:M00016 57.11',
      'Dr fee_income 0.34',
      'Cr channel_fee_expense:WECHAT 0.34',
      'Dr channel_receivable:WECHAT 0.34',
    ]);
  });

  it('a refund whose fee returned exceeds it credits settleable, and zero figures post nothing', () => {
    const figures: ClearingFigures = {
      currency: 'CNY',
      amount: '0.50',
      gross: '-0.50',
      pending: '-0.50',
      fee: '-0.80',
      channelCost: '0.00',
      net: '0.30',
      orderValue: null,
      couponMerchantFunded: null,
      couponPlatformFunded: null,
    };
    expect(lines(clearingEntryOf(facts('REFUND'), figures))).toEqual([
      'Cr merchant_pending:M00016 0.50',
      'Cr merchant_settleable:M00016 0.30',
      'Dr fee_income 0.80',
    ]);
  });

  it('is balanced and agrees with the published event for any payment and refunds of it', () => {
    const cents = (max: number) =>
      fc.integer({ min: 1, max }).map((n) => Money.fromMinorUnits(BigInt(n), 'CNY'));
    fc.assert(
      fc.property(
        cents(10_000_000),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 1, max: 100 }),
        fc.constantFrom('NONE', 'FULL', 'PRO_RATA' as const),
        (amount, couponPct, merchantPct, refundPct, policy) => {
          const coupon = Money.fromMinorUnits((amount.toMinorUnits() * BigInt(couponPct)) / 100n, 'CNY');
          const merchantFunded = Money.fromMinorUnits(
            (coupon.toMinorUnits() * BigInt(merchantPct)) / 100n,
            'CNY',
          );
          const payment = splitPayment(
            {
              amount: amount.toString(),
              currency: 'CNY',
              coupon: {
                amount: coupon.toString(),
                merchantFunded: merchantFunded.toString(),
                platformFunded: coupon.minus(merchantFunded).toString(),
              },
            },
            { ...rule, refundPolicy: policy },
            { channel: 'WECHAT', rate: '0.006', effectiveFrom: '2026-01-01T00:00:00Z', effectiveTo: null },
          );
          const refundAmount = Money.fromMinorUnits(
            (amount.toMinorUnits() * BigInt(refundPct) + 99n) / 100n,
            'CNY',
          );
          const refund = splitRefund({
            amount: refundAmount.toString(),
            currency: 'CNY',
            payment,
            refundedBefore: '0.00',
            feeReturnedBefore: '0.00',
            policy,
          });
          for (const [type, figures] of [
            ['PAYMENT', paymentFigures(payment)],
            ['REFUND', refundFigures(refund)],
          ] as const) {
            const draft = clearingEntryOf(facts(type), figures);
            expect(() => validateEntry(draft, templates)).not.toThrow();
            const item: ClearedItem = {
              ...facts(type),
              matchedEventId: '665c62ba-24ee-0d59-8573-2ad7a3e65b00',
              paymentTransactionEventId: type === 'PAYMENT' ? null : 'e-O1',
              figures,
              feeRuleId: '1',
              feeRuleVersion: 1,
              refundFeePolicy: type === 'PAYMENT' ? policy : null,
              feeRounding: null,
              journalEntryId: '7',
              clearedAt: '2026-11-23T02:00:01.000Z',
            };
            const parsed = parseClearingItemClearedV1(itemClearedEventOf(item));
            if (!parsed.ok) throw new Error(`${type}: ${parsed.reason}`);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
