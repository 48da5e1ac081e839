import { InvariantError, invariant, minorUnitOf } from '@app/contracts';
import { copyTextField, copyTextValue } from '@app/platform';
import type { StatementLine } from '../statement/statement-line.js';
import { describeLine, keyDescription } from './classify.js';
import {
  type InternalItemIndex,
  decimalTextOf,
  describeKey,
  minorUnitsOfText,
} from './internal-item-index.js';
import { type InternalItemKind, MATCH_CLASSES, type MatchClass } from './match.types.js';

/**
 * The match run in one pass over the statement (ADR 013): the rules of `classify` (its header is
 * the specification), applied to each line as it is read, against our items held in an
 * InternalItemIndex. What a line needs decided later is decided in `finish`:
 *  - a refund line naming no refund number waits (a later line may claim the refund it would take);
 *  - a repeated key whose first line disagreed with our record, and a later line agrees: the later
 *    line takes the pair, and the earlier line's outcome is corrected to DUPLICATE;
 *  - our items no line paired are MISSING_IN_CHANNEL or PENDING_CROSS_DAY.
 * Lines must come in line-number order (the file's order), as `classify` ranks repeated keys by it.
 */

export interface MatcherPolicy {
  /** D, 'YYYY-MM-DD'. */
  businessDate: string;
  crossDayGraceDays: number;
  /** Decimal text in [0, 1), or null: no fee check. */
  expectedFeeRate: string | null;
  /** Upper-case status words meaning "succeeded", per line type. */
  successStatuses: Readonly<Record<InternalItemKind, ReadonlySet<string>>>;
}

/** One line's class in the run. */
export interface LineOutcome {
  lineNo: number;
  class: MatchClass;
  /** The item paired with the line (a BOTH row); -1 for a line only the channel has. */
  internalIndex: number;
  /** internal_transaction.id of that item, or null. */
  internalId: string | null;
  /** DUPLICATE: the line the key is paired on (null when there is none). */
  pairedLineNo: number | null;
  /** The join key as `classify` writes it; null for MATCHED (most of a day, and never shown). */
  key: string | null;
  /** Channel fee − expected fee at the currency's scale, when they differ. */
  feeDifference: string | null;
  /** For a person; null for MATCHED (most of a day: derivable, so never written). */
  reason: string | null;
  /** The paired item was carried from this earlier business date. */
  carriedFrom: string | null;
}

/** One of our items no line paired. */
export interface InternalOnlyOutcome {
  internalIndex: number;
  internalId: string;
  class: 'MISSING_IN_CHANNEL' | 'PENDING_CROSS_DAY';
  key: string;
  carriedFrom: string | null;
}

/** Refund lines that named no refund number, decided at the end: k = 0 … size − 1, in line order. */
export interface DeferredLines {
  size: number;
  /** The line, read back from where it was held (a new object per call). */
  line(k: number): StatementLine;
  outcome(k: number): LineOutcome;
}

export interface MatcherResult {
  deferred: DeferredLines;
  /** Lines already handed out whose outcome changed (a later line took their pair). */
  corrections: LineOutcome[];
  internalOnly: InternalOnlyOutcome[];
  counts: Record<MatchClass, number>;
  lines: number;
}

interface Difference {
  kind: 'STATUS' | 'CURRENCY' | 'AMOUNT';
  text: string;
}

const SAFE = Number.MAX_SAFE_INTEGER;
const NO_DIFFERENCES: readonly Difference[] = Object.freeze([]);

export class StatementMatcher {
  private lastLineNo = 0;
  private lines = 0;
  private finished = false;
  private readonly counts = Object.fromEntries(MATCH_CLASSES.map((c) => [c, 0])) as Record<
    MatchClass,
    number
  >;
  private readonly held = new HeldLines();
  /** Keys no item of ours has → the first line with the key. */
  private readonly unmatchedKeys = new Map<string, number>();
  /** Items whose line so far disagrees with our record: a later agreeing line takes the pair. */
  private readonly disagreeing = new Map<number, StatementLine>();
  /** The DUPLICATE lines of such an item, re-pointed if the pair moves. */
  private readonly duplicatesOf = new Map<number, StatementLine[]>();
  private readonly corrections = new Map<number, LineOutcome>();
  /** The class a line that may still be corrected is counted under. */
  private readonly countedAs = new Map<number, MatchClass>();
  private readonly rate: { units: number; scale: number; text: string } | null;

