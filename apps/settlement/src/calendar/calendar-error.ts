/**
 * An operating error in a business calendar: bad configuration or a bad date from outside. It
 * carries a stable code so an HTTP edge can answer 400 and a consumer can dead-letter without
 * parsing the message; the message names the field and the offending value.
 */
export type CalendarErrorCode = 'CALENDAR.INVALID_CONFIG' | 'CALENDAR.INVALID_DATE' | 'CALENDAR.OUT_OF_RANGE';

export class CalendarError extends Error {
  override readonly name = 'CalendarError';

  constructor(
    readonly code: CalendarErrorCode,
    message: string,
  ) {
    super(message);
  }
}
