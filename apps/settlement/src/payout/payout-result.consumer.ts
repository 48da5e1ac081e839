import { Inject, Injectable } from '@nestjs/common';
import { decodeSettlementPayoutResultV1, TOPIC, type SettlementPayoutResultV1 } from '@app/contracts';
import { Ledger } from '@app/ledger';
import {
  EventConsumer,
  KAFKA,
  ManagedConsumer,
  messageDecoder,
  PLATFORM_CONFIG,
  topicName,
} from '@app/messaging';
import type { PlatformConfig } from '@app/platform';
import type { Kafka } from 'kafkajs';
import { DataSource } from 'typeorm';
import { SETTLEMENT_SCHEMA } from '../migrations/index.js';
import { PayoutResultHandler } from './payout-result.handler.js';
import type { PayoutRetryPolicy } from './payout-attempt.js';
import {
  PayoutService,
  payoutRetryPolicyOf,
  payoutServiceOptionsOf,
  type PayoutServiceOptions,
} from './payout.service.js';

export const PAYOUT_RESULT_GROUP = 'settlement.payout-result';

export const decodePayoutResultMessage = messageDecoder(decodeSettlementPayoutResultV1);

export interface PayoutResultConsumerSettings {
  topicPrefix: string;
  topicPartitions?: number;
  sessionTimeoutMs?: number;
  /** Retry delay and clock; PayoutService's defaults when absent. */
  payouts?: Omit<PayoutServiceOptions, 'topicPrefix'>;
  /** DEFAULT_PAYOUT_RETRY_POLICY when absent. */
  policy?: PayoutRetryPolicy;
}

/** The consumer of settlement.payout-result.v1, built outside Nest too (tests, tools). */
export function createPayoutResultConsumer(
  kafka: Kafka,
  dataSource: DataSource,
  ledger: Ledger,
  settings: PayoutResultConsumerSettings,
): EventConsumer<SettlementPayoutResultV1> {
  const payouts = new PayoutService(dataSource, ledger, {
    ...settings.payouts,
    topicPrefix: settings.topicPrefix,
  });
  return new EventConsumer(kafka, dataSource, {
    name: 'payout-result',
    groupId: `${settings.topicPrefix}${PAYOUT_RESULT_GROUP}`,
    topic: topicName(settings.topicPrefix, TOPIC.settlementPayoutResultV1),
    schema: SETTLEMENT_SCHEMA,
    decode: decodePayoutResultMessage,
    handler: new PayoutResultHandler(ledger, payouts, settings.policy, settings.payouts?.now),
    ...(settings.topicPartitions === undefined ? {} : { topicPartitions: settings.topicPartitions }),
    ...(settings.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: settings.sessionTimeoutMs }),
  });
}

@Injectable()
export class PayoutResultConsumer extends ManagedConsumer<SettlementPayoutResultV1> {
  readonly consumer: EventConsumer<SettlementPayoutResultV1>;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    dataSource: DataSource,
    ledger: Ledger,
    @Inject(PLATFORM_CONFIG) config: PlatformConfig,
  ) {
    super();
    this.consumer = createPayoutResultConsumer(kafka, dataSource, ledger, {
      topicPrefix: config.kafkaTopicPrefix,
      topicPartitions: config.kafkaTopicPartitions,
      sessionTimeoutMs: config.kafkaSessionTimeoutMs,
      payouts: payoutServiceOptionsOf(config),
      policy: payoutRetryPolicyOf(config),
    });
  }
}
