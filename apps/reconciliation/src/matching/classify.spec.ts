import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InvariantError } from '@app/contracts';
import fc from 'fast-check';
import { SAMPLES_DIR } from '../../../../test/support/samples.js';
import type { StatementLine } from '../statement/statement-line.js';
import { classify } from './classify.js';
import { inputArb } from './match-arbitraries.js';
import {
  type InternalItem,
  MATCH_CLASSES,
  type MatchClass,
  type MatchInput,
  type MatchPolicy,
  MatchPolicyError,
  type MatchRun,
} from './match.types.js';

const D = '2026-11-22';
const policy: MatchPolicy = { zone: 'Asia/Shanghai', cutoffLocalTime: '00:00', expectedFeeRate: '0.006' };

// ---------------------------------------------------------------------------------------------
// Sample fixtures (a deliberately tiny reader: the real parsers are someone else's work)

interface SampleEvent {
  eventId: string;
  type: 'PAYMENT_SUCCEEDED' | 'REFUND_SUCCEEDED';
  occurredAt: string;
  merchantId: string;
  orderNo: string;
  refundNo?: string;
  amount: string;
  currency: string;
}

function sampleInternalItems(): InternalItem[] {
  return readFileSync(path.join(SAMPLES_DIR, 'internal-events.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const e = JSON.parse(l) as SampleEvent;
      return {
        eventId: e.eventId,
        kind: e.type === 'REFUND_SUCCEEDED' ? 'REFUND' : 'PAYMENT',
        merchantId: e.merchantId,
        orderNo: e.orderNo,
        refundNo: e.refundNo ?? null,
        amount: e.amount,
        currency: e.currency,
        occurredAt: e.occurredAt,
      };
    });
}

/** The generic CSV has no quoting and no refund_no column; header is line 1. */
function sampleLines(file: string): StatementLine[] {
  const [header, ...rows] = readFileSync(path.join(SAMPLES_DIR, file), 'utf8').split('\n');
  const columns = (header ?? '').trim().split(',');
  return rows.flatMap((row, i) => {
    if (row.trim() === '') return [];
    const cells = row.trim().split(',');
    const cell = (name: string): string => cells[columns.indexOf(name)] ?? '';
    return [
      {
        lineNo: i + 2,
        type: cell('type') === 'REFUND' ? 'REFUND' : 'PAYMENT',
        orderNo: cell('order_no'),
        refundNo: null,
        channelTxnId: cell('channel_txn_id'),
        amount: cell('amount'),
        fee: cell('fee') === '' ? null : cell('fee'),
        currency: cell('currency'),
        status: cell('status').toUpperCase(),
        tradeTime: cell('trade_time'),
      } satisfies StatementLine,
    ];
  });
}

const expectedClasses = JSON.parse(
  readFileSync(path.join(SAMPLES_DIR, 'expected-classes.json'), 'utf8'),
) as Record<string, number>;

// ---------------------------------------------------------------------------------------------
// Builders for focused tests

let seq = 0;
function payment(orderNo: string, amount: string, occurredAt = '2026-11-22T04:00:00.000Z'): InternalItem {
  seq += 1;
  return {
    eventId: `e-${orderNo}-${seq}`,
    kind: 'PAYMENT',
    merchantId: 'M00001',
    orderNo,
    refundNo: null,
    amount,
    currency: 'CNY',
    occurredAt,
  };
}

function refund(orderNo: string, refundNo: string, amount: string): InternalItem {
  return { ...payment(orderNo, amount), kind: 'REFUND', refundNo };
}

let lineSeq = 100;
function line(orderNo: string, amount: string, overrides: Partial<StatementLine> = {}): StatementLine {
  lineSeq += 1;
  return {
    lineNo: lineSeq,
    type: 'PAYMENT',
    orderNo,
    refundNo: null,
    channelTxnId: null,
    amount,
    fee: null,
    currency: 'CNY',
    status: 'SUCCESS',
    tradeTime: '2026-11-22 12:00:00',
    ...overrides,
  };
}

function run(partial: Partial<MatchInput>): MatchRun {
  return classify({ businessDate: D, internalItems: [], pendingItems: [], lines: [], policy, ...partial });
}

function only(result: MatchRun) {
  expect(result.rows).toHaveLength(1);
  return result.rows[0]!;
}

