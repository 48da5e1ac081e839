import { describe, expect, it } from '@jest/globals';
import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { GENERIC_CSV_DEFAULT_OPTIONS, GenericCsvParser } from './generic-csv.parser.js';
import { statementParserFor } from './index.js';
import { chunked, parseAll, parseError, sampleBytes } from './testing.js';
import { readStatement } from './statement-parser.js';

const sample = sampleBytes('generic-2026-11-22.csv');
const parser = statementParserFor('generic');

/** The expected figures, read from the file without the parser (the sample has no quoting). */
function independently(text: string): {
  payments: Decimal;
  refunds: Decimal;
  fee: Decimal;
  rows: string[][];
} {
  const [header, ...rows] = text
    .trimEnd()
    .split('\n')
    .map((line) => line.split(','));
  const col = (name: string): number => header!.indexOf(name);
  const sum = (type: string, column: string): Decimal =>
    rows.filter((r) => r[col('type')] === type).reduce((s, r) => s.plus(r[col(column)]!), new Decimal(0));
  return {
    payments: sum('PAYMENT', 'amount'),
    refunds: sum('REFUND', 'amount'),
    fee: sum('PAYMENT', 'fee').plus(sum('REFUND', 'fee')),
    rows,
  };
}

describe('GenericCsvParser on the sample', () => {
  it('reads 30 payments and 3 refunds with exact sums', async () => {
    const { lines, summary } = await parseAll(parser, sample);
    const expected = independently(sample.toString('utf8'));
    expect(lines).toHaveLength(33);
    expect(lines.filter((l) => l.type === 'PAYMENT')).toHaveLength(30);
    expect(lines.filter((l) => l.type === 'REFUND')).toHaveLength(3);
    expect(summary.totals).toEqual([
      {
        currency: 'CNY',
        paymentCount: 30,
        paymentAmount: expected.payments.toFixed(2),
        refundCount: 3,
        refundAmount: expected.refunds.toFixed(2),
        fee: expected.fee.toFixed(2),
      },
    ]);
    expect(expected.payments.toFixed(2)).toBe('13781.94'); // CLOSED payments included
    expect(summary.controls).toEqual([]);
    expect(summary.lineCount).toBe(33);
  });

  it('maps each field, line numbers counting the header as line 1', async () => {
    const { lines } = await parseAll(parser, sample);
    expect(lines[0]).toEqual({
      lineNo: 2,
      type: 'PAYMENT',
      orderNo: 'O202611220000000',
      refundNo: null,
      channelTxnId: '420000000000000000',
      amount: '239.54',
      fee: '1.44',
      currency: 'CNY',
      status: 'SUCCESS',
      tradeTime: '2026-11-22 21:49:20',
    });
    // No refund-number column: the refund is known by order + type; the channel's refund id is kept.
    expect(lines.find((l) => l.type === 'REFUND')).toEqual({
      lineNo: 12,
      type: 'REFUND',
      orderNo: 'O202611220000011',
      refundNo: null,
      channelTxnId: '500000000000000011',
      amount: '57.45',
      fee: '-0.34',
      currency: 'CNY',
      status: 'SUCCESS',
      tradeTime: '2026-11-22 14:50:57',
    });
    expect(lines.filter((l) => l.status === 'CLOSED').map((l) => l.orderNo)).toEqual([
      'O202611220000007',
      'O202611220000019',
      'O202611220000031',
    ]);
  });

  it('reads the next-day file (3 late payments)', async () => {
    const { lines } = await parseAll(parser, sampleBytes('generic-2026-11-23.csv'));
    expect(lines.map((l) => [l.orderNo, l.tradeTime])).toEqual([
      ['O202611220000010', '2026-11-23 00:00:01'],
      ['O202611220000022', '2026-11-23 00:00:01'],
      ['O202611220000034', '2026-11-23 00:00:01'],
    ]);
  });

  it('gives identical results for any chunking', async () => {
    const whole = await parseAll(parser, sample);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 10 }),
        async (sizes) => {
          expect(await parseAll(parser, sample, sizes)).toEqual(whole);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('accepts a BOM, CRLF and trailing blank lines', async () => {
    const whole = await parseAll(parser, sample);
    const dressed = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(sample.toString('utf8').replace(/\n/g, '\r\n')),
      Buffer.from('\r\n\r\n  \r\n'),
    ]);
    expect(await parseAll(parser, dressed)).toEqual({
      ...whole,
      summary: { ...whole.summary, physicalLineCount: whole.summary.physicalLineCount + 3 },
    });
  });
});

