import { createHash } from 'node:crypto';
import {
  decodeSettlementPayoutRequestedV1,
  TOPIC,
  type SettlementPayoutRequestedV1,
  type SettlementPayoutResultV1,
} from '@app/contracts';
import {
  enqueueOutbox,
  EventConsumer,
  OutboxRelay,
  topicName,
  type Decoded,
  type EventBatchHandler,
  type InboundEvent,
} from '@app/messaging';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { DataSource, EntityManager } from 'typeorm';
import { PAYOUT_GATEWAY_SCHEMA } from './migrations/index.js';

/**
 * How the simulated bank treats an account (by the longest matching prefix in account_rule):
 * - PAY: pays;
 * - ACCOUNT_CLOSED: refuses for good (not transient);
 * - ACCOUNT_LIMIT_EXCEEDED: refuses, the destination's inflow limit (not transient);
 * - TIMEOUT_THEN_PAID: pays, but the first answer is lost (FAILED TIMEOUT, transient); a repeat
 *   of the same attempt id (settlement's status query) is answered PAID.
 * - BANK_UNAVAILABLE: refuses every attempt for now (FAILED BANK_UNAVAILABLE, transient): nothing
 *   paid, a new attempt may be tried;
 * - BANK_UNAVAILABLE_ONCE: refuses a record's first attempt like BANK_UNAVAILABLE, pays the next;
 * - NO_ANSWER_THEN_PAID: pays, but sends no answer at all to the first request; a repeat of the
 *   same attempt id is answered PAID.
 */
export const GATEWAY_MODES = [
  'PAY',
  'ACCOUNT_CLOSED',
  'ACCOUNT_LIMIT_EXCEEDED',
  'TIMEOUT_THEN_PAID',
  'BANK_UNAVAILABLE',
  'BANK_UNAVAILABLE_ONCE',
  'NO_ANSWER_THEN_PAID',
] as const;

/** Refusals that leave nothing paid and may be tried again with a new attempt. */
const TRANSIENT_REFUSALS: readonly string[] = ['BANK_UNAVAILABLE'];
export type GatewayMode = (typeof GATEWAY_MODES)[number];

export const PAYOUT_GATEWAY_GROUP = 'payout-gateway.payout-requested';

/**
 * The request's event id is derived from the attempt id, so a status query (the same request sent
 * again) carries the same event id: deduplicating on it would swallow the query. The inbox key is
 * therefore the event id plus the offset (all requests of one attempt share its record id, the
 * Kafka key, hence one partition, so the offset tells them apart); a redelivered message is still
 * a no-op. The attempt id in `payment` is what makes paying idempotent.
 */
export function decodePayoutRequestMessage(message: KafkaMessage): Decoded<SettlementPayoutRequestedV1> {
  const result = decodeSettlementPayoutRequestedV1(message.value);
  return result.ok
    ? { ok: true, eventId: `${result.value.eventId}@${message.offset}`, value: result.value }
    : result;
}