function classesOf(result: MatchRun): Partial<Record<MatchClass, number>> {
  return Object.fromEntries(Object.entries(result.counts).filter(([, n]) => n > 0));
}

// ---------------------------------------------------------------------------------------------

describe('classify on the sample day', () => {
  const internal = sampleInternalItems();
  const day1 = classify({
    businessDate: D,
    internalItems: internal,
    pendingItems: [],
    lines: sampleLines('generic-2026-11-22.csv'),
    policy,
  });

  it('prints the classes of expected-classes.json exactly', () => {
    expect(classesOf(day1)).toEqual(expectedClasses);
    expect(day1.counts.DUPLICATE).toBe(0);
    expect(day1.internalItemsIn).toBe(36);
    expect(day1.linesIn).toBe(33);
    const orders = (c: MatchClass) =>
      day1.rows.filter((r) => r.class === c).map((r) => (r.internal ?? r.line)!.orderNo.slice(-2));
    expect(orders('PENDING_CROSS_DAY')).toEqual(['10', '22', '34']);
    expect(orders('AMOUNT_MISMATCH')).toEqual(['06', '18', '30']);
    expect(orders('STATUS_MISMATCH')).toEqual(['07', '19', '31']);
    expect(orders('MISSING_IN_CHANNEL')).toEqual(['08', '20', '32']);
    expect(orders('MISSING_INTERNAL')).toEqual(['09', '21', '33']);
    // 21 payments + 3 refunds, the refunds paired by order although the generic CSV has no refund_no.
    expect(day1.rows.filter((r) => r.class === 'MATCHED' && r.internal?.kind === 'REFUND')).toHaveLength(3);
    // The sample's fees are exactly 0.6 %, half-up.
    expect(day1.rows.filter((r) => r.feeDifference !== undefined)).toEqual([]);
  });

  it('writes one readable reason per discrepancy', () => {
    const byOrder = (orderNo: string) => day1.rows.find((r) => (r.internal ?? r.line)!.orderNo === orderNo)!;
    expect(byOrder('O202611220000006').reason).toBe('amount 474.63 (ours) ≠ 474.64 (channel)');
    expect(byOrder('O202611220000007').reason).toBe('status CLOSED (channel) ≠ succeeded (ours)');
    expect(byOrder('O202611220000010').reason).toMatch(/1s before the cut-off \(window 5 min\)/);
  });

  it('matches the three cross-day payments on 2026-11-23 and leaves nothing pending', () => {
    const pending = day1.rows.filter((r) => r.class === 'PENDING_CROSS_DAY').map((r) => r.internal!);
    const day2 = classify({
      businessDate: '2026-11-23',
      internalItems: [],
      pendingItems: pending,
      lines: sampleLines('generic-2026-11-23.csv'),
      policy,
    });
    expect(classesOf(day2)).toEqual({ MATCHED: 3 });
    expect(day2.rows.map((r) => r.originalBusinessDate)).toEqual([D, D, D]);
    expect(day2.rows.every((r) => r.side === 'BOTH')).toBe(true);
  });

  it('is re-runnable: the same input gives the same output', () => {
    const again = classify({
      businessDate: D,
      internalItems: [...internal].reverse(),
      pendingItems: [],
      lines: sampleLines('generic-2026-11-22.csv').reverse(),
      policy,
    });
    expect(again).toEqual(day1);
  });
});

