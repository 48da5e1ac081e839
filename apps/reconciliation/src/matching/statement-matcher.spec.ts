import { InvariantError, businessDateBounds, businessDateOf, isoInstantToEpochMillis } from '@app/contracts';
import fc from 'fast-check';
import type { StatementLine } from '../statement/statement-line.js';
import { classify } from './classify.js';
import {
  InternalItemIndex,
  freeNow,
  decimalTextOf,
  describeKey,
  minorUnitsOfBytes,
  minorUnitsOfText,
} from './internal-item-index.js';
import { D, inputArb, matchPolicy } from './match-arbitraries.js';
import {
  DEFAULT_CROSS_DAY_GRACE_DAYS,
  DEFAULT_CROSS_DAY_WINDOW_MINUTES,
  DEFAULT_SUCCESS_STATUSES,
  type InternalItem,
  type MatchClass,
  type MatchInput,
} from './match.types.js';
import { type LineOutcome, StatementMatcher, roundHalfUpDivide } from './statement-matcher.js';

/** What both implementations say about each item, comparable. */
interface Verdict {
  class: MatchClass;
  key: string | null;
  line: number | null;
  event: string | null;
  feeDifference: string | null;
  reason: string | null;
  originalBusinessDate: string | null;
}

function byClassify(input: MatchInput): Verdict[] {
  return classify(input)
    .rows.map((row) => ({
      class: row.class,
      key: row.class === 'MATCHED' && row.line !== undefined ? null : row.key,
      line: row.line?.lineNo ?? null,
      event: row.internal?.eventId ?? null,
      feeDifference: row.feeDifference ?? null,
      // The streaming run writes no reason for a matched pair, nor for our items alone (their
      // reasons are composed where the items are read from the database).
      reason: row.class === 'MATCHED' || row.line === undefined ? null : row.reason,
      originalBusinessDate: row.originalBusinessDate ?? null,
    }))
    .sort(compareVerdicts);
}

