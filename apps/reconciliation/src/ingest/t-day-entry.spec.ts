import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Money } from '@app/contracts';
import { DEFAULT_ACCOUNT_TEMPLATES, validateEntry, type EntryDraft } from '@app/ledger';
import type { InternalTransaction } from './internal-transaction.js';
import { tDayEntryOf, type TDayFacts } from './t-day-entry.js';

const TEMPLATES = new Map(DEFAULT_ACCOUNT_TEMPLATES.map((t) => [t.code, t]));

const payment = (overrides: Partial<TDayFacts> = {}): TDayFacts => ({
  eventId: 'e-1',
  eventType: 'PAYMENT_SUCCEEDED',
  merchantId: 'M00001',
  channel: 'WECHAT',
  orderNo: 'O1',
  refundNo: null,
  amount: '90.00',
  currency: 'CNY',
  couponPlatformFunded: null,
  occurredAt: '2026-11-22T01:02:03.000Z',
  businessDate: '2026-11-22',
  ...overrides,
});

/** Postings as `side account amount` lines, the way an accountant reads an entry. */
const lines = (draft: EntryDraft) =>
  draft.postings.map(
    (p) =>
      `${p.side === 'DEBIT' ? 'Dr' : 'Cr'} ${p.account.template}${p.account.owner ? `:${p.account.owner}` : ''} ${p.amount} ${p.currency}`,
  );

describe('tDayEntryOf', () => {
  it('books a payment without coupon: channel receivable against merchant pending', () => {
    const draft = tDayEntryOf(payment());
    expect(lines(draft)).toEqual([
      'Dr channel_receivable:WECHAT 90.00 CNY',
      'Cr merchant_pending:M00001 90.00 CNY',
    ]);
    expect(draft).toMatchObject({
      idempotencyKey: 'recon.t-day:e-1',
      businessRef: 'WECHAT:O1',
      effectiveAt: '2026-11-22T01:02:03.000Z',
      metadata: { businessDate: '2026-11-22' },
    });
  });

  it('owes the merchant the platform-funded part of a coupon, not the merchant-funded part', () => {
    // Order value 100.00 = paid 90.00 + coupon 10.00 (merchant 4.00, platform 6.00).
    const draft = tDayEntryOf(payment({ couponPlatformFunded: '6.00' }));
    expect(lines(draft)).toEqual([
      'Dr channel_receivable:WECHAT 90.00 CNY',
      'Dr marketing_expense 6.00 CNY',
      'Cr merchant_pending:M00001 96.00 CNY',
    ]);
  });

  it('leaves marketing expense out when the platform funds none of the coupon', () => {
    expect(lines(tDayEntryOf(payment({ couponPlatformFunded: '0.00' })))).toEqual([
      'Dr channel_receivable:WECHAT 90.00 CNY',
      'Cr merchant_pending:M00001 90.00 CNY',
    ]);
  });

  it('books a refund out of merchant pending, and ignores a coupon on it (not modelled yet)', () => {
    const draft = tDayEntryOf(
      payment({
        eventId: 'e-r1',
        eventType: 'REFUND_SUCCEEDED',
        refundNo: 'R1',
        amount: '30.00',
        couponPlatformFunded: '2.00',
      }),
    );
    expect(lines(draft)).toEqual([
      'Dr merchant_pending:M00001 30.00 CNY',
      'Cr channel_receivable:WECHAT 30.00 CNY',
    ]);
    expect(draft).toMatchObject({ idempotencyKey: 'recon.t-day:e-r1', businessRef: 'WECHAT:O1' });
    expect(draft.description).toBe('T-day refund WECHAT O1 R1');
  });

  it('books a reversal as the mirror of the payment with the same facts', () => {
    const draft = tDayEntryOf(
      payment({ eventId: 'e-x1', eventType: 'PAYMENT_REVERSED', couponPlatformFunded: '6.00' }),
    );
    expect(lines(draft)).toEqual([
      'Cr channel_receivable:WECHAT 90.00 CNY',
      'Cr marketing_expense 6.00 CNY',
      'Dr merchant_pending:M00001 96.00 CNY',
    ]);
  });

  it('writes amounts at the currency scale, whatever the notation of the event', () => {
    expect(
      lines(tDayEntryOf(payment({ amount: '1500', currency: 'JPY', couponPlatformFunded: '20' }))),
    ).toEqual([
      'Dr channel_receivable:WECHAT 1500 JPY',
      'Dr marketing_expense 20 JPY',
      'Cr merchant_pending:M00001 1520 JPY',
    ]);
    expect(lines(tDayEntryOf(payment({ amount: '90.5' })))[0]).toBe('Dr channel_receivable:WECHAT 90.50 CNY');
  });
});