describe('GenericCsvParser configuration and quoting', () => {
  const custom = new GenericCsvParser({
    columns: {
      orderNo: '商户订单号',
      refundNo: '退款单号',
      type: '类型',
      amount: '金额',
      status: '状态',
      tradeTime: '时间',
    },
    typeValues: { 支付: 'PAYMENT', 退款: 'REFUND' },
    currency: 'cny',
  });
  const file = [
    '时间,备注,类型,金额,商户订单号,退款单号,状态',
    '2026-11-22 10:00:00,"comma, and ""quotes""",支付,10.00,O1,,success',
    '2026-11-22 11:00:00,"two',
    'lines",退款,2.5,O1,RO1,SUCCESS',
    '',
  ].join('\n');

  it('locates columns by the mapping, maps type words, reads RFC 4180 quoting across lines', async () => {
    const { lines } = await parseAll(custom, Buffer.from(file));
    expect(lines).toEqual([
      {
        lineNo: 2,
        type: 'PAYMENT',
        orderNo: 'O1',
        refundNo: null,
        channelTxnId: null,
        amount: '10.00',
        fee: null,
        currency: 'CNY',
        status: 'SUCCESS',
        tradeTime: '2026-11-22 10:00:00',
      },
      {
        lineNo: 3, // a record spanning lines 3–4 is numbered by its first line
        type: 'REFUND',
        orderNo: 'O1',
        refundNo: 'RO1',
        channelTxnId: null,
        amount: '2.50',
        fee: null,
        currency: 'CNY',
        status: 'SUCCESS',
        tradeTime: '2026-11-22 11:00:00',
      },
    ]);
  });

  it('fails a header without a mapped column with MISSING_COLUMN naming it', async () => {
    const error = await parseError(custom, Buffer.from(file.replace('退款单号', 'refund')));
    expect([error.code, error.lineNo, error.field]).toEqual(['STATEMENT.MISSING_COLUMN', 1, 'refundNo']);
    expect(error.message).toBe('line 1, field refundNo: the header has no column for refundNo ("退款单号")');
  });

  it('fails an unknown type word and an unclosed quote', async () => {
    const badType = await parseError(custom, Buffer.from(file.replace(',支付,', ',pay,')));
    expect([badType.code, badType.lineNo, badType.field]).toEqual(['STATEMENT.MALFORMED_LINE', 2, 'type']);
    expect(badType.message).toBe('line 2, field type: "pay" is not one of "支付", "退款"');
    const open = await parseError(custom, Buffer.from(file.replace('lines"', 'lines')));
    expect([open.code, open.lineNo]).toEqual(['STATEMENT.MALFORMED_LINE', 3]);
  });
});

