import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { splitCsvRecord } from './generic-csv.parser.js';
import {
  StatementParseError,
  parseAmountCell,
  parseAmountText,
  readPhysicalLines,
} from './statement-parser.js';
import { chunked, gbkEncode } from './testing.js';

async function lines(
  bytes: Uint8Array,
  encoding: 'utf-8' | 'gbk',
  sizes?: number[],
  lineBytesMax?: number,
): Promise<Array<{ lineNo: number; text: string }>> {
  const out: Array<{ lineNo: number; text: string }> = [];
  for await (const line of readPhysicalLines(chunked(bytes, sizes), encoding, { lineBytesMax }))
    out.push(line);
  return out;
}

async function failure(promise: Promise<unknown>): Promise<StatementParseError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof StatementParseError) return error;
    throw error;
  }
  throw new Error('expected a StatementParseError');
}

describe('readPhysicalLines', () => {
  it('numbers lines from 1, strips CR and a leading UTF-8 BOM, keeps blank lines for the reader', async () => {
    const bytes = Buffer.from('\uFEFFa,b\r\nc\r\n\r\n\n', 'utf8');
    expect(await lines(bytes, 'utf-8')).toEqual([
      { lineNo: 1, text: 'a,b' },
      { lineNo: 2, text: 'c' },
      { lineNo: 3, text: '' },
      { lineNo: 4, text: '' },
    ]);
  });

  it('reads a last line without a final newline', async () => {
    expect(await lines(Buffer.from('a\nb'), 'utf-8')).toEqual([
      { lineNo: 1, text: 'a' },
      { lineNo: 2, text: 'b' },
    ]);
  });

  it('gives the same lines for any chunking, multi-byte characters cut anywhere (UTF-8 and GBK)', async () => {
    const text = '交易时间,金额\r\n`2026-11-22 01:02:03,`测试商品,`1.00\n\n退款,¥-0.34\n';
    for (const [encoding, bytes] of [
      ['utf-8', Buffer.from(text, 'utf8')],
      ['gbk', gbkEncode(text.replace('¥', 'Y'))],
    ] as const) {
      const whole = await lines(bytes, encoding);
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 20 }),
          async (sizes) => {
            expect(await lines(bytes, encoding, sizes)).toEqual(whole);
          },
        ),
        { numRuns: 200 },
      );
    }
  });

  it('fails invalid GBK with ENCODING and the line number', async () => {
    const bytes = Buffer.concat([
      gbkEncode('第一行\n第二行'),
      Buffer.from([0x81, 0x20]),
      gbkEncode('\n第三行\n'),
    ]);
    const error = await failure(lines(bytes, 'gbk'));
    expect(error.code).toBe('STATEMENT.ENCODING');
    expect(error.lineNo).toBe(2);
    expect(error.message).toMatch(/^line 2: not valid GBK text \(bytes 81 20/);
  });

  it('fails invalid UTF-8 with ENCODING and the line number', async () => {
    const bytes = Buffer.concat([Buffer.from('ok\nok\nbad '), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]);
    const error = await failure(lines(bytes, 'utf-8'));
    expect([error.code, error.lineNo]).toEqual(['STATEMENT.ENCODING', 3]);
  });

  it('bounds a line: LINE_TOO_LONG instead of buffering without limit', async () => {
    const bytes = Buffer.from(`short\n${'x'.repeat(100)}\n`);
    const error = await failure(lines(bytes, 'utf-8', [7], 50));
    expect([error.code, error.lineNo]).toEqual(['STATEMENT.LINE_TOO_LONG', 2]);
    expect(await lines(Buffer.from(`${'x'.repeat(50)}\r\n`), 'utf-8', undefined, 50)).toHaveLength(1);
  });
});

describe('splitCsvRecord (RFC 4180)', () => {
  it('splits plain, quoted, doubled-quote and empty fields', () => {
    expect(splitCsvRecord('a,"b,c","say ""hi""",,""', 1)).toEqual(['a', 'b,c', 'say "hi"', '', '']);
    expect(splitCsvRecord('a,', 1)).toEqual(['a', '']);
    expect(splitCsvRecord('', 1)).toEqual(['']);
  });

  it('reports a record that continues on the next line', () => {
    expect(splitCsvRecord('a,"b', 1)).toBeUndefined();
    expect(splitCsvRecord('a,"b\nc",d', 1)).toEqual(['a', 'b\nc', 'd']);
  });

  it('rejects stray quotes', () => {
    expect(() => splitCsvRecord('a,"b"c', 4)).toThrow(/^line 4: field 2 has text after its closing quote/);
    expect(() => splitCsvRecord('a,b"c', 4)).toThrow(/^line 4: field 2 has a quote but is not quoted/);
  });
});

describe('parseAmountText (fast path) ≡ parseAmountCell(…).toString()', () => {
  const outcome = (f: () => string): string => {
    try {
      return `ok ${f()}`;
    } catch (error) {
      return `error ${(error as Error).message}`;
    }
  };
  const candidates = fc.oneof(
    fc.stringMatching(/^-?\d{1,20}(\.\d{0,5})?$/),
    fc.stringMatching(/^[ +-]?0*\d{0,4}[.,]?\d{0,3} ?$/),
    fc.string({ maxLength: 8 }),
  );

  it('gives the same amount or the same error for every input, currency and sign rule', () => {
    fc.assert(
      fc.property(
        candidates,
        fc.constantFrom('CNY', 'JPY', 'BHD'),
        fc.boolean(),
        (raw, currency, allowNegative) => {
          const opts = { allowNegative, column: 'Amount' };
          expect(outcome(() => parseAmountText(raw, currency, 7, 'amount', opts))).toBe(
            outcome(() => parseAmountCell(raw, currency, 7, 'amount', opts).toString()),
          );
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('pads to the minor unit and keeps the sign where allowed', () => {
    expect(parseAmountText('239.5', 'CNY', 2, 'amount')).toBe('239.50');
    expect(parseAmountText('-0.34', 'CNY', 2, 'fee', { allowNegative: true })).toBe('-0.34');
    expect(parseAmountText('1500', 'JPY', 2, 'amount')).toBe('1500');
    expect(parseAmountText('1.25', 'BHD', 2, 'amount')).toBe('1.250');
  });
});
