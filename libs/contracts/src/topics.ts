/**
 * Topic names carry their contract version: a breaking change is a new topic (`.v2`) that runs
 * beside the old one until every consumer has moved, never an in-place change.
 */
export const PAYMENTS_TRANSACTION_V1 = 'payments.transaction.v1';
export const RECON_ITEM_MATCHED_V1 = 'recon.item-matched.v1';
export const CLEARING_ITEM_CLEARED_V1 = 'clearing.item-cleared.v1';
export const SETTLEMENT_PAYOUT_REQUESTED_V1 = 'settlement.payout-requested.v1';
export const SETTLEMENT_PAYOUT_RESULT_V1 = 'settlement.payout-result.v1';

/** The same names by role, for call sites that read better as `TOPIC.paymentsTransactionV1`. */
export const TOPIC = Object.freeze({
  paymentsTransactionV1: PAYMENTS_TRANSACTION_V1,
  reconItemMatchedV1: RECON_ITEM_MATCHED_V1,
  clearingItemClearedV1: CLEARING_ITEM_CLEARED_V1,
  settlementPayoutRequestedV1: SETTLEMENT_PAYOUT_REQUESTED_V1,
  settlementPayoutResultV1: SETTLEMENT_PAYOUT_RESULT_V1,
} as const);

export type TopicName =
  | typeof PAYMENTS_TRANSACTION_V1
  | typeof RECON_ITEM_MATCHED_V1
  | typeof CLEARING_ITEM_CLEARED_V1
  | typeof SETTLEMENT_PAYOUT_REQUESTED_V1
  | typeof SETTLEMENT_PAYOUT_RESULT_V1;

export const DLQ_SUFFIX = '.dlq';
export type DlqTopicName<T extends string = TopicName> = `${T}${typeof DLQ_SUFFIX}`;

export interface TopicDefinition {
  readonly name: TopicName;
  readonly dlq: DlqTopicName;
  /** Event field whose value is the Kafka message key; it decides the partition and so the order. */
  readonly key: 'merchantId';
  readonly producer: string;
  readonly consumers: readonly string[];
  readonly description: string;
}

/**
 * Works on any topic string, including environment-prefixed ones (`bench_42.payments.transaction.v1`).
 * A failure while consuming a DLQ goes to `<dlq>.dlq` rather than back into the DLQ it came from,
 * so a reprocessing loop can never feed itself.
 */
export function dlqTopicOf<T extends string>(topic: T): DlqTopicName<T> {
  return `${topic}${DLQ_SUFFIX}`;
}

/**
 * Every topic the engine owns, for ops scripts that create them (each with its DLQ, same key).
 * All are keyed by merchantId: each merchant's facts stay in order on one partition, and
 * partitions (and later database shards) split along merchants — see DESIGN §3.
 */
export const TOPICS: readonly TopicDefinition[] = Object.freeze(
  (
    [
      {
        name: PAYMENTS_TRANSACTION_V1,
        producer: 'order, payment gateway, refund and coupon services',
        consumers: ['reconciliation'],
        description: 'A payment, refund or reversal succeeded at a channel (internal record of truth).',
      },
      {
        name: RECON_ITEM_MATCHED_V1,
        producer: 'reconciliation',
        consumers: ['clearing'],
        description: 'An internal transaction and a channel statement line agree; only these are cleared.',
      },
      {
        name: CLEARING_ITEM_CLEARED_V1,
        producer: 'clearing',
        consumers: ['settlement'],
        description: 'A matched item was split into merchant net, fees and coupon funding and journaled.',
      },
      {
        name: SETTLEMENT_PAYOUT_REQUESTED_V1,
        producer: 'settlement',
        consumers: ['payout gateway'],
        description: 'An approved settlement record asks the payout gateway to pay a merchant.',
      },
      {
        name: SETTLEMENT_PAYOUT_RESULT_V1,
        producer: 'payout gateway',
        consumers: ['settlement'],
        description: 'The outcome of a payout attempt: PAID or FAILED.',
      },
    ] as const
  ).map((topic) => Object.freeze({ ...topic, key: 'merchantId' as const, dlq: dlqTopicOf(topic.name) })),
);

const topicNames: ReadonlySet<string> = new Set(TOPICS.map((topic) => topic.name));

export function isTopicName(value: unknown): value is TopicName {
  return typeof value === 'string' && topicNames.has(value);
}
