import {
  InvariantError,
  Money,
  businessDateBounds,
  businessDateOf,
  describeValue,
  invariant,
  isoInstantToEpochMillis,
  parseDecimalString,
} from '@app/contracts';
import type { Decimal } from 'decimal.js';
import type { StatementLine } from '../statement/statement-line.js';
import {
  CROSS_DAY_GRACE_DAYS_MAX,
  CROSS_DAY_WINDOW_MINUTES_MAX,
  DEFAULT_CROSS_DAY_GRACE_DAYS,
  DEFAULT_CROSS_DAY_WINDOW_MINUTES,
  DEFAULT_SUCCESS_STATUSES,
  type InternalItem,
  type InternalItemKind,
  MATCH_CLASSES,
  type MatchClass,
  type MatchInput,
  type MatchPolicy,
  MatchPolicyError,
  type MatchResultRow,
  type MatchRun,
  type MatchSide,
} from './match.types.js';

/**
 * The pure heart of a match run (对账): our items of business date D, our items still pending from
 * earlier days, and D's statement lines in; every item on both sides in exactly one class out.
 *
 * Rules, in the order they are applied:
 * - Join key: a payment on orderNo, a refund on (orderNo, refundNo): merchants number refunds within an order. A refund line without a refundNo (the
 *   generic CSV has no such column) is paired with one of our refunds of the same order that no
 *   line claims by refundNo: first one with the same amount, else the first by refundNo; a line
 *   left over is MISSING_INTERNAL.
 * - DUPLICATE: when one key appears on several lines, the line that agrees with our record (amount,
 *   currency, status) is paired with it — the lowest lineNo among such lines, or the lowest lineNo
 *   if none agrees — and every other line is DUPLICATE (side CHANNEL). Our item is classified
 *   against its paired line as usual, so a clean pair still flows to clearing while the extra line
 *   goes to finance as a discrepancy (the channel may have charged the payer twice). Two of our
 *   records with one key (ingest should prevent that) are handled the same way: the earliest is
 *   matched, the others are DUPLICATE (side INTERNAL).
 * - A pair is STATUS_MISMATCH when the channel's status is not a success word for the line type
 *   (CLOSED, REVOKED… against our succeeded item), else AMOUNT_MISMATCH when currency or amount
 *   (exact decimal) differ, else MATCHED. The reason names every difference found.
 * - Cross-day (零界点): our item of D with no line, paid within `crossDayWindowMinutes` before D's
 *   cut-off, is PENDING_CROSS_DAY. A pending item carried into a later run is matched like any
 *   other (keeping its originalBusinessDate); unmatched once `crossDayGraceDays` days have passed
 *   since its own business date it becomes MISSING_IN_CHANNEL, before that it stays pending.
 * - Fee check: when a line has a fee and `expectedFeeRate` is set, expected = amount × rate rounded
 *   HALF_UP to the minor unit (negated for a refund, whose fee is returned); a difference is
 *   recorded as `feeDifference` = channel − expected and never changes the class.
 *
 * Deterministic: the output is sorted by (orderNo, kind, refundNo, lineNo, eventId), so the same
 * input in any order gives the same rows.
 *
 * @throws MatchPolicyError for a bad policy; MoneyError/TimeError for malformed amounts or instants
 *   (inputs are validated upstream, so these mean a broken adapter); InvariantError for input that
 *   breaks the run's contract (an item of another day, a repeated eventId or lineNo) or a bug here.
 */
