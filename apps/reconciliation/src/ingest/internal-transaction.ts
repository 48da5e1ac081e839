import { businessDateOf, type PaymentsTransactionV1 } from '@app/contracts';
import { Decimal } from 'decimal.js';

/** Zone and cut-off a channel closes its statement day by. */
export interface ChannelCalendar {
  zone: string;
  cutoffLocalTime: string;
}

/** 我方交易: one payment, refund or reversal as our platform recorded it. Money stays a decimal string. */
export interface InternalTransaction {
  eventId: string;
  eventType: PaymentsTransactionV1['type'];
  merchantId: string;
  channel: string;
  orderNo: string;
  refundNo: string | null;
  channelTxnId: string | null;
  paymentMethod: string | null;
  amount: string;
  currency: string;
  couponAmount: string | null;
  couponMerchantFunded: string | null;
  couponPlatformFunded: string | null;
  occurredAt: string;
  businessDate: string;
  businessZone: string;
  metadata: Record<string, unknown> | null;
}

export function toInternalTransaction(
  event: PaymentsTransactionV1,
  calendar: ChannelCalendar,
): InternalTransaction {
  return {
    eventId: event.eventId,
    eventType: event.type,
    merchantId: event.merchantId,
    channel: event.channel,
    orderNo: event.orderNo,
    refundNo: event.refundNo ?? null,
    channelTxnId: event.channelTxnId ?? null,
    paymentMethod: event.paymentMethod ?? null,
    amount: event.amount,
    currency: event.currency,
    couponAmount: event.coupon?.amount ?? null,
    couponMerchantFunded: event.coupon?.merchantFunded ?? null,
    couponPlatformFunded: event.coupon?.platformFunded ?? null,
    occurredAt: event.occurredAt,
    businessDate: businessDateOf(event.occurredAt, calendar),
    businessZone: calendar.zone,
    metadata: event.metadata ?? null,
  };
}

/** The identity of a business transaction, independent of which event carried it. */
export function businessKeyOf(
  t: Pick<InternalTransaction, 'channel' | 'eventType' | 'orderNo' | 'refundNo'>,
): string {
  return `${t.channel}|${t.eventType}|${t.orderNo}|${t.refundNo ?? ''}`;
}

/**
 * A second event for an already-recorded business transaction is harmless when it says the same
 * thing (a publisher retry with a fresh event id) and a conflict when it does not: the conflict must
 * be looked at by a person, so it is rejected to the DLQ rather than silently kept or dropped.
 */
export function describeConflict(
  recorded: Pick<InternalTransaction, 'eventId' | 'merchantId' | 'amount' | 'currency'>,
  incoming: Pick<InternalTransaction, 'merchantId' | 'amount' | 'currency'>,
): string | undefined {
  const differences: string[] = [];
  if (recorded.merchantId !== incoming.merchantId)
    differences.push(`merchantId ${recorded.merchantId} ≠ ${incoming.merchantId}`);
  if (recorded.currency !== incoming.currency)
    differences.push(`currency ${recorded.currency} ≠ ${incoming.currency}`);
  else if (!new Decimal(recorded.amount).equals(incoming.amount))
    differences.push(`amount ${recorded.amount} ≠ ${incoming.amount}`);
  if (differences.length === 0) return undefined;
  return `conflicts with event ${recorded.eventId} already recorded for the same transaction: ${differences.join(', ')}`;
}
