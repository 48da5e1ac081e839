import { Money } from '@app/contracts';
import { UTF8_BOM, csvCell, csvLine, csvMoney } from '@app/platform';
import type { EntityManager } from 'typeorm';

/**
 * The merchant statement (商户结算对账单) of one settlement record, as CSV: every cleared item the
 * record settled, then its totals, which equal the record.
 *
 * Each item shows the merchant's references (order number, refund number for a refund), the coupon
 * split of a payment (merchant- and platform-funded, 商户出资 / 平台出资) and the signed gross, fee
 * and net. Items stored before settlement kept order numbers and coupon parts have those cells
 * empty; the transaction id stays as the reference that always exists. channel_cost is the
 * platform's cost, not the merchant's, and stays out.
 */

export const MERCHANT_STATEMENT_COLUMNS = [
  'line',
  'business_date',
  'type',
  'order_no',
  'refund_no',
  'coupon_merchant',
  'coupon_platform',
  'transaction_event_id',
  'event_id',
  'channel',
  'currency',
  'gross',
  'fee',
  'net',
] as const;

export interface StatementRecord {
  id: string;
  merchantId: string;
  currency: string;
  itemsCount: number;
  itemsNet: string;
  carriedIn: string;
  reserveHeld: string;
  reserveReleased: string;
  amount: string;
  carryForward: string;
}

export interface StatementItem {
  eventId: string;
  transactionEventId: string;
  type: string;
  businessDate: string;
  /** Null on items stored before order numbers were kept. */
  orderNo: string | null;
  /** A refund's; null on a payment. */
  refundNo: string | null;
  /** A payment's coupon parts; null on a refund and on items stored before they were kept. */
  couponMerchantFunded: string | null;
  couponPlatformFunded: string | null;
  channel: string;
  gross: string;
  fee: string;
  net: string;
}

/**
 * Σ item net differs from the record's items_net, or the count from items_count. Found before any
 * byte is sent by `verifyStatementTotals`; `statementRows` checks again as it streams (pair
 * assertion) and then throws before the totals lines.
 */
export class StatementInvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StatementInvariantError';
  }
}

type Db = Pick<EntityManager, 'query'>;

/** Page size of the item query: a big merchant's daily record holds far more items than one read should. */
const PAGE = 5_000;

export async function findStatementRecord(db: Db, id: string): Promise<StatementRecord | undefined> {
  if (!/^[1-9]\d{0,18}$/.test(id)) return undefined;
  const [row] = await db.query<Record<string, string | number>[]>(
    `SELECT id::text, merchant_id, currency::text AS currency, items_count, items_net::text, carried_in::text,
            reserve_held::text, reserve_released::text, amount::text, carry_forward::text
     FROM settlement.settlement_record WHERE id = $1`,
    [id],
  );
  if (!row) return undefined;
  const currency = row.currency as string;
  const money = (v: unknown) => Money.of(v as string, currency).toString();
  return {
    id: row.id as string,
    merchantId: row.merchant_id as string,
    currency,
    itemsCount: row.items_count as number,
    itemsNet: money(row.items_net),
    carriedIn: money(row.carried_in),
    reserveHeld: money(row.reserve_held),
    reserveReleased: money(row.reserve_released),
    amount: money(row.amount),
    carryForward: money(row.carry_forward),
  };
}

/**
 * Checks, in one aggregate over the record's items, the invariant `statementRows` would find only
 * at the end of the stream (DESIGN §7 invariant 3: the record is exactly the sum of its items).
 * Callers run it first, so an inconsistent record is refused with an error instead of half a file
 * over HTTP or a truncated --out file.
 * @throws StatementInvariantError
 */
export async function verifyStatementTotals(db: Db, record: StatementRecord): Promise<void> {
  const [row] = await db.query<{ count: number; net: string }[]>(
    `SELECT count(*)::int AS count, coalesce(sum(net), 0)::text AS net
     FROM settlement.cleared_item WHERE settlement_record_id = $1`,
    [record.id],
  );
  const net = Money.of(row!.net, record.currency);
  if (row!.count !== record.itemsCount || !net.equals(Money.of(record.itemsNet, record.currency)))
    throw new StatementInvariantError(
      `settlement record ${record.id}: its ${row!.count} item(s) net ${net.toString()}, ` +
        `the record says ${record.itemsCount} item(s) net ${record.itemsNet}`,
    );
}

/**
 * The record's items by business date, then order number, then transaction id, read a page at a
 * time with a keyset so a large record streams in bounded memory. A missing order number sorts as
 * '' (first in its day), so the keyset compares non-null values; order numbers compare bytewise
 * (COLLATE "C"), the same on every database locale.
 */
