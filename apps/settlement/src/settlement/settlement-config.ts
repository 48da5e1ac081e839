import type { EntityManager } from 'typeorm';
import { BusinessCalendar, settlementTerms, type IsoWeekday, type SettlementTerms } from '../domain.js';

/** The platform default terms' key in settlement.merchant_terms. */
export const PLATFORM_DEFAULT_TERMS = '*';

type Db = Pick<EntityManager, 'query'>;

/** The business calendar stored under `id` (default 'default'), validated by the domain. */
export async function loadBusinessCalendar(db: Db, id = 'default'): Promise<BusinessCalendar> {
  const [row] = await db.query<{ zone: string; cutoff_local_time: string; weekend_days: number[] }[]>(
    'SELECT zone, cutoff_local_time, weekend_days FROM settlement.business_calendar WHERE id = $1',
    [id],
  );
  if (!row) throw new Error(`no business calendar "${id}" in settlement.business_calendar`);
  const days = await db.query<{ date: string; kind: 'HOLIDAY' | 'MAKEUP_WORKDAY' }[]>(
    `SELECT to_char(date, 'YYYY-MM-DD') AS date, kind FROM settlement.calendar_day
     WHERE calendar_id = $1 ORDER BY date`,
    [id],
  );
  return BusinessCalendar.of({
    zone: row.zone,
    cutoffLocalTime: row.cutoff_local_time,
    weekendDays: row.weekend_days as IsoWeekday[],
    holidays: days.filter((d) => d.kind === 'HOLIDAY').map((d) => d.date),
    makeUpWorkingDays: days.filter((d) => d.kind === 'MAKEUP_WORKDAY').map((d) => d.date),
  });
}

interface TermsRow {
  merchant_id: string;
  currency: string;
  cycle: SettlementTerms['cycle'];
  minimum_payout: string;
  reserve: SettlementTerms['reserve'] | null;
}

const termsOf = (row: TermsRow): SettlementTerms =>
  settlementTerms({
    currency: row.currency.trim(),
    cycle: row.cycle,
    minimumPayout: row.minimum_payout,
    reserve: row.reserve,
  });

/**
 * The terms of each merchant asked for: its own row, else the platform default ('*'). Every row is
 * validated by the domain's parser, so a bad row stops the close instead of settling on a guess.
 */
export async function loadMerchantTerms(
  db: Db,
  merchantIds: readonly string[],
): Promise<Map<string, SettlementTerms>> {
  const rows = await db.query<TermsRow[]>(
    `SELECT merchant_id, currency, cycle, minimum_payout::text AS minimum_payout, reserve
     FROM settlement.merchant_terms WHERE merchant_id = ANY($1) OR merchant_id = $2`,
    [merchantIds, PLATFORM_DEFAULT_TERMS],
  );
  const defaultRow = rows.find((r) => r.merchant_id === PLATFORM_DEFAULT_TERMS);
  if (!defaultRow)
    throw new Error(`no platform default terms ('${PLATFORM_DEFAULT_TERMS}') in settlement.merchant_terms`);
  const platform = termsOf(defaultRow);
  const own = new Map(
    rows.filter((r) => r.merchant_id !== PLATFORM_DEFAULT_TERMS).map((r) => [r.merchant_id, termsOf(r)]),
  );
  return new Map(merchantIds.map((m) => [m, own.get(m) ?? platform]));
}
