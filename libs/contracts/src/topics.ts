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

/** Event fields a topic may be keyed by: each is a required string field of that topic's events. */
export const TOPIC_KEY_FIELDS = ['merchantId', 'settlementRecordId'] as const;
export type TopicKeyField = (typeof TOPIC_KEY_FIELDS)[number];

export interface TopicDefinition {
  readonly name: TopicName;
  readonly dlq: DlqTopicName;
  /** Event field whose value is the Kafka message key; it decides the partition and so the order. */
  readonly key: TopicKeyField;
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
 * The money flow up to clearing is keyed by merchantId: each merchant's facts stay in order on one
 * partition, and partitions (and later database shards) split along merchants — see DESIGN §3.
 * The payout topics are keyed by settlementRecordId instead: what must stay in order is one
 * record's requests and the gateway's answers about them; two records' payouts do not depend on
 * each other, so a merchant's payouts need not queue behind one another.
 */
export const TOPICS: readonly TopicDefinition[] = Object.freeze(
  (
    [
      {
        name: PAYMENTS_TRANSACTION_V1,
        key: 'merchantId',
        producer: 'order, payment gateway, refund and coupon services',
        consumers: ['reconciliation'],
        description: 'A payment, refund or reversal succeeded at a channel (internal record of truth).',
      },
      {
        name: RECON_ITEM_MATCHED_V1,
        key: 'merchantId',
        producer: 'reconciliation',
        consumers: ['clearing'],
        description: 'An internal transaction and a channel statement line agree; only these are cleared.',
      },
      {
        name: CLEARING_ITEM_CLEARED_V1,
        key: 'merchantId',
        producer: 'clearing',
        consumers: ['settlement'],
        description: 'A matched item was split into merchant net, fees and coupon funding and journaled.',
      },
      {
        name: SETTLEMENT_PAYOUT_REQUESTED_V1,
        key: 'settlementRecordId',
        producer: 'settlement',
        consumers: ['payout gateway'],
        description: 'An approved settlement record asks the payout gateway to pay a merchant.',
      },
      {
        name: SETTLEMENT_PAYOUT_RESULT_V1,
        key: 'settlementRecordId',
        producer: 'payout gateway',
        consumers: ['settlement'],
        description: 'The outcome of a payout attempt: PAID or FAILED.',
      },
    ] as const
  ).map((topic) => Object.freeze({ ...topic, dlq: dlqTopicOf(topic.name) })),
);

const topicNames: ReadonlySet<string> = new Set(TOPICS.map((topic) => topic.name));

export function isTopicName(value: unknown): value is TopicName {
  return typeof value === 'string' && topicNames.has(value);
}