function byMatcher(input: MatchInput): Verdict[] {
  const calendar = { zone: input.policy.zone, cutoffLocalTime: input.policy.cutoffLocalTime ?? '00:00' };
  const closesAtMs = businessDateBounds(input.businessDate, calendar).end.toMillis();
  const windowMs = (input.policy.crossDayWindowMinutes ?? DEFAULT_CROSS_DAY_WINDOW_MINUTES) * 60_000;
  const index = new InternalItemIndex(4);
  const eventOf: string[] = [];
  const add = (item: InternalItem, id: number, carriedFrom: string | null): void => {
    const at = index.add({
      id: String(id),
      kind: item.kind,
      orderNo: item.orderNo,
      refundNo: item.refundNo,
      amount: item.amount,
      currency: item.currency,
      inCrossDayWindow: closesAtMs - isoInstantToEpochMillis(item.occurredAt) <= windowMs,
      carriedFrom,
    });
    eventOf[at] = item.eventId;
  };
  let id = 1;
  for (const item of input.internalItems) add(item, id++, null);
  for (const item of input.pendingItems) add(item, id++, businessDateOf(item.occurredAt, calendar));

  const statuses = input.policy.successStatuses ?? DEFAULT_SUCCESS_STATUSES;
  const matcher = new StatementMatcher(index, {
    businessDate: input.businessDate,
    crossDayGraceDays: input.policy.crossDayGraceDays ?? DEFAULT_CROSS_DAY_GRACE_DAYS,
    expectedFeeRate: input.policy.expectedFeeRate ?? null,
    successStatuses: {
      PAYMENT: new Set((statuses.PAYMENT ?? DEFAULT_SUCCESS_STATUSES.PAYMENT).map((s) => s.toUpperCase())),
      REFUND: new Set((statuses.REFUND ?? DEFAULT_SUCCESS_STATUSES.REFUND).map((s) => s.toUpperCase())),
    },
  });
  const outcomes = new Map<number, LineOutcome>();
  // As the importer does: each batch's lines looked up together, then matched in order.
  const sorted = [...input.lines].sort((a, b) => a.lineNo - b.lineNo);
  for (let from = 0; from < sorted.length; from += 7) {
    const batch = sorted.slice(from, from + 7);
    const found = matcher.lookUp(batch);
    batch.forEach((line, i) => {
      expect(found[i]).toBe(
        line.type === 'REFUND' && (line.refundNo ?? '') === ''
          ? -1
          : index.find(line.type, line.orderNo, line.refundNo),
      );
      const outcome = matcher.match(line, found[i]);
      if (outcome !== null) outcomes.set(line.lineNo, outcome);
    });
  }
  const result = matcher.finish();
  for (let k = 0; k < result.deferred.size; k += 1) {
    const outcome = result.deferred.outcome(k);
    expect(result.deferred.line(k).lineNo).toBe(outcome.lineNo);
    outcomes.set(outcome.lineNo, outcome);
  }
  for (const outcome of result.corrections) outcomes.set(outcome.lineNo, outcome);
  expect(outcomes.size).toBe(input.lines.length);

  const verdicts: Verdict[] = [...outcomes.values()].map((o) => ({
    class: o.class,
    key: o.key,
    line: o.lineNo,
    event: o.internalIndex === -1 ? null : eventOf[o.internalIndex]!,
    feeDifference: o.feeDifference,
    reason: o.reason,
    originalBusinessDate: o.carriedFrom,
  }));
  for (const o of result.internalOnly) {
    verdicts.push({
      class: o.class,
      key: o.key,
      line: null,
      event: eventOf[o.internalIndex]!,
      feeDifference: null,
      reason: null,
      originalBusinessDate: o.carriedFrom,
    });
  }
  const counted = Object.entries(result.counts).filter(([, n]) => n > 0);
  const tallied = new Map<string, number>();
  for (const v of verdicts) tallied.set(v.class, (tallied.get(v.class) ?? 0) + 1);
  expect(Object.fromEntries(counted)).toEqual(Object.fromEntries(tallied));
  return verdicts.sort(compareVerdicts);
}

function compareVerdicts(a: Verdict, b: Verdict): number {
  return (a.line ?? Infinity) - (b.line ?? Infinity) || (a.event ?? '').localeCompare(b.event ?? '');
}

/** Two of our items with one key: the index refuses them (the database's business key does too). */
function hasRepeatedItem(input: MatchInput): boolean {
  const keys = [...input.internalItems, ...input.pendingItems].map(
    (i) => `${i.kind}|${i.orderNo}|${i.refundNo ?? ''}`,
  );
  return new Set(keys).size !== keys.length;
}