  constructor(
    private readonly index: InternalItemIndex,
    private readonly policy: MatcherPolicy,
  ) {
    if (policy.expectedFeeRate === null) {
      this.rate = null;
    } else {
      const scale = (policy.expectedFeeRate.split('.')[1] ?? '').length;
      const units = minorUnitsOfText(policy.expectedFeeRate, scale);
      invariant(
        units !== undefined && units >= 0 && scale <= 15,
        () => `expected fee rate ${policy.expectedFeeRate} is not a plain decimal of at most 15 places`,
      );
      this.rate = { units, scale, text: policy.expectedFeeRate };
    }
  }

  /**
   * Our items the lines' keys name (-1: none), for `match`: a batch's lookups made together let the
   * CPU overlap their cache misses. Held lines (refund lines naming no refund number) get -1 too.
   */
  lookUp(lines: readonly StatementLine[]): Int32Array {
    return this.index.findAll(lines);
  }

  /**
   * The line's outcome, or null when it waits for `finish` (a refund line naming no refund number).
   * `found`: the line's item from `lookUp`, when the caller looked the batch up.
   */
  match(line: StatementLine, found?: number): LineOutcome | null {
    if (this.finished) throw new InvariantError('StatementMatcher.match after finish');
    if (line.lineNo <= this.lastLineNo)
      throw new InvariantError(
        `line ${line.lineNo} after line ${this.lastLineNo}: lines must come in file order`,
      );
    this.lastLineNo = line.lineNo;
    this.lines += 1;
    if (line.type === 'REFUND' && (line.refundNo === null || line.refundNo === '')) {
      this.held.hold(line);
      return null;
    }
    const index = found ?? this.index.find(line.type, line.orderNo, line.refundNo);
    const outcome = index === -1 ? this.unmatched(line) : this.paired(index, line);
    this.counts[outcome.class] += 1;
    return outcome;
  }

  finish(): MatcherResult {
    invariant(!this.finished, 'StatementMatcher.finish twice');
    this.finished = true;
    const deferred = this.pairHeldRefunds();

    const internalOnly: InternalOnlyOutcome[] = [];
    const D = this.policy.businessDate;
    const grace = this.policy.crossDayGraceDays;
    for (let i = this.index.first(); i !== -1; i = this.index.next(i)) {
      if (this.index.pairedLineOf(i) !== 0) continue;
      const carriedFrom = this.index.carriedFromOf(i);
      const klass =
        carriedFrom !== null
          ? daysBetween(carriedFrom, D) >= grace
            ? 'MISSING_IN_CHANNEL'
            : 'PENDING_CROSS_DAY'
          : grace > 0 && this.index.inCrossDayWindow(i)
            ? 'PENDING_CROSS_DAY'
            : 'MISSING_IN_CHANNEL';
      this.counts[klass] += 1;
      internalOnly.push({
        internalIndex: i,
        internalId: this.index.idOf(i),
        class: klass,
        key: this.keyOfItem(i),
        carriedFrom,
      });
    }

    // Invariant 6 (DESIGN §7): every line in one row, every item of ours in one row.
    const rows = MATCH_CLASSES.reduce((sum, c) => sum + this.counts[c], 0);
    let pairedItems = 0;
    for (let i = this.index.first(); i !== -1; i = this.index.next(i))
      if (this.index.pairedLineOf(i) !== 0) pairedItems += 1;
    invariant(
      rows === this.lines + internalOnly.length && pairedItems + internalOnly.length === this.index.size,
      () =>
        `match lost or invented items: ${this.lines} lines and ${this.index.size} of ours in, ${rows} rows, ${pairedItems} paired, ${internalOnly.length} ours alone`,
    );
    return {
      deferred,
      corrections: [...this.corrections.values()].sort((a, b) => a.lineNo - b.lineNo),
      internalOnly,
      counts: { ...this.counts },
      lines: this.lines,
    };
  }

  // -------------------------------------------------------------------------------------------

  private unmatched(line: StatementLine): LineOutcome {
    const key = describeKey(line.type, line.orderNo, line.refundNo);
    const first = this.unmatchedKeys.get(key);
    if (first === undefined) {
      this.unmatchedKeys.set(detached(key), line.lineNo);
      return this.lineOnly(
        line,
        'MISSING_INTERNAL',
        key,
        `${describeLine(line)} has no ${line.type.toLowerCase()} of ours`,
        null,
      );
    }
    return this.duplicateOutcome(line, key, first);
  }

