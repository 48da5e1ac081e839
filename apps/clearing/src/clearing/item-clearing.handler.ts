import { isoInstantToEpochMillis, Money, type ReconItemMatchedV1, type RoundingMode } from '@app/contracts';
import { Ledger, LedgerError, type EntryDraft, type PostedEntry } from '@app/ledger';
import {
  deadLetterFor,
  enqueueOutbox,
  type EventBatchHandler,
  type InboundEvent,
  type OutboxMessage,
  type Rejection,
} from '@app/messaging';
import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { EntityManager } from 'typeorm';
import { FeeError, type RefundSplit } from '../fees/index.js';
import { splitPayment, splitRefund } from '../fees/split.js';
import { CLEARING_SCHEMA } from '../migrations/index.js';
import { BatchFeeRules } from './batch-fee-rules.js';
import {
  clearingEntryOf,
  paymentFigures,
  refundFigures,
  type ClearingEntryFacts,
  type ClearingFigures,
} from './clearing-entry.js';
import { entryFactsOf, itemClearedMessage, type ClearedItem, type ClearedPayment } from './cleared-item.js';
import {
  ClearedItemRepository,
  orderKeyOf,
  type OrderKey,
  type ParkedRefund,
} from './cleared-item.repository.js';

/** The inbox consumer name of the clearing consumer (its claims a dead-letter replay releases). */
export const ITEM_MATCHED_CONSUMER = 'item-matched';

/** The ledger's default `batchSizeMax`: entries per `Ledger.post` call. */
export const CLEARING_ENTRIES_PER_POST = 10_000;

export interface ItemClearingOptions {
  /** The consumer group: names the source of a dead letter for a refund cleared after it was parked. */
  groupId: string;
  /** Environment prefix of the topics (KAFKA_TOPIC_PREFIX). */
  topicPrefix: string;
  entriesPerPost?: number;
  /** The clock of `clearedAt`; tests pin it. */
  now?: () => Date;
}

/** An item ready to post: its facts, its split and where it came from. */
interface Planned {
  event: ReconItemMatchedV1;
  facts: ClearingEntryFacts;
  figures: ClearingFigures;
  draft: EntryDraft;
  feeRuleId: string;
  feeRuleVersion: number;
  refundFeePolicy: ClearedItem['refundFeePolicy'];
  feeRounding: string | null;
  paymentTransactionEventId: string | null;
}

/** A refund to clear in this batch: just consumed, or parked earlier and now released by its payment. */
type RefundCandidate =
  | { event: ReconItemMatchedV1; inbound: InboundEvent<ReconItemMatchedV1>; parked?: undefined }
  | { event: ReconItemMatchedV1; parked: ParkedRefund; inbound?: undefined };

const orderOf = (e: ReconItemMatchedV1): OrderKey => ({
  merchantId: e.merchantId,
  channel: e.channel,
  orderNo: e.transaction.orderNo,
});

/**
 * Clears (清分) matched items: for each first-seen recon.item-matched.v1 event, in the consumer's
 * transaction with its inbox row, the split, ONE journal entry, the cleared item and its
 * clearing.item-cleared.v1 in the outbox; all of an item or none of it.
 *
 * - Payment: the fee rule in force at the transaction's time for its merchant, channel, payment
 *   method and currency; the channel cost is the statement line's fee, else the channel's rate at
 *   that time; `splitPayment`. Entry (clearingEntryOf): Dr 2202 pending, Cr 2203 net, Cr 6001 fee,
 *   Dr 6401 / Cr 1122 channel cost.
 * - Refund: split against its cleared payment (same merchant, channel, order) and the refunds of
 *   it cleared before, with the payment rule's refund policy (`splitRefund`); the entry mirrors a
 *   payment's (Cr 2202, Dr 2203, Dr 6001 fee returned, Cr 6401 / Dr 1122 channel fee returned).
 *
 * A refund whose payment is not cleared yet is neither dead-lettered nor retried: it is parked in
 * clearing.refund_awaiting_payment (its inbox row commits) and cleared in the transaction that
 * clears its payment. Dead-lettering would need a person for an ordinary race (the refund's line
 * relayed ahead of its payment's, or the payment released by a discrepancy resolution days later),
 * and the deterministic event id would make a re-publish a duplicate; retrying would block the
 * partition behind a payment that may take days.
 *
 * What the fee module refuses (no rule, an over-refund) and what the ledger refuses (a refund that
 * merchant settleable 2203 cannot cover because its money was paid out, a currency the accounts do
 * not hold) rejects that event alone to the DLQ with the reason; the rest of the batch commits.
 */