export function classify(input: MatchInput): MatchRun {
  const policy = resolvePolicy(input.policy);
  const D = input.businessDate;
  const calendar = { zone: policy.zone, cutoffLocalTime: policy.cutoffLocalTime };
  const closesAtMs = businessDateBounds(D, calendar).end.toMillis();

  assertUnique(
    [...input.internalItems, ...input.pendingItems].map((i) => i.eventId),
    'eventId',
  );
  assertUnique(
    input.lines.map((l) => l.lineNo),
    'lineNo',
  );

  const entries: InternalEntry[] = [];
  for (const item of input.internalItems) {
    const date = businessDateOf(item.occurredAt, calendar);
    invariant(
      date === D,
      () => `internal item ${item.eventId} belongs to business date ${date}, not to the run's ${D}`,
    );
    entries.push(entryOf(item, undefined));
  }
  for (const item of input.pendingItems) {
    const date = businessDateOf(item.occurredAt, calendar);
    invariant(
      date < D,
      () =>
        `pending item ${item.eventId} belongs to business date ${date}; only earlier days carry over into ${D}`,
    );
    entries.push(entryOf(item, date));
  }

  const internalByKey = groupBy(entries, (e) => e.key);
  for (const group of internalByKey.values()) group.sort(compareEntries);
  const linesByKey = groupBy(keyLines(input.lines, internalByKey), (l) => l.key);
  for (const group of linesByKey.values()) group.sort((a, b) => a.line.lineNo - b.line.lineNo);

  const rows: MatchResultRow[] = [];
  const keys = new Set([...internalByKey.keys(), ...linesByKey.keys()]);
  for (const key of keys) {
    const [primary, ...extraEntries] = internalByKey.get(key) ?? [];
    const keyed = linesByKey.get(key) ?? [];
    const paired =
      primary === undefined
        ? keyed[0]
        : (keyed.find((l) => differencesOf(primary.item, l.line, policy).length === 0) ?? keyed[0]);

    if (primary !== undefined && paired !== undefined) {
      rows.push(pairRow(key, primary, paired.line, policy, D));
    } else if (primary !== undefined) {
      rows.push(unpairedInternalRow(key, primary, policy, D, closesAtMs));
    } else if (paired !== undefined) {
      rows.push(
        lineRow(
          key,
          'MISSING_INTERNAL',
          paired.line,
          paired.unresolvedReason ?? missingInternalReason(paired.line),
        ),
      );
    }
    for (const extra of keyed) {
      if (extra === paired) continue;
      const original = paired?.line.lineNo;
      rows.push(
        lineRow(
          key,
          'DUPLICATE',
          extra.line,
          `${describeLine(extra.line)} repeats ${keyDescription(extra.line)} already on line ${original}`,
        ),
      );
    }
    for (const extra of extraEntries) {
      rows.push({
        class: 'DUPLICATE',
        side: 'INTERNAL',
        key,
        internal: extra.item,
        reason: `our ${extra.item.kind.toLowerCase()} ${extra.item.eventId} repeats ${key} already recorded by ${primary?.item.eventId}`,
        ...(extra.originalBusinessDate === undefined
          ? {}
          : { originalBusinessDate: extra.originalBusinessDate }),
      });
    }
  }
  for (const row of rows) addFeeDifference(row, policy);
  rows.sort(compareRows);

  const run: MatchRun = {
    businessDate: D,
    rows,
    counts: countByClass(rows),
    internalItemsIn: entries.length,
    linesIn: input.lines.length,
  };
  assertEveryItemOnce(run, entries, input.lines);
  return run;
}

// ---------------------------------------------------------------------------------------------
// Policy

interface ResolvedPolicy {
  zone: string;
  cutoffLocalTime: string;
  crossDayWindowMs: number;
  crossDayWindowMinutes: number;
  crossDayGraceDays: number;
  expectedFeeRate: Decimal | undefined;
  successStatuses: Record<InternalItemKind, ReadonlySet<string>>;
}