describe('GenericCsvParser cell by cell', () => {
  const header = 'channel_txn_id,order_no,type,amount,fee,currency,status,trade_time';

  it('reads each line in its own currency: scale, totals per currency in order of appearance', async () => {
    const file = [
      header,
      'T1,O1,PAYMENT,1.5,0.01,CNY,SUCCESS,2026-11-22 10:00:00',
      'T2,O2,PAYMENT,1500,,JPY,success,2026-11-22 10:00:01',
      'T3,O3,REFUND,2,-1,jpy,SUCCESS,2026-11-22 10:00:02',
      'T4,O4,PAYMENT,1.25,0.001,BHD,SUCCESS,2026-11-22 10:00:03',
      'T5,O5,PAYMENT,2.00,, CNY ,SUCCESS,2026-11-22 10:00:04',
    ].join('\n');
    const { lines, summary } = await parseAll(parser, Buffer.from(file));
    expect(lines.map((l) => [l.amount, l.fee, l.currency, l.status])).toEqual([
      ['1.50', '0.01', 'CNY', 'SUCCESS'],
      ['1500', null, 'JPY', 'SUCCESS'],
      ['2', '-1', 'JPY', 'SUCCESS'],
      ['1.250', '0.001', 'BHD', 'SUCCESS'],
      ['2.00', null, 'CNY', 'SUCCESS'],
    ]);
    expect(summary.totals).toEqual([
      {
        currency: 'CNY',
        paymentCount: 2,
        paymentAmount: '3.50',
        refundCount: 0,
        refundAmount: '0.00',
        fee: '0.01',
      },
      {
        currency: 'JPY',
        paymentCount: 1,
        paymentAmount: '1500',
        refundCount: 1,
        refundAmount: '2',
        fee: '-1',
      },
      {
        currency: 'BHD',
        paymentCount: 1,
        paymentAmount: '1.250',
        refundCount: 0,
        refundAmount: '0.000',
        fee: '0.001',
      },
    ]);
  });

  it('fails a currency cell after valid ones, and a type word that is only inherited', async () => {
    const badCurrency = await parseError(
      parser,
      Buffer.from(
        `${header}\nT1,O1,PAYMENT,1.00,,CNY,SUCCESS,2026-11-22 10:00:00\nT2,O2,PAYMENT,1.00,,CNYX,SUCCESS,2026-11-22 10:00:00\n`,
      ),
    );
    expect(badCurrency.message).toBe(
      'line 3, field currency: "CNYX" is not a supported ISO 4217 currency (column currency)',
    );
    for (const word of ['constructor', 'toString', '__proto__']) {
      const error = await parseError(
        parser,
        Buffer.from(`${header}\nT1,O1,${word},1.00,,CNY,SUCCESS,2026-11-22 10:00:00\n`),
      );
      expect(error.message).toBe(`line 2, field type: "${word}" is not one of "PAYMENT", "REFUND"`);
    }
  });
});

describe('GenericCsvParser on malformed lines', () => {
  const text = sample.toString('utf8');

  it('names the line and field of a bad amount', async () => {
    const error = await parseError(parser, Buffer.from(text.replace(',361.62,', ',12.3.4,')));
    expect(error.code).toBe('STATEMENT.MALFORMED_LINE');
    expect([error.lineNo, error.field]).toEqual([4, 'amount']);
    expect(error.message).toBe('line 4, field amount: "12.3.4" is not a decimal amount (column amount)');
  });

  it('names the line and field of a missing field', async () => {
    const lines = text.split('\n');
    lines[16] = lines[16]!.replace(/,[^,]*$/, ''); // drop trade_time of line 17
    const error = await parseError(parser, Buffer.from(lines.join('\n')));
    expect([error.code, error.lineNo, error.field]).toEqual(['STATEMENT.MALFORMED_LINE', 17, 'tradeTime']);
    expect(error.message).toBe('line 17, field tradeTime: 7 fields, the header has 8 (no trade_time)');
  });

  it('rejects an empty required cell, a negative amount, a bad time, an unknown currency', async () => {
    const cases: Array<[string, string, string]> = [
      [',O202611220000002,', ',,', 'orderNo'],
      [',361.62,', ',-361.62,', 'amount'],
      ['2026-11-22 01:16:07', '2026-11-31 01:16:07', 'tradeTime'],
      [',2.17,CNY,', ',2.17,XXX,', 'currency'],
      [',361.62,', ',361.625,', 'amount'],
    ];
    for (const [from, to, field] of cases) {
      const error = await parseError(parser, Buffer.from(text.replace(from, to)));
      expect([error.code, error.lineNo, error.field]).toEqual(['STATEMENT.MALFORMED_LINE', 4, field]);
    }
  });

  it('fails an empty file (no header)', async () => {
    const error = await parseError(parser, Buffer.from('\n\n'));
    expect(error.code).toBe('STATEMENT.MISSING_COLUMN');
  });

  it('summary() is a programmer error before the lines are read', async () => {
    const parse = parser.parse(chunked(sample));
    expect(() => parse.summary()).toThrow(/only after lines\(\) has completed/);
    await readStatement(parse);
    await expect(parse.lines().next()).rejects.toThrow(/can be iterated once/);
  });
});