describe('StatementMatcher', () => {
  it('classifies every item as classify does (class, pair, key, fee difference, reason)', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        fc.pre(!hasRepeatedItem(input));
        expect(byMatcher(input)).toEqual(byClassify(input));
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses two of our items with one join key', () => {
    const index = new InternalItemIndex(2);
    const item = {
      id: '1',
      kind: 'PAYMENT' as const,
      orderNo: 'O1',
      refundNo: null,
      amount: '1.00',
      currency: 'CNY',
      inCrossDayWindow: false,
      carriedFrom: null,
    };
    index.add(item);
    expect(() => index.add({ ...item, id: '2' })).toThrow(InvariantError);
    expect(() => index.add({ ...item, id: '2' })).toThrow(/PAYMENT\|O1 \(the second is #2\)/);
  });

  it('moves a repeated key to the first line that agrees, and re-points the repeats', () => {
    const index = new InternalItemIndex(1);
    index.add({
      id: '7',
      kind: 'PAYMENT',
      orderNo: 'O1',
      refundNo: null,
      amount: '10.00',
      currency: 'CNY',
      inCrossDayWindow: false,
      carriedFrom: null,
    });
    const matcher = new StatementMatcher(index, {
      businessDate: D,
      crossDayGraceDays: 1,
      expectedFeeRate: null,
      successStatuses: { PAYMENT: new Set(['SUCCESS']), REFUND: new Set(['SUCCESS']) },
    });
    const line = (lineNo: number, amount: string): StatementLine => ({
      lineNo,
      type: 'PAYMENT',
      orderNo: 'O1',
      refundNo: null,
      channelTxnId: null,
      amount,
      fee: null,
      currency: 'CNY',
      status: 'SUCCESS',
      tradeTime: '2026-11-22 10:00:00',
    });
    expect(matcher.match(line(3, '9.00'))?.class).toBe('AMOUNT_MISMATCH');
    expect(matcher.match(line(4, '8.00'))).toMatchObject({ class: 'DUPLICATE', pairedLineNo: 3 });
    expect(matcher.match(line(5, '10.00'))).toMatchObject({ class: 'MATCHED', internalId: '7' });
    expect(matcher.match(line(6, '10.00'))).toMatchObject({ class: 'DUPLICATE', pairedLineNo: 5 });
    const result = matcher.finish();
    expect(result.corrections.map((c) => [c.lineNo, c.class, c.pairedLineNo])).toEqual([
      [3, 'DUPLICATE', 5],
      [4, 'DUPLICATE', 5],
    ]);
    expect(result.counts).toMatchObject({ MATCHED: 1, DUPLICATE: 3, AMOUNT_MISMATCH: 0 });
  });

  it('gives back the held lines exactly as they came, whatever their text', () => {
    const index = new InternalItemIndex();
    const matcher = new StatementMatcher(index, {
      businessDate: D,
      crossDayGraceDays: 1,
      expectedFeeRate: null,
      successStatuses: { PAYMENT: new Set(['SUCCESS']), REFUND: new Set(['SUCCESS']) },
    });
    const textArb = fc.oneof(fc.string(), fc.constantFrom('a\tb', '\\N', '\\', 'x\ny\r', '订单-é'));
    const lines: StatementLine[] = [];
    fc.assert(
      fc.property(
        textArb,
        fc.option(textArb),
        fc.constantFrom(null, ''),
        (orderNo, channelTxnId, refundNo) => {
          lines.push({
            lineNo: lines.length + 1,
            type: 'REFUND',
            orderNo,
            refundNo,
            channelTxnId,
            amount: '1.00',
            fee: lines.length % 2 === 0 ? null : '-0.01',
            currency: 'CNY',
            status: 'SUCCESS',
            tradeTime: '2026-11-22 10:00:00',
          });
        },
      ),
    );
    for (const line of lines) expect(matcher.match(line)).toBeNull();
    const { deferred } = matcher.finish();
    expect(deferred.size).toBe(lines.length);
    lines.forEach((line, k) => {
      expect(deferred.line(k)).toEqual(line);
      expect(deferred.outcome(k)).toMatchObject({ lineNo: line.lineNo, class: 'MISSING_INTERNAL' });
    });
  });

  it('refuses lines out of file order', () => {
    const matcher = new StatementMatcher(new InternalItemIndex(1), {
      businessDate: D,
      crossDayGraceDays: 1,
      expectedFeeRate: null,
      successStatuses: { PAYMENT: new Set(['SUCCESS']), REFUND: new Set(['SUCCESS']) },
    });
    const line: StatementLine = {
      lineNo: 9,
      type: 'PAYMENT',
      orderNo: 'O1',
      refundNo: null,
      channelTxnId: null,
      amount: '1.00',
      fee: null,
      currency: 'CNY',
      status: 'SUCCESS',
      tradeTime: '2026-11-22 10:00:00',
    };
    matcher.match(line);
    expect(() => matcher.match({ ...line, lineNo: 2 })).toThrow(/line 2 after line 9/);
  });
});

describe('InternalItemIndex keys', () => {
  const itemOf = (kind: 'PAYMENT' | 'REFUND', orderNo: string, refundNo: string, id: number) => ({
    id: String(id),
    kind,
    orderNo,
    refundNo: kind === 'REFUND' ? refundNo : null,
    amount: '1.00',
    currency: 'CNY',
    inCrossDayWindow: false,
    carriedFrom: null,
  });

  it('keeps exact keys through growth, including keys beyond Latin-1', () => {
    const keyArb = fc.tuple(
      fc.constantFrom('PAYMENT' as const, 'REFUND' as const),
      fc.string({ maxLength: 12 }),
      fc.string({ minLength: 1, maxLength: 4 }),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(keyArb, {
          maxLength: 300,
          selector: ([kind, a, b]) => describeKey(kind, a, kind === 'REFUND' ? b : null),
        }),
        (keys) => {
          const index = new InternalItemIndex(2);
          const refs = keys.map(([kind, a, b], i) => index.add(itemOf(kind, a, b, i + 1)));
          keys.forEach(([kind, a, b], i) => {
            expect(index.find(kind, a, b)).toBe(refs[i]);
            expect(index.keyOf(refs[i]!)).toEqual([a, kind === 'REFUND' ? b : '']);
            expect(() => index.add(itemOf(kind, a, b, 999))).toThrow(InvariantError);
          });
          expect(index.size).toBe(keys.length);
          expect(index.find('PAYMENT', '\u4e00never added', null)).toBe(-1);
          const lines = [
            ...keys.map(([type, orderNo, b]) => ({ type, orderNo, refundNo: type === 'REFUND' ? b : null })),
            { type: 'PAYMENT' as const, orderNo: '\u4e00never added', refundNo: null },
            { type: 'REFUND' as const, orderNo: 'x', refundNo: null },
          ];
          expect(Array.from(index.findAll(lines))).toEqual([...refs, -1, -1]);
        },
      ),
    );
  });

  it('keeps ("AB", "C") and ("A", "BC") apart, and a payment from a refund', () => {
    const index = new InternalItemIndex();
    const ab = index.add(itemOf('REFUND', 'AB', 'C', 1));
    const a = index.add(itemOf('REFUND', 'A', 'BC', 2));
    const payment = index.add(itemOf('PAYMENT', 'ABC', '', 3));
    expect(index.find('REFUND', 'A', 'BC')).toBe(a);
    expect(index.find('REFUND', 'AB', 'C')).toBe(ab);
    expect(index.find('PAYMENT', 'AB', 'C')).toBe(-1);
    expect(index.find('PAYMENT', 'ABC', null)).toBe(payment);
    expect(index.find('REFUND', 'ABC', '')).toBe(-1);
  });

  it('answers only its size once released', () => {
    const index = new InternalItemIndex();
    index.add(itemOf('PAYMENT', 'O1', '', 1));
    index.release();
    expect(index.size).toBe(1);
    expect(() => index.find('PAYMENT', 'O1', null)).toThrow(/after release/);
    expect(() => index.first()).toThrow(/after release/);
    expect(() => index.add(itemOf('PAYMENT', 'O2', '', 2))).toThrow(/after release/);
  });

  it('frees buffers at once: each is detached, whatever views and repeats it comes with', () => {
    const shared = new ArrayBuffer(1 << 20);
    const words = new Int32Array(shared);
    const bytes = new Uint8Array(shared);
    words[0] = 7;
    const other = new Uint32Array(16);
    freeNow([words.buffer, bytes.buffer, other.buffer, new ArrayBuffer(0)]);
    expect([shared.byteLength, words.length, bytes.length, other.length]).toEqual([0, 0, 0, 0]);
    expect(() => freeNow([shared])).not.toThrow(); // already detached: nothing left to free
  });

  it('walks, finds and pairs items over many pages', () => {
    const n = 120_000;
    const index = new InternalItemIndex();
    const refs: number[] = [];
    for (let i = 1; i <= n; i += 1)
      refs.push(
        index.add(
          i % 7 === 0 ? itemOf('REFUND', `O${i - 1}`, `R${i}`, i) : itemOf('PAYMENT', `O${i}`, '', i),
        ),
      );
    const walked: number[] = [];
    for (let ref = index.first(); ref !== -1; ref = index.next(ref)) walked.push(ref);
    expect(walked).toEqual(refs);
    const found: number[] = [];
    const ids: string[] = [];
    for (let i = 1; i <= n; i += 1) {
      const ref =
        i % 7 === 0 ? index.find('REFUND', `O${i - 1}`, `R${i}`) : index.find('PAYMENT', `O${i}`, null);
      found.push(ref);
      ids.push(index.idOf(ref));
      index.setPairedLine(ref, i);
    }
    expect(found).toEqual(refs);
    expect(ids).toEqual(refs.map((_, i) => String(i + 1)));
    expect(index.pairedLineOf(refs[n - 1]!)).toBe(n);
    expect(index.find('PAYMENT', `O${n + 1}`, null)).toBe(-1);
  });
});

