import fc from 'fast-check';
import { copyTextField } from './bulk-write.js';

describe('copyTextField', () => {
  it('writes null as \\N and escapes the characters COPY text format gives meaning to', () => {
    expect(copyTextField(null)).toBe('\\N');
    expect(copyTextField(undefined)).toBe('\\N');
    expect(copyTextField('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(copyTextField('100.00')).toBe('100.00');
    expect(copyTextField('\\N')).toBe('\\\\N');
  });

  it('never leaves a raw tab, newline or CR in a field, whatever the input', () => {
    fc.assert(fc.property(fc.string(), (s) => !/[\t\n\r]/.test(copyTextField(s))));
  });

  it('is reversible: unescaping gives back the original text', () => {
    const unescape = (t: string) =>
      t.replace(/\\(.)/g, (_m, c: string) => ({ t: '\t', n: '\n', r: '\r', '\\': '\\' })[c] ?? c);
    fc.assert(fc.property(fc.string(), (s) => unescape(copyTextField(s)) === s));
  });
});