function resolvePolicy(policy: MatchPolicy): ResolvedPolicy {
  const window = policy.crossDayWindowMinutes ?? DEFAULT_CROSS_DAY_WINDOW_MINUTES;
  if (!Number.isInteger(window) || window < 0 || window > CROSS_DAY_WINDOW_MINUTES_MAX) {
    throw new MatchPolicyError(
      'MATCHING.INVALID_POLICY',
      `crossDayWindowMinutes must be a whole number 0–${CROSS_DAY_WINDOW_MINUTES_MAX}, got ${describeValue(window)}`,
    );
  }
  const grace = policy.crossDayGraceDays ?? DEFAULT_CROSS_DAY_GRACE_DAYS;
  if (!Number.isInteger(grace) || grace < 0 || grace > CROSS_DAY_GRACE_DAYS_MAX) {
    throw new MatchPolicyError(
      'MATCHING.INVALID_POLICY',
      `crossDayGraceDays must be a whole number 0–${CROSS_DAY_GRACE_DAYS_MAX}, got ${describeValue(grace)}`,
    );
  }
  let rate: Decimal | undefined;
  if (policy.expectedFeeRate !== undefined) {
    try {
      rate = parseDecimalString(policy.expectedFeeRate);
    } catch {
      rate = undefined;
    }
    if (rate === undefined || rate.isNegative() || rate.gte(1)) {
      throw new MatchPolicyError(
        'MATCHING.INVALID_POLICY',
        `expectedFeeRate must be a decimal string in [0, 1) such as '0.006', got ${describeValue(policy.expectedFeeRate)}`,
      );
    }
  }
  const statuses = (kind: InternalItemKind): ReadonlySet<string> =>
    new Set((policy.successStatuses?.[kind] ?? DEFAULT_SUCCESS_STATUSES[kind]).map((s) => s.toUpperCase()));
  return {
    zone: policy.zone,
    cutoffLocalTime: policy.cutoffLocalTime ?? '00:00',
    crossDayWindowMs: window * 60_000,
    crossDayWindowMinutes: window,
    crossDayGraceDays: grace,
    expectedFeeRate: rate,
    successStatuses: { PAYMENT: statuses('PAYMENT'), REFUND: statuses('REFUND') },
  };
}

// ---------------------------------------------------------------------------------------------
// Keys

interface InternalEntry {
  key: string;
  item: InternalItem;
  occurredAtMs: number;
  /** Set only for an item carried over from an earlier run. */
  originalBusinessDate: string | undefined;
}

interface KeyedLine {
  key: string;
  line: StatementLine;
  /** Why a refund line without refundNo could not be tied to one of our refunds. */
  unresolvedReason?: string;
}

function entryOf(item: InternalItem, originalBusinessDate: string | undefined): InternalEntry {
  invariant(
    item.kind === 'PAYMENT' || (item.refundNo !== null && item.refundNo !== ''),
    () => `internal refund ${item.eventId} has no refundNo; payments.transaction.v1 requires one`,
  );
  return {
    key: internalKeyOf(item),
    item,
    occurredAtMs: isoInstantToEpochMillis(item.occurredAt),
    originalBusinessDate,
  };
}

function internalKeyOf(item: InternalItem): string {
  return item.kind === 'PAYMENT' ? `PAYMENT|${item.orderNo}` : `REFUND|${item.orderNo}|${item.refundNo}`;
}

function compareEntries(a: InternalEntry, b: InternalEntry): number {
  return a.occurredAtMs - b.occurredAtMs || compareStrings(a.item.eventId, b.item.eventId);
}

/**
 * Keys every line. Refund lines that name no refundNo are resolved against our refunds of the same
 * order that no explicit line claims, walking lines by lineNo and candidates by refundNo so the
 * result does not depend on input order.
 */
