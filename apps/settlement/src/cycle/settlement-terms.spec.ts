import { describe, expect, it } from '@jest/globals';
import { SettlementError } from './settlement-error.js';
import {
  DEFAULT_SETTLEMENT_CYCLE,
  type SettlementTerms,
  settlementTerms,
  validateSettlementTerms,
} from './settlement-terms.js';

function invalidTerms(terms: unknown): string {
  let caught: unknown;
  try {
    validateSettlementTerms(terms);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SettlementError);
  expect((caught as SettlementError).code).toBe('SETTLEMENT.INVALID_TERMS');
  return (caught as SettlementError).message;
}

const valid: SettlementTerms = { currency: 'CNY', cycle: { kind: 'T_PLUS', days: 1 }, minimumPayout: '0' };

describe('settlement terms', () => {
  it('defaults to T+1, minimum payout 0 at the currency scale, no reserve', () => {
    expect(settlementTerms({ currency: 'CNY' })).toEqual({
      currency: 'CNY',
      cycle: DEFAULT_SETTLEMENT_CYCLE,
      minimumPayout: '0.00',
    });
    expect(
      settlementTerms({
        currency: 'JPY',
        cycle: { kind: 'MONTHLY', day: 31 },
        minimumPayout: '5000',
        reserve: { rate: '0.10', holdDays: 90 },
      }),
    ).toEqual({
      currency: 'JPY',
      cycle: { kind: 'MONTHLY', day: 31 },
      minimumPayout: '5000',
      reserve: { rate: '0.10', holdDays: 90 },
    });
  });

  it('accepts every kind at its bounds', () => {
    for (const cycle of [
      { kind: 'T_PLUS', days: 1 },
      { kind: 'T_PLUS', days: 30 },
      { kind: 'WEEKLY', weekday: 1 },
      { kind: 'WEEKLY', weekday: 7 },
      { kind: 'MONTHLY', day: 1 },
      { kind: 'MONTHLY', day: 31 },
    ]) {
      expect(() => validateSettlementTerms({ ...valid, cycle })).not.toThrow();
    }
    expect(() => validateSettlementTerms({ ...valid, reserve: null })).not.toThrow();
  });

  it.each([
    [{ ...valid, currency: 'RMB' }, 'settlement terms: currency: "RMB" is not an ISO 4217 currency code'],
    [
      { ...valid, cycle: { kind: 'DAILY' } },
      'settlement terms: cycle.kind: must be one of T_PLUS, WEEKLY, MONTHLY, got "DAILY"',
    ],
    [
      { ...valid, cycle: { kind: 'T_PLUS', days: 0 } },
      'settlement terms: cycle.days: must be an integer 1..30, got 0',
    ],
    [
      { ...valid, cycle: { kind: 'T_PLUS', days: 1.5 } },
      'settlement terms: cycle.days: must be an integer 1..30, got 1.5',
    ],
    [
      { ...valid, cycle: { kind: 'T_PLUS', days: 31 } },
      'settlement terms: cycle.days: must be an integer 1..30, got 31',
    ],
    [
      { ...valid, cycle: { kind: 'WEEKLY', weekday: 0 } },
      'settlement terms: cycle.weekday: must be an ISO weekday 1 (Monday)..7 (Sunday), got 0',
    ],
    [
      { ...valid, cycle: { kind: 'WEEKLY', day: 1 } },
      'settlement terms: cycle.day: unknown field; allowed: kind, weekday',
    ],
    [
      { ...valid, cycle: { kind: 'MONTHLY', day: 32 } },
      'settlement terms: cycle.day: must be a day of the month 1..31, got 32',
    ],
    [
      { ...valid, minimumPayout: '-1.00' },
      'settlement terms: minimumPayout: "-1.00" is negative; a non-negative amount is required',
    ],
    [
      { ...valid, minimumPayout: '1.001' },
      'settlement terms: minimumPayout: "1.001" has 3 fraction digits; CNY allows at most 2',
    ],
    [
      { ...valid, minimumPayout: 50 },
      'settlement terms: minimumPayout: must be a decimal string, got a JSON number (50)',
    ],
    [
      { ...valid, reserve: { rate: '0', holdDays: 90 } },
      'settlement terms: reserve.rate: must be strictly between 0 and 1, got 0',
    ],
    [
      { ...valid, reserve: { rate: '1', holdDays: 90 } },
      'settlement terms: reserve.rate: must be strictly between 0 and 1, got 1',
    ],
    [
      { ...valid, reserve: { rate: '10%', holdDays: 90 } },
      'settlement terms: reserve.rate: must be a decimal string like "0.10", got "10%"',
    ],
    [
      { ...valid, reserve: { rate: 0.1, holdDays: 90 } },
      'settlement terms: reserve.rate: must be a decimal string like "0.10", got 0.1',
    ],
    [
      { ...valid, reserve: { rate: '0.1234567', holdDays: 90 } },
      'settlement terms: reserve.rate: has more than 6 fraction digits: 0.1234567',
    ],
    [
      { ...valid, reserve: { rate: '0.1', holdDays: 0 } },
      'settlement terms: reserve.holdDays: must be an integer 1..730 (calendar days), got 0',
    ],
    [
      { ...valid, reserve: { rate: '0.1', holdDays: 90, releaseOn: 'x' } },
      'settlement terms: reserve.releaseOn: unknown field; allowed: rate, holdDays',
    ],
    [
      { ...valid, minimumPayut: '1' },
      'settlement terms: minimumPayut: unknown field; allowed: currency, cycle, minimumPayout, reserve',
    ],
    [null, 'settlement terms: terms: must be an object, got null'],
  ])('refuses %j', (terms, message) => {
    expect(invalidTerms(terms)).toBe(message);
  });

  it('settlementTerms refuses a misspelt field rather than dropping it', () => {
    expect(() => settlementTerms({ currency: 'CNY', minimumPayut: '1' } as never)).toThrow(
      'settlement terms: minimumPayut: unknown field',
    );
  });
});