export class ItemClearingHandler implements EventBatchHandler<ReconItemMatchedV1> {
  private readonly items = new ClearedItemRepository();
  private readonly entriesPerPost: number;
  private readonly now: () => Date;

  constructor(
    private readonly ledger: Ledger,
    private readonly options: ItemClearingOptions,
  ) {
    this.entriesPerPost = options.entriesPerPost ?? CLEARING_ENTRIES_PER_POST;
    this.now = options.now ?? (() => new Date());
  }

  async handle(
    events: InboundEvent<ReconItemMatchedV1>[],
    tx: EntityManager,
  ): Promise<{ rejected: Rejection<ReconItemMatchedV1>[] }> {
    const batch = new BatchOutcome(this.now().toISOString(), this.options);
    const payments = events.filter((e) => e.value.transaction.type === 'PAYMENT_SUCCEEDED');
    const refunds = events.filter((e) => e.value.transaction.type !== 'PAYMENT_SUCCEEDED');

    const cleared = await this.clearPayments(tx, payments, batch);
    // Refunds after payments, so a refund finds a payment cleared by this very batch.
    const released = await this.items.parkedOf(tx, cleared.map(orderOfItem));
    await this.clearRefunds(
      tx,
      [
        ...refunds.map((inbound) => ({ event: inbound.value, inbound })),
        ...released.map((parked) => ({ event: parked.event, parked })),
      ],
      batch,
    );
    await enqueueOutbox(tx, CLEARING_SCHEMA, batch.outbox);
    return { rejected: batch.rejected };
  }

  private async clearPayments(
    tx: EntityManager,
    payments: InboundEvent<ReconItemMatchedV1>[],
    batch: BatchOutcome,
  ): Promise<ClearedItem[]> {
    if (payments.length === 0) return [];
    const rules = await BatchFeeRules.load(
      tx,
      payments.map(({ value: e }) => ({
        merchantId: e.merchantId,
        channel: e.channel,
        currency: e.transaction.currency,
        at: e.transaction.occurredAt,
        rateNeeded: e.statementLine?.fee === undefined,
      })),
    );
    const planned: { inbound: InboundEvent<ReconItemMatchedV1>; plan: Planned }[] = [];
    for (const inbound of payments) {
      const e = inbound.value;
      const t = e.transaction;
      try {
        const rule = rules.ruleFor({
          merchantId: e.merchantId,
          channel: e.channel,
          paymentMethod: t.paymentMethod ?? null,
          currency: t.currency,
          at: t.occurredAt,
        });
        const lineFee = e.statementLine?.fee;
        const split = splitPayment(
          { amount: t.amount, currency: t.currency, coupon: t.coupon, channelFee: lineFee ?? null },
          rule,
          lineFee === undefined ? rules.channelCostRateAt(e.channel, t.occurredAt) : null,
        );
        const facts = entryFactsOf(e, e.occurredAt);
        const figures = paymentFigures(split);
        planned.push({
          inbound,
          plan: {
            event: e,
            facts,
            figures,
            draft: clearingEntryOf(facts, figures),
            feeRuleId: rule.id,
            feeRuleVersion: rule.version,
            refundFeePolicy: rule.refundPolicy,
            feeRounding: rule.formula.rounding ?? null,
            paymentTransactionEventId: null,
          },
        });
      } catch (error) {
        if (!(error instanceof FeeError)) throw error;
        batch.reject({ inbound }, `cannot split the payment: ${error.code}: ${error.message}`);
      }
    }

    const { posted, refused } = await this.postIsolating(tx, planned, (p) => p.plan.draft);
    for (const { item, error } of refused)
      batch.reject({ inbound: item.inbound }, `the ledger refused its clearing entry: ${error.message}`);
    // A replayed entry means the item was cleared before (entry and item commit together).
    const items = posted.filter((p) => !p.result.replayed).map((p) => batch.itemOf(p.item.plan, p.result));
    const inserted = await this.items.insertMany(tx, items);
    const cleared = items.filter((i) => inserted.has(i.transactionEventId));
    batch.publish(cleared);
    return cleared;
  }

