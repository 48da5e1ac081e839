import { describe, expect, it } from '@jest/globals';
import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { AlipayParser } from './alipay.parser.js';
import { statementParserFor } from './index.js';
import { gbkDecode, gbkEncode, parseAll, parseError, sampleBytes } from './testing.js';

const sample = sampleBytes('alipay-2026-11-22.csv');
const text = gbkDecode(sample);
const parser = new AlipayParser();
/** The sample as GBK again after an edit of its text. */
const edited = (from: string, to: string): Buffer => {
  expect(text).toContain(from);
  return gbkEncode(text.replace(from, to));
};

describe('AlipayParser on the GBK sample', () => {
  it('the test encoder round-trips the sample byte for byte', () => {
    expect(gbkEncode(text).equals(sample)).toBe(true);
  });

  it('reads 27 交易 and 3 退款 lines; both trailer lines agree', async () => {
    const { lines, summary } = await parseAll(parser, sample);
    // Independently: the detail rows are the lines between the header and the first trailing '#'.
    const all = text.split('\n');
    const header = all.findIndex((line) => !line.startsWith('#'));
    const rows = all.slice(
      header + 1,
      all.findIndex((line, i) => i > header && line.startsWith('#')),
    );
    const cells = rows.map((row) => row.split(',').map((cell) => cell.trim()));
    const received = (type: string): Decimal =>
      cells.filter((c) => c[2] === type).reduce((s, c) => s.plus(c[12]!), new Decimal(0));
    const fee = cells.reduce((s, c) => s.minus(c[22]!), new Decimal(0));

    expect(lines).toHaveLength(30);
    expect(summary.totals).toEqual([
      {
        currency: 'CNY',
        paymentCount: 27,
        paymentAmount: received('交易').toFixed(2),
        refundCount: 3,
        refundAmount: received('退款').negated().toFixed(2),
        fee: fee.toFixed(2),
      },
    ]);
    expect(summary.controls).toEqual([
      { name: '交易合计笔数', lineNo: 37, stated: '27', computed: '27' },
      { name: '商家实收', lineNo: 37, stated: '12917.90', computed: '12917.90' },
      { name: '退款合计笔数', lineNo: 38, stated: '3', computed: '3' },
      { name: '商家实收退款', lineNo: 38, stated: '-494.28', computed: '-494.28' },
      { name: '商家优惠', lineNo: 37, stated: '0.00', computed: '0.00' },
      { name: '商家优惠退款', lineNo: 38, stated: '0.00', computed: '0.00' },
    ]);
  });

  it('maps payments and refunds: positive amounts, fee = −服务费, refund number from 退款批次号/请求号', async () => {
    const { lines } = await parseAll(parser, sample);
    expect(lines[0]).toEqual({
      lineNo: 6,
      type: 'PAYMENT',
      orderNo: 'O202611220000000',
      refundNo: null,
      channelTxnId: '2026112222001000000000000000',
      amount: '239.54',
      fee: '1.44',
      currency: 'CNY',
      status: 'SUCCESS',
      tradeTime: '2026-11-22 21:49:20',
    });
    expect(lines.find((l) => l.type === 'REFUND')).toEqual({
      lineNo: 15,
      type: 'REFUND',
      orderNo: 'O202611220000011',
      refundNo: 'RO202611220000011',
      channelTxnId: '2026112222001000000000000011',
      amount: '57.45',
      fee: '-0.34',
      currency: 'CNY',
      status: 'SUCCESS',
      tradeTime: '2026-11-22 14:50:57',
    });
    // Only completed business: the three CLOSED orders of the day are absent.
    expect(lines.map((l) => l.orderNo)).not.toContain('O202611220000007');
  });

  it('gives identical results for any chunking, GBK characters split between chunks', async () => {
    const whole = await parseAll(parser, sample);
    // A cut inside the first two-byte character, deterministically.
    const firstWide = sample.findIndex((byte) => byte >= 0x81);
    expect(await parseAll(parser, sample, [firstWide + 1, 1, 5000])).toEqual(whole);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 10 }),
        async (sizes) => {
          expect(await parseAll(parser, sample, sizes)).toEqual(whole);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('accepts CRLF and trailing blank lines', async () => {
    const whole = await parseAll(parser, sample);
    const result = await parseAll(parser, gbkEncode(`${text.replace(/\n/g, '\r\n')}\r\n\r\n`));
    expect(result.lines).toEqual(whole.lines);
    expect(result.summary.controls).toEqual(whole.summary.controls);
  });

  it('reads a UTF-8 re-save (BOM included) when told the encoding', async () => {
    const whole = await parseAll(parser, sample);
    const utf8 = statementParserFor('alipay', { encoding: 'utf-8' });
    expect((await parseAll(utf8, Buffer.from(`\uFEFF${text}`, 'utf8'))).lines).toEqual(whole.lines);
  });
});

describe('AlipayParser controls', () => {
  it.each([
    ['商家实收', '商家实收共12917.90元', '商家实收共12917.91元', 37, '12917.91', '12917.90'],
    ['交易合计笔数', '#交易合计：27笔', '#交易合计：26笔', 37, '26', '27'],
    ['商家实收退款', '商家实收退款共-494.28元', '商家实收退款共-494.18元', 38, '-494.18', '-494.28'],
    ['退款合计笔数', '#退款合计：3笔', '#退款合计：4笔', 38, '4', '3'],
  ])('fails a tampered %s with CONTROL_TOTAL_MISMATCH', async (name, from, to, lineNo, stated, computed) => {
    const error = await parseError(parser, edited(from, to));
    expect([error.code, error.lineNo, error.field]).toEqual([
      'STATEMENT.CONTROL_TOTAL_MISMATCH',
      lineNo,
      name,
    ]);
    expect(error.message).toBe(
      `line ${lineNo}, field ${name}: the file states ${stated}, the parsed lines add up to ${computed}`,
    );
  });

  it('tampering the raw bytes (ASCII digits inside GBK) is caught the same way', async () => {
    const bytes = Buffer.from(sample);
    const at = bytes.indexOf('12917.90');
    bytes.write('12917.80', at, 'latin1');
    const error = await parseError(parser, bytes);
    expect([error.code, error.field]).toEqual(['STATEMENT.CONTROL_TOTAL_MISMATCH', '商家实收']);
  });

  it('fails an export without its trailer lines with MISSING_CONTROL_TOTAL', async () => {
    const error = await parseError(parser, edited('#退款合计：', '#退款：'));
    expect([error.code, error.field]).toEqual(['STATEMENT.MISSING_CONTROL_TOTAL', '退款合计']);
    const truncated = gbkEncode(text.split('\n').slice(0, 20).join('\n'));
    expect((await parseError(parser, truncated)).code).toBe('STATEMENT.MISSING_CONTROL_TOTAL');
  });
});

describe('AlipayParser on malformed lines', () => {
  it('names the line and field of a bad amount', async () => {
    const error = await parseError(parser, edited(',361.62,361.62,', ',361.62,36x.62,'));
    expect([error.code, error.lineNo, error.field]).toEqual(['STATEMENT.MALFORMED_LINE', 8, 'amount']);
    expect(error.message).toBe(
      'line 8, field amount: "36x.62" is not a decimal amount (column 商家实收（元）)',
    );
  });

  it('names the line and field of a missing field', async () => {
    const lines = text.split('\n');
    lines[9] = lines[9]!.split(',').slice(0, 12).join(','); // line 10 stops before 商家实收
    const error = await parseError(parser, gbkEncode(lines.join('\n')));
    expect([error.code, error.lineNo, error.field]).toEqual(['STATEMENT.MALFORMED_LINE', 10, 'amount']);
    expect(error.message).toBe('line 10, field amount: 12 fields, the header has 25 (no 商家实收（元）)');
  });

  it('fails an amount whose sign contradicts the business type', async () => {
    const error = await parseError(parser, edited(',-57.45,-57.45,', ',-57.45,57.45,'));
    expect([error.lineNo, error.field]).toEqual([15, 'amount']);
    expect(error.message).toMatch(/wrong sign for 退款/);
  });

  it('fails an unknown business type and a refund without its refund number', async () => {
    const badType = await parseError(parser, edited('\t,交易\t,', '\t,转账\t,'));
    expect([badType.lineNo, badType.field]).toEqual([6, 'type']);
    const noRefundNo = await parseError(parser, edited(',RO202611220000023\t,', ',\t,'));
    expect([noRefundNo.lineNo, noRefundNo.field]).toEqual([25, 'refundNo']);
  });

  it.each([
    ['a lone 0xFF (which Node decodes to U+F8F5 unless checked)', [0xff]],
    ['a lead byte without a valid trail byte', [0x81, 0x20]],
  ])('fails invalid GBK bytes with ENCODING and the line number: %s', async (_what, bad) => {
    const lines = text.split('\n').map((line) => gbkEncode(line));
    lines[11] = Buffer.concat([lines[11]!.subarray(0, 40), Buffer.from(bad), lines[11]!.subarray(40)]);
    const bytes = Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')]));
    const error = await parseError(parser, bytes);
    expect([error.code, error.lineNo]).toEqual(['STATEMENT.ENCODING', 12]);
    expect(error.message).toMatch(/^line 12: not valid GBK text/);
  });

  it('fails a header without a column it needs with MISSING_COLUMN', async () => {
    const error = await parseError(parser, edited('服务费（元）', '费用'));
    expect([error.code, error.lineNo, error.field]).toEqual(['STATEMENT.MISSING_COLUMN', 5, 'fee']);
  });
});