  private paired(index: number, line: StatementLine): LineOutcome {
    const pairedLineNo = this.index.pairedLineOf(index);
    if (pairedLineNo === 0 && this.agrees(index, line)) {
      // Nearly every line: the first for its key, and it agrees with our record.
      this.index.setPairedLine(index, line.lineNo);
      return this.pair(index, line, NO_DIFFERENCES);
    }
    const differences = this.differencesOf(index, line);
    if (pairedLineNo === 0) {
      this.index.setPairedLine(index, line.lineNo);
      const outcome = this.pair(index, line, differences);
      if (differences.length > 0) {
        this.disagreeing.set(index, detachedLine(line));
        this.countedAs.set(line.lineNo, outcome.class);
      }
      return outcome;
    }
    const earlier = this.disagreeing.get(index);
    const key = this.keyOfItem(index);
    if (earlier !== undefined && differences.length === 0) {
      // The first line that agrees with our record takes the pair (classify's rule); the line
      // it had, and that line's repeats, now repeat this one.
      this.disagreeing.delete(index);
      this.index.setPairedLine(index, line.lineNo);
      const repeats = this.duplicatesOf.get(index) ?? [];
      this.duplicatesOf.delete(index);
      this.correct(earlier, this.duplicateOutcome(earlier, key, line.lineNo));
      for (const repeat of repeats) this.correct(repeat, this.duplicateOutcome(repeat, key, line.lineNo));
      return this.pair(index, line, differences);
    }
    if (earlier !== undefined) {
      const repeats = this.duplicatesOf.get(index);
      if (repeats === undefined) this.duplicatesOf.set(index, [detachedLine(line)]);
      else repeats.push(detachedLine(line));
      this.countedAs.set(line.lineNo, 'DUPLICATE');
    }
    return this.duplicateOutcome(line, key, pairedLineNo);
  }

  private pair(index: number, line: StatementLine, differences: readonly Difference[]): LineOutcome {
    const klass: MatchClass =
      differences.length === 0
        ? 'MATCHED'
        : differences.some((d) => d.kind === 'STATUS')
          ? 'STATUS_MISMATCH'
          : 'AMOUNT_MISMATCH';
    const carriedFrom = this.index.carriedFromOf(index);
    const feeDifference = this.feeDifferenceOf(line);
    let reason: string | null = null;
    if (klass !== 'MATCHED') {
      reason = differences.map((d) => d.text).join('; ');
      if (carriedFrom !== null)
        reason += ` (our business date ${carriedFrom}, on ${this.policy.businessDate}'s statement)`;
      if (feeDifference !== null) reason += this.feeText(line, feeDifference);
    }
    return {
      lineNo: line.lineNo,
      class: klass,
      internalIndex: index,
      internalId: this.index.idOf(index),
      pairedLineNo: null,
      key: klass === 'MATCHED' ? null : this.keyOfItem(index),
      feeDifference,
      reason,
      carriedFrom,
    };
  }

  private duplicateOutcome(line: StatementLine, key: string, pairedLineNo: number): LineOutcome {
    return this.lineOnly(
      line,
      'DUPLICATE',
      key,
      `${describeLine(line)} repeats ${keyDescription(line)} already on line ${pairedLineNo}`,
      pairedLineNo,
    );
  }

  private lineOnly(
    line: StatementLine,
    klass: MatchClass,
    key: string,
    reason: string,
    pairedLineNo: number | null,
  ): LineOutcome {
    const feeDifference = this.feeDifferenceOf(line);
    return {
      lineNo: line.lineNo,
      class: klass,
      internalIndex: -1,
      internalId: null,
      pairedLineNo,
      key,
      feeDifference,
      reason: feeDifference === null ? reason : reason + this.feeText(line, feeDifference),
      carriedFrom: null,
    };
  }

  /** Replaces a handed-out outcome; the counts move with it. */
  private correct(line: StatementLine, outcome: LineOutcome): void {
    const counted = this.countedAs.get(line.lineNo);
    invariant(counted !== undefined, () => `line ${line.lineNo} is corrected but was never counted`);
    this.counts[counted] -= 1;
    this.counts[outcome.class] += 1;
    this.countedAs.set(line.lineNo, outcome.class);
    this.corrections.set(line.lineNo, outcome);
  }

