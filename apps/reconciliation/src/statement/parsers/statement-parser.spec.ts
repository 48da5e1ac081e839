import { describe, expect, it } from '@jest/globals';
import { InvariantError, Money } from '@app/contracts';
import fc from 'fast-check';
import type { StatementLine } from '../statement-line.js';
import { GENERIC_CSV_DEFAULT_OPTIONS, splitCsvRecord } from './generic-csv.parser.js';
import { statementParserFor } from './index.js';
import {
  BATCH_LINES_MAX,
  MinorUnitSum,
  StatementParse,
  StatementParseError,
  type StatementFormat,
  type StatementRecordReader,
  canonicalMinorUnits,
  isTradeTime,
  parseAmountCell,
  parseAmountText,
  parseTradeTimeCell,
  readPhysicalLines,
} from './statement-parser.js';
import { chunked, gbkDecode, gbkEncode, sampleBytes } from './testing.js';

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
        fc.boolean(),
        (raw, currency, allowNegative, sum) => {
          const opts = { allowNegative, column: 'Amount', sum };
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

  it("refuses a line's amount past one item's bound (10^15 − 1 minor units), naming line and field", () => {
    expect(parseAmountText('9999999999999.99', 'CNY', 2, 'amount')).toBe('9999999999999.99');
    expect(parseAmountText('999999999999999', 'JPY', 2, 'amount')).toBe('999999999999999');
    for (const [raw, currency, max] of [
      ['10000000000000', 'CNY', '9999999999999.99'],
      [`${'9'.repeat(30)}.99`, 'CNY', '9999999999999.99'],
      ['1000000000000000', 'JPY', '999999999999999'],
      ['1000000000000', 'BHD', '999999999999.999'],
    ] as const) {
      const error = (() => {
        try {
          parseAmountText(raw, currency, 4, 'amount', { column: 'Amount' });
        } catch (e) {
          return e as StatementParseError;
        }
        throw new Error(`${raw} ${currency} was accepted`);
      })();
      expect([error.code, error.lineNo, error.field, error.message]).toEqual([
        'STATEMENT.MALFORMED_LINE',
        4,
        'amount',
        `line 4, field amount: ${JSON.stringify(raw)} is beyond the largest amount one line may carry (${max} ${currency}) (column Amount)`,
      ]);
    }
  });

  it("takes a file's own total (a sum) up to what Money holds", () => {
    const total = `${'9'.repeat(25)}.99`;
    expect(parseAmountCell(total, 'CNY', 9, 'total', { sum: true }).toString()).toBe(total);
    expect(() => parseAmountCell(`1${'0'.repeat(30)}`, 'CNY', 9, 'total', { sum: true })).toThrow(
      'line 9, field total: "1000000000000000000000000000000" is beyond the largest supported total',
    );
  });
});