export async function* statementItems(
  db: Db,
  record: StatementRecord,
  pageSize = PAGE,
): AsyncGenerator<StatementItem> {
  let after: [string, string, string, string] | null = null;
  for (;;) {
    const rows: Record<string, string | null>[] = await db.query<Record<string, string | null>[]>(
      `SELECT event_id::text, transaction_event_id, type, to_char(business_date, 'YYYY-MM-DD') AS business_date,
              order_no, COALESCE(order_no, '') COLLATE "C" AS order_key, refund_no,
              coupon_merchant_funded::text, coupon_platform_funded::text,
              channel, gross::text, fee::text, net::text
       FROM settlement.cleared_item
       WHERE settlement_record_id = $1
         AND ($2::date IS NULL OR (business_date, COALESCE(order_no, '') COLLATE "C", transaction_event_id, event_id)
                                  > ($2::date, $3::text COLLATE "C", $4::text, $5::uuid))
       ORDER BY business_date, COALESCE(order_no, '') COLLATE "C", transaction_event_id, event_id
       LIMIT $6`,
      [record.id, after?.[0] ?? null, after?.[1] ?? null, after?.[2] ?? null, after?.[3] ?? null, pageSize],
    );
    const money = (v: string | null | undefined) => Money.of(v!, record.currency).toString();
    const optionalMoney = (v: string | null | undefined) => (v == null ? null : money(v));
    for (const r of rows)
      yield {
        eventId: r.event_id!,
        transactionEventId: r.transaction_event_id!,
        type: r.type!,
        businessDate: r.business_date!,
        orderNo: r.order_no ?? null,
        refundNo: r.refund_no ?? null,
        couponMerchantFunded: optionalMoney(r.coupon_merchant_funded),
        couponPlatformFunded: optionalMoney(r.coupon_platform_funded),
        channel: r.channel!,
        gross: money(r.gross),
        fee: money(r.fee),
        net: money(r.net),
      };
    if (rows.length < pageSize) return;
    const last = rows[rows.length - 1]!;
    after = [last.business_date!, last.order_key!, last.transaction_event_id!, last.event_id!];
  }
}

function itemCells(item: StatementItem, currency: string): string[] {
  return [
    csvCell('ITEM'),
    csvCell(item.businessDate),
    csvCell(item.type),
    csvCell(item.orderNo),
    csvCell(item.refundNo),
    csvMoney(item.couponMerchantFunded),
    csvMoney(item.couponPlatformFunded),
    csvCell(item.transactionEventId),
    csvCell(item.eventId),
    csvCell(item.channel),
    csvCell(currency),
    csvMoney(item.gross),
    csvMoney(item.fee),
    csvMoney(item.net),
  ];
}

/** A totals line: a label in `line`, the figure in `net` (gross and fee only for the items total). */
function totalCells(label: string, currency: string, net: string, gross = '', fee = ''): string[] {
  return [
    csvCell(label),
    ...Array<string>(MERCHANT_STATEMENT_COLUMNS.indexOf('currency') - 1).fill(''),
    csvCell(currency),
    gross === '' ? '' : csvMoney(gross),
    fee === '' ? '' : csvMoney(fee),
    csvMoney(net),
  ];
}

/**
 * The statement's rows of cells: one per item, then ITEMS_TOTAL (Σ gross, Σ fee, Σ net), CARRIED_IN,
 * RESERVE_HELD, RESERVE_RELEASED, CARRY_FORWARD and PAYABLE_AMOUNT, the record's own figures:
 * payable + carry-forward = items net + carried in − reserve held + reserve released.
 * Throws StatementInvariantError, before any totals line, when Σ item net ≠ items_net or the count
 * ≠ items_count (DESIGN §7 invariant 3: the record is exactly the sum of its items).
 */
export async function* statementRows(
  items: AsyncIterable<StatementItem>,
  record: StatementRecord,
): AsyncGenerator<string[]> {
  const { currency } = record;
  let gross = Money.zero(currency);
  let fee = Money.zero(currency);
  let net = Money.zero(currency);
  let count = 0;
  for await (const item of items) {
    gross = gross.plus(Money.of(item.gross, currency));
    fee = fee.plus(Money.of(item.fee, currency));
    net = net.plus(Money.of(item.net, currency));
    count++;
    yield itemCells(item, currency);
  }
  if (!net.equals(Money.of(record.itemsNet, currency)) || count !== record.itemsCount)
    throw new StatementInvariantError(
      `settlement record ${record.id}: its ${count} item(s) net ${net.toString()}, ` +
        `the record says ${record.itemsCount} item(s) net ${record.itemsNet}`,
    );
  yield totalCells('ITEMS_TOTAL', currency, net.toString(), gross.toString(), fee.toString());
  yield totalCells('CARRIED_IN', currency, record.carriedIn);
  yield totalCells('RESERVE_HELD', currency, record.reserveHeld);
  yield totalCells('RESERVE_RELEASED', currency, record.reserveReleased);
  yield totalCells('CARRY_FORWARD', currency, record.carryForward);
  yield totalCells('PAYABLE_AMOUNT', currency, record.amount);
}

/**
 * The statement as CSV lines (UTF-8 with a BOM, CRLF), lazily: write each line as it comes
 * (`Readable.from(...)`). The header is yielded before any item is read.
 */
export async function* merchantStatementCsv(
  items: AsyncIterable<StatementItem>,
  record: StatementRecord,
): AsyncGenerator<string> {
  yield UTF8_BOM + csvLine(MERCHANT_STATEMENT_COLUMNS.map((column) => csvCell(column)));
  for await (const cells of statementRows(items, record)) yield csvLine(cells);
}
