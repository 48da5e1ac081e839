import fc from 'fast-check';
import { inLockOrder } from './balance-locks.js';

describe('inLockOrder (the one order balance rows are locked in)', () => {
  it('is ascending numeric order, whatever order the ids come in', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }), { maxLength: 40 }), (ids) => {
        const given = ids.map(String);
        const expected = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
        expect(inLockOrder(given)).toEqual(expected);
        expect(inLockOrder([...given].reverse())).toEqual(expected);
      }),
    );
  });

  it('puts 99 before 100, where a text sort would not', () => {
    expect(inLockOrder(['100', '99', '1000', '9'])).toEqual(['9', '99', '100', '1000']);
  });

  it('refuses an id twice and an id that is not a canonical positive integer', () => {
    expect(() => inLockOrder(['7', '12', '7'])).toThrow(/account 7 to be locked twice/);
    expect(() => inLockOrder(['007'])).toThrow(/account id must be a positive integer, got "007"/);
    expect(() => inLockOrder(['12 '])).toThrow(/got "12 "/);
  });
});