function uuidOf(text: string): string {
  const hex = createHash('md5').update(text, 'utf8').digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

interface PaymentRow {
  attempt_id: string;
  mode: GatewayMode;
  paid: boolean;
  bank_reference: string | null;
  failure_code: string | null;
  requests: number;
}

/** The gateway's side of one request: pay at most once per attempt id, answer every request. */
export class PayoutGatewayHandler implements EventBatchHandler<SettlementPayoutRequestedV1> {
  constructor(
    private readonly topicPrefix: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async handle(events: InboundEvent<SettlementPayoutRequestedV1>[], tx: EntityManager): Promise<void> {
    for (const { value } of events) await this.answer(tx, value);
  }

  private async answer(tx: EntityManager, request: SettlementPayoutRequestedV1): Promise<void> {
    const [rule] = await tx.query<{ mode: GatewayMode }[]>(
      `SELECT mode FROM payout_gateway.account_rule WHERE $1 LIKE account_prefix || '%'
       ORDER BY length(account_prefix) DESC LIMIT 1`,
      [request.payoutAccount.accountNo],
    );
    const mode = rule?.mode ?? 'PAY';
    let pays = mode === 'PAY' || mode === 'TIMEOUT_THEN_PAID' || mode === 'NO_ANSWER_THEN_PAID';
    if (mode === 'BANK_UNAVAILABLE_ONCE') {
      const [earlier] = await tx.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM payout_gateway.payment WHERE record_id = $1 AND attempt_id <> $2`,
        [request.settlementRecordId, request.attemptId],
      );
      pays = earlier!.n > 0;
    }
    const refusal = mode === 'BANK_UNAVAILABLE_ONCE' ? 'BANK_UNAVAILABLE' : mode;
    // ON CONFLICT: a repeated attempt id never pays again; it only counts as one more request.
    const [payment] = await tx.query<PaymentRow[]>(
      `INSERT INTO payout_gateway.payment
         (attempt_id, record_id, account_no, currency, amount, mode, paid, bank_reference, failure_code)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (attempt_id) DO UPDATE SET requests = payout_gateway.payment.requests + 1
       RETURNING attempt_id, mode, paid, bank_reference, failure_code, requests`,
      [
        request.attemptId,
        request.settlementRecordId,
        request.payoutAccount.accountNo,
        request.currency,
        request.amount,
        mode,
        pays,
        pays ? `SIMBANK-${request.attemptId}` : null,
        pays ? null : refusal,
      ],
    );
    const p = payment!;
    const base = {
      occurredAt: this.now().toISOString(),
      settlementRecordId: request.settlementRecordId,
      attemptId: request.attemptId,
      amount: request.amount,
      currency: request.currency,
    };
    // The bank paid; its answer to the first request is lost on the way (settlement must ask).
    if (p.mode === 'NO_ANSWER_THEN_PAID' && p.requests === 1) return;
    let result: SettlementPayoutResultV1;
    if (p.mode === 'TIMEOUT_THEN_PAID' && p.requests === 1) {
      result = {
        ...base,
        eventId: uuidOf(`payout-result:${p.attempt_id}:TIMEOUT`),
        status: 'FAILED',
        failure: { code: 'TIMEOUT', transient: true, message: 'no answer from the bank in time' },
      };
    } else if (p.paid) {
      result = {
        ...base,
        eventId: uuidOf(`payout-result:${p.attempt_id}:PAID`),
        status: 'PAID',
        bankReference: p.bank_reference!,
      };
    } else {
      result = {
        ...base,
        eventId: uuidOf(`payout-result:${p.attempt_id}:${p.failure_code}`),
        status: 'FAILED',
        failure: {
          code: p.failure_code as 'ACCOUNT_CLOSED',
          transient: TRANSIENT_REFUSALS.includes(p.failure_code!),
          message: `bank refused: ${p.failure_code}`,
        },
      };
    }
    await tx.query(`UPDATE payout_gateway.payment SET answers = answers + 1 WHERE attempt_id = $1`, [
      p.attempt_id,
    ]);
    await enqueueOutbox(tx, PAYOUT_GATEWAY_SCHEMA, [
      {
        topic: topicName(this.topicPrefix, TOPIC.settlementPayoutResultV1),
        key: request.settlementRecordId,
        value: JSON.stringify(result),
      },
    ]);
  }
}

export interface PayoutGatewaySettings {
  topicPrefix: string;
  topicPartitions?: number;
  /** KAFKA_MESSAGE_MAX_BYTES: most bytes one relay send carries. */
  messageMaxBytes?: number;
}

/** The simulator: the request consumer and the relay publishing its answers. */
export class PayoutGatewaySimulator {
  readonly consumer: EventConsumer<SettlementPayoutRequestedV1>;
  readonly relay: OutboxRelay;

  constructor(kafka: Kafka, dataSource: DataSource, settings: PayoutGatewaySettings) {
    const partitions =
      settings.topicPartitions === undefined ? {} : { topicPartitions: settings.topicPartitions };
    this.consumer = new EventConsumer(kafka, dataSource, {
      name: 'payout-requested',
      groupId: `${settings.topicPrefix}${PAYOUT_GATEWAY_GROUP}`,
      topic: topicName(settings.topicPrefix, TOPIC.settlementPayoutRequestedV1),
      schema: PAYOUT_GATEWAY_SCHEMA,
      decode: decodePayoutRequestMessage,
      handler: new PayoutGatewayHandler(settings.topicPrefix),
      partitionsConsumedConcurrently: 1,
      ...partitions,
    });
    this.relay = new OutboxRelay(kafka, dataSource, {
      schema: PAYOUT_GATEWAY_SCHEMA,
      idlePollMs: 50,
      ...partitions,
      ...(settings.messageMaxBytes === undefined ? {} : { messageMaxBytes: settings.messageMaxBytes }),
    });
  }

  async start(): Promise<void> {
    await this.relay.start();
    await this.consumer.start();
  }

  async stop(): Promise<void> {
    await this.consumer.stop();
    await this.relay.stop();
  }
}