describe('GenericCsvParser setting malformed lines aside (rejectMalformedMax)', () => {
  const text = sample.toString('utf8');
  const lenient = (max: number) =>
    statementParserFor('generic', { ...GENERIC_CSV_DEFAULT_OPTIONS, rejectMalformedMax: max });
  const twoBad = text.replace(',361.62,', ',12.3.4,').replace('2026-11-22 01:16:07', '2026-11-31 01:16:07');

  it('keeps every other line and records each one set aside with its line, field and reason', async () => {
    const strict = await parseAll(parser, sample);
    const { lines, summary } = await parseAll(lenient(2), Buffer.from(twoBad));
    expect(lines).toHaveLength(strict.lines.length - 1); // both faults are on line 4
    expect(lines.map((l) => l.lineNo)).not.toContain(4);
    expect(summary.rejected).toEqual([
      {
        lineNo: 4,
        field: 'amount',
        reason: '"12.3.4" is not a decimal amount (column amount)',
        text: text
          .split('\n')[3]!
          .replace(',361.62,', ',12.3.4,')
          .replace('2026-11-22 01:16:07', '2026-11-31 01:16:07'),
      },
    ]);
    expect(summary.controlsUnverified).toBeNull(); // the generic layout states no totals
    const lines5 = text.split('\n');
    lines5[4] = lines5[4]!.replace(/,[^,]*$/, '');
    const second = await parseAll(
      lenient(2),
      Buffer.from(
        twoBad
          .split('\n')
          .map((l, i) => (i === 4 ? lines5[4]! : l))
          .join('\n'),
      ),
    );
    expect(second.summary.rejected.map((r) => [r.lineNo, r.field])).toEqual([
      [4, 'amount'],
      [5, 'tradeTime'],
    ]);
    expect(second.lines).toHaveLength(strict.lines.length - 2);
  });

  it('refuses the whole file past the limit, and never sets aside a bad header', async () => {
    // Lines 4 and 5 lose their last field: two malformed lines for a limit of one.
    const twoShort = text
      .split('\n')
      .map((l, k) => (k === 3 || k === 4 ? l.replace(/,[^,]*$/, '') : l))
      .join('\n');
    const error = await parseError(lenient(1), Buffer.from(twoShort));
    expect(error.code).toBe('STATEMENT.TOO_MANY_REJECTED');
    expect(error.message).toMatch(
      /^line \d+, field \w+: more than 1 malformed lines \(this one: .*\); the file is refused whole$/,
    );
    const badHeader = await parseError(lenient(5), Buffer.from(`"unclosed\n${text}`));
    expect(badHeader.code).not.toBe('STATEMENT.TOO_MANY_REJECTED');
    expect((await parseError(parser, Buffer.from(twoBad))).code).toBe('STATEMENT.MALFORMED_LINE');
  });
});

describe('GenericCsvParser streaming', () => {
  it('yields lines as the bytes arrive and keeps only running sums: 50k lines, exact totals', async () => {
    const rows = 50_000;
    let chunksPulled = 0;
    async function* source(): AsyncGenerator<Uint8Array> {
      yield await Promise.resolve(
        Buffer.from('channel_txn_id,order_no,type,amount,fee,currency,status,trade_time\n'),
      );
      for (let i = 0; i < rows; i += 1000) {
        chunksPulled += 1;
        let block = '';
        for (let j = i; j < i + 1000; j += 1) {
          block += `T${j},O${j},PAYMENT,0.${String(j % 100).padStart(2, '0')},0.01,CNY,SUCCESS,2026-11-22 10:00:00\n`;
        }
        yield Buffer.from(block);
      }
    }
    const parse = parser.parse(source());
    let count = 0;
    let pulledAtFirstLine = -1;
    for await (const line of parse.lines()) {
      if (count === 0) pulledAtFirstLine = chunksPulled;
      count += 1;
      if (line.lineNo !== count + 1) throw new Error(`line ${count} numbered ${line.lineNo}`);
    }
    expect(pulledAtFirstLine).toBe(1);
    expect(count).toBe(rows);
    // Σ over j of (j mod 100)/100 = 500 blocks of 0.00..0.99 = 500 × 49.50
    expect(parse.summary().totals[0]).toMatchObject({
      paymentCount: rows,
      paymentAmount: '24750.00',
      fee: '500.00',
    });
  });
});
