import { describe, expect, it } from '@jest/globals';
import {
  clearingItemClearedEventId,
  clearingItemClearedV1Schema,
  decodeClearingItemClearedV1,
  parseClearingItemClearedV1,
} from './clearing-item-cleared.v1.js';
import {
  contractSpec,
  expectMd5Uuid,
  expectOneEventIdPerKey,
  itIsRegistered,
  junkOf,
  mutatedEvents,
} from './contract-spec-support.js';

/** The sample day's first payment: 239.54 paid, fee 0.6% = 1.44, channel line fee 1.44. */
const payment = {
  eventId: clearingItemClearedEventId('e-O202611220000000'),
  occurredAt: '2026-11-23T02:00:06.000Z',
  merchantId: 'M00013',
  channel: 'WECHAT',
  businessDate: '2026-11-22',
  type: 'PAYMENT',
  transactionEventId: 'e-O202611220000000',
  matchedEventId: '665c62ba-24ee-0d59-8573-2ad7a3e65b00',
  orderNo: 'O202611220000000',
  currency: 'CNY',
  amount: '239.54',
  orderValue: '239.54',
  couponMerchantFunded: '0.00',
  couponPlatformFunded: '0.00',
  gross: '239.54',
  fee: '1.44',
  channelCost: '1.44',
  net: '238.10',
  feeRuleId: '1',
  feeRuleVersion: 1,
  journalEntryId: '1043',
} as const;

/** A coupon of 10.00 on top of 90.00 paid: 6.00 merchant-funded, 4.00 platform-funded. */
const withCoupon = {
  ...payment,
  amount: '90.00',
  orderValue: '100.00',
  couponMerchantFunded: '6.00',
  couponPlatformFunded: '4.00',
  gross: '100.00',
  fee: '0.60',
  channelCost: '0.54',
  net: '93.40',
} as const;

/** Half of a 114.91 payment refunded: 57.45 back, PRO_RATA fee 0.69 × 57.45 / 114.91 = 0.34 returned. */
const refund = {
  ...payment,
  eventId: clearingItemClearedEventId('e-RO202611220000011'),
  merchantId: 'M00016',
  type: 'REFUND',
  transactionEventId: 'e-RO202611220000011',
  orderNo: 'O202611220000011',
  refundNo: 'RO202611220000011',
  paymentTransactionEventId: 'e-O202611220000011',
  amount: '57.45',
  orderValue: undefined,
  couponMerchantFunded: undefined,
  couponPlatformFunded: undefined,
  gross: '-57.45',
  fee: '-0.34',
  channelCost: '-0.34',
  net: '-57.11',
} as const;

const refundEvent: Record<string, unknown> = Object.fromEntries(
  Object.entries(refund).filter(([, v]) => v !== undefined),
);

const { reasonOf, valueOf, itAgreesWithTheFullSchema } = contractSpec({
  parse: parseClearingItemClearedV1,
  decode: decodeClearingItemClearedV1,
  schema: clearingItemClearedV1Schema,
});

describe('clearingItemClearedEventId', () => {
  it("equals Postgres md5('clearing.item-cleared.v1:' || transaction event id)::uuid", () => {
    expectMd5Uuid(clearingItemClearedEventId('e1'), 'clearing.item-cleared.v1:e1');
  });

  it('is deterministic and differs per transaction', () => {
    expectOneEventIdPerKey(clearingItemClearedEventId, 40);
  });
});

describe('clearing.item-cleared.v1 accepts', () => {
  it('a payment, a payment with a coupon and a refund', () => {
    expect(valueOf(payment)).toEqual(payment);
    expect(valueOf(withCoupon)).toEqual(withCoupon);
    expect(valueOf(refundEvent)).toEqual(refundEvent);
  });

  it('a payment whose fee exceeds what it leaves the merchant (net negative), and zero figures', () => {
    const tiny = {
      ...payment,
      amount: '0.50',
      orderValue: '0.50',
      gross: '0.50',
      fee: '1.00',
      channelCost: '0.00',
      net: '-0.50',
    };
    expect(valueOf(tiny)).toEqual(tiny);
    const refundWithoutFee = { ...refundEvent, fee: '0.00', channelCost: '0.00', net: '-57.45' };
    expect(valueOf(refundWithoutFee)).toEqual(refundWithoutFee);
  });

  it('JPY without fraction digits, and strips unknown fields', () => {
    const jpy = {
      ...payment,
      currency: 'JPY',
      amount: '1500',
      orderValue: '1500',
      couponMerchantFunded: '0',
      couponPlatformFunded: '0',
      gross: '1500',
      fee: '9',
      channelCost: '9',
      net: '1491',
    };
    expect(valueOf({ ...jpy, extra: 1 })).toEqual(jpy);
  });
});

