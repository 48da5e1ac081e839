import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { emit, table, terminalSafe } from './output.js';

// eslint-disable-next-line no-control-regex
const ANY_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_LF = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

const isControl = (code: number) => code <= 0x1f || (code >= 0x7f && code <= 0x9f);
/** Any code point, controls and astral characters included (surrogate pairs as fast-check makes them). */
const anyText = fc.string({ unit: 'binary', maxLength: 80 });
/** Controls only, as an attacker would mix them in. */
const controlChar = fc
  .integer({ min: 0, max: 0x9f })
  .filter(isControl)
  .map((code) => String.fromCharCode(code));
const hostileText = fc
  .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 4 }), controlChar), { maxLength: 40 })
  .map((parts) => parts.join(''));
const printableText = fc
  .string({ unit: 'binary', maxLength: 80 })
  .map((text) => [...text].filter((c) => !isControl(c.codePointAt(0)!)).join(''));

describe('terminalSafe: untrusted text printed to a terminal', () => {
  it('never returns a C0/C1 control character (nor a line feed unless asked to keep them)', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, hostileText), (text) => {
        expect(terminalSafe(text)).not.toMatch(ANY_CONTROL);
        expect(terminalSafe(text, { keepNewlines: true })).not.toMatch(CONTROL_BUT_LF);
      }),
      { numRuns: 2000 },
    );
  });

  it('removes only the controls: what remains is the text without them, in order', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, hostileText), (text) => {
        const expected = [...text].filter((c) => !isControl(c.codePointAt(0)!)).join('');
        expect(terminalSafe(text)).toBe(expected);
      }),
    );
  });

  it('returns printable text unchanged (CJK, emoji, full-width, accents)', () => {
    fc.assert(
      fc.property(printableText, (text) => {
        expect(terminalSafe(text)).toBe(text);
        expect(terminalSafe(text, { keepNewlines: true })).toBe(text);
      }),
    );
    expect(terminalSafe('微信支付账单 ｜ Müller 🧾 ＝SUM(A1)')).toBe('微信支付账单 ｜ Müller 🧾 ＝SUM(A1)');
  });

  it('defuses the escape sequences a statement field could carry', () => {
    expect(terminalSafe('O-1\u001b]0;pwned\u0007\u001b[2J')).toBe('O-1]0;pwned[2J');
    expect(terminalSafe('a\u009b31mb\u009d8;;http://x\u009c')).toBe('a31mb8;;http://x');
    expect(terminalSafe('line\r\nnext\ttab', { keepNewlines: true })).toBe('line\nnexttab');
  });
});

describe('human output', () => {
  const realWrite = process.stdout.write.bind(process.stdout);
  let printed: string[] = [];
  beforeEach(() => {
    printed = [];
    process.stdout.write = (chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    };
  });
  afterEach(() => {
    process.stdout.write = realWrite;
  });

  it('a table cell loses every control character, line feeds included: one row stays one line', () => {
    const text = table([{ id: 1, note: 'ok\u001b[2J\nforged row' }]);
    expect(text.split('\n')).toHaveLength(3);
    expect(text).toContain('ok[2Jforged row');
  });

  it('emit keeps the lines the CLI laid out and nothing else; --json is left to JSON.stringify', () => {
    emit({}, null, () => `first\u0007\nsecond \u001b]0;x\u0007`);
    expect(printed.join('')).toBe('first\nsecond ]0;x\n');
    printed = [];
    emit({ json: true }, { note: '\u001b[2J' }, () => 'unused');
    expect(printed.join('')).toBe('{\n  "note": "\\u001b[2J"\n}\n');
  });
});
