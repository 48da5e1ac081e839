import { describe, expect, it } from '@jest/globals';
import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { WechatAllParser } from './wechat-all.parser.js';
import { parseAll, parseError, sampleBytes } from './testing.js';

const sample = sampleBytes('wechat-all-2026-11-22.csv');
const text = sample.toString('utf8');
const parser = new WechatAllParser();

/** Detail rows, read without the parser: header → cells, backticks dropped. */
function rowsOf(source: string): Array<Record<string, string>> {
  const lines = source.trimEnd().split('\n');
  const header = lines[0]!.split(',');
  return lines
    .slice(1)
    .filter((line) => line.startsWith('`'))
    .slice(0, -1) // the summary row
    .map((line) =>
      Object.fromEntries(
        line
          .slice(1)
          .split(',`')
          .map((cell, i) => [header[i]!, cell]),
      ),
    );
}

/** A copy of the bill with its detail and summary columns in another order. */
function shuffled(source: string, seed: number): string {
  const lines = source.trimEnd().split('\n');
  const permute = <T>(items: T[], order: number[]): T[] => order.map((i) => items[i]!);
  const orderFor = (n: number): number[] => {
    const order = [...Array(n).keys()];
    let s = seed;
    for (let i = n - 1; i > 0; i -= 1) {
      s = (s * 1103515245 + 12345) % 2147483648;
      const j = s % (i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    return order;
  };
  const detail = orderFor(lines[0]!.split(',').length);
  const summaryAt = lines.findIndex((line) => line.startsWith('总交易单数'));
  expect(summaryAt).toBeGreaterThan(0);
  const summary = orderFor(lines[summaryAt]!.split(',').length);
  return lines
    .map((line, i) => {
      const order = i < summaryAt ? detail : summary;
      if (line.startsWith('`')) return `\`${permute(line.slice(1).split(',`'), order).join(',`')}`;
      return permute(line.split(','), order).join(',');
    })
    .join('\n');
}

describe('WechatAllParser on the sample', () => {
  it('reads every detail row: 30 payments (27 SUCCESS, 3 CLOSED) and 3 refunds; the summary agrees', async () => {
    const { lines, summary } = await parseAll(parser, sample);
    const rows = rowsOf(text);
    const sum = (values: string[]): string => values.reduce((s, v) => s.plus(v), new Decimal(0)).toFixed(2);
    expect(lines).toHaveLength(33);
    expect(lines.filter((l) => l.type === 'PAYMENT')).toHaveLength(30);
    expect(lines.filter((l) => l.status === 'CLOSED')).toHaveLength(3);
    expect(lines.filter((l) => l.type === 'REFUND')).toHaveLength(3);
    const payments = rows.filter((r) => r['交易状态'] !== 'REFUND');
    const refunds = rows.filter((r) => r['交易状态'] === 'REFUND');
    expect(summary.totals).toEqual([
      {
        currency: 'CNY',
        paymentCount: 30,
        paymentAmount: sum(payments.map((r) => r['应结订单金额']!)),
        refundCount: 3,
        refundAmount: sum(refunds.map((r) => r['退款金额']!)),
        fee: sum(rows.map((r) => r['手续费']!)),
      },
    ]);
    // 总交易单数 counts every detail row, CLOSED payments and refund rows included.
    expect(summary.controls).toEqual([
      { name: '总交易单数', lineNo: 36, stated: '33', computed: '33' },
      { name: '应结订单总金额', lineNo: 36, stated: '13781.94', computed: '13781.94' },
      { name: '退款总金额', lineNo: 36, stated: '494.28', computed: '494.28' },
      { name: '手续费总金额', lineNo: 36, stated: '79.72', computed: '79.72' },
      { name: '订单总金额', lineNo: 36, stated: '13781.94', computed: '13781.94' },
      { name: '申请退款总金额', lineNo: 36, stated: '494.28', computed: '494.28' },
      { name: '充值券退款总金额', lineNo: 36, stated: '0.00', computed: '0.00' },
    ]);
  });

  it('gives the same lines as the generic statement of the same day, refund numbers added', async () => {
    const { lines } = await parseAll(parser, sample);
    const refund = lines.find((l) => l.type === 'REFUND');
    expect(refund).toEqual({
      lineNo: 12,
      type: 'REFUND',
      orderNo: 'O202611220000011',
      refundNo: 'RO202611220000011',
      channelTxnId: '500000000000000011',
      amount: '57.45',
      fee: '-0.34',
      currency: 'CNY',
      status: 'SUCCESS',
      tradeTime: '2026-11-22 14:50:57',
    });
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
  });

  it('locates columns by name: a shuffled-column copy gives identical lines and controls', async () => {
    const whole = await parseAll(parser, sample);
    for (const seed of [1, 7, 42, 2026]) {
      const copy = shuffled(text, seed);
      expect(copy.split('\n')[0]).not.toBe(text.split('\n')[0]);
      expect(await parseAll(parser, Buffer.from(copy))).toEqual(whole);
    }
  });

  it('gives identical results for any chunking, and with a BOM, CRLF and trailing blank lines', async () => {
    const whole = await parseAll(parser, sample);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 10 }),
        async (sizes) => {
          expect(await parseAll(parser, sample, sizes)).toEqual(whole);
        },
      ),
      { numRuns: 50 },
    );
    const dressed = Buffer.from(`\uFEFF${text.replace(/\n/g, '\r\n')}\r\n\r\n`);
    const result = await parseAll(parser, dressed);
    expect(result.lines).toEqual(whole.lines);
    expect(result.summary.controls).toEqual(whole.summary.controls);
  });
});