  private async clearRefunds(tx: EntityManager, candidates: RefundCandidate[], batch: BatchOutcome) {
    if (candidates.length === 0) return;
    const payments = await this.items.paymentsOf(
      tx,
      candidates.map((c) => orderOf(c.event)),
    );
    const ready: RefundCandidate[] = [];
    const waiting: ParkedRefund[] = [];
    for (const c of candidates) {
      if (payments.has(orderKeyOf(orderOf(c.event)))) ready.push(c);
      // A parked refund stays parked; only one just consumed is parked now.
      else if (c.inbound) waiting.push(parkedRefundOf(c.inbound));
    }
    await this.items.park(tx, waiting);
    if (ready.length === 0) return;

    // Earlier refunds of a payment first: each is split with what the ones before it returned.
    ready.sort((a, b) => compareRefunds(a.event, b.event));
    let state = new RefundState(payments);
    const accepted: { plan: Planned; result: PostedEntry }[] = [];

    // Fast path: plan a chunk, post it in one call. A refusal (rare: settleable already paid out)
    // switches to one refund at a time from that chunk on, so that each split sees the sums of the
    // refunds actually accepted before it.
    for (let next = 0; next < ready.length;) {
      const chunk = ready.slice(next, next + this.entriesPerPost);
      const trial = state.copy();
      const planned = chunk.map((c) => ({ c, plan: this.planRefund(c, trial, payments) }));
      const plans = planned.flatMap(({ c, plan }) => ('reason' in plan ? [] : [{ c, plan }]));
      try {
        const results = await this.ledger.post(
          tx,
          plans.map((p) => p.plan.draft),
        );
        state = trial;
        for (const { c, plan } of planned) if ('reason' in plan) batch.reject(c, plan.reason);
        plans.forEach((p, i) => accepted.push({ plan: p.plan, result: results[i]! }));
        next += chunk.length;
      } catch (error) {
        if (!(error instanceof LedgerError)) throw error;
        for (const c of ready.slice(next)) {
          const single = state.copy();
          const plan = this.planRefund(c, single, payments);
          if ('reason' in plan) {
            batch.reject(c, plan.reason);
            continue;
          }
          try {
            const [result] = await this.ledger.post(tx, [plan.draft]);
            state = single;
            accepted.push({ plan, result: result! });
          } catch (refusal) {
            if (!(refusal instanceof LedgerError)) throw refusal;
            batch.reject(c, refundRefusalReason(c.event, refusal));
          }
        }
        break;
      }
    }

    const items = accepted.filter((a) => !a.result.replayed).map((a) => batch.itemOf(a.plan, a.result));
    const inserted = await this.items.insertMany(tx, items);
    batch.publish(items.filter((i) => inserted.has(i.transactionEventId)));
    // Parked refunds leave the waiting room whether cleared or dead-lettered.
    const released = ready.filter((c) => c.parked).map((c) => c.event.transaction.eventId);
    await this.items.unpark(tx, released);
  }