describe('minor units', () => {
  it('reads decimal text exactly and writes it back canonically', () => {
    expect(minorUnitsOfText('12.3', 2)).toBe(1230);
    expect(minorUnitsOfText('12.300', 2)).toBe(1230);
    expect(minorUnitsOfText('12.301', 2)).toBeUndefined();
    expect(minorUnitsOfText('-0.05', 2)).toBe(-5);
    expect(minorUnitsOfText('7', 0)).toBe(7);
    expect(minorUnitsOfText('1e3', 2)).toBeUndefined();
    expect(minorUnitsOfText('', 2)).toBeUndefined();
    expect(() => minorUnitsOfText('900719925474099.30', 2)).toThrow(InvariantError);
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), fc.constantFrom(0, 2, 3), (units, scale) => {
        expect(minorUnitsOfText(decimalTextOf(units, scale), scale)).toBe(units);
      }),
    );
  });

  it('reads an amount from bytes exactly as from its text, refusals included', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^-?[0-9.x]{0,12}$/), fc.constantFrom(0, 2, 3), (text, scale) => {
        const bytes = Buffer.from(`,${text};`, 'latin1');
        expect(minorUnitsOfBytes(bytes, 1, bytes.length - 1, scale)).toBe(minorUnitsOfText(text, scale));
      }),
      { numRuns: 2000 },
    );
  });

  it('rounds a fee half up exactly, in numbers and past 2^53 in bigints', () => {
    expect(roundHalfUpDivide(8019, 6, 3)).toBe(48); // 80.19 × 0.006 = 0.48114
    expect(roundHalfUpDivide(25, 2, 1)).toBe(5); // 25 × 0.2 = 5.0
    expect(roundHalfUpDivide(75, 6, 3)).toBe(0); // 0.45 → 0
    expect(roundHalfUpDivide(250, 6, 3)).toBe(2); // 1.5 → 2
    expect(roundHalfUpDivide(-250, 6, 3)).toBe(-2);
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 50n }),
        fc.bigInt({ min: 0n, max: 10n ** 6n }),
        fc.integer({ min: 0, max: 8 }),
        (amount, rate, scale) => {
          const exact = (2n * amount * rate + 10n ** BigInt(scale)) / (2n * 10n ** BigInt(scale));
          fc.pre(exact <= BigInt(Number.MAX_SAFE_INTEGER));
          expect(roundHalfUpDivide(Number(amount), Number(rate), scale)).toBe(Number(exact));
        },
      ),
    );
  });
});

// The property above uses the arbitraries' fixed policy; keep it honest about what it covers.
it('the generated policy checks fees', () => {
  expect(matchPolicy.expectedFeeRate).toBe('0.006');
});