describe('tDayEntryOf, for any valid payment with a coupon', () => {
  const CURRENCIES = [
    ['CNY', 2],
    ['JPY', 0],
    ['BHD', 3],
  ] as const;

  /** A payment as the contract admits it: amount > 0, coupon parts ≥ 0 adding up, at the currency scale. */
  const paymentArb = fc
    .record({
      currency: fc.constantFrom(...CURRENCIES),
      // The contract bounds amount + coupon by AMOUNT_MAX_MINOR_UNITS (10^15 − 1).
      amountUnits: fc.bigInt({ min: 1n, max: 10n ** 15n - 1n - 2n * 10n ** 12n }),
      merchantUnits: fc.bigInt({ min: 0n, max: 10n ** 12n }),
      platformUnits: fc.bigInt({ min: 0n, max: 10n ** 12n }),
      couponed: fc.boolean(),
      merchantId: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
      channel: fc.stringMatching(/^[A-Z][A-Z0-9_]{0,31}$/),
      eventId: fc.uuid(),
    })
    .map(({ currency: [currency], amountUnits, merchantUnits, platformUnits, couponed, ...ids }) => {
      const money = (units: bigint) => Money.fromMinorUnits(units, currency).toString();
      const transaction: TDayFacts & Pick<InternalTransaction, 'couponAmount' | 'couponMerchantFunded'> = {
        ...payment(ids),
        amount: money(amountUnits),
        currency,
        couponAmount: couponed ? money(merchantUnits + platformUnits) : null,
        couponMerchantFunded: couponed ? money(merchantUnits) : null,
        couponPlatformFunded: couponed ? money(platformUnits) : null,
      };
      return transaction;
    });

  const sum = (draft: EntryDraft, side: 'DEBIT' | 'CREDIT') =>
    draft.postings
      .filter((p) => p.side === side)
      .reduce(
        (total, p) => total.plus(Money.parse(p.amount, p.currency, { sum: true })),
        Money.zero(draft.postings[0]!.currency),
      );

  it('balances exactly and credits merchant pending with amount + platform-funded part', () => {
    fc.assert(
      fc.property(paymentArb, (t) => {
        const draft = tDayEntryOf(t);
        const zero = Money.zero(t.currency);
        const amount = Money.parse(t.amount, t.currency);
        const platform =
          t.couponPlatformFunded === null ? zero : Money.parse(t.couponPlatformFunded, t.currency);
        expect(sum(draft, 'DEBIT').equals(sum(draft, 'CREDIT'))).toBe(true);
        const merchant = draft.postings.filter((p) => p.account.template === 'merchant_pending');
        expect(merchant).toEqual([
          {
            account: { template: 'merchant_pending', owner: t.merchantId },
            side: 'CREDIT',
            amount: amount.plus(platform).toString(),
            currency: t.currency,
          },
        ]);
        // Order value less the merchant-funded part: the same figure from the other side.
        if (t.couponAmount !== null) {
          const orderValue = amount.plus(Money.parse(t.couponAmount, t.currency));
          const merchantFunded = Money.parse(t.couponMerchantFunded!, t.currency);
          expect(merchant[0]!.amount).toBe(orderValue.minus(merchantFunded).toString());
        }
        const marketing = draft.postings.filter((p) => p.account.template === 'marketing_expense');
        expect(marketing).toEqual(
          platform.isZero()
            ? []
            : [
                {
                  account: { template: 'marketing_expense' },
                  side: 'DEBIT',
                  amount: platform.toString(),
                  currency: t.currency,
                },
              ],
        );
        // The ledger's own validation (templates, owners, scale, balance) takes it as it is.
        expect(() => validateEntry(draft, TEMPLATES)).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });

  it('reverses to exactly the payment entry with every side swapped', () => {
    fc.assert(
      fc.property(paymentArb, (t) => {
        const paid = tDayEntryOf(t);
        const reversed = tDayEntryOf({ ...t, eventId: `${t.eventId}-x`, eventType: 'PAYMENT_REVERSED' });
        expect(reversed.postings).toEqual(
          paid.postings.map((p) => ({ ...p, side: p.side === 'DEBIT' ? 'CREDIT' : 'DEBIT' })),
        );
        expect(() => validateEntry(reversed, TEMPLATES)).not.toThrow();
      }),
      { numRuns: 200 },
    );
  });
});
