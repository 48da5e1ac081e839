/**
 * The amount bound (ADR 005, "Amounts have a documented bound"): any string offered as one item's
 * amount either parses to an exact value within AMOUNT_MAX_MINOR_UNITS or is refused with a code
 * that says why — never accepted past the bound, never rounded, never an error without a code.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CURRENCY_CODES, minorUnitOf } from './currency.js';
import { MoneyError, type MoneyErrorCode } from './errors.js';
import { parsePaymentsTransactionV1 } from './events/payments-transaction.v1.js';
import { AMOUNT_MAX_MINOR_UNITS, Money, amountMaxOf, parseMinorUnits } from './money.js';

const CODES: readonly MoneyErrorCode[] = [
  'MONEY.NOT_A_STRING',
  'MONEY.MALFORMED',
  'MONEY.TOO_PRECISE',
  'MONEY.TOO_LARGE',
  'MONEY.NEGATIVE',
  'MONEY.ZERO',
];

/**
 * The exact minor units a string spells if it is a plain unsigned-or-signed decimal with at most
 * `unit` fraction digits, computed with bigint from the digits alone (no code shared with Money);
 * undefined for anything else.
 */
function oracleUnits(text: string, unit: number): bigint | undefined {
  const m = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?$/.exec(text);
  if (m === null) return undefined;
  const fraction = m[3] ?? '';
  if (fraction.length > unit) return undefined;
  const units = BigInt(m[2]! + fraction.padEnd(unit, '0'));
  return m[1] === '-' ? -units : units;
}

/** Strings near and far past the bound, well-formed or not, and arbitrary text. */
const amountTextArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 70 }),
  fc.string({ unit: fc.constantFrom('0', '1', '9', '.', '-', 'e', '+', ' '), maxLength: 40 }),
  fc
    .record({
      negative: fc.boolean(),
      integerDigits: fc.constantFrom(1, 2, 11, 12, 13, 14, 15, 16, 17, 29, 30, 31, 40),
      nines: fc.boolean(),
      seed: fc.bigInt({ min: 0n, max: 10n ** 40n }),
      fraction: fc.stringMatching(/^[0-9]{0,5}$/),
    })
    .map(({ negative, integerDigits, nines, seed, fraction }) => {
      const integer = nines
        ? '9'.repeat(integerDigits)
        : `${1n + (seed % 9n)}${(seed % 10n ** BigInt(integerDigits - 1)).toString().padStart(integerDigits - 1, '0')}`.slice(
            0,
            integerDigits,
          );
      return `${negative ? '-' : ''}${integer}${fraction === '' ? '' : `.${fraction}`}`;
    }),
  // The bound itself and one minor unit past it, in some currency.
  fc
    .constantFrom(...CURRENCY_CODES)
    .chain((code) =>
      fc.constantFrom(amountMaxOf(code), Money.fromMinorUnits(AMOUNT_MAX_MINOR_UNITS + 1n, code).toString()),
    ),
);

describe('one amount within AMOUNT_MAX_MINOR_UNITS (10^15 − 1 minor units)', () => {
  it('any string parses to an exact value within the bound or is refused with a clear code', () => {
    fc.assert(
      fc.property(
        fc.oneof(amountTextArb, fc.anything()),
        fc.constantFrom(...CURRENCY_CODES),
        fc.boolean(),
        (text, currency, allowNegative) => {
          const unit = minorUnitOf(currency);
          const expected = typeof text === 'string' ? oracleUnits(text, unit) : undefined;
          let money: Money | undefined;
          let error: unknown;
          try {
            money = Money.parse(text, currency, { allowNegative });
          } catch (e) {
            error = e;
          }
          if (money !== undefined) {
            // Accepted: exactly what the digits spell, within the bound, and the fast path agrees.
            expect(money.toMinorUnits()).toBe(expected);
            const units = money.toMinorUnits();
            expect((units < 0n ? -units : units) <= AMOUNT_MAX_MINOR_UNITS).toBe(true);
            expect(parseMinorUnits(text, currency, { allowNegative }).units).toBe(units);
            expect(Money.validate(text, currency, { allowNegative })).toBeUndefined();
            return;
          }
          expect(error).toBeInstanceOf(MoneyError);
          const refusal = error as MoneyError;
          expect(CODES).toContain(refusal.code);
          expect(refusal.message.length).toBeGreaterThan(0);
          expect(Money.validate(text, currency, { allowNegative })?.code).toBe(refusal.code);
          // A well-formed amount past the bound is refused for its size, and says the bound.
          if (expected !== undefined && (expected < 0n ? -expected : expected) > AMOUNT_MAX_MINOR_UNITS) {
            if (expected >= 0n || allowNegative) {
              expect(refusal.code).toBe('MONEY.TOO_LARGE');
              expect(refusal.message).toContain(`${amountMaxOf(currency)} ${currency}`);
            }
          }
          // Every refusal is for a reason the oracle sees too: nothing within the rules is refused.
          if (expected !== undefined && (expected < 0n ? -expected : expected) <= AMOUNT_MAX_MINOR_UNITS) {
            expect(refusal.code).toBe('MONEY.NEGATIVE');
          }
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('the contract dead-letters an amount past the bound with a reason naming the field', () => {
    const event = (amount: unknown, coupon?: Record<string, string>) => ({
      eventId: 'e-bound',
      type: 'PAYMENT_SUCCEEDED',
      occurredAt: '2026-11-22T13:49:20.000Z',
      merchantId: 'M00001',
      channel: 'WECHAT',
      orderNo: 'O-BOUND',
      amount,
      currency: 'CNY',
      ...(coupon === undefined ? {} : { coupon }),
    });
    fc.assert(
      fc.property(amountTextArb, (text) => {
        const result = parsePaymentsTransactionV1(event(text));
        const units = oracleUnits(text, 2);
        if (units !== undefined && units > 0n && units <= AMOUNT_MAX_MINOR_UNITS) {
          expect(result.ok).toBe(true);
        } else {
          expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/^amount: /) });
        }
      }),
      { numRuns: 2000 },
    );
    const thirty = `${'9'.repeat(30)}.99`;
    expect(parsePaymentsTransactionV1(event(thirty))).toEqual({
      ok: false,
      reason: `amount: "${thirty}" exceeds the largest amount one item may carry (9999999999999.99 CNY, 15 digits in minor units)`,
    });
    // Each part within the bound, the order value (amount + coupon) past it.
    expect(
      parsePaymentsTransactionV1(
        event('9999999999999.99', { amount: '0.01', merchantFunded: '0.01', platformFunded: '0.00' }),
      ),
    ).toEqual({
      ok: false,
      reason:
        'coupon.amount: order value amount + coupon.amount: "10000000000000.00" exceeds the largest amount one item may carry (9999999999999.99 CNY, 15 digits in minor units)',
    });
    expect(
      parsePaymentsTransactionV1(
        event('9999999999999.98', { amount: '0.01', merchantFunded: '0.01', platformFunded: '0.00' }),
      ).ok,
    ).toBe(true);
  });
});