describe('readPhysicalLines: the complete lines of a chunk decoded as one run', () => {
  // Byte-sized chunks put every line through the per-line path (each is pending until its LF);
  // larger ones decode most lines as part of a run. The two must agree on everything, errors too.
  const piece = fc.constantFrom(
    ...['ab', 'x,1.00', ' ', ',', '"', '\n', '\n', '\r', '\r\n', '测试', '𝄞', '\uFEFF', '\u0000'].map((t) =>
      Buffer.from(t, 'utf8'),
    ),
    Buffer.from([0xc3, 0x28]), // invalid
    Buffer.from([0xe6]), // truncated
    Buffer.from([0xed, 0xa0, 0x80]), // a surrogate
    Buffer.from([0xff]),
  );
  const outcome = async (
    bytes: Buffer,
    sizes: number[],
    lineBytesMax: number,
  ): Promise<{ lines: Array<{ lineNo: number; text: string }>; error?: string }> => {
    const lines: Array<{ lineNo: number; text: string }> = [];
    try {
      for await (const line of readPhysicalLines(chunked(bytes, sizes), 'utf-8', { lineBytesMax }))
        lines.push(line);
    } catch (error) {
      const e = error as StatementParseError;
      return { lines, error: `${e.code} ${e.message}` };
    }
    return { lines };
  };

  it('gives the lines and the error (line, bytes) of the line-by-line path, for any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(piece, { maxLength: 40 }),
        fc.array(fc.integer({ min: 2, max: 64 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 4, max: 40 }),
        async (pieces, sizes, lineBytesMax) => {
          const bytes = Buffer.concat(pieces);
          const byLine = await outcome(bytes, [1], lineBytesMax);
          expect(await outcome(bytes, sizes, lineBytesMax)).toEqual(byLine);
          expect(await outcome(bytes, [], lineBytesMax)).toEqual(byLine);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('names the bad line of a run that does not decode; the lines before it come out first', async () => {
    const bytes = Buffer.concat([
      Buffer.from('header\n第一行\nok\nbad '),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('\nnever read\n'),
    ]);
    const result = await outcome(bytes, [], 1000);
    expect(result.lines.map((l) => l.text)).toEqual(['header', '第一行', 'ok']);
    expect(result.error).toBe(
      'STATEMENT.ENCODING line 4: not valid UTF-8 text (bytes c3 28 near byte 6 of the line)',
    );
  });

  it('measures a line in bytes, not characters, in a decoded run', async () => {
    // 16 characters of 3 bytes: 48 bytes; with the CR 49, the most a 48-byte limit allows.
    const ok = `h\n${'测'.repeat(16)}\r\nz\n`;
    expect((await outcome(Buffer.from(ok), [], 48)).lines.map((l) => l.text)).toEqual([
      'h',
      '测'.repeat(16),
      'z',
    ]);
    const long = `h\n${'测'.repeat(17)}\nz\n`;
    expect((await outcome(Buffer.from(long), [], 48)).error).toMatch(/^STATEMENT\.LINE_TOO_LONG line 2: /);
  });

  it('keeps a BOM that is not at the start of the file: it is content', async () => {
    const bytes = Buffer.from('\uFEFFa\n\uFEFFb\nc\n', 'utf8');
    expect((await outcome(bytes, [], 100)).lines.map((l) => l.text)).toEqual(['a', '\uFEFFb', 'c']);
  });
});

/** Every line of a parse and how it ended, read through `lines()` or `batches()`. */
async function readAll(
  parse: StatementParse,
  how: 'lines' | 'batches',
): Promise<{ lines: StatementLine[]; end: unknown; batchSizes: number[] }> {
  const lines: StatementLine[] = [];
  const batchSizes: number[] = [];
  try {
    if (how === 'lines') for await (const line of parse.lines()) lines.push(line);
    else
      for await (const batch of parse.batches()) {
        batchSizes.push(batch.length);
        lines.push(...batch);
      }
    return { lines, end: parse.summary(), batchSizes };
  } catch (error) {
    const e = error as StatementParseError;
    return { lines, end: { name: e.name, code: e.code, message: e.message }, batchSizes };
  }
}

describe('StatementParse.batches', () => {
  const samples: Array<[StatementFormat, Buffer, 'utf-8' | 'gbk']> = [
    ['generic', sampleBytes('generic-2026-11-22.csv'), 'utf-8'],
    ['wechat-all', sampleBytes('wechat-all-2026-11-22.csv'), 'utf-8'],
    ['alipay', sampleBytes('alipay-2026-11-22.csv'), 'gbk'],
  ];
  const damage = fc.constantFrom(
    (l: string) => l.replace(/\d+\.\d\d/, '12.3.4'),
    (l: string) => l.replace(/2026-11-22/, '2026-11-31'),
    (l: string) => l.replace(/,[^,]*$/, ''),
    (l: string) => `${l},extra`,
    (l: string) => l.replace(/SUCCESS|PAYMENT|交易/, 'WHAT'),
    (l: string) => l.replace(/\d/, '测'),
    () => '',
  );

  it('gives the lines, summary and errors lines() gives, in batches of at most BATCH_LINES_MAX', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...samples),
        fc.array(fc.tuple(fc.nat(), damage), { maxLength: 3 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 4 }),
        fc.constantFrom(0, 1, 5),
        async ([format, bytes, encoding], edits, sizes, rejectMalformedMax) => {
          const text = encoding === 'gbk' ? gbkDecode(bytes) : bytes.toString('utf8');
          const lines = text.split('\n');
          for (const [at, edit] of edits) lines[at % lines.length] = edit(lines[at % lines.length]!);
          const edited = lines.join('\n');
          const input = encoding === 'gbk' ? gbkEncode(edited) : Buffer.from(edited);
          const parser =
            format === 'generic'
              ? statementParserFor('generic', { ...GENERIC_CSV_DEFAULT_OPTIONS, rejectMalformedMax })
              : statementParserFor(format, { rejectMalformedMax });
          const one = await readAll(parser.parse(chunked(input, sizes)), 'lines');
          const batched = await readAll(parser.parse(chunked(input, sizes)), 'batches');
          expect({ ...batched, batchSizes: [] }).toEqual({ ...one, batchSizes: [] });
          expect(batched.batchSizes.every((n) => n > 0 && n <= BATCH_LINES_MAX)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('cuts a big chunk into batches of BATCH_LINES_MAX, and delivers the lines before a bad one', async () => {
    const header = 'channel_txn_id,order_no,type,amount,fee,currency,status,trade_time\n';
    const row = (i: number, amount = '1.00'): string =>
      `T${i},O${i},PAYMENT,${amount},0.01,CNY,SUCCESS,2026-11-22 10:00:00\n`;
    const rows = Array.from({ length: 3000 }, (_, i) => row(i));
    const parser = statementParserFor('generic');
    const good = await readAll(parser.parse(chunked(Buffer.from(header + rows.join('')))), 'batches');
    // Batches are cut by physical lines: the first holds the header's place.
    expect(good.batchSizes).toEqual([BATCH_LINES_MAX - 1, BATCH_LINES_MAX, 3001 - 2 * BATCH_LINES_MAX]);
    expect(good.lines.map((l) => l.lineNo)).toEqual(rows.map((_, i) => i + 2));

    rows[2500] = row(2500, '-1.00'); // line 2502
    const bad = await readAll(parser.parse(chunked(Buffer.from(header + rows.join('')))), 'batches');
    expect(bad.batchSizes).toEqual([BATCH_LINES_MAX - 1, BATCH_LINES_MAX, 2501 - 2 * BATCH_LINES_MAX]);
    expect(bad.end).toMatchObject({
      code: 'STATEMENT.MALFORMED_LINE',
      message:
        'line 2502, field amount: "-1.00" is negative; a non-negative amount is required here (column amount)',
    });
  });

  it('can be iterated once, through either method', async () => {
    const parse = statementParserFor('generic').parse(chunked(sampleBytes('generic-2026-11-22.csv')));
    await readAll(parse, 'batches');
    await expect(parse.batches().next()).rejects.toThrow(/can be iterated once/);
    await expect(parse.lines().next()).rejects.toThrow(/can be iterated once/);
  });
});

describe('isTradeTime', () => {
  /** The check it replaced: a regex and a Date.UTC round trip. */
  const reference = (value: string): boolean => {
    const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(value);
    if (m === null) return false;
    const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
    const date = new Date(Date.UTC(y, mo - 1, d));
    return date.getUTCMonth() === mo - 1 && date.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
  };

  it.each([
    ['2026-11-22 00:00:00', true],
    ['2026-12-31 23:59:59', true],
    ['2024-02-29 12:00:00', true], // leap year
    ['2023-02-29 12:00:00', false],
    ['2000-02-29 12:00:00', true], // divisible by 400
    ['2100-02-29 12:00:00', false], // by 100, not 400
    ['2026-02-28 12:00:00', true],
    ['2026-04-30 12:00:00', true],
    ['2026-04-31 12:00:00', false],
    ['2026-07-31 12:00:00', true],
    ['2026-13-01 12:00:00', false],
    ['2026-00-01 12:00:00', false],
    ['2026-01-00 12:00:00', false],
    ['2026-01-32 12:00:00', false],
    ['2026-01-01 24:00:00', false],
    ['2026-01-01 23:60:00', false],
    ['2026-01-01 23:59:60', false],
    ['0004-02-29 00:00:00', true], // Date.UTC reads years 0–99 as 1900–1999: 1904 was leap…
    ['0000-02-29 00:00:00', false], // …1900 was not
    ['2026-1-01 12:00:00', false],
    ['2026-01-01T12:00:00', false],
    ['2026-01-01 12:00:00 ', false],
    ['２026-01-01 12:00:00', false],
    ['', false],
  ])('%j → %s', (value, valid) => {
    expect(isTradeTime(value)).toBe(valid);
    expect(reference(value)).toBe(valid);
  });

  it('agrees with the Date-based check on every date of four centuries and on near misses', () => {
    for (const year of [0, 4, 99, 100, 1900, 1996, 2000, 2023, 2024, 2100, 2400, 9999]) {
      for (let month = 0; month <= 13; month += 1) {
        for (let day = 0; day <= 32; day += 1) {
          const value = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')} 12:34:56`;
          expect([value, isTradeTime(value)]).toEqual([value, reference(value)]);
        }
      }
    }
    const two = fc.integer({ min: 0, max: 99 }).map((n) => String(n).padStart(2, '0'));
    const parts = fc.tuple(fc.integer({ min: 0, max: 9999 }), two, two, two, two, two);
    const candidate = fc.oneof(
      parts.map(([y, mo, d, h, mi, s]) => `${String(y).padStart(4, '0')}-${mo}-${d} ${h}:${mi}:${s}`),
      fc.stringMatching(/^[\d :-]{17,21}$/),
    );
    fc.assert(
      fc.property(candidate, (value) => isTradeTime(value) === reference(value)),
      { numRuns: 20_000 },
    );
  });

  it('leaves the error of parseTradeTimeCell as it was', () => {
    expect(() => parseTradeTimeCell(' 2026-13-01 10:00:00 ', 9, 'tradeTime', 'trade_time')).toThrow(
      'line 9, field tradeTime: "2026-13-01 10:00:00" is not a time of the form YYYY-MM-DD HH:mm:ss (column trade_time)',
    );
    expect(parseTradeTimeCell(' 2026-11-22 10:00:00 ', 9, 'tradeTime')).toBe('2026-11-22 10:00:00');
  });
});

describe('MinorUnitSum', () => {
  const MAX = Number.MAX_SAFE_INTEGER;

  it('stays exact across ±2^53', () => {
    const sum = new MinorUnitSum();
    sum.add(MAX);
    sum.add(1);
    expect(sum.total).toBe(2n ** 53n);
    sum.add(MAX);
    sum.add(MAX);
    expect(sum.total).toBe(2n ** 53n + 2n * BigInt(MAX));
    sum.add(-MAX);
    sum.add(-MAX);
    sum.add(-MAX);
    sum.add(-MAX);
    expect(sum.total).toBe(2n ** 53n - 2n * BigInt(MAX));
    sum.addBig(10n ** 40n);
    sum.add(3);
    expect(sum.total).toBe(2n ** 53n - 2n * BigInt(MAX) + 10n ** 40n + 3n);
  });

  it('equals the bigint sum of any sequence of safe integers and bigints', () => {
    const near = fc.oneof(
      fc.integer({ min: -MAX, max: MAX }),
      fc.integer({ min: MAX - 1000, max: MAX }),
      fc.integer({ min: -MAX, max: -MAX + 1000 }),
      fc.integer({ min: -1000, max: 1000 }),
    );
    const step = fc.oneof(
      near.map((n) => ['add', n] as const),
      fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map((n) => ['big', n] as const),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const sum = new MinorUnitSum();
        let expected = 0n;
        for (const [kind, n] of steps) {
          if (kind === 'add') sum.add(n);
          else sum.addBig(n);
          expected += BigInt(n);
        }
        expect(sum.total).toBe(expected);
      }),
      { numRuns: 2_000 },
    );
  });

  it('takes only safe integers: anything else is our bug', () => {
    const sum = new MinorUnitSum();
    expect(() => sum.add(0.5)).toThrow(InvariantError);
    expect(() => sum.add(2 ** 53)).toThrow(InvariantError);
    expect(() => sum.add(Number.NaN)).toThrow(InvariantError);
  });
});

describe('canonicalMinorUnits', () => {
  it.each([
    ['12.30', 2, 1230],
    ['-0.34', 2, -34],
    ['0.00', 2, 0],
    ['1500', 0, 1500],
    ['1.250', 3, 1250],
    ['9999999999999.99', 2, 999_999_999_999_999],
    ['-9999999999999.99', 2, -999_999_999_999_999],
  ])('%s (unit %i) → %i', (text, unit, units) => {
    expect(canonicalMinorUnits(text, unit)).toBe(units);
  });

  it.each([
    ['12.3', 2],
    ['12.300', 2],
    ['012.30', 2],
    ['-012.30', 2],
    ['12', 2],
    ['1.5', 0],
    ['.50', 2],
    ['-.50', 2],
    ['', 2],
    ['-', 0],
    ['1e5', 0],
    ['+1.00', 2],
    ['1,00', 2],
    ['１.00', 2],
    ['99999999999999.99', 2], // 16 digits: the bigint way
  ])('%j (unit %i) → NaN', (text, unit) => {
    expect(canonicalMinorUnits(text, unit)).toBeNaN();
  });

  it('reads any canonical amount of up to 15 digits exactly', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 15n) + 1n, max: 10n ** 15n - 1n }),
        fc.constantFrom(0, 2, 3, 4),
        (units, unit) => {
          const text = Money.fromMinorUnits(
            units,
            { 0: 'JPY', 2: 'CNY', 3: 'BHD', 4: 'CLF' }[unit],
          ).toString();
          expect(canonicalMinorUnits(text, unit)).toBe(Number(units));
        },
      ),
    );
  });
});