describe('clearing.item-cleared.v1 rejects, naming each bad field in one line', () => {
  it('fields of the other type, and missing fields of its own', () => {
    expect(reasonOf({ ...payment, refundNo: 'R1', paymentTransactionEventId: 'e2' })).toBe(
      'refundNo: must be absent when type is PAYMENT; paymentTransactionEventId: must be absent when type is PAYMENT',
    );
    const { orderValue: _, ...withoutOrderValue } = payment;
    expect(reasonOf(withoutOrderValue)).toBe('orderValue: required when type is PAYMENT');
    expect(reasonOf({ ...refundEvent, orderValue: '57.45', refundNo: undefined })).toBe(
      'refundNo: required when type is REFUND; orderValue: must be absent when type is REFUND',
    );
  });

  it('a split that does not add up', () => {
    expect(reasonOf({ ...payment, net: '238.11' })).toBe(
      'net: must be gross − couponMerchantFunded − fee = 238.10, got 238.11; the split must add up exactly',
    );
    expect(reasonOf({ ...withCoupon, orderValue: '99.00', gross: '99.00', net: '92.40' })).toBe(
      'orderValue: amount 90.00 + couponMerchantFunded 6.00 + couponPlatformFunded 4.00 = 100.00, but orderValue is 99.00',
    );
    expect(reasonOf({ ...payment, gross: '239.55', net: '238.11' })).toBe(
      'gross: must equal orderValue 239.54 for a PAYMENT, got 239.55',
    );
    expect(reasonOf({ ...refundEvent, gross: '-57.44', net: '-57.10' })).toBe(
      'gross: must be −amount (-57.45) for a REFUND, got -57.44',
    );
  });

  it('signs a type does not allow', () => {
    expect(reasonOf({ ...payment, fee: '-1.44', net: '240.98' })).toBe(
      'fee: must be ≥ 0 when type is PAYMENT, got -1.44',
    );
    expect(reasonOf({ ...refundEvent, fee: '0.34', channelCost: '0.34', net: '-57.79' })).toBe(
      'fee: must be ≤ 0 when type is REFUND, got 0.34; channelCost: must be ≤ 0 when type is REFUND, got 0.34',
    );
    expect(reasonOf({ ...refundEvent, amount: '57.45', gross: '57.45', net: '57.79' })).toContain(
      'gross: must be negative when type is REFUND, got 57.45',
    );
  });

  it('amounts beyond the currency scale, a zero amount, and money as JSON numbers', () => {
    expect(reasonOf({ ...payment, fee: '1.440', net: '238.100' })).toBe(
      'fee: "1.440" has 3 fraction digits; CNY allows at most 2; net: "238.100" has 3 fraction digits; CNY allows at most 2',
    );
    expect(reasonOf({ ...payment, amount: '0.00' })).toContain('amount: "0.00" is zero');
    expect(reasonOf({ ...payment, net: 238.1 })).toBe(
      'net: must be a decimal string, got a JSON number (238.1)',
    );
  });

  it('a bad id, type, version or date', () => {
    expect(reasonOf({ ...payment, eventId: 'E1' })).toContain('eventId: must be a lower-case UUID');
    expect(reasonOf({ ...payment, type: 'REVERSAL' })).toBe(
      'type: must be one of PAYMENT, REFUND, got "REVERSAL"',
    );
    expect(reasonOf({ ...payment, feeRuleVersion: 0 })).toBe('feeRuleVersion: must be at least 1, got 0');
    expect(reasonOf({ ...payment, journalEntryId: 1043 })).toBe(
      'journalEntryId: must be a string, got a JSON number (1043)',
    );
    expect(reasonOf({ ...payment, businessDate: '2026-02-30' })).toBe(
      `businessDate: "2026-02-30" is not a date 'YYYY-MM-DD'`,
    );
  });
});

describe('decodeClearingItemClearedV1', () => {
  it('decodes bytes and refuses empty or non-JSON values', () => {
    const decoded = decodeClearingItemClearedV1(Buffer.from(JSON.stringify(payment)));
    expect(decoded).toEqual({ ok: true, value: payment });
    expect(decodeClearingItemClearedV1(null)).toEqual({ ok: false, reason: 'empty message value (null)' });
    expect(decodeClearingItemClearedV1('{')).toMatchObject({ ok: false });
  });
});

describe('clearing.item-cleared.v1 JSON Schema', () => {
  const jsonSchema = itIsRegistered('clearing.item-cleared.v1', { name: 'ClearingItemCleared', version: 1 });

  it('shows the required fields, the signed figures and the presence rules by type', () => {
    const schema = jsonSchema() as {
      required: string[];
      properties: Record<string, { pattern?: string; enum?: string[] }>;
      allOf: unknown[];
      'x-rules': string[];
      'x-kafka-key': string;
    };
    expect(schema['x-kafka-key']).toBe('merchantId');
    expect(schema.required).toEqual([
      'eventId',
      'occurredAt',
      'merchantId',
      'channel',
      'businessDate',
      'type',
      'transactionEventId',
      'matchedEventId',
      'orderNo',
      'currency',
      'amount',
      'gross',
      'fee',
      'channelCost',
      'net',
      'feeRuleId',
      'feeRuleVersion',
      'journalEntryId',
    ]);
    for (const signed of ['gross', 'fee', 'channelCost', 'net'])
      expect(schema.properties[signed]?.pattern).toBe('^-?(0|[1-9]\\d*)(\\.\\d+)?$');
    expect(schema.properties.amount?.pattern).toBe('^(0|[1-9]\\d*)(\\.\\d+)?$');
    expect(schema.properties.type?.enum).toEqual(['PAYMENT', 'REFUND']);
    expect(schema.allOf).toHaveLength(2);
    expect(schema['x-rules'].length).toBeGreaterThan(5);
  });
});

describe('clearing.item-cleared.v1 fast path', () => {
  const junk = junkOf(
    [
      undefined,
      null,
      '',
      0,
      1,
      '0',
      '1.44',
      '-1.44',
      '0.00',
      '1.005',
      'CNY',
      'JPY',
      'REFUND',
      'PAYMENT',
      'R1',
    ],
    { jsonMaxDepth: 1, strings: false },
  );
  const mutated = mutatedEvents({
    bases: [payment, withCoupon, refundEvent],
    junk,
    fields: [...Object.keys(payment), 'refundNo', 'paymentTransactionEventId', 'extra'],
    maxChanges: 3,
  });

  itAgreesWithTheFullSchema(mutated, { numRuns: 3000, minAccepted: 100 });
});