  /** differencesOf(…) is empty, without building it. */
  private agrees(index: number, line: StatementLine): boolean {
    const statuses = this.policy.successStatuses[this.index.kindOf(index)];
    return (
      (statuses.has(line.status) || statuses.has(line.status.toUpperCase())) && this.sameAmount(index, line)
    );
  }

  private differencesOf(index: number, line: StatementLine): Difference[] {
    const differences: Difference[] = [];
    const kind = this.index.kindOf(index);
    if (!this.policy.successStatuses[kind].has(line.status.toUpperCase())) {
      differences.push({ kind: 'STATUS', text: `status ${line.status} (channel) ≠ succeeded (ours)` });
    }
    const currency = this.index.currencyOfItem(index);
    if (currency !== line.currency) {
      differences.push({
        kind: 'CURRENCY',
        text: `currency ${currency} (ours) ≠ ${line.currency} (channel)`,
      });
    } else if (!this.sameAmount(index, line)) {
      differences.push({
        kind: 'AMOUNT',
        text: `amount ${this.index.amountOf(index)} (ours) ≠ ${line.amount} (channel)`,
      });
    }
    return differences;
  }

  private sameAmount(index: number, line: StatementLine): boolean {
    if (this.index.currencyOfItem(index) !== line.currency) return false;
    const scale = this.scaleOf(line.currency);
    return minorUnitsOfText(line.amount, scale) === this.index.amountUnitsOf(index);
  }

  private scaleOf(currency: string): number {
    const at = this.index.currencies.indexOf(currency);
    // A line in a currency none of our items has still has its amount read exactly.
    return at === -1 ? minorUnitOf(currency) : this.index.scales[at]!;
  }

  private keyOfItem(index: number): string {
    const [orderNo, refundNo] = this.index.keyOf(index);
    return describeKey(this.index.kindOf(index), orderNo, refundNo);
  }

  /**
   * expected = amount × rate rounded half-up to the minor unit (negated for a refund, whose fee is
   * returned); the difference channel − expected, or null when equal or not checked. Integer
   * arithmetic on minor units: exact, never floating point.
   */
  private feeDifferenceOf(line: StatementLine): string | null {
    if (line.fee === null || this.rate === null) return null;
    const scale = this.scaleOf(line.currency);
    const fee = minorUnitsOfText(line.fee, scale);
    const amount = minorUnitsOfText(line.amount, scale);
    invariant(
      fee !== undefined && amount !== undefined,
      () => `line ${line.lineNo}: fee or amount not at ${line.currency} scale`,
    );
    const magnitude = roundHalfUpDivide(amount, this.rate.units, this.rate.scale);
    const expected = line.type === 'REFUND' ? -magnitude : magnitude;
    const difference = fee - expected;
    return difference === 0 ? null : decimalTextOf(difference, scale);
  }

  private feeText(line: StatementLine, feeDifference: string): string {
    const scale = this.scaleOf(line.currency);
    const expected = minorUnitsOfText(line.fee!, scale)! - minorUnitsOfText(feeDifference, scale)!;
    return `; fee ${line.fee} (channel) ≠ ${decimalTextOf(expected, scale)} expected at rate ${this.rate!.text}`;
  }

