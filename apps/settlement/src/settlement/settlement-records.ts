import { Money } from '@app/contracts';
import type { EntityManager } from 'typeorm';

export interface SettlementRecordView {
  id: string;
  merchantId: string;
  cycleKey: string;
  currency: string;
  firstBusinessDate: string;
  lastBusinessDate: string;
  closesOn: string;
  payoutDueOn: string;
  itemsCount: number;
  itemsNet: string;
  carriedIn: string;
  reserveHeld: string;
  reserveReleased: string;
  /** Payable. */
  amount: string;
  carryForward: string;
  status: string;
  version: number;
  submittedBy: string;
  journalEntryId: string | null;
  createdAt: string;
}

export interface RecordFilter {
  /** closes_on */
  date?: string;
  merchant?: string;
  status?: string;
  limit?: number;
}

export const RECORD_LIST_LIMIT_DEFAULT = 1_000;

/** Settlement records, oldest close first; money as decimal strings at the currency's scale. */
export async function listSettlementRecords(
  db: Pick<EntityManager, 'query'>,
  filter: RecordFilter = {},
): Promise<SettlementRecordView[]> {
  const rows = await db.query<Record<string, string | number | null>[]>(
    `SELECT id::text, merchant_id, cycle_key, currency::text AS currency,
            to_char(first_business_date, 'YYYY-MM-DD') AS first_business_date,
            to_char(last_business_date, 'YYYY-MM-DD') AS last_business_date,
            to_char(closes_on, 'YYYY-MM-DD') AS closes_on, to_char(payout_due_on, 'YYYY-MM-DD') AS payout_due_on,
            items_count, items_net::text, carried_in::text, reserve_held::text, reserve_released::text,
            amount::text, carry_forward::text, status, version, submitted_by, journal_entry_id::text,
            to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at
     FROM settlement.settlement_record
     WHERE ($1::date IS NULL OR closes_on = $1) AND ($2::text IS NULL OR merchant_id = $2)
       AND ($3::text IS NULL OR status = $3)
     ORDER BY settlement_record.closes_on, merchant_id, settlement_record.currency, settlement_record.id
     LIMIT $4`,
    [
      filter.date ?? null,
      filter.merchant ?? null,
      filter.status ?? null,
      filter.limit ?? RECORD_LIST_LIMIT_DEFAULT,
    ],
  );
  return rows.map((r) => {
    const currency = r.currency as string;
    const money = (v: unknown) => Money.of(v as string, currency).toString();
    return {
      id: r.id as string,
      merchantId: r.merchant_id as string,
      cycleKey: r.cycle_key as string,
      currency,
      firstBusinessDate: r.first_business_date as string,
      lastBusinessDate: r.last_business_date as string,
      closesOn: r.closes_on as string,
      payoutDueOn: r.payout_due_on as string,
      itemsCount: r.items_count as number,
      itemsNet: money(r.items_net),
      carriedIn: money(r.carried_in),
      reserveHeld: money(r.reserve_held),
      reserveReleased: money(r.reserve_released),
      amount: money(r.amount),
      carryForward: money(r.carry_forward),
      status: r.status as string,
      version: r.version as number,
      submittedBy: r.submitted_by as string,
      journalEntryId: r.journal_entry_id as string | null,
      createdAt: r.created_at as string,
    };
  });
}
