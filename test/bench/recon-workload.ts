/**
 * The reconciliation bench's workload: N internal transactions of one channel day and the N-line
 * generic-CSV statement the channel would send for them, with a known number of discrepancies of
 * every class. Everything is a pure function of the row index, so both sides (and the expected
 * counts) come out of the same rules without holding anything in memory.
 *
 * Row i of ours:
 *   - i % 20 = 19: a REFUND (half the amount) of the payment i − 1 (same order number), 5% of rows;
 *   - otherwise a PAYMENT with its own order number.
 * Discrepancies sit on payments with i % 20 = 7 (never refunded), one every `step` rows, the classes
 * taking turns, `perClass` of each:
 *   - AMOUNT_MISMATCH     the line's amount is ours + 0.01;
 *   - STATUS_MISMATCH     the line's status is CLOSED;
 *   - MISSING_IN_CHANNEL  no line (our payment is hours before the cut-off);
 *   - PENDING_CROSS_DAY   no line, and our payment is at 23:58:xx local, inside the 5-minute window;
 *   - MISSING_INTERNAL    our payment's line as usual, followed by a line for an order we never had;
 *   - DUPLICATE           our payment's line twice.
 * Two slots remove a line and two add one, so the statement has exactly N lines too.
 */

export const BENCH_CHANNEL = 'BENCH';
export const BENCH_BUSINESS_DATE = '2026-11-22';
export const BENCH_ZONE = 'Asia/Shanghai';
export const BENCH_CURRENCY = 'CNY';

/** The layout of samples/generic-*.csv, which GENERIC_CSV_DEFAULT_OPTIONS reads. */
export const STATEMENT_HEADER = 'channel_txn_id,order_no,type,amount,fee,currency,status,trade_time';

export const INTERNAL_COPY_COLUMNS = [
  'event_id',
  'event_type',
  'merchant_id',
  'channel',
  'order_no',
  'refund_no',
  'channel_txn_id',
  'payment_method',
  'amount',
  'currency',
  'occurred_at',
  'business_date',
  'business_zone',
] as const;

export const DISCREPANCY_CLASSES = [
  'AMOUNT_MISMATCH',
  'STATUS_MISMATCH',
  'MISSING_IN_CHANNEL',
  'MISSING_INTERNAL',
  'DUPLICATE',
  'PENDING_CROSS_DAY',
] as const;
export type DiscrepancyClass = (typeof DISCREPANCY_CLASSES)[number];

const GROUP = 20;
const REFUND_AT = 19;
const SLOT_AT = 7;
const MERCHANTS = 10_000;
/** Ordinary rows fall in [00:00, 23:50) local: well clear of the cross-day window before midnight. */
const ORDINARY_SECONDS = 23 * 3_600 + 50 * 60;
const PENDING_FROM_SECONDS = 23 * 3_600 + 58 * 60;

export interface ReconWorkload {
  /** Internal transactions, and statement lines: both are exactly this many. */
  rows: number;
  perClass: number;
  /** Rows between two discrepancy slots (a multiple of 20). */
  step: number;
  /** What a correct match run of the day must count, class by class. */
  expected: Record<'MATCHED' | DiscrepancyClass, number>;
  /**
   * What the bare FULL OUTER JOIN counts on the same data: it knows no duplicates (a repeated line
   * joins our row a second time) and no cross-day window (a pending payment is just missing).
   */
  baselineExpected: Record<
    'MATCHED' | 'AMOUNT_MISMATCH' | 'STATUS_MISMATCH' | 'MISSING_IN_CHANNEL' | 'MISSING_INTERNAL',
    number
  >;
}

export function planWorkload(rows: number, discrepancyRate: number): ReconWorkload {
  if (!Number.isSafeInteger(rows) || rows < GROUP) throw new Error(`--lines must be an integer ≥ ${GROUP}`);
  if (!(discrepancyRate >= 0 && discrepancyRate < 1)) throw new Error('--discrepancy-rate must be in [0, 1)');
  const perClass = Math.floor((rows * discrepancyRate) / DISCREPANCY_CLASSES.length);
  const slots = perClass * DISCREPANCY_CLASSES.length;
  const step = slots === 0 ? rows : GROUP * Math.floor(rows / (slots * GROUP));
  if (step < GROUP) {
    throw new Error(
      `--discrepancy-rate ${discrepancyRate} is too high: at most one discrepancy per ${GROUP} rows fits`,
    );
  }
  const k = perClass;
  return {
    rows,
    perClass,
    step,
    expected: {
      MATCHED: rows - 4 * k,
      AMOUNT_MISMATCH: k,
      STATUS_MISMATCH: k,
      MISSING_IN_CHANNEL: k,
      MISSING_INTERNAL: k,
      DUPLICATE: k,
      PENDING_CROSS_DAY: k,
    },
    baselineExpected: {
      MATCHED: rows - 3 * k,
      AMOUNT_MISMATCH: k,
      STATUS_MISMATCH: k,
      MISSING_IN_CHANNEL: 2 * k,
      MISSING_INTERNAL: k,
    },
  };
}