describe('WechatAllParser controls', () => {
  const summaryRow = '`33,`13781.94,`494.28,`0.00,`79.72,`13781.94,`494.28';

  it.each([
    ['总交易单数', '`32,`13781.94,`494.28,`0.00,`79.72,`13781.94,`494.28', '32', '33'],
    ['应结订单总金额', '`33,`13781.95,`494.28,`0.00,`79.72,`13781.94,`494.28', '13781.95', '13781.94'],
    ['退款总金额', '`33,`13781.94,`494.29,`0.00,`79.72,`13781.94,`494.28', '494.29', '494.28'],
    ['手续费总金额', '`33,`13781.94,`494.28,`0.00,`79.70,`13781.94,`494.28', '79.70', '79.72'],
  ])(
    'fails a tampered %s with CONTROL_TOTAL_MISMATCH naming both figures',
    async (name, row, stated, computed) => {
      const error = await parseError(parser, Buffer.from(text.replace(summaryRow, row)));
      expect([error.code, error.lineNo, error.field]).toEqual(['STATEMENT.CONTROL_TOTAL_MISMATCH', 36, name]);
      expect(error.message).toBe(
        `line 36, field ${name}: the file states ${stated}, the parsed lines add up to ${computed}`,
      );
    },
  );

  it('fails a detail amount changed without the summary (the control catches it)', async () => {
    const error = await parseError(
      parser,
      Buffer.from(text.replace('`239.54,`0.00,`0,', '`239.55,`0.00,`0,')),
    );
    expect([error.code, error.field]).toEqual(['STATEMENT.CONTROL_TOTAL_MISMATCH', '应结订单总金额']);
  });

  it('fails a bill without its summary (truncated) with MISSING_CONTROL_TOTAL', async () => {
    const truncated = text.split('\n').slice(0, 30).join('\n');
    const error = await parseError(parser, Buffer.from(truncated));
    expect([error.code, error.lineNo]).toEqual(['STATEMENT.MISSING_CONTROL_TOTAL', 30]);
  });

  it('fails text after the summary row', async () => {
    const error = await parseError(parser, Buffer.from(`${text}\`1,\`2\n`));
    expect([error.code, error.lineNo]).toEqual(['STATEMENT.MALFORMED_LINE', 37]);
  });
});

describe('WechatAllParser setting a malformed detail line aside', () => {
  it('keeps the rest and says the bill’s own totals can no longer be verified', async () => {
    const bad = text.replace('`CNY,`361.62,', '`CNY,`12.3.4,');
    const { lines, summary } = await parseAll(
      new WechatAllParser({ rejectMalformedMax: 10 }),
      Buffer.from(bad),
    );
    const strict = await parseAll(parser, sample);
    expect(lines).toHaveLength(strict.lines.length - 1);
    expect(summary.rejected.map((r) => [r.lineNo, r.field, r.reason])).toEqual([
      [4, 'amount', '"12.3.4" is not a decimal amount (column 应结订单金额)'],
    ]);
    expect(summary.controls).toEqual([]);
    expect(summary.controlsUnverified).toMatch(
      /^1 line\(s\) set aside, so the file's own totals cannot be verified against the lines kept \(line \d+, field .*\)$/,
    );
  });
});

describe('WechatAllParser on malformed lines', () => {
  it('names the line and field of a bad amount', async () => {
    const bad = text.replace('`CNY,`361.62,', '`CNY,`12.3.4,');
    const error = await parseError(parser, Buffer.from(bad));
    expect([error.code, error.lineNo, error.field]).toEqual(['STATEMENT.MALFORMED_LINE', 4, 'amount']);
    expect(error.message).toBe(
      'line 4, field amount: "12.3.4" is not a decimal amount (column 应结订单金额)',
    );
  });

  it('names the line and field of a bad refund amount', async () => {
    const error = await parseError(
      parser,
      Buffer.from(text.replace('`57.45,`0.00,`ORIGINAL', '`57.4x,`0.00,`ORIGINAL')),
    );
    expect([error.lineNo, error.field]).toEqual([12, 'amount']);
  });

  it('names the line and field of a missing field', async () => {
    const lines = text.split('\n');
    lines[16] = lines[16]!.split(',`').slice(0, 20).join(',`'); // cut before 商品名称: 手续费 is the first missing field we read
    const error = await parseError(parser, Buffer.from(lines.join('\n')));
    expect([error.code, error.lineNo, error.field]).toEqual(['STATEMENT.MALFORMED_LINE', 17, 'fee']);
    expect(error.message).toBe('line 17, field fee: 20 fields, the header has 27 (no 手续费)');
  });

  it('names an empty required cell', async () => {
    const error = await parseError(parser, Buffer.from(text.replace('`O202611220000002,', '`,')));
    expect([error.lineNo, error.field]).toEqual([4, 'orderNo']);
  });

  it('fails a header without a column it needs with MISSING_COLUMN', async () => {
    const error = await parseError(parser, Buffer.from(text.replace('商户退款单号', '退款单号')));
    expect([error.code, error.lineNo, error.field]).toEqual(['STATEMENT.MISSING_COLUMN', 1, 'refundNo']);
    expect(error.message).toBe(
      'line 1, field refundNo: the header has no column for refundNo ("商户退款单号")',
    );
  });
});
