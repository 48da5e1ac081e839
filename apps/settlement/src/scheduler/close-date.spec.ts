import { describe, expect, it } from '@jest/globals';
import { BusinessCalendar } from '../domain.js';
import { closeDateAtCutoff, cutoffCronExpression } from './close-date.js';

describe('closeDateAtCutoff', () => {
  const midnight = BusinessCalendar.of({ zone: 'Asia/Shanghai' });
  const eleven = BusinessCalendar.of({ zone: 'Asia/Shanghai', cutoffLocalTime: '23:00' });

  it('closes the business date the 00:00 cut-off starts: the day whose cycles are due', () => {
    // 2026-09-28 00:00 +08:00: business date 09-27 ends, 09-28 (a Monday, T+1 of Friday 09-25) starts.
    expect(closeDateAtCutoff(midnight, new Date('2026-09-27T16:00:00.000Z'))).toBe('2026-09-28');
    expect(closeDateAtCutoff(midnight, new Date('2026-09-27T16:00:02.500Z'))).toBe('2026-09-28');
  });

  it('with a 23:00 cut-off, closes the next calendar day at 23:00 local', () => {
    // 2026-09-27 23:00 +08:00 = 15:00Z: from here on instants belong to business date 09-28.
    expect(closeDateAtCutoff(eleven, new Date('2026-09-27T15:00:00.000Z'))).toBe('2026-09-28');
    expect(eleven.businessDateBounds('2026-09-28').start.toUTC().toISO()).toBe('2026-09-27T15:00:00.000Z');
  });

  it('takes a tick fired slightly early as the cut-off it was meant for', () => {
    expect(closeDateAtCutoff(eleven, new Date('2026-09-27T14:59:59.990Z'))).toBe('2026-09-28');
    expect(closeDateAtCutoff(midnight, new Date('2026-09-27T15:59:30.000Z'))).toBe('2026-09-28');
    // An hour before the cut-off is still the day that is ending.
    expect(closeDateAtCutoff(midnight, new Date('2026-09-27T15:00:00.000Z'))).toBe('2026-09-27');
  });
});

describe('cutoffCronExpression', () => {
  it('fires daily at the local cut-off, seconds first', () => {
    expect(cutoffCronExpression('00:00')).toBe('0 0 0 * * *');
    expect(cutoffCronExpression('23:00')).toBe('0 0 23 * * *');
    expect(cutoffCronExpression('16:30:15')).toBe('15 30 16 * * *');
    expect(() => cutoffCronExpression('4pm')).toThrow(`cut-off "4pm" is not 'HH:mm' or 'HH:mm:ss'`);
  });
});