function slotOf(w: ReconWorkload, i: number): { cls: DiscrepancyClass; j: number } | undefined {
  if (w.perClass === 0 || i % w.step !== SLOT_AT) return undefined;
  const j = (i - SLOT_AT) / w.step;
  if (j >= w.perClass * DISCREPANCY_CLASSES.length) return undefined;
  return { cls: DISCREPANCY_CLASSES[j % DISCREPANCY_CLASSES.length]!, j };
}

const isRefund = (i: number) => i % GROUP === REFUND_AT;
const pad = (n: number, width: number) => String(n).padStart(width, '0');
const orderNoOf = (i: number) => `BO${pad(isRefund(i) ? i - 1 : i, 10)}`;

/** Integer fen: 1.00 … 9,999.99 for a payment, half its payment (rounded down) for a refund. */
function amountFen(i: number): bigint {
  const payment = (p: number) => 100n + ((BigInt(p) * 7_919n) % 999_900n);
  return isRefund(i) ? payment(i - 1) / 2n : payment(i);
}

/** 12345n → "123.45"; the sign is the caller's. */
function fenText(fen: bigint): string {
  const digits = fen.toString().padStart(3, '0');
  return `${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

/** Seconds after local midnight on the business date. */
function localSeconds(w: ReconWorkload, i: number): number {
  if (isRefund(i)) return localSeconds(w, i - 1) + 60;
  const slot = slotOf(w, i);
  if (slot?.cls === 'PENDING_CROSS_DAY') return PENDING_FROM_SECONDS + (slot.j % 60);
  return (i * 7_919) % ORDINARY_SECONDS;
}

function clock(seconds: number): string {
  return `${pad(Math.floor(seconds / 3_600), 2)}:${pad(Math.floor(seconds / 60) % 60, 2)}:${pad(seconds % 60, 2)}`;
}

/** COPY text (tab-separated, \N for null) of internal_transaction rows, `rowsPerChunk` per string. */
export function* internalCopyChunks(w: ReconWorkload, rowsPerChunk = 10_000): Generator<string> {
  for (let start = 0; start < w.rows; start += rowsPerChunk) {
    let text = '';
    for (let i = start; i < Math.min(start + rowsPerChunk, w.rows); i += 1) {
      const refund = isRefund(i);
      text +=
        `bench-${i}\t${refund ? 'REFUND_SUCCEEDED' : 'PAYMENT_SUCCEEDED'}\tM${pad(i % MERCHANTS, 5)}\t` +
        `${BENCH_CHANNEL}\t${orderNoOf(i)}\t${refund ? `BR${pad(i, 10)}` : '\\N'}\t` +
        `${refund ? '50' : '42'}${pad(i, 16)}\t\\N\t${fenText(amountFen(i))}\t${BENCH_CURRENCY}\t` +
        `${BENCH_BUSINESS_DATE}T${clock(localSeconds(w, i))}+08:00\t${BENCH_BUSINESS_DATE}\t${BENCH_ZONE}\n`;
    }
    yield text;
  }
}

/**
 * The statement file, header first, then lines in our row order, `rowsPerChunk` rows per string.
 * Throws if it would not come out at exactly `w.rows` lines (the plan and the rules disagree).
 */
export function* statementCsvChunks(w: ReconWorkload, rowsPerChunk = 10_000): Generator<string> {
  yield `${STATEMENT_HEADER}\n`;
  let lines = 0;
  const line = (txnId: string, orderNo: string, refund: boolean, fen: bigint, status: string, at: string) => {
    lines += 1;
    const fee = (fen * 6n) / 1_000n;
    const feeText = fee === 0n ? '0.00' : `${refund ? '-' : ''}${fenText(fee)}`;
    return `${txnId},${orderNo},${refund ? 'REFUND' : 'PAYMENT'},${fenText(fen)},${feeText},${BENCH_CURRENCY},${status},${at}\n`;
  };
  for (let start = 0; start < w.rows; start += rowsPerChunk) {
    let text = '';
    for (let i = start; i < Math.min(start + rowsPerChunk, w.rows); i += 1) {
      const refund = isRefund(i);
      const slot = slotOf(w, i)?.cls;
      if (slot === 'MISSING_IN_CHANNEL' || slot === 'PENDING_CROSS_DAY') continue;
      const txnId = `${refund ? '50' : '42'}${pad(i, 16)}`;
      const at = `${BENCH_BUSINESS_DATE} ${clock(localSeconds(w, i))}`;
      const fen = amountFen(i) + (slot === 'AMOUNT_MISMATCH' ? 1n : 0n);
      const ours = line(
        txnId,
        orderNoOf(i),
        refund,
        fen,
        slot === 'STATUS_MISMATCH' ? 'CLOSED' : 'SUCCESS',
        at,
      );
      text += ours;
      if (slot === 'DUPLICATE') {
        lines += 1;
        text += ours;
      }
      if (slot === 'MISSING_INTERNAL') {
        text += line(`43${pad(i, 16)}`, `BX${pad(i, 10)}`, false, amountFen(i), 'SUCCESS', at);
      }
    }
    yield text;
  }
  if (lines !== w.rows) throw new Error(`the statement came out at ${lines} lines, planned ${w.rows}`);
}
