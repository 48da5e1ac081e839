import type { PaymentsTransactionV1 } from '@app/contracts';
import type { EventBatchHandler, InboundEvent, Rejection } from '@app/messaging';
import type { EntityManager } from 'typeorm';
import type { ChannelCalendarCache } from './channel-calendar.repository.js';
import { businessKeyOf, describeConflict, toInternalTransaction } from './internal-transaction.js';
import type { InternalTransactionRepository } from './internal-transaction.repository.js';

/** Stores each first-seen payments.transaction.v1 event as an internal transaction. */
export class TransactionIngestHandler implements EventBatchHandler<PaymentsTransactionV1> {
  constructor(
    private readonly calendars: ChannelCalendarCache,
    private readonly transactions: InternalTransactionRepository,
  ) {}

  async handle(
    events: InboundEvent<PaymentsTransactionV1>[],
    tx: EntityManager,
  ): Promise<{ rejected: Rejection<PaymentsTransactionV1>[] }> {
    await this.calendars.refreshIfStale();
    const rows = events.map((e) =>
      toInternalTransaction(e.value, this.calendars.calendarOf(e.value.channel)),
    );
    const notInserted = await this.transactions.insertMany(tx, rows);
    if (notInserted.length === 0) return { rejected: [] };

    const recorded = await this.transactions.findByBusinessKeys(tx, notInserted);
    const eventById = new Map(events.map((e) => [e.eventId, e]));
    const rejected: Rejection<PaymentsTransactionV1>[] = [];
    for (const row of notInserted) {
      const existing = recorded.get(businessKeyOf(row));
      // The unique index refused the row, so its key must be there: anything else is a bug.
      if (!existing)
        throw new Error(`invariant: business key of ${row.eventId} conflicted but no row holds it`);
      const conflict = describeConflict(existing, row);
      if (conflict) rejected.push({ event: eventById.get(row.eventId)!, reason: conflict });
    }
    return { rejected };
  }
}
