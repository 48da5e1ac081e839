import { Money } from '@app/contracts';
import type { EntityManager } from 'typeorm';

/**
 * The daily settlement summary (结算日报) for finance: what a close date produced, by record status
 * and currency, and how the payouts of those records stand. Sums are taken in SQL `numeric` (exact)
 * and written at the currency's scale.
 */

export interface SummaryRecordGroup {
  status: string;
  currency: string;
  records: number;
  amount: string;
  carryForward: string;
  reserveHeld: string;
  reserveReleased: string;
}

export interface SummaryPayoutGroup {
  /** settlement.payout status: PAID, FAILED, IN_FLIGHT, OUTCOME_UNKNOWN, RETRY_SCHEDULED, REFUSED. */
  status: string;
  currency: string;
  payouts: number;
  amount: string;
}

export interface DailySettlementSummary {
  /** The close date (closes_on). */
  date: string;
  records: SummaryRecordGroup[];
  /** Payouts of the records that closed on the date, by status; paid and failed are two of them. */
  payouts: SummaryPayoutGroup[];
  paid: { currency: string; payouts: number; amount: string }[];
  failed: { currency: string; payouts: number; amount: string }[];
  /**
   * Merchants a close of the date held back (settlement.close_exception): no record yet, their
   * items wait for the next close. The latest reason per merchant.
   */
  heldBack: { merchantId: string; code: string; message: string; at: string }[];
}

export async function dailySettlementSummary(
  db: Pick<EntityManager, 'query'>,
  date: string,
): Promise<DailySettlementSummary> {
  const recordRows = await db.query<Record<string, string | number>[]>(
    `SELECT status, currency::text AS currency, count(*)::int AS records, sum(amount)::text AS amount,
            sum(carry_forward)::text AS carry_forward, sum(reserve_held)::text AS reserve_held,
            sum(reserve_released)::text AS reserve_released
     FROM settlement.settlement_record WHERE closes_on = $1::date
     GROUP BY status, currency ORDER BY status, currency`,
    [date],
  );
  const payoutRows = await db.query<Record<string, string | number>[]>(
    `SELECT p.status, p.currency::text AS currency, count(*)::int AS payouts, sum(p.amount)::text AS amount
     FROM settlement.payout p JOIN settlement.settlement_record r ON r.id = p.record_id
     WHERE r.closes_on = $1::date
     GROUP BY p.status, p.currency ORDER BY p.status, p.currency`,
    [date],
  );
  const money = (v: string | number | undefined, currency: string) =>
    Money.of(String(v), currency).toString();
  const records = recordRows.map((r) => {
    const currency = r.currency as string;
    return {
      status: r.status as string,
      currency,
      records: r.records as number,
      amount: money(r.amount, currency),
      carryForward: money(r.carry_forward, currency),
      reserveHeld: money(r.reserve_held, currency),
      reserveReleased: money(r.reserve_released, currency),
    };
  });
  const payouts = payoutRows.map((r) => ({
    status: r.status as string,
    currency: r.currency as string,
    payouts: r.payouts as number,
    amount: money(r.amount, r.currency as string),
  }));
  const only = (status: string) =>
    payouts
      .filter((p) => p.status === status)
      .map(({ currency, payouts: n, amount }) => ({ currency, payouts: n, amount }));
  const heldBack = await db.query<DailySettlementSummary['heldBack']>(
    `SELECT DISTINCT ON (merchant_id) merchant_id AS "merchantId", code, message,
            to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at
     FROM settlement.close_exception WHERE closes_on = $1::date
     ORDER BY merchant_id, id DESC`,
    [date],
  );
  return { date, records, payouts, paid: only('PAID'), failed: only('FAILED'), heldBack };
}