  /**
   * Splits one refund against its payment and the refunds of it in `state`, and counts it there;
   * the reason when the fee module refuses it (an over-refund, another currency).
   */
  private planRefund(
    c: RefundCandidate,
    state: RefundState,
    payments: Map<string, ClearedPayment>,
  ): Planned | { reason: string } {
    const e = c.event;
    const t = e.transaction;
    const payment = payments.get(orderKeyOf(orderOf(e)))!;
    const before = state.of(payment);
    let split: RefundSplit;
    try {
      split = splitRefund({
        amount: t.amount,
        currency: t.currency,
        payment: payment.split,
        refundedBefore: before.refunded.toString(),
        feeReturnedBefore: before.feeReturned.toString(),
        policy: payment.item.refundFeePolicy!,
        ...(payment.item.feeRounding === null ? {} : { rounding: payment.item.feeRounding as RoundingMode }),
        channelFee: e.statementLine?.fee ?? null,
      });
    } catch (error) {
      if (!(error instanceof FeeError)) throw error;
      return { reason: `cannot split the refund: ${error.code}: ${error.message}` };
    }
    // Clearable once matched and once its payment was: the later of the two, the same on a replay.
    const effectiveAt =
      isoInstantToEpochMillis(e.occurredAt) >= isoInstantToEpochMillis(payment.item.effectiveAt)
        ? e.occurredAt
        : payment.item.effectiveAt;
    const facts = entryFactsOf(e, effectiveAt);
    const figures = refundFigures(split);
    state.add(payment, figures);
    return {
      event: e,
      facts,
      figures,
      draft: clearingEntryOf(facts, figures),
      feeRuleId: payment.item.feeRuleId,
      feeRuleVersion: payment.item.feeRuleVersion,
      refundFeePolicy: null,
      feeRounding: null,
      paymentTransactionEventId: payment.item.transactionEventId,
    };
  }

  /** Posts what the ledger takes, halving a refused chunk down to the entries it refuses. */
  private async postIsolating<T>(
    tx: EntityManager,
    items: T[],
    draftOf: (item: T) => EntryDraft,
  ): Promise<{ posted: { item: T; result: PostedEntry }[]; refused: { item: T; error: LedgerError }[] }> {
    const posted: { item: T; result: PostedEntry }[] = [];
    const refused: { item: T; error: LedgerError }[] = [];
    const attempt = async (part: T[]): Promise<void> => {
      if (part.length === 0) return;
      if (part.length <= this.entriesPerPost) {
        try {
          const results = await this.ledger.post(tx, part.map(draftOf));
          part.forEach((item, i) => posted.push({ item, result: results[i]! }));
          return;
        } catch (error) {
          if (!(error instanceof LedgerError)) throw error;
          if (part.length === 1) {
            refused.push({ item: part[0]!, error });
            return;
          }
        }
      }
      const middle = Math.ceil(part.length / 2);
      await attempt(part.slice(0, middle));
      await attempt(part.slice(middle));
    };
    for (let start = 0; start < items.length; start += this.entriesPerPost)
      await attempt(items.slice(start, start + this.entriesPerPost));
    return { posted, refused };
  }
}

/** What a batch decided: rejections of its own events, dead letters of parked ones, events to publish. */
class BatchOutcome {
  readonly rejected: Rejection<ReconItemMatchedV1>[] = [];
  readonly outbox: OutboxMessage[] = [];

  constructor(
    private readonly clearedAt: string,
    private readonly options: ItemClearingOptions,
  ) {}

  reject(c: { inbound?: InboundEvent<ReconItemMatchedV1>; parked?: ParkedRefund }, reason: string): void {
    if (c.inbound) {
      this.rejected.push({ event: c.inbound, reason });
      return;
    }
    // Its inbox row committed with an earlier batch: the dead letter is ours to enqueue.
    const p = c.parked!;
    const message = {
      key: p.key === null ? null : Buffer.from(p.key, 'utf8'),
      value: p.value,
      headers: p.headers,
      offset: p.offset,
      timestamp: '0',
      attributes: 0,
    } as KafkaMessage;
    this.outbox.push(
      deadLetterFor(
        {
          groupId: this.options.groupId,
          consumer: ITEM_MATCHED_CONSUMER,
          topic: p.topic,
          partition: p.partition,
          message,
        },
        'REJECTED',
        reason,
      ),
    );
  }