  /**
   * Refund lines naming no refund number, tied to one of our refunds of the same order that no line
   * claimed by number: same money first (lines in line order, refunds in refund-number order), then
   * whatever is left; a line left over is MISSING_INTERNAL. Lines are read back one order at a time;
   * only outcomes that say more than "matched to this item" are kept as objects.
   */
  private pairHeldRefunds(): DeferredLines {
    const held = this.held;
    const pairedWith = new Int32Array(held.size).fill(-1);
    const kept = new Map<number, LineOutcome>();
    // Orders as small numbers (one Map entry each), lines and candidates grouped by them in typed
    // arrays: a Map of arrays per side took ~150 MB at 500k held lines.
    const groupOf = new Map<string, number>();
    const lineGroup = new Int32Array(held.size);
    for (let k = 0; k < held.size; k += 1) {
      const orderNo = held.orderNoAt(k);
      let g = groupOf.get(orderNo);
      if (g === undefined) {
        g = groupOf.size;
        groupOf.set(detached(orderNo), g);
      }
      lineGroup[k] = g;
    }
    const groups = groupOf.size;
    const candidateGroup: number[] = [];
    const candidateRef: number[] = [];
    if (groups > 0) {
      for (const refund of this.index.unpairedRefunds()) {
        const g = groupOf.get(refund.orderNo);
        if (g === undefined) continue;
        candidateGroup.push(g);
        candidateRef.push(refund.index);
      }
    }
    groupOf.clear();
    const linesOf = groupedBy(lineGroup, null, groups);
    const poolOf = groupedBy(candidateGroup, candidateRef, groups);
    for (let g = 0; g < groups; g += 1) {
      const ks = Array.from(linesOf.items.subarray(linesOf.start[g], linesOf.start[g + 1]));
      const pool = Array.from(poolOf.items.subarray(poolOf.start[g], poolOf.start[g + 1]));
      if (pool.length > 1) {
        const refundNos = new Map(pool.map((ref) => [ref, this.index.keyOf(ref)[1]]));
        pool.sort((a, b) => {
          const x = refundNos.get(a)!;
          const y = refundNos.get(b)!;
          return x < y ? -1 : x > y ? 1 : 0;
        });
      }
      const lines = ks.map((k) => held.line(k));
      const taken = new Set<number>();
      const chosen: number[] = ks.map(() => -1);
      const pick = (at: number, test: (ref: number) => boolean): void => {
        if (chosen[at] !== -1) return;
        const ref = pool.find((c) => !taken.has(c) && test(c));
        if (ref === undefined) return;
        taken.add(ref);
        chosen[at] = ref;
      };
      lines.forEach((line, at) => pick(at, (ref) => this.sameAmount(ref, line)));
      lines.forEach((_, at) => pick(at, () => true));
      lines.forEach((line, at) => {
        const ref = chosen[at]!;
        let outcome: LineOutcome;
        if (ref === -1) {
          outcome = this.lineOnly(
            line,
            'MISSING_INTERNAL',
            `REFUND?|${line.orderNo}|line ${line.lineNo}`,
            `${describeLine(line)} names no refundNo and none of our refunds of order ${line.orderNo} is left to pair it with`,
            null,
          );
        } else {
          this.index.setPairedLine(ref, line.lineNo);
          pairedWith[ks[at]!] = ref;
          outcome = this.pair(ref, line, this.differencesOf(ref, line));
        }
        this.counts[outcome.class] += 1;
        const plain =
          outcome.class === 'MATCHED' && outcome.feeDifference === null && outcome.carriedFrom === null;
        if (!plain) kept.set(ks[at]!, outcome);
      });
    }
    return {
      size: held.size,
      line: (k) => held.line(k),
      outcome: (k) =>
        kept.get(k) ?? {
          lineNo: held.lineNoAt(k),
          class: 'MATCHED',
          internalIndex: pairedWith[k]!,
          internalId: this.index.idOf(pairedWith[k]!),
          pairedLineNo: null,
          key: null,
          feeDifference: null,
          reason: null,
          carriedFrom: null,
        },
    };
  }
}

/**
 * Items grouped by a group number 0 … groups − 1 (a counting sort, stable): group g's items are
 * items[start[g], start[g + 1]). `values` null: the items are the positions themselves.
 */
function groupedBy(
  groupOfItem: ArrayLike<number>,
  values: ArrayLike<number> | null,
  groups: number,
): { start: Int32Array; items: Int32Array } {
  const start = new Int32Array(groups + 1);
  for (let i = 0; i < groupOfItem.length; i += 1) start[groupOfItem[i]! + 1]! += 1;
  for (let g = 0; g < groups; g += 1) start[g + 1]! += start[g]!;
  const next = start.slice(0, groups);
  const items = new Int32Array(groupOfItem.length);
  for (let i = 0; i < groupOfItem.length; i += 1)
    items[next[groupOfItem[i]!]!++] = values === null ? i : values[i]!;
  return { start, items };
}

/**
 * Lines held until the end of the file (refund lines naming no refund number: all of a day's
 * refunds in a file without the column), kept as COPY-escaped text in 1 MiB pages: ~100 bytes a
 * line, where a line object with its strings took ~600 and kept the heap busy.
 */
class HeldLines {
  private static readonly PAGE_BYTES = 1 << 20;
  private readonly pages: Buffer[] = [];
  private used = HeldLines.PAGE_BYTES;
  /** page × PAGE_BYTES + offset of line k, and its length in bytes. */
  private readonly starts: number[] = [];
  private readonly lengths: number[] = [];
  private readonly lineNos: number[] = [];

