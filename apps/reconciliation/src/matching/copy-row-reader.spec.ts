import { InvariantError } from '@app/contracts';
import fc from 'fast-check';
import { CopyRowReader } from './import-match.js';
import {
  type IndexedInternalItem,
  InternalItemIndex,
  decimalTextOf,
  describeKey,
} from './internal-item-index.js';

/** A value as Postgres's COPY … TO writes it in text format (CopyAttributeOutText). */
function copyOut(value: string | null): string {
  if (value === null) return '\\N';
  const escapes: Record<string, string> = {
    '\\': '\\\\',
    '\b': '\\b',
    '\f': '\\f',
    '\n': '\\n',
    '\r': '\\r',
    '\t': '\\t',
    '\v': '\\v',
  };
  return value.replace(/[\\\b\f\n\r\t\v]/g, (c) => escapes[c]!);
}

function rowOf(item: IndexedInternalItem): string {
  return `${item.id}\t${item.kind === 'PAYMENT' ? 'f' : 't'}\t${copyOut(item.orderNo)}\t${copyOut(item.refundNo)}\t${item.amount}\t${item.currency}\t${item.inCrossDayWindow ? 't' : 'f'}\t${copyOut(item.carriedFrom)}\n`;
}

// Mostly what order numbers look like, sometimes what a file that is not ours may hold.
const partArb = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[A-Z0-9]{1,16}$/) },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom('订单1', 'a\\b', 'x\ty', 'é', '\\N', 'N\\', 'line\nbreak') },
);

const itemArb: fc.Arbitrary<IndexedInternalItem> = fc
  .record({
    id: fc.integer({ min: 1, max: 2 ** 46 }),
    high: fc.boolean(),
    refund: fc.boolean(),
    orderNo: partArb,
    refundNo: partArb,
    units: fc.oneof(fc.integer({ min: 1, max: 10 ** 7 }), fc.integer({ min: 2 ** 31 - 2, max: 2 ** 40 })),
    currency: fc.constantFrom('CNY', 'JPY', 'KWD'),
    inCrossDayWindow: fc.boolean(),
    carriedFrom: fc.constantFrom(null, null, '2026-11-21'),
  })
  .map((r) => {
    const scale = r.currency === 'JPY' ? 0 : r.currency === 'KWD' ? 3 : 2;
    return {
      id: String(r.high ? r.id * 2 + 2 ** 40 : r.id),
      kind: r.refund ? ('REFUND' as const) : ('PAYMENT' as const),
      orderNo: r.orderNo,
      refundNo: r.refund ? r.refundNo : null,
      amount: decimalTextOf(r.units, scale),
      currency: r.currency,
      inCrossDayWindow: r.inCrossDayWindow,
      carriedFrom: r.carriedFrom,
    };
  });

function readInChunks(rows: string, cuts: number[]): InternalItemIndex {
  const bytes = Buffer.from(rows, 'utf8');
  const index = new InternalItemIndex(2);
  const reader = new CopyRowReader(index);
  let from = 0;
  for (const cut of [...cuts.map((c) => Math.floor(c * bytes.length)), bytes.length].sort((a, b) => a - b)) {
    reader.write(bytes.subarray(from, cut));
    from = cut;
  }
  reader.end();
  return index;
}

describe('CopyRowReader', () => {
  it('loads COPY output bytes, cut anywhere, into the same index as the strings do', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(itemArb, {
          maxLength: 60,
          selector: (i) => describeKey(i.kind, i.orderNo, i.refundNo),
        }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
        (items, cuts) => {
          const byStrings = new InternalItemIndex(2);
          const refs = items.map((item) => byStrings.add(item));
          const byBytes = readInChunks(items.map(rowOf).join(''), cuts);
          expect(byBytes.size).toBe(items.length);
          const walked: number[] = [];
          for (let ref = byBytes.first(); ref !== -1; ref = byBytes.next(ref)) walked.push(ref);
          expect(walked).toEqual(refs);
          items.forEach((item, i) => {
            const at = refs[i]!;
            expect(byBytes.find(item.kind, item.orderNo, item.refundNo)).toBe(at);
            expect(byStrings.find(item.kind, item.orderNo, item.refundNo)).toBe(at);
            expect(byBytes.keyOf(at)).toEqual([item.orderNo, item.refundNo ?? '']);
            expect(byBytes.idOf(at)).toBe(item.id);
            expect(byBytes.kindOf(at)).toBe(item.kind);
            expect(byBytes.amountOf(at)).toBe(item.amount);
            expect(byBytes.currencyOfItem(at)).toBe(item.currency);
            expect(byBytes.inCrossDayWindow(at)).toBe(item.inCrossDayWindow);
            expect(byBytes.carriedFromOf(at)).toBe(item.carriedFrom);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a repeated key, a short row and a row cut off at the end', () => {
    const item: IndexedInternalItem = {
      id: '5',
      kind: 'REFUND',
      orderNo: 'O1',
      refundNo: 'R1',
      amount: '1.00',
      currency: 'CNY',
      inCrossDayWindow: false,
      carriedFrom: null,
    };
    expect(() => readInChunks(rowOf(item) + rowOf({ ...item, id: '6' }), [])).toThrow(
      /REFUND\|O1\|R1 \(the second is #6\)/,
    );
    expect(() => readInChunks('5\tf\tO1\t\\N\t1.00\tCNY\tf\n', [])).toThrow(/not 8 fields/);
    expect(() => readInChunks(rowOf(item).slice(0, -1), [])).toThrow(/ended inside a row/);
    expect(() => readInChunks(rowOf({ ...item, amount: '1.001' }), [])).toThrow(InvariantError);
  });
});
