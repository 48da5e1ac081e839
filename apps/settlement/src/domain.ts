/**
 * Settlement's pure domain: business calendar, settlement terms, cycles and amounts. Plain
 * TypeScript with no framework imports, so adapters (consumers, repositories, controllers) depend
 * on it and never the other way round.
 *
 * Note: `BusinessCalendar` here is the settlement calendar (working days, holidays, make-up days)
 * built on top of the zone-and-cut-off `BusinessCalendar` interface of @app/contracts.
 */
export * from './calendar/calendar-error.js';
export * from './calendar/calendar-date.js';
export * from './calendar/business-calendar.js';
export * from './cycle/settlement-error.js';
export * from './cycle/settlement-terms.js';
export * from './cycle/settlement-cycle.js';
export * from './cycle/settlement-amount.js';
