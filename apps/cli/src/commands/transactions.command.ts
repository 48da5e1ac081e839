import { RECONCILIATION_SCHEMA, reconciliationMigrations } from '../../../reconciliation/src/index.js';
import { emit, table, type OutputOptions } from '../output.js';
import { withSchemaDataSource } from '../schema-data-source.js';

export interface TransactionSummaryRow {
  businessDate: string;
  channel: string;
  eventType: string;
  currency: string;
  count: number;
  amount: string;
}

/** What the reconciliation service has stored, per business date, channel and type. */
export async function transactionSummaryCommand(
  options: OutputOptions & { date?: string },
): Promise<TransactionSummaryRow[]> {
  return withSchemaDataSource(
    RECONCILIATION_SCHEMA,
    reconciliationMigrations,
    async (dataSource) => {
      const rows = await dataSource.query<TransactionSummaryRow[]>(
        `SELECT to_char(business_date, 'YYYY-MM-DD') AS "businessDate", channel, event_type AS "eventType", currency,
              count(*)::int AS count, sum(amount)::text AS amount
       FROM reconciliation.internal_transaction
       WHERE $1::date IS NULL OR business_date = $1::date
       GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
        [options.date ?? null],
      );
      emit(options, rows, () => table(rows.map((r) => ({ ...r }))));
      return rows;
    },
    1,
  );
}