  get size(): number {
    return this.starts.length;
  }

  hold(line: StatementLine): void {
    const text = [
      line.lineNo,
      line.type,
      line.orderNo,
      line.refundNo,
      line.channelTxnId,
      line.amount,
      line.fee,
      line.currency,
      line.status,
      line.tradeTime,
    ]
      .map(copyTextField)
      .join('\t');
    if (this.used + text.length * 3 > HeldLines.PAGE_BYTES) {
      invariant(text.length * 3 <= HeldLines.PAGE_BYTES, () => `line ${line.lineNo} is over 300 KiB`);
      this.pages.push(Buffer.allocUnsafe(HeldLines.PAGE_BYTES));
      this.used = 0;
    }
    const length = this.pages[this.pages.length - 1]!.write(text, this.used, 'utf8');
    this.starts.push((this.pages.length - 1) * HeldLines.PAGE_BYTES + this.used);
    this.lengths.push(length);
    this.lineNos.push(line.lineNo);
    this.used += length;
  }

  lineNoAt(k: number): number {
    return this.lineNos[k]!;
  }

  orderNoAt(k: number): string {
    const text = this.textAt(k);
    const from = text.indexOf('\t', text.indexOf('\t') + 1) + 1;
    return copyTextValue(text.slice(from, text.indexOf('\t', from)))!;
  }

  line(k: number): StatementLine {
    const f = this.textAt(k).split('\t').map(copyTextValue);
    return {
      lineNo: Number(f[0]),
      type: f[1] as StatementLine['type'],
      orderNo: f[2]!,
      refundNo: f[3]!,
      channelTxnId: f[4]!,
      amount: f[5]!,
      fee: f[6]!,
      currency: f[7]!,
      status: f[8]!,
      tradeTime: f[9]!,
    };
  }

  private textAt(k: number): string {
    const start = this.starts[k]!;
    const page = this.pages[Math.floor(start / HeldLines.PAGE_BYTES)]!;
    const offset = start % HeldLines.PAGE_BYTES;
    return page.toString('utf8', offset, offset + this.lengths[k]!);
  }
}

/**
 * A copy of a string that shares no memory with the text it was cut from. V8 keeps a slice of a
 * string as a view of the whole (the parser's lines are slices of 1 MiB chunks), so one line held
 * to the end of the file would keep its chunk alive, and a few thousand such lines the whole file.
 */
export function detached(text: string): string {
  // Concatenation makes a fresh string; the slice of it then views only that.
  return text.length === 0 ? text : (' ' + text).slice(1);
}

/** The line with its strings detached (see `detached`): for lines kept until the end of the file. */
export function detachedLine(line: StatementLine): StatementLine {
  return {
    lineNo: line.lineNo,
    type: line.type,
    orderNo: detached(line.orderNo),
    refundNo: line.refundNo === null ? null : detached(line.refundNo),
    channelTxnId: line.channelTxnId === null ? null : detached(line.channelTxnId),
    amount: detached(line.amount),
    fee: line.fee === null ? null : detached(line.fee),
    currency: detached(line.currency),
    status: detached(line.status),
    tradeTime: detached(line.tradeTime),
  };
}

/** round_half_up(a × r / 10^s) for a ≥ 0 minor units and a rate r / 10^s, exactly. */
export function roundHalfUpDivide(amount: number, rateUnits: number, rateScale: number): number {
  const negative = amount < 0;
  const a = Math.abs(amount);
  const product = a * rateUnits;
  const divisor = 10 ** rateScale;
  if (product <= SAFE && 2 * product + divisor <= SAFE) {
    const n = 2 * product + divisor;
    const m = 2 * divisor;
    let q = Math.floor(n / m);
    while (q * m > n) q -= 1;
    while ((q + 1) * m <= n) q += 1;
    return negative ? -q : q;
  }
  const q = (2n * BigInt(a) * BigInt(rateUnits) + 10n ** BigInt(rateScale)) / (2n * 10n ** BigInt(rateScale));
  invariant(q <= BigInt(SAFE), () => `fee of ${amount} minor units is beyond 2^53`);
  return negative ? -Number(q) : Number(q);
}

const MS_PER_DAY = 86_400_000;

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / MS_PER_DAY);
}
