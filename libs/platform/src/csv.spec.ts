import { describe, expect, it } from '@jest/globals';
import { parseCsv } from '../../../test/support/csv-reader.js';
import fc from 'fast-check';
import { UTF8_BOM, csvCell, csvLine, csvLines, csvMoney, csvString } from './csv.js';

const DANGEROUS = ['=', '+', '-', '@', '\t', '\r'];
/** ＝＋－＠: what a Chinese input method types for = + - @. */
const FULL_WIDTH = ['\uFF1D', '\uFF0B', '\uFF0D', '\uFF20'];

describe('csvCell', () => {
  it.each([
    ['=', '=SUM(A1:A9)', "'=SUM(A1:A9)"],
    ['+', '+1-2', "'+1-2"],
    ['-', "-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"],
    ['@', '@SUM(1,1)', `"'@SUM(1,1)"`],
    ['TAB', '\t=1+1', "'\t=1+1"],
    ['CR', '\r=1+1', `"'\r=1+1"`],
  ])('guards a cell starting with %s', (_, value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });

  it.each([
    [
      '＝ (U+FF1D)',
      '＝HYPERLINK("http://evil.example","点我")',
      `"'＝HYPERLINK(""http://evil.example"",""点我"")"`,
    ],
    ['＋ (U+FF0B)', '＋1＋2', "'＋1＋2"],
    ['－ (U+FF0D)', "－2＋3＋cmd|' /C calc'!A0", "'－2＋3＋cmd|' /C calc'!A0"],
    ['＠ (U+FF20)', '＠SUM(1,1)', `"'＠SUM(1,1)"`],
    ['﹦ (U+FE66, small form)', '﹦1+1', "'﹦1+1"],
    ['⁼ (U+207C, superscript)', '⁼1+1', "'⁼1+1"],
  ])('guards a cell starting with the full-width or compatibility sign %s', (_, value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });

  it('guards every character whose NFKC form starts a formula, and no other non-ASCII one', () => {
    // The whole BMP, exhaustively (astral planes fold to no trigger): the list cannot go stale
    // against the Unicode tables Node ships.
    for (let code = 0x80; code <= 0xffff; code += 1) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const sign = String.fromCharCode(code);
      const live = DANGEROUS.includes(sign.normalize('NFKC').charAt(0));
      expect([sign, csvCell(`${sign}1`).startsWith("'")]).toEqual([sign, live]);
    }
  });

  it('leaves Chinese and other non-ASCII text that starts no formula alone', () => {
    expect(csvCell('退款')).toBe('退款');
    expect(csvCell('（备注）')).toBe('（备注）');
    expect(csvCell('−5')).toBe('−5'); // U+2212 MINUS SIGN has no compatibility form
  });

  it('guards a formula that also needs quoting, quote first then RFC 4180', () => {
    expect(csvCell('=HYPERLINK("http://evil.example","点我")')).toBe(
      `"'=HYPERLINK(""http://evil.example"",""点我"")"`,
    );
  });

  it('leaves a dangerous character alone when it is not first', () => {
    expect(csvCell('a=b')).toBe('a=b');
    expect(csvCell('O-1')).toBe('O-1');
    expect(csvCell('ops@example.com')).toBe('ops@example.com');
    expect(csvCell(' =1+1')).toBe(' =1+1');
  });

  it('quotes embedded quotes, commas and newlines (RFC 4180)', () => {
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('line1\nline2')).toBe('"line1\nline2"');
    expect(csvCell('line1\r\nline2')).toBe('"line1\r\nline2"');
    expect(csvCell('"')).toBe('""""');
  });

  it('writes Chinese text as it is', () => {
    // A full-width comma is text, not a separator.
    expect(csvCell('渠道金额少 0.10 元，已人工核实')).toBe('渠道金额少 0.10 元，已人工核实');
    expect(csvCell('差错,待处理')).toBe('"差错,待处理"');
  });

  it('writes null as an empty cell and numbers as text', () => {
    expect(csvCell(null)).toBe('');
    expect(csvCell('')).toBe('');
    expect(csvCell(5)).toBe('5');
    expect(csvCell(-5)).toBe("'-5");
  });

  const risky = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.string({
      unit: fc.constantFrom(...DANGEROUS, ...FULL_WIDTH, '\n', '"', ',', "'", ' ', 'a', '中', '1', '.'),
    }),
  );

  it('round-trips any string through an RFC 4180 reader, with a leading quote exactly when guarded', () => {
    fc.assert(
      fc.property(risky, (value) => {
        const cell = csvCell(value);
        const guarded = DANGEROUS.includes(value.charAt(0).normalize('NFKC').charAt(0));
        expect(parseCsv(`${cell}\r\n`)).toEqual([[guarded ? `'${value}` : value]]);
        expect(DANGEROUS).not.toContain(cell.charAt(0).normalize('NFKC').charAt(0));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('csvMoney', () => {
  it('keeps plain decimals numeric, negative ones included', () => {
    expect(csvMoney('-12.30')).toBe('-12.30');
    expect(csvMoney('-0.06')).toBe('-0.06');
    expect(csvMoney('239.54')).toBe('239.54');
    expect(csvMoney('1500')).toBe('1500');
    expect(csvMoney(null)).toBe('');
  });

  it('guards anything that is not a plain decimal', () => {
    expect(csvMoney('-1+1')).toBe("'-1+1");
    expect(csvMoney('-12.30e2')).toBe("'-12.30e2");
    expect(csvMoney('=1,2')).toBe(`"'=1,2"`);
    expect(csvMoney('+12.30')).toBe("'+12.30");
    expect(csvMoney('12.')).toBe('12.');
  });

  it('never lets a formula through', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...DANGEROUS, '1', '.', '(', 'A', '|', '!') }),
        (value) => {
          const cell = csvMoney(value);
          if (/^-?\d+(\.\d+)?$/.test(value)) expect(cell).toBe(value);
          else expect(['=', '+', '@', '\t', '\r', '-']).not.toContain(cell.charAt(0));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('csvLines', () => {
  it('writes the header through csvCell, then one CRLF line per row, a BOM only when asked', () => {
    const rows = [
      [csvCell('O-1'), csvMoney('-12.30')],
      [csvCell('=HYPERLINK("http://evil.example","x")'), csvMoney('5.00')],
    ];
    const plain = csvString(csvLines(['order_no', 'net'], rows));
    expect(plain).toBe(
      'order_no,net\r\nO-1,-12.30\r\n"\'=HYPERLINK(""http://evil.example"",""x"")",5.00\r\n',
    );
    expect(parseCsv(plain)).toEqual([
      ['order_no', 'net'],
      ['O-1', '-12.30'],
      ['\'=HYPERLINK("http://evil.example","x")', '5.00'],
    ]);
    expect(csvString(csvLines(['order_no', 'net'], rows, { bom: true }))).toBe(UTF8_BOM + plain);
    expect(csvLine(['a', 'b'])).toBe('a,b\r\n');
  });

  it('is lazy: the header comes before any row is read', () => {
    let produced = 0;
    function* rows(): Generator<string[]> {
      for (let i = 1; i <= 3; i++) {
        produced++;
        yield [String(i)];
      }
    }
    const lines = csvLines(['n'], rows());
    expect(lines.next().value).toBe('n\r\n');
    expect(produced).toBe(0);
    expect([...lines]).toEqual(['1\r\n', '2\r\n', '3\r\n']);
    expect(produced).toBe(3);
  });
});
