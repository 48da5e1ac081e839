import { Money } from '@app/contracts';
import fc from 'fast-check';
import type { StatementLine } from '../statement/statement-line.js';
import type { InternalItem, MatchInput, MatchPolicy } from './match.types.js';

/**
 * Random match-run inputs for property tests: a dozen orders, each with none, one or two of our
 * payments (or one carried from D−1), up to three statement lines (repeats, wrong amounts and
 * statuses, another currency, fees) and up to two refunds, named or not on their lines.
 */

export const D = '2026-11-22';
export const matchPolicy: MatchPolicy = {
  zone: 'Asia/Shanghai',
  cutoffLocalTime: '00:00',
  expectedFeeRate: '0.006',
};
const policy = matchPolicy;

const DAY_START_MS = Date.parse('2026-11-21T16:00:00.000Z'); // 2026-11-22 00:00 Shanghai
const DAY_MS = 86_400_000;

const amountArb = fc
  .integer({ min: 1, max: 200_000 })
  .map((cents) => Money.fromMinorUnits(BigInt(cents), 'CNY').toString());
/** Seconds into a day, biased to the last minutes so the cross-day rule is exercised. */
const secondArb = fc.oneof(fc.integer({ min: 0, max: 86_399 }), fc.integer({ min: 86_000, max: 86_399 }));

const orderArb = fc.record({
  ours: fc.constantFrom('none', 'today', 'pending', 'twice'),
  second: secondArb,
  amount: amountArb,
  lines: fc.array(
    fc.record({
      amount: fc.option(amountArb, { nil: undefined }),
      status: fc.constantFrom('SUCCESS', 'SUCCESS', 'CLOSED', 'REFUND'),
      currency: fc.constantFrom('CNY', 'CNY', 'CNY', 'USD'),
      fee: fc.option(fc.constantFrom('0.00', '0.60', '0.61', '-0.60'), { nil: null }),
    }),
    { maxLength: 3 },
  ),
  refunds: fc.array(
    fc.record({
      ours: fc.boolean(),
      onStatement: fc.boolean(),
      namedOnLine: fc.boolean(),
      amount: amountArb,
    }),
    { maxLength: 2 },
  ),
});

export const inputArb = fc
  .record({
    orders: fc.array(orderArb, { maxLength: 12 }),
    window: fc.integer({ min: 0, max: 30 }),
    grace: fc.integer({ min: 0, max: 2 }),
  })
  .map(({ orders, window, grace }): MatchInput => {
    const internalItems: InternalItem[] = [];
    const pendingItems: InternalItem[] = [];
    const lines: StatementLine[] = [];
    let lineNo = 1;
    orders.forEach((o, i) => {
      const orderNo = `O${String(i).padStart(3, '0')}`;
      const base = {
        merchantId: 'M1',
        orderNo,
        currency: 'CNY',
      };
      if (o.ours === 'pending') {
        pendingItems.push({
          ...base,
          eventId: `e-${orderNo}`,
          kind: 'PAYMENT',
          refundNo: null,
          amount: o.amount,
          occurredAt: new Date(DAY_START_MS - DAY_MS + o.second * 1000).toISOString(),
        });
      } else if (o.ours !== 'none') {
        const copies = o.ours === 'twice' ? 2 : 1;
        for (let c = 0; c < copies; c += 1) {
          internalItems.push({
            ...base,
            eventId: `e-${orderNo}-${c}`,
            kind: 'PAYMENT',
            refundNo: null,
            amount: o.amount,
            occurredAt: new Date(DAY_START_MS + Math.max(0, o.second - c) * 1000).toISOString(),
          });
        }
      }
      for (const l of o.lines) {
        lines.push({
          lineNo: lineNo++,
          type: 'PAYMENT',
          orderNo,
          refundNo: null,
          channelTxnId: null,
          amount: l.amount ?? o.amount,
          fee: l.fee,
          currency: l.currency,
          status: l.status,
          tradeTime: '2026-11-22 12:00:00',
        });
      }
      o.refunds.forEach((r, j) => {
        const refundNo = `R${orderNo}-${j}`;
        if (r.ours) {
          internalItems.push({
            ...base,
            eventId: `e-${refundNo}`,
            kind: 'REFUND',
            refundNo,
            amount: r.amount,
            occurredAt: new Date(DAY_START_MS + 3_600_000).toISOString(),
          });
        }
        if (r.onStatement) {
          lines.push({
            lineNo: lineNo++,
            type: 'REFUND',
            orderNo,
            refundNo: r.namedOnLine ? refundNo : null,
            channelTxnId: null,
            amount: r.amount,
            fee: null,
            currency: 'CNY',
            status: 'REFUND',
            tradeTime: '2026-11-22 12:00:00',
          });
        }
      });
    });
    return {
      businessDate: D,
      internalItems,
      pendingItems,
      lines,
      policy: { ...policy, crossDayWindowMinutes: window, crossDayGraceDays: grace },
    };
  });
