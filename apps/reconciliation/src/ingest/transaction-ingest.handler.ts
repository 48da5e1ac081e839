import type { PaymentsTransactionV1 } from '@app/contracts';
import { Ledger } from '@app/ledger';
import type { EventBatchHandler, InboundEvent, Rejection } from '@app/messaging';
import type { EntityManager } from 'typeorm';
import type { ChannelCalendarCache } from './channel-calendar.repository.js';
import {
  businessKeyOf,
  describeConflict,
  toInternalTransaction,
  type InternalTransaction,
} from './internal-transaction.js';
import type { InternalTransactionRepository } from './internal-transaction.repository.js';
import { TDayLedger, type RefusedEntry } from './t-day-ledger.js';

/**
 * Stores each first-seen payments.transaction.v1 event as an internal transaction and posts its
 * T-day ledger entry, both in the consumer's transaction (with the inbox rows): a transaction is
 * never recorded without its entry, nor an entry without its transaction.
 */
export class TransactionIngestHandler implements EventBatchHandler<PaymentsTransactionV1> {
  private readonly tDay: TDayLedger;

  constructor(
    private readonly calendars: ChannelCalendarCache,
    private readonly transactions: InternalTransactionRepository,
    // A default so a caller that builds the handler by hand still posts; the service passes the
    // process's shared Ledger (it caches the chart and account ids).
    ledger: Ledger = new Ledger(),
  ) {
    this.tDay = new TDayLedger(ledger);
  }

  async handle(
    events: InboundEvent<PaymentsTransactionV1>[],
    tx: EntityManager,
  ): Promise<{ rejected: Rejection<PaymentsTransactionV1>[] }> {
    await this.calendars.refreshIfStale();
    const rows = events.map((e) =>
      toInternalTransaction(e.value, this.calendars.calendarOf(e.value.channel)),
    );
    const notInserted = await this.transactions.insertMany(tx, rows);
    const eventById = () => new Map(events.map((e) => [e.eventId, e]));
    const rejected: Rejection<PaymentsTransactionV1>[] =
      notInserted.length === 0 ? [] : await this.conflictsAmong(notInserted, tx, eventById());

    // Only rows inserted now get an entry: a re-send (same facts, new event id) and a
    // contradiction (rejected above) post nothing.
    const notInsertedIds = new Set(notInserted.map((r) => r.eventId));
    const inserted = notInserted.length === 0 ? rows : rows.filter((r) => !notInsertedIds.has(r.eventId));
    const refused = await this.tDay.post(tx, inserted);
    if (refused.length === 0) return { rejected };

    await this.transactions.deleteInsertedInThisTransaction(
      tx,
      refused.map((r) => r.transaction),
    );
    const byId = eventById();
    for (const r of refused)
      rejected.push({ event: byId.get(r.transaction.eventId)!, reason: refusalReason(r) });
    return { rejected };
  }

  /** Of the rows whose business key is already recorded, those that contradict the recorded facts. */
  private async conflictsAmong(
    notInserted: InternalTransaction[],
    tx: EntityManager,
    eventById: Map<string, InboundEvent<PaymentsTransactionV1>>,
  ): Promise<Rejection<PaymentsTransactionV1>[]> {
    const recorded = await this.transactions.findByBusinessKeys(tx, notInserted);
    const rejected: Rejection<PaymentsTransactionV1>[] = [];
    for (const row of notInserted) {
      const existing = recorded.get(businessKeyOf(row));
      // The unique index refused the row, so its key must be there: anything else is a bug.
      if (!existing)
        throw new Error(`invariant: business key of ${row.eventId} conflicted but no row holds it`);
      const conflict = describeConflict(existing, row);
      if (conflict) rejected.push({ event: eventById.get(row.eventId)!, reason: conflict });
    }
    return rejected;
  }
}

function refusalReason(r: RefusedEntry): string {
  const t = r.transaction;
  if (r.code === 'LEDGER.INSUFFICIENT_FUNDS') {
    return (
      `merchant pending cannot cover ${t.eventType} of ${t.amount} ${t.currency} ` +
      `(its payment is not recorded here, or was already cleared); the ledger refused its T-day entry: ${r.reason}`
    );
  }
  return `the ledger refused its T-day entry: ${r.reason}`;
}
