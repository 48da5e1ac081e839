import fc from 'fast-check';
import type { IsoWeekday } from '../calendar/calendar-date.js';
import type { ReserveRule, SettlementCycleRule } from './settlement-terms.js';

/** Shared by the cycle specs: random cycle rules and reserve rules. Not used by production code. */

export const cycleRuleArb: fc.Arbitrary<SettlementCycleRule> = fc.oneof(
  fc.integer({ min: 1, max: 5 }).map((days): SettlementCycleRule => ({ kind: 'T_PLUS', days })),
  fc.constant<SettlementCycleRule>({ kind: 'T_PLUS', days: 30 }),
  fc
    .integer({ min: 1, max: 7 })
    .map((weekday): SettlementCycleRule => ({ kind: 'WEEKLY', weekday: weekday as IsoWeekday })),
  fc.constantFrom(1, 15, 28, 29, 30, 31).map((day): SettlementCycleRule => ({ kind: 'MONTHLY', day })),
);

export const reserveRuleArb: fc.Arbitrary<ReserveRule> = fc.record({
  rate: fc.constantFrom('0.1', '0.05', '0.125', '0.333333', '0.999999', '0.000001'),
  holdDays: fc.constantFrom(1, 7, 30, 90, 180),
});
