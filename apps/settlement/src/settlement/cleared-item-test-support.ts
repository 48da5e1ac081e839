import {
  clearingItemClearedEventId,
  Money,
  parseClearingItemClearedV1,
  type ClearingItemClearedV1,
  type ClearingItemClearedV1Input,
} from '@app/contracts';
import { randomUUID } from 'node:crypto';

/** Shared by settlement's tests: valid clearing.item-cleared.v1 events. Not used by production code. */

const CNY = (v: string) => Money.of(v, 'CNY');

let seq = 0;
/** A valid clearing.item-cleared.v1 with net `net` (a payment when positive, a refund when not). */
export function itemCleared(merchantId: string, businessDate: string, net: string): ClearingItemClearedV1 {
  const parsed = parseClearingItemClearedV1(itemClearedInput(merchantId, businessDate, net));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value;
}

function itemClearedInput(merchantId: string, businessDate: string, net: string): ClearingItemClearedV1Input {
  seq += 1;
  const transactionEventId = `tx-${merchantId}-${seq}`;
  const n = CNY(net);
  const common = {
    eventId: clearingItemClearedEventId(transactionEventId),
    occurredAt: `${businessDate}T10:00:00+08:00`,
    merchantId,
    channel: 'WECHAT',
    businessDate,
    transactionEventId,
    matchedEventId: randomUUID(),
    orderNo: `O-${seq}`,
    currency: 'CNY' as const,
    channelCost: '0.00',
    feeRuleId: '1',
    feeRuleVersion: 1,
    journalEntryId: '1',
  };
  if (n.isPositive()) {
    const gross = n.plus(CNY('1.00')).toString();
    return {
      ...common,
      type: 'PAYMENT',
      amount: gross,
      orderValue: gross,
      couponMerchantFunded: '0.00',
      couponPlatformFunded: '0.00',
      gross,
      fee: '1.00',
      net: n.toString(),
    };
  }
  return {
    ...common,
    type: 'REFUND',
    refundNo: `R-${seq}`,
    paymentTransactionEventId: `tx-paid-${seq}`,
    amount: n.negated().toString(),
    gross: n.toString(),
    fee: '0.00',
    net: n.toString(),
  };
}