describe('StatementParse totals and the pair assertion on amounts', () => {
  /** A reader handing out the given lines (one per physical line), as a buggy format might. */
  const parseOf = (lines: Array<Partial<StatementLine>>): StatementParse => {
    const reader: StatementRecordReader = {
      encoding: 'utf-8',
      line: (_text, lineNo) => ({
        lineNo,
        type: 'PAYMENT',
        orderNo: `O${lineNo}`,
        refundNo: null,
        channelTxnId: null,
        amount: '1.00',
        fee: null,
        currency: 'CNY',
        status: 'SUCCESS',
        tradeTime: '2026-11-22 10:00:00',
        ...lines[lineNo - 1],
      }),
      end: () => [],
    };
    return new StatementParse('generic', chunked(Buffer.from('x\n'.repeat(lines.length))), reader);
  };

  it('adds amounts exactly, past 2^53 minor units', async () => {
    // Each line at most the bound of one item (10^15 − 1 minor units); 20 of them pass 2^53.
    const amounts = [
      ...Array.from({ length: 20 }, () => '9999999999999.99'),
      '1234567890123.45',
      '0.01',
      '1.5', // valid Money, not canonical: summed all the same
    ];
    const fees = ['-9999999999999.99', '-9999999999999.99', '0.07'];
    const parse = parseOf([
      ...amounts.map((amount, i) => ({ amount, fee: fees[i % fees.length]! })),
      { type: 'REFUND', amount: '5.00', fee: null },
    ]);
    const { end } = await readAll(parse, 'batches');
    const total = (texts: string[]): string =>
      Money.fromMinorUnits(
        texts.reduce((sum, t) => sum + Money.parse(t, 'CNY', { allowNegative: true }).toMinorUnits(), 0n),
        'CNY',
      ).toString();
    expect(end).toMatchObject({
      totals: [
        {
          currency: 'CNY',
          paymentCount: amounts.length,
          paymentAmount: total(amounts),
          refundCount: 1,
          refundAmount: '5.00',
          fee: total(amounts.map((_, i) => fees[i % fees.length]!)),
        },
      ],
    });
  });

  it.each([
    [{ amount: '-1.00' }, 'line 2: amount -1.00'],
    [{ amount: '1.001' }, 'line 2: amount 1.001'],
    [{ amount: '01.00' }, 'line 2: amount 01.00'],
    // Past the bound of one item: every reader refuses it as MALFORMED_LINE first.
    [{ amount: '10000000000000.00' }, 'line 2: amount 10000000000000.00'],
    [{ fee: '0.5.0' }, 'line 2: fee 0.5.0'],
    [{ refundNo: 'R1' }, 'line 2: refundNo on a payment'],
    [{ status: '' }, 'line 2: empty orderNo or status'],
  ])("refuses a reader handing out %j: our bug, not the file's", async (bad, message) => {
    const { lines, end } = await readAll(parseOf([{}, bad, {}]), 'batches');
    expect(lines.map((l) => l.lineNo)).toEqual([1]);
    expect(end).toEqual({ name: 'InvariantError', code: undefined, message });
  });

  it('accepts what Money accepts, "-0.00" as an amount included', async () => {
    const { end } = await readAll(parseOf([{ amount: '-0.00', fee: '-0.50' }, { amount: '0' }]), 'lines');
    expect(end).toMatchObject({ totals: [{ paymentAmount: '0.00', fee: '-0.50' }] });
  });
});
