import { describe, expect, it } from '@jest/globals';
import { CONTRACTS } from './events/index.js';
import { contractJsonSchema } from './json-schema.js';
import {
  CLEARING_ITEM_CLEARED_V1,
  PAYMENTS_TRANSACTION_V1,
  RECON_ITEM_MATCHED_V1,
  SETTLEMENT_PAYOUT_REQUESTED_V1,
  SETTLEMENT_PAYOUT_RESULT_V1,
  TOPIC,
  TOPICS,
  TOPIC_KEY_FIELDS,
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

  it('lists every topic once, with its key and its DLQ, for ops scripts', () => {
    expect(TOPICS).toHaveLength(5);
    expect(new Set(TOPICS.map((topic) => topic.name)).size).toBe(5);
    for (const topic of TOPICS) {
      expect(topic.name).toMatch(/^[a-z]+\.[a-z-]+\.v[1-9]\d*$/);
      expect(TOPIC_KEY_FIELDS).toContain(topic.key);
      expect(topic.dlq).toBe(`${topic.name}.dlq`);
      expect(topic.description.length).toBeGreaterThan(0);
      expect(Object.isFrozen(topic)).toBe(true);
    }
    expect(Object.isFrozen(TOPICS)).toBe(true);
  });

  it('keys the money flow by merchant and the payout topics by settlement record', () => {
    expect(Object.fromEntries(TOPICS.map((topic) => [topic.name, topic.key]))).toEqual({
      'payments.transaction.v1': 'merchantId',
      'recon.item-matched.v1': 'merchantId',
      'clearing.item-cleared.v1': 'merchantId',
      // One record's requests and the gateway's answers about them stay in order on one partition.
      'settlement.payout-requested.v1': 'settlementRecordId',
      'settlement.payout-result.v1': 'settlementRecordId',
    });
  });

  it('has a contract for every topic, keyed by a required string field of its events', () => {
    for (const contract of CONTRACTS) {
      const topic = TOPICS.find((t) => t.name === contract.topic);
      const schema = contractJsonSchema(contract) as {
        required: string[];
        properties: Record<string, { type?: string }>;
        'x-kafka-key': string;
      };
      expect(schema['x-kafka-key']).toBe(topic?.key);
      expect(schema.required).toContain(topic?.key);
      expect(schema.properties[topic!.key]?.type).toBe('string');
    }
    expect(CONTRACTS.map((contract) => contract.topic).sort()).toEqual(
      TOPICS.map((topic) => topic.name).sort(),
    );
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