function keyLines(
  lines: readonly StatementLine[],
  internalByKey: ReadonlyMap<string, InternalEntry[]>,
): KeyedLine[] {
  const keyed: KeyedLine[] = [];
  const anonymousRefunds = new Map<string, StatementLine[]>();
  const claimed = new Set<string>();
  for (const line of lines) {
    if (line.type === 'PAYMENT') {
      keyed.push({ key: `PAYMENT|${line.orderNo}`, line });
    } else if (line.refundNo !== null && line.refundNo !== '') {
      const key = `REFUND|${line.orderNo}|${line.refundNo}`;
      claimed.add(key);
      keyed.push({ key, line });
    } else {
      const group = anonymousRefunds.get(line.orderNo) ?? [];
      group.push(line);
      anonymousRefunds.set(line.orderNo, group);
    }
  }
  if (anonymousRefunds.size === 0) return keyed;

  const refundsByOrder = new Map<string, InternalEntry[]>();
  for (const [key, group] of internalByKey) {
    const first = group[0];
    if (first === undefined || first.item.kind !== 'REFUND' || claimed.has(key)) continue;
    const candidates = refundsByOrder.get(first.item.orderNo) ?? [];
    candidates.push(first);
    refundsByOrder.set(first.item.orderNo, candidates);
  }
  for (const [orderNo, group] of anonymousRefunds) {
    group.sort((a, b) => a.lineNo - b.lineNo);
    const candidates = (refundsByOrder.get(orderNo) ?? []).sort((a, b) =>
      compareStrings(a.item.refundNo ?? '', b.item.refundNo ?? ''),
    );
    const taken = new Set<InternalEntry>();
    const chosen = new Map<StatementLine, InternalEntry>();
    const pick = (line: StatementLine, test: (c: InternalEntry) => boolean): void => {
      if (chosen.has(line)) return;
      const candidate = candidates.find((c) => !taken.has(c) && test(c));
      if (candidate === undefined) return;
      taken.add(candidate);
      chosen.set(line, candidate);
    };
    for (const line of group) pick(line, (c) => sameMoney(c.item, line));
    for (const line of group) pick(line, () => true);
    for (const line of group) {
      const candidate = chosen.get(line);
      keyed.push(
        candidate === undefined
          ? {
              key: `REFUND?|${orderNo}|line ${line.lineNo}`,
              line,
              unresolvedReason: `${describeLine(line)} names no refundNo and none of our refunds of order ${orderNo} is left to pair it with`,
            }
          : { key: candidate.key, line },
      );
    }
  }
  return keyed;
}

// ---------------------------------------------------------------------------------------------
// Rows

function pairRow(
  key: string,
  entry: InternalEntry,
  line: StatementLine,
  policy: ResolvedPolicy,
  D: string,
): MatchResultRow {
  const differences = differencesOf(entry.item, line, policy);
  const klass: MatchClass =
    differences.length === 0
      ? 'MATCHED'
      : differences.some((d) => d.kind === 'STATUS')
        ? 'STATUS_MISMATCH'
        : 'AMOUNT_MISMATCH';
  const carried =
    entry.originalBusinessDate === undefined
      ? ''
      : ` (our business date ${entry.originalBusinessDate}, on ${D}'s statement)`;
  const reason =
    klass === 'MATCHED'
      ? `${entry.item.amount} ${entry.item.currency} agrees with ${describeLine(line)}${carried}`
      : `${differences.map((d) => d.text).join('; ')}${carried}`;
  return withOriginalDate(
    { class: klass, side: 'BOTH', key, internal: entry.item, line, reason },
    entry.originalBusinessDate,
  );
}

function unpairedInternalRow(
  key: string,
  entry: InternalEntry,
  policy: ResolvedPolicy,
  D: string,
  closesAtMs: number,
): MatchResultRow {
  const { item } = entry;
  const what = `our ${item.kind.toLowerCase()} ${item.amount} ${item.currency} (${key})`;
  if (entry.originalBusinessDate !== undefined) {
    const elapsed = daysBetween(entry.originalBusinessDate, D);
    const klass: MatchClass =
      elapsed >= policy.crossDayGraceDays ? 'MISSING_IN_CHANNEL' : 'PENDING_CROSS_DAY';
    const reason =
      klass === 'MISSING_IN_CHANNEL'
        ? `${what} of ${entry.originalBusinessDate} is on no statement up to ${D} (grace ${policy.crossDayGraceDays} day(s) elapsed)`
        : `${what} of ${entry.originalBusinessDate} is not on ${D}'s statement yet (grace ${policy.crossDayGraceDays} day(s), ${elapsed} elapsed)`;
    return withOriginalDate(
      { class: klass, side: 'INTERNAL', key, internal: item, reason },
      entry.originalBusinessDate,
    );
  }
  const beforeCutoffMs = closesAtMs - entry.occurredAtMs;
  if (policy.crossDayGraceDays > 0 && beforeCutoffMs <= policy.crossDayWindowMs) {
    return {
      class: 'PENDING_CROSS_DAY',
      side: 'INTERNAL',
      key,
      internal: item,
      reason: `${what} at ${item.occurredAt} is ${Math.ceil(beforeCutoffMs / 1000)}s before the cut-off (window ${policy.crossDayWindowMinutes} min); expected on a later statement`,
    };
  }
  return {
    class: 'MISSING_IN_CHANNEL',
    side: 'INTERNAL',
    key,
    internal: item,
    reason: `${what} is not on the channel's statement of ${D}`,
  };
}

