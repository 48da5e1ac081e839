import type { PaymentsTransactionV1 } from '@app/contracts';
import { businessKeyOf, describeConflict, toInternalTransaction } from './internal-transaction.js';

const shanghai = { zone: 'Asia/Shanghai', cutoffLocalTime: '00:00' };

const payment = (overrides: Partial<PaymentsTransactionV1> = {}): PaymentsTransactionV1 => ({
  eventId: 'e-1',
  type: 'PAYMENT_SUCCEEDED',
  occurredAt: '2026-11-21T16:00:00.000Z',
  merchantId: 'M00001',
  channel: 'WECHAT',
  orderNo: 'O1',
  amount: '100.00',
  currency: 'CNY',
  ...overrides,
});

describe('toInternalTransaction', () => {
  it('dates the transaction in the channel zone, not in UTC', () => {
    // 16:00Z on the 21st is 00:00 on the 22nd in Shanghai.
    expect(toInternalTransaction(payment(), shanghai).businessDate).toBe('2026-11-22');
    expect(
      toInternalTransaction(payment({ occurredAt: '2026-11-21T15:59:59.999Z' }), shanghai).businessDate,
    ).toBe('2026-11-21');
  });

  it('keeps money as the decimal strings it was given and coupon parts apart', () => {
    const row = toInternalTransaction(
      payment({
        amount: '90.00',
        coupon: { amount: '10.00', merchantFunded: '4.00', platformFunded: '6.00' },
      }),
      shanghai,
    );
    expect(row).toMatchObject({
      amount: '90.00',
      couponAmount: '10.00',
      couponMerchantFunded: '4.00',
      couponPlatformFunded: '6.00',
      refundNo: null,
      businessZone: 'Asia/Shanghai',
    });
  });
});

describe('describeConflict', () => {
  const recorded = { eventId: 'e-1', merchantId: 'M00001', amount: '100.00', currency: 'CNY' };

  it('treats a re-send of the same facts as harmless, whatever the amount notation', () => {
    expect(
      describeConflict(recorded, { merchantId: 'M00001', amount: '100', currency: 'CNY' }),
    ).toBeUndefined();
  });

  it('names every field that differs', () => {
    expect(describeConflict(recorded, { merchantId: 'M00002', amount: '100.01', currency: 'CNY' })).toBe(
      'conflicts with event e-1 already recorded for the same transaction: merchantId M00001 ≠ M00002, amount 100.00 ≠ 100.01',
    );
  });
});

describe('businessKeyOf', () => {
  it('separates a payment from its refunds', () => {
    const pay = { channel: 'WECHAT', eventType: 'PAYMENT_SUCCEEDED' as const, orderNo: 'O1', refundNo: null };
    const refund = {
      channel: 'WECHAT',
      eventType: 'REFUND_SUCCEEDED' as const,
      orderNo: 'O1',
      refundNo: 'R1',
    };
    expect(businessKeyOf(pay)).not.toBe(businessKeyOf(refund));
  });
});
