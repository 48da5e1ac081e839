import {
  clearingItemClearedEventId,
  CLEARING_ITEM_CLEARED_V1,
  type ClearingItemClearedV1Input,
  type ReconItemMatchedV1,
} from '@app/contracts';
import { topicName, type OutboxMessage } from '@app/messaging';
import type { PaymentSplit, RefundFeePolicy } from '../fees/fee.types.js';
import type { ClearingEntryFacts, ClearingFigures } from './clearing-entry.js';

/** One cleared transaction (清分结果): a row of clearing.cleared_item, the settlement's input. */
export interface ClearedItem extends ClearingEntryFacts {
  matchedEventId: string;
  /** REFUND: the transaction event id of the cleared payment it refunds. */
  paymentTransactionEventId: string | null;
  figures: ClearingFigures;
  feeRuleId: string;
  feeRuleVersion: number;
  /** PAYMENT: its rule's refund policy and rounding, for its refunds. */
  refundFeePolicy: RefundFeePolicy | null;
  feeRounding: string | null;
  journalEntryId: string;
  clearedAt: string;
}

/** A cleared payment as its refunds need it, with what earlier refunds already took back. */
export interface ClearedPayment {
  item: ClearedItem;
  split: PaymentSplit;
  refundedBefore: string;
  feeReturnedBefore: string;
}

export function paymentSplitOf(item: ClearedItem): PaymentSplit {
  const f = item.figures;
  return {
    currency: f.currency,
    amount: f.amount,
    orderValue: f.orderValue!,
    couponMerchantFunded: f.couponMerchantFunded!,
    couponPlatformFunded: f.couponPlatformFunded!,
    pending: f.pending,
    fee: f.fee,
    merchantNet: f.net,
    channelCost: f.channelCost,
  };
}

/** The facts of a matched transaction that its cleared item and entry are keyed and labelled by. */
export function entryFactsOf(event: ReconItemMatchedV1, effectiveAt: string): ClearingEntryFacts {
  const t = event.transaction;
  return {
    transactionEventId: t.eventId,
    type: t.type === 'PAYMENT_SUCCEEDED' ? 'PAYMENT' : 'REFUND',
    merchantId: event.merchantId,
    channel: event.channel,
    orderNo: t.orderNo,
    refundNo: t.refundNo ?? null,
    businessDate: event.businessDate,
    effectiveAt,
  };
}

/** clearing.item-cleared.v1 of a cleared item, in the contract's field order. */
export function itemClearedEventOf(item: ClearedItem): ClearingItemClearedV1Input {
  const f = item.figures;
  return {
    eventId: clearingItemClearedEventId(item.transactionEventId),
    occurredAt: item.clearedAt,
    merchantId: item.merchantId,
    channel: item.channel,
    businessDate: item.businessDate,
    type: item.type,
    transactionEventId: item.transactionEventId,
    matchedEventId: item.matchedEventId,
    orderNo: item.orderNo,
    ...(item.refundNo === null ? {} : { refundNo: item.refundNo }),
    ...(item.paymentTransactionEventId === null
      ? {}
      : { paymentTransactionEventId: item.paymentTransactionEventId }),
    currency: f.currency as ClearingItemClearedV1Input['currency'],
    amount: f.amount,
    ...(f.orderValue === null
      ? {}
      : {
          orderValue: f.orderValue,
          couponMerchantFunded: f.couponMerchantFunded!,
          couponPlatformFunded: f.couponPlatformFunded!,
        }),
    gross: f.gross,
    fee: f.fee,
    channelCost: f.channelCost,
    net: f.net,
    feeRuleId: item.feeRuleId,
    feeRuleVersion: item.feeRuleVersion,
    journalEntryId: item.journalEntryId,
  };
}

/** The outbox row that publishes a cleared item, keyed by merchant; one per transaction. */
export function itemClearedMessage(item: ClearedItem, topicPrefix: string): OutboxMessage {
  return {
    topic: topicName(topicPrefix, CLEARING_ITEM_CLEARED_V1),
    key: item.merchantId,
    value: JSON.stringify(itemClearedEventOf(item)),
    dedupeKey: `item-cleared:${item.transactionEventId}`,
  };
}