function lineRow(key: string, klass: MatchClass, line: StatementLine, reason: string): MatchResultRow {
  return { class: klass, side: 'CHANNEL', key, line, reason };
}

function missingInternalReason(line: StatementLine): string {
  return `${describeLine(line)} has no ${line.type.toLowerCase()} of ours`;
}

function withOriginalDate(row: MatchResultRow, originalBusinessDate: string | undefined): MatchResultRow {
  return originalBusinessDate === undefined ? row : { ...row, originalBusinessDate };
}

interface Difference {
  kind: 'STATUS' | 'CURRENCY' | 'AMOUNT';
  text: string;
}

function differencesOf(item: InternalItem, line: StatementLine, policy: ResolvedPolicy): Difference[] {
  const differences: Difference[] = [];
  const status = line.status.toUpperCase();
  if (!policy.successStatuses[item.kind].has(status)) {
    differences.push({
      kind: 'STATUS',
      text: `status ${line.status} (channel) ≠ succeeded (ours)`,
    });
  }
  if (item.currency !== line.currency) {
    differences.push({
      kind: 'CURRENCY',
      text: `currency ${item.currency} (ours) ≠ ${line.currency} (channel)`,
    });
  } else if (!sameMoney(item, line)) {
    differences.push({
      kind: 'AMOUNT',
      text: `amount ${item.amount} (ours) ≠ ${line.amount} (channel)`,
    });
  }
  return differences;
}

function sameMoney(item: InternalItem, line: StatementLine): boolean {
  return (
    item.currency === line.currency &&
    Money.of(item.amount, item.currency).equals(Money.of(line.amount, line.currency))
  );
}

function addFeeDifference(row: MatchResultRow, policy: ResolvedPolicy): void {
  const { line } = row;
  if (line === undefined || line.fee === null || policy.expectedFeeRate === undefined) return;
  const fee = Money.of(line.fee, line.currency);
  const magnitude = Money.ofRounded(
    Money.of(line.amount, line.currency).toDecimal().times(policy.expectedFeeRate),
    line.currency,
    'HALF_UP',
  );
  const expected = line.type === 'REFUND' ? magnitude.negated() : magnitude;
  const difference = fee.minus(expected);
  if (difference.isZero()) return;
  row.feeDifference = difference.toString();
  row.reason += `; fee ${fee.toString()} (channel) ≠ ${expected.toString()} expected at rate ${policy.expectedFeeRate.toString()}`;
}

/** How reasons name a line (shared with StatementMatcher, so both say the same). */
export function describeLine(line: StatementLine): string {
  return `line ${line.lineNo} ${line.type} ${line.amount} ${line.currency} ${line.status}`;
}

export function keyDescription(line: StatementLine): string {
  return line.type === 'PAYMENT'
    ? `order ${line.orderNo}`
    : `refund ${line.refundNo ?? `of order ${line.orderNo}`}`;
}

// ---------------------------------------------------------------------------------------------
// Order, counts, invariants

const KIND_RANK: Record<InternalItemKind, number> = { PAYMENT: 0, REFUND: 1 };

/** A total order: every row holds a line (unique lineNo) or an item (unique eventId). */
function compareRows(a: MatchResultRow, b: MatchResultRow): number {
  return (
    compareStrings(orderNoOf(a), orderNoOf(b)) ||
    KIND_RANK[kindOf(a)] - KIND_RANK[kindOf(b)] ||
    compareStrings(a.key, b.key) ||
    Number(a.class === 'DUPLICATE') - Number(b.class === 'DUPLICATE') ||
    (a.line?.lineNo ?? Number.MAX_SAFE_INTEGER) - (b.line?.lineNo ?? Number.MAX_SAFE_INTEGER) ||
    compareStrings(a.internal?.eventId ?? '', b.internal?.eventId ?? '')
  );
}