describe('classify, one class at a time', () => {
  it('MATCHED: same order, amount, currency and a success status', () => {
    const row = only(run({ internalItems: [payment('O1', '100.00')], lines: [line('O1', '100.0')] }));
    expect(row).toMatchObject({ class: 'MATCHED', side: 'BOTH', key: 'PAYMENT|O1' });
  });

  it('MATCHED: a refund joins on refundNo, not on the order', () => {
    const result = run({
      internalItems: [refund('O1', 'R1', '10.00'), refund('O1', 'R2', '20.00')],
      lines: [
        line('O1', '20.00', { type: 'REFUND', refundNo: 'R2', status: 'REFUND' }),
        line('O1', '10.00', { type: 'REFUND', refundNo: 'R1', status: 'SUCCESS' }),
      ],
    });
    expect(result.rows.map((r) => [r.class, r.internal?.refundNo, r.line?.refundNo])).toEqual([
      ['MATCHED', 'R1', 'R1'],
      ['MATCHED', 'R2', 'R2'],
    ]);
  });

  it('MATCHED: a refund line without refundNo pairs with our refund of that order of the same amount', () => {
    const result = run({
      internalItems: [refund('O1', 'R1', '10.00'), refund('O1', 'R2', '20.00')],
      lines: [line('O1', '20.00', { type: 'REFUND' })],
    });
    expect(result.rows.map((r) => [r.class, r.internal?.refundNo])).toEqual([
      ['MISSING_IN_CHANNEL', 'R1'],
      ['MATCHED', 'R2'],
    ]);
  });

  it('AMOUNT_MISMATCH: exact decimal comparison', () => {
    const row = only(run({ internalItems: [payment('O1', '100.00')], lines: [line('O1', '99.99')] }));
    expect(row).toMatchObject({ class: 'AMOUNT_MISMATCH', reason: 'amount 100.00 (ours) ≠ 99.99 (channel)' });
  });

  it('AMOUNT_MISMATCH: a currency mismatch, whatever the figures', () => {
    const row = only(
      run({ internalItems: [payment('O1', '100.00')], lines: [line('O1', '100.00', { currency: 'USD' })] }),
    );
    expect(row).toMatchObject({ class: 'AMOUNT_MISMATCH', reason: 'currency CNY (ours) ≠ USD (channel)' });
  });

  it('STATUS_MISMATCH: CLOSED or REVOKED against our succeeded payment, and it outranks an amount difference', () => {
    const result = run({
      internalItems: [payment('O1', '100.00'), payment('O2', '5.00')],
      lines: [line('O1', '100.00', { status: 'REVOKED' }), line('O2', '6.00', { status: 'CLOSED' })],
    });
    expect(result.rows.map((r) => [r.class, r.reason])).toEqual([
      ['STATUS_MISMATCH', 'status REVOKED (channel) ≠ succeeded (ours)'],
      ['STATUS_MISMATCH', 'status CLOSED (channel) ≠ succeeded (ours); amount 5.00 (ours) ≠ 6.00 (channel)'],
    ]);
  });

  it('STATUS_MISMATCH: a payment line saying REFUND is not a success; the success words are configurable', () => {
    const input = {
      internalItems: [payment('O1', '1.00')],
      lines: [line('O1', '1.00', { status: 'REFUND' })],
    };
    expect(only(run(input)).class).toBe('STATUS_MISMATCH');
    expect(
      only(run({ ...input, policy: { ...policy, successStatuses: { PAYMENT: ['SUCCESS', 'REFUND'] } } }))
        .class,
    ).toBe('MATCHED');
  });

  it('MISSING_IN_CHANNEL: ours, not on the statement, outside the cross-day window', () => {
    const row = only(run({ internalItems: [payment('O1', '1.00', '2026-11-22T15:54:59.000Z')] }));
    expect(row).toMatchObject({ class: 'MISSING_IN_CHANNEL', side: 'INTERNAL' });
  });

  it('MISSING_INTERNAL: on the statement, not ours', () => {
    const row = only(run({ lines: [line('O9', '1.00')] }));
    expect(row).toMatchObject({ class: 'MISSING_INTERNAL', side: 'CHANNEL' });
    expect(row.reason).toBe(`line ${lineSeq} PAYMENT 1.00 CNY SUCCESS has no payment of ours`);
  });

  it('PENDING_CROSS_DAY: the window is inclusive at its edge and configurable', () => {
    const edge = payment('O1', '1.00', '2026-11-22T15:55:00.000Z'); // 23:55:00 local, 5 min before 00:00
    const outside = payment('O2', '1.00', '2026-11-22T15:54:59.999Z');
    expect(run({ internalItems: [edge, outside] }).rows.map((r) => r.class)).toEqual([
      'PENDING_CROSS_DAY',
      'MISSING_IN_CHANNEL',
    ]);
    expect(
      run({ internalItems: [outside], policy: { ...policy, crossDayWindowMinutes: 10 } }).rows[0]!.class,
    ).toBe('PENDING_CROSS_DAY');
  });

  it('PENDING_CROSS_DAY: the window sits before the configured cut-off, not before midnight', () => {
    const atCutoff = { ...policy, cutoffLocalTime: '23:00' };
    const beforeCutoff = payment('O1', '1.00', '2026-11-22T14:58:00.000Z'); // 22:58 local
    const beforeMidnight = payment('O2', '1.00', '2026-11-22T14:50:00.000Z'); // 22:50 local
    expect(
      run({ internalItems: [beforeCutoff, beforeMidnight], policy: atCutoff }).rows.map((r) => r.class),
    ).toEqual(['PENDING_CROSS_DAY', 'MISSING_IN_CHANNEL']);
  });

  it('PENDING_CROSS_DAY: grace 0 switches the rule off', () => {
    const late = payment('O1', '1.00', '2026-11-22T15:59:59.000Z');
    expect(only(run({ internalItems: [late], policy: { ...policy, crossDayGraceDays: 0 } })).class).toBe(
      'MISSING_IN_CHANNEL',
    );
  });

  it('MISSING_IN_CHANNEL: a pending item still absent once its grace has elapsed', () => {
    const late = payment('O1', '1.00', '2026-11-22T15:59:59.000Z');
    const next = { businessDate: '2026-11-23', pendingItems: [late] };
    const row = only(run(next));
    expect(row).toMatchObject({ class: 'MISSING_IN_CHANNEL', originalBusinessDate: D });
    expect(row.reason).toMatch(/is on no statement up to 2026-11-23 \(grace 1 day\(s\) elapsed\)$/);
    const twoDays = { ...policy, crossDayGraceDays: 2 };
    expect(only(run({ ...next, policy: twoDays })).class).toBe('PENDING_CROSS_DAY');
    expect(only(run({ ...next, businessDate: '2026-11-24', policy: twoDays })).class).toBe(
      'MISSING_IN_CHANNEL',
    );
  });

  it('a pending item found on a later statement is compared like any other and keeps its date', () => {
    const late = payment('O1', '1.00', '2026-11-22T15:59:59.000Z');
    const row = only(run({ businessDate: '2026-11-23', pendingItems: [late], lines: [line('O1', '1.01')] }));
    expect(row).toMatchObject({ class: 'AMOUNT_MISMATCH', originalBusinessDate: D });
  });

  it('DUPLICATE: the agreeing line pairs with our item, every other line of the key is DUPLICATE', () => {
    const result = run({
      internalItems: [payment('O1', '100.00')],
      lines: [line('O1', '100.00', { status: 'CLOSED' }), line('O1', '100.00'), line('O1', '100.00')],
    });
    expect(result.rows.map((r) => [r.class, r.side, r.line?.lineNo])).toEqual([
      ['MATCHED', 'BOTH', lineSeq - 1],
      ['DUPLICATE', 'CHANNEL', lineSeq - 2],
      ['DUPLICATE', 'CHANNEL', lineSeq],
    ]);
    expect(result.rows[1]!.reason).toBe(
      `line ${lineSeq - 2} PAYMENT 100.00 CNY CLOSED repeats order O1 already on line ${lineSeq - 1}`,
    );
  });

  it('DUPLICATE: with no agreeing line the first line pairs; with no item of ours the first is MISSING_INTERNAL', () => {
    const mismatched = run({
      internalItems: [payment('O1', '100.00')],
      lines: [line('O1', '1.00'), line('O1', '2.00')],
    });
    expect(mismatched.rows.map((r) => [r.class, r.line?.amount])).toEqual([
      ['AMOUNT_MISMATCH', '1.00'],
      ['DUPLICATE', '2.00'],
    ]);
    const orphan = run({ lines: [line('O2', '1.00'), line('O2', '1.00')] });
    expect(orphan.rows.map((r) => r.class)).toEqual(['MISSING_INTERNAL', 'DUPLICATE']);
  });

  it('DUPLICATE: two records of ours for one key (ingest should prevent it) keep the earliest', () => {
    const first = payment('O1', '1.00', '2026-11-22T01:00:00.000Z');
    const second = payment('O1', '1.00', '2026-11-22T02:00:00.000Z');
    const result = run({ internalItems: [second, first], lines: [line('O1', '1.00')] });
    expect(result.rows.map((r) => [r.class, r.side, r.internal?.eventId])).toEqual([
      ['MATCHED', 'BOTH', first.eventId],
      ['DUPLICATE', 'INTERNAL', second.eventId],
    ]);
  });

  it('records a fee difference without changing the class', () => {
    const row = only(
      run({ internalItems: [payment('O1', '239.54')], lines: [line('O1', '239.54', { fee: '1.45' })] }),
    );
    expect(row).toMatchObject({ class: 'MATCHED', feeDifference: '0.01' });
    expect(row.reason).toMatch(/fee 1\.45 \(channel\) ≠ 1\.44 expected at rate 0\.006/);
  });

  it('expects the fee half-up, and returned (negative) on a refund', () => {
    const rate = { ...policy, expectedFeeRate: '0.01' };
    const halfUp = run({
      lines: [line('O1', '0.50', { fee: '0.01' }), line('O2', '0.50', { fee: '0.00' })],
      policy: rate,
    });
    expect(halfUp.rows.map((r) => r.feeDifference)).toEqual([undefined, '-0.01']);
    const refunded = run({
      internalItems: [refund('O3', 'R3', '57.45')],
      lines: [line('O3', '57.45', { type: 'REFUND', refundNo: 'R3', fee: '-0.34' })],
    });
    expect(only(refunded).feeDifference).toBeUndefined();
    expect(
      only(run({ lines: [line('O1', '100.00', { fee: '0.61' })], policy: { zone: 'Asia/Shanghai' } }))
        .feeDifference,
    ).toBeUndefined();
  });
});