  itemOf(plan: Planned, posted: PostedEntry): ClearedItem {
    const f = plan.facts;
    // Fields by name, not `...facts`: a spread followed by more properties takes V8's slow path
    // (~10 µs an object; 15% of a 1M-item clearing run, bench:clearing).
    return {
      transactionEventId: f.transactionEventId,
      type: f.type,
      merchantId: f.merchantId,
      channel: f.channel,
      orderNo: f.orderNo,
      refundNo: f.refundNo,
      businessDate: f.businessDate,
      effectiveAt: f.effectiveAt,
      matchedEventId: plan.event.eventId,
      paymentTransactionEventId: plan.paymentTransactionEventId,
      figures: plan.figures,
      feeRuleId: plan.feeRuleId,
      feeRuleVersion: plan.feeRuleVersion,
      refundFeePolicy: plan.refundFeePolicy,
      feeRounding: plan.feeRounding,
      journalEntryId: posted.entryId,
      clearedAt: this.clearedAt,
    };
  }

  publish(items: ClearedItem[]): void {
    for (const item of items) this.outbox.push(itemClearedMessage(item, this.options.topicPrefix));
  }
}

/** Σ refunded and Σ fee returned per payment: as stored, plus the refunds accepted in this batch. */
class RefundState {
  private readonly sums = new Map<string, { refunded: Money; feeReturned: Money }>();

  constructor(private readonly payments: Map<string, ClearedPayment>) {}

  copy(): RefundState {
    const copy = new RefundState(this.payments);
    for (const [k, v] of this.sums) copy.sums.set(k, { ...v });
    return copy;
  }

  of(payment: ClearedPayment): { refunded: Money; feeReturned: Money } {
    const key = payment.item.transactionEventId;
    let sums = this.sums.get(key);
    if (!sums) {
      const c = payment.item.figures.currency;
      sums = {
        refunded: Money.of(payment.refundedBefore, c),
        feeReturned: Money.of(payment.feeReturnedBefore, c),
      };
      this.sums.set(key, sums);
    }
    return sums;
  }

  /** Counts a refund in the sums the next refund of the same payment sees. */
  add(payment: ClearedPayment, figures: ClearingFigures): void {
    const sums = this.of(payment);
    const c = figures.currency;
    sums.refunded = sums.refunded.plus(Money.of(figures.amount, c));
    sums.feeReturned = sums.feeReturned.minus(Money.of(figures.fee, c));
  }
}

function orderOfItem(item: ClearedItem): OrderKey {
  return { merchantId: item.merchantId, channel: item.channel, orderNo: item.orderNo };
}

function compareRefunds(a: ReconItemMatchedV1, b: ReconItemMatchedV1): number {
  const at =
    isoInstantToEpochMillis(a.transaction.occurredAt) - isoInstantToEpochMillis(b.transaction.occurredAt);
  if (at !== 0) return at;
  const byRefund = (a.transaction.refundNo ?? '').localeCompare(b.transaction.refundNo ?? '', 'en');
  return byRefund !== 0 ? byRefund : a.transaction.eventId.localeCompare(b.transaction.eventId, 'en');
}

function refundRefusalReason(e: ReconItemMatchedV1, error: LedgerError): string {
  const t = e.transaction;
  if (error.code === 'LEDGER.INSUFFICIENT_FUNDS')
    return (
      `merchant settleable cannot cover the refund of ${t.amount} ${t.currency} (its payment's money was already ` +
      `paid out or is held); the ledger refused its clearing entry: ${error.message}`
    );
  return `the ledger refused its clearing entry: ${error.message}`;
}

function parkedRefundOf(inbound: InboundEvent<ReconItemMatchedV1>): ParkedRefund {
  const m = inbound.message;
  return {
    event: inbound.value,
    topic: inbound.topic,
    partition: inbound.partition,
    offset: m.offset,
    key: m.key === null ? null : m.key.toString('utf8'),
    value: m.value ?? Buffer.alloc(0),
    headers: headersAsText(m.headers),
  };
}

function headersAsText(headers: IHeaders | undefined): Record<string, string> {
  const text: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    text[name] = Array.isArray(value) ? value.map((v) => v.toString()).join(',') : value.toString();
  }
  return text;
}
