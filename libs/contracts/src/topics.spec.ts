import {
  CLEARING_ITEM_CLEARED_V1,
  PAYMENTS_TRANSACTION_V1,
  RECON_ITEM_MATCHED_V1,
  SETTLEMENT_PAYOUT_REQUESTED_V1,
  SETTLEMENT_PAYOUT_RESULT_V1,
  TOPIC,
  TOPICS,
  dlqTopicOf,
  isTopicName,
} from './topics.js';

describe('topics', () => {
  it('names every topic with its contract version', () => {
    expect([
      PAYMENTS_TRANSACTION_V1,
      RECON_ITEM_MATCHED_V1,
      CLEARING_ITEM_CLEARED_V1,
      SETTLEMENT_PAYOUT_REQUESTED_V1,
      SETTLEMENT_PAYOUT_RESULT_V1,
    ]).toEqual([
      'payments.transaction.v1',
      'recon.item-matched.v1',
      'clearing.item-cleared.v1',
      'settlement.payout-requested.v1',
      'settlement.payout-result.v1',
    ]);
    expect(Object.values(TOPIC)).toEqual(TOPICS.map((topic) => topic.name));
    expect(TOPIC.paymentsTransactionV1).toBe('payments.transaction.v1');
  });

  it('lists every topic once, keyed by merchantId, with its DLQ, for ops scripts', () => {
    expect(TOPICS).toHaveLength(5);
    expect(new Set(TOPICS.map((topic) => topic.name)).size).toBe(5);
    for (const topic of TOPICS) {
      expect(topic.name).toMatch(/^[a-z]+\.[a-z-]+\.v[1-9]\d*$/);
      expect(topic.key).toBe('merchantId');
      expect(topic.dlq).toBe(`${topic.name}.dlq`);
      expect(topic.description.length).toBeGreaterThan(0);
      expect(Object.isFrozen(topic)).toBe(true);
    }
    expect(Object.isFrozen(TOPICS)).toBe(true);
  });

  it('dlqTopicOf appends .dlq, also to environment-prefixed names', () => {
    expect(dlqTopicOf(PAYMENTS_TRANSACTION_V1)).toBe('payments.transaction.v1.dlq');
    expect(dlqTopicOf('bench_42.payments.transaction.v1')).toBe('bench_42.payments.transaction.v1.dlq');
    // A failure while consuming a DLQ must not feed the same DLQ.
    expect(dlqTopicOf('payments.transaction.v1.dlq')).toBe('payments.transaction.v1.dlq.dlq');
  });

  it('isTopicName knows exactly the engine topics', () => {
    expect(isTopicName('payments.transaction.v1')).toBe(true);
    expect(isTopicName('payments.transaction.v1.dlq')).toBe(false);
    expect(isTopicName('payments.transaction.v2')).toBe(false);
    expect(isTopicName(undefined)).toBe(false);
  });
});