describe('classify refuses a broken contract', () => {
  it('throws InvariantError for an item of another day, a repeated eventId or a repeated lineNo', () => {
    expect(() => run({ internalItems: [payment('O1', '1.00', '2026-11-22T16:00:00.000Z')] })).toThrow(
      InvariantError,
    );
    expect(() => run({ pendingItems: [payment('O1', '1.00')] })).toThrow(InvariantError);
    const p = payment('O1', '1.00');
    expect(() => run({ internalItems: [p, p] })).toThrow(InvariantError);
    const l = line('O1', '1.00');
    expect(() => run({ lines: [l, { ...l, orderNo: 'O2' }] })).toThrow(InvariantError);
  });

  it('throws MatchPolicyError for a window, grace or fee rate out of bounds', () => {
    for (const bad of [
      { crossDayWindowMinutes: -1 },
      { crossDayWindowMinutes: 1441 },
      { crossDayWindowMinutes: 0.5 },
      { crossDayGraceDays: 32 },
      { expectedFeeRate: '1' },
      { expectedFeeRate: '-0.1' },
      { expectedFeeRate: '6e-3' },
    ]) {
      expect(() => run({ policy: { ...policy, ...bad } })).toThrow(MatchPolicyError);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

describe('classify properties', () => {
  it('puts every item of both sides in exactly one row, and the counts add up per side', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const result = classify(input);
        const ours = [...input.internalItems, ...input.pendingItems].map((i) => i.eventId).sort();
        const rowsOurs = result.rows.flatMap((r) => (r.internal ? [r.internal.eventId] : [])).sort();
        expect(rowsOurs).toEqual(ours);
        const theirs = input.lines.map((l) => l.lineNo).sort((a, b) => a - b);
        const rowsTheirs = result.rows.flatMap((r) => (r.line ? [r.line.lineNo] : [])).sort((a, b) => a - b);
        expect(rowsTheirs).toEqual(theirs);

        const total = MATCH_CLASSES.reduce((sum, c) => sum + result.counts[c], 0);
        expect(total).toBe(result.rows.length);
        const bySide = (side: string) => result.rows.filter((r) => r.side === side).length;
        expect(bySide('BOTH') + bySide('INTERNAL')).toBe(ours.length);
        expect(bySide('BOTH') + bySide('CHANNEL')).toBe(theirs.length);
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same rows whatever order the input comes in', () => {
    const shuffled = inputArb.chain((input) =>
      fc.tuple(
        fc.constant(input),
        fc.shuffledSubarray([...input.internalItems], {
          minLength: input.internalItems.length,
          maxLength: input.internalItems.length,
        }),
        fc.shuffledSubarray([...input.pendingItems], {
          minLength: input.pendingItems.length,
          maxLength: input.pendingItems.length,
        }),
        fc.shuffledSubarray([...input.lines], {
          minLength: input.lines.length,
          maxLength: input.lines.length,
        }),
      ),
    );
    fc.assert(
      fc.property(shuffled, ([input, internalItems, pendingItems, lines]) => {
        expect(classify({ ...input, internalItems, pendingItems, lines })).toEqual(classify(input));
      }),
      { numRuns: 300 },
    );
  });
});