function orderNoOf(row: MatchResultRow): string {
  return row.internal?.orderNo ?? row.line?.orderNo ?? '';
}

function kindOf(row: MatchResultRow): InternalItemKind {
  return row.internal?.kind ?? row.line?.type ?? 'PAYMENT';
}

/** Code-unit order, not locale order: the same everywhere, every time. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function countByClass(rows: readonly MatchResultRow[]): Record<MatchClass, number> {
  const counts = Object.fromEntries(MATCH_CLASSES.map((c) => [c, 0])) as Record<MatchClass, number>;
  for (const row of rows) counts[row.class] += 1;
  return counts;
}

const SIDES_BY_CLASS: Record<MatchClass, readonly MatchSide[]> = {
  MATCHED: ['BOTH'],
  AMOUNT_MISMATCH: ['BOTH'],
  STATUS_MISMATCH: ['BOTH'],
  MISSING_IN_CHANNEL: ['INTERNAL'],
  PENDING_CROSS_DAY: ['INTERNAL'],
  MISSING_INTERNAL: ['CHANNEL'],
  DUPLICATE: ['CHANNEL', 'INTERNAL'],
};

/** Invariant 6 (DESIGN §7): every item in exactly one class; class counts add up on each side. */
function assertEveryItemOnce(
  run: MatchRun,
  entries: readonly InternalEntry[],
  lines: readonly StatementLine[],
): void {
  const seenEvents = new Set<string>();
  const seenLines = new Set<number>();
  for (const row of run.rows) {
    const side: MatchSide =
      row.internal !== undefined && row.line !== undefined
        ? 'BOTH'
        : row.internal !== undefined
          ? 'INTERNAL'
          : 'CHANNEL';
    invariant(
      row.side === side &&
        SIDES_BY_CLASS[row.class].includes(side) &&
        (row.internal ?? row.line) !== undefined,
      () => `row ${row.key} is ${row.class}/${row.side} but holds side ${side}`,
    );
    if (row.internal !== undefined) {
      invariant(!seenEvents.has(row.internal.eventId), () => `item ${row.internal?.eventId} is in two rows`);
      seenEvents.add(row.internal.eventId);
    }
    if (row.line !== undefined) {
      invariant(!seenLines.has(row.line.lineNo), () => `line ${row.line?.lineNo} is in two rows`);
      seenLines.add(row.line.lineNo);
    }
  }
  const internalOut = run.rows.filter((r) => r.internal !== undefined).length;
  const linesOut = run.rows.filter((r) => r.line !== undefined).length;
  const classTotal = MATCH_CLASSES.reduce((sum, c) => sum + run.counts[c], 0);
  if (
    internalOut !== entries.length ||
    seenEvents.size !== entries.length ||
    linesOut !== lines.length ||
    seenLines.size !== lines.length ||
    classTotal !== run.rows.length
  ) {
    throw new InvariantError(
      `match run ${run.businessDate} lost or invented items: internal ${entries.length} in / ${internalOut} out, lines ${lines.length} in / ${linesOut} out, ${classTotal} classified of ${run.rows.length} rows`,
    );
  }
}

function assertUnique<T>(values: readonly T[], what: string): void {
  const seen = new Set<T>();
  for (const value of values) {
    invariant(!seen.has(value), () => `${what} ${String(value)} appears twice in the match run's input`);
    seen.add(value);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

function groupBy<T>(values: readonly T[], keyOf: (value: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const value of values) {
    const key = keyOf(value);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [value]);
    else group.push(value);
  }
  return groups;
}

const MS_PER_DAY = 86_400_000;

/** Whole days from one 'YYYY-MM-DD' to another (both already validated by businessDateOf/Bounds). */
function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / MS_PER_DAY);
}
