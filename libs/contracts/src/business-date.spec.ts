import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import {
  DEFAULT_ZONE,
  businessDateBounds,
  businessDateOf,
  isoInstantToEpochMillis,
  parseIsoInstant,
} from './business-date.js';
import { TimeError, type TimeErrorCode } from './errors.js';
import { SAMPLES_DIR } from '../../../test/support/samples.js';

const shanghai = { zone: DEFAULT_ZONE };
const samplesDir = SAMPLES_DIR;

function timeError(fn: () => unknown, code: TimeErrorCode): TimeError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TimeError) {
      expect(error.code).toBe(code);
      return error;
    }
    throw error;
  }
  throw new Error(`expected TimeError ${code}`);
}

describe('businessDateOf, default cut-off 00:00 (the local calendar date)', () => {
  it('defaults to Asia/Shanghai', () => {
    expect(DEFAULT_ZONE).toBe('Asia/Shanghai');
  });

  it.each([
    ['2026-11-21T17:10:43.000Z', '2026-11-22'], // 01:10:43 local
    ['2026-11-22T13:49:20.000Z', '2026-11-22'], // 21:49:20 local
    ['2026-11-22T15:59:59.000Z', '2026-11-22'], // 23:59:59 local: the cross-day payments
    ['2026-11-21T15:59:59.999Z', '2026-11-21'],
    ['2026-11-21T16:00:00.000Z', '2026-11-22'],
    ['2026-11-22T15:59:59.999Z', '2026-11-22'],
    ['2026-11-22T16:00:00.000Z', '2026-11-23'],
    ['2026-11-22T23:59:59.999+08:00', '2026-11-22'],
    ['2026-11-23T00:00:00.000+08:00', '2026-11-23'],
    ['2026-11-22T10:00:00-05:00', '2026-11-22'], // 23:00 in Shanghai, still the 22nd
    ['2026-11-22T11:00:00-05:00', '2026-11-23'], // 00:00 in Shanghai
  ])('%s → %s in Asia/Shanghai', (instant, date) => {
    expect(businessDateOf(instant, shanghai)).toBe(date);
  });

  it('puts every sample event on the sample business date 2026-11-22', () => {
    const lines = readFileSync(path.join(samplesDir, 'internal-events.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(36);
    for (const line of lines) {
      const { occurredAt } = JSON.parse(line) as { occurredAt: string };
      expect(businessDateOf(occurredAt, shanghai)).toBe('2026-11-22');
    }
  });

  it('takes a Date and a luxon DateTime in any zone', () => {
    expect(businessDateOf(new Date('2026-11-21T16:00:00.000Z'), shanghai)).toBe('2026-11-22');
    const tokyo = DateTime.fromISO('2026-11-23T00:30:00', { zone: 'Asia/Tokyo' }); // 23:30 in Shanghai
    expect(businessDateOf(tokyo, shanghai)).toBe('2026-11-22');
    expect(businessDateOf(tokyo, { zone: 'Asia/Tokyo' })).toBe('2026-11-23');
  });

  it('is the same for an explicit 00:00 and 00:00:00 cut-off', () => {
    const instant = '2026-11-22T15:59:59.999Z';
    expect(businessDateOf(instant, { zone: DEFAULT_ZONE, cutoffLocalTime: '00:00' })).toBe('2026-11-22');
    expect(businessDateOf(instant, { zone: DEFAULT_ZONE, cutoffLocalTime: '00:00:00' })).toBe('2026-11-22');
  });
});

describe('businessDateOf with a cut-off: later items belong to the next business date', () => {
  const cutoff23 = { zone: DEFAULT_ZONE, cutoffLocalTime: '23:00' };

  it.each([
    ['2026-11-22T00:30:00+08:00', '2026-11-22'],
    ['2026-11-22T22:59:59.999+08:00', '2026-11-22'],
    ['2026-11-22T23:00:00.000+08:00', '2026-11-23'],
    ['2026-11-22T23:30:00+08:00', '2026-11-23'],
    ['2026-11-22T23:59:59.999+08:00', '2026-11-23'],
    ['2026-11-23T00:00:00+08:00', '2026-11-23'],
    ['2026-11-23T22:59:59+08:00', '2026-11-23'],
    ['2026-12-31T23:30:00+08:00', '2027-01-01'],
    ['2028-02-28T23:30:00+08:00', '2028-02-29'],
  ])('cut-off 23:00: %s → %s', (instant, date) => {
    expect(businessDateOf(instant, cutoff23)).toBe(date);
  });

  it('honours seconds in the cut-off', () => {
    const calendar = { zone: DEFAULT_ZONE, cutoffLocalTime: '23:00:30' };
    expect(businessDateOf('2026-11-22T23:00:29.999+08:00', calendar)).toBe('2026-11-22');
    expect(businessDateOf('2026-11-22T23:00:30+08:00', calendar)).toBe('2026-11-23');
  });
});

describe('businessDateOf across DST transitions', () => {
  it('America/New_York spring forward (2026-03-08 02:00 EST → 03:00 EDT), cut-off 00:00', () => {
    const ny = { zone: 'America/New_York' };
    expect(businessDateOf('2026-03-08T04:59:59.999Z', ny)).toBe('2026-03-07'); // 23:59:59.999 EST
    expect(businessDateOf('2026-03-08T05:00:00.000Z', ny)).toBe('2026-03-08'); // 00:00 EST
    expect(businessDateOf('2026-03-09T03:59:59.999Z', ny)).toBe('2026-03-08'); // 23:59:59.999 EDT
    expect(businessDateOf('2026-03-09T04:00:00.000Z', ny)).toBe('2026-03-09'); // 00:00 EDT
  });

  it('America/New_York, cut-off 23:00 on both sides of the switch', () => {
    const ny = { zone: 'America/New_York', cutoffLocalTime: '23:00' };
    expect(businessDateOf('2026-03-08T03:59:59.999Z', ny)).toBe('2026-03-07'); // 22:59:59.999 EST Mar 7
    expect(businessDateOf('2026-03-08T04:00:00.000Z', ny)).toBe('2026-03-08'); // 23:00 EST Mar 7
    expect(businessDateOf('2026-03-09T02:59:59.999Z', ny)).toBe('2026-03-08'); // 22:59:59.999 EDT Mar 8
    expect(businessDateOf('2026-03-09T03:00:00.000Z', ny)).toBe('2026-03-09'); // 23:00 EDT Mar 8
  });

  it('a cut-off inside the skipped hour closes the day at the jump', () => {
    const ny = { zone: 'America/New_York', cutoffLocalTime: '02:30' };
    expect(businessDateOf('2026-03-08T06:59:59.999Z', ny)).toBe('2026-03-08'); // 01:59:59.999 EST
    expect(businessDateOf('2026-03-08T07:00:00.000Z', ny)).toBe('2026-03-09'); // 03:00 EDT
    const bounds = businessDateBounds('2026-03-08', ny);
    expect(bounds.end.toISO()).toBe('2026-03-08T07:00:00.000Z');
  });

  it('Europe/Berlin fall back (2026-10-25 03:00 CEST → 02:00 CET): a 25-hour day', () => {
    const berlin = { zone: 'Europe/Berlin' };
    expect(businessDateOf('2026-10-24T21:59:59.999Z', berlin)).toBe('2026-10-24');
    expect(businessDateOf('2026-10-24T22:00:00.000Z', berlin)).toBe('2026-10-25');
    expect(businessDateOf('2026-10-25T22:59:59.999Z', berlin)).toBe('2026-10-25');
    expect(businessDateOf('2026-10-25T23:00:00.000Z', berlin)).toBe('2026-10-26');
    const { start, end } = businessDateBounds('2026-10-25', berlin);
    expect(end.diff(start, 'hours').hours).toBe(25);
  });

  it('a cut-off inside the repeated hour closes the day at its first pass; the date never goes back', () => {
    const berlin = { zone: 'Europe/Berlin', cutoffLocalTime: '02:30' };
    expect(businessDateOf('2026-10-25T00:29:59.999Z', berlin)).toBe('2026-10-25'); // 02:29:59.999 CEST
    expect(businessDateOf('2026-10-25T00:30:00.000Z', berlin)).toBe('2026-10-26'); // 02:30 CEST, first pass
    // 02:15 CET, second pass: the wall clock is before the cut-off again, the time line is not.
    expect(businessDateOf('2026-10-25T01:15:00.000Z', berlin)).toBe('2026-10-26');
  });

  it('Europe/Berlin spring forward (2026-03-29): a 23-hour day', () => {
    const { start, end } = businessDateBounds('2026-03-29', { zone: 'Europe/Berlin' });
    expect(start.toISO()).toBe('2026-03-28T23:00:00.000Z');
    expect(end.toISO()).toBe('2026-03-29T22:00:00.000Z');
  });
});

describe('businessDateBounds', () => {
  it('gives the half-open span of instants of a business date', () => {
    const day = businessDateBounds('2026-11-22', shanghai);
    expect(day.start.toISO()).toBe('2026-11-21T16:00:00.000Z');
    expect(day.end.toISO()).toBe('2026-11-22T16:00:00.000Z');
    const cut = businessDateBounds('2026-11-22', { zone: DEFAULT_ZONE, cutoffLocalTime: '23:00' });
    expect(cut.start.toISO()).toBe('2026-11-21T15:00:00.000Z');
    expect(cut.end.toISO()).toBe('2026-11-22T15:00:00.000Z');
  });

  it.each(['2026-02-30', '2026-13-01', '2026-11-22T00:00Z', '20261122', ''])('refuses %j', (date) => {
    timeError(() => businessDateBounds(date, shanghai), 'TIME.INVALID_INSTANT');
  });
});

describe('businessDateOf / parseIsoInstant refuse bad input with a typed TimeError', () => {
  it.each(['Mars/Olympus', 'UTC+8', '+08:00', '', 'Asia/Shang hai'])('zone %j', (zone) => {
    const error = timeError(() => businessDateOf('2026-11-22T00:00:00Z', { zone }), 'TIME.INVALID_ZONE');
    expect(error.message).toBe(`${JSON.stringify(zone)} is not an IANA time zone (e.g. Asia/Shanghai)`);
  });

  it.each(['24:00', '7:00', '23:60', '23:00:60', 'noon', '', '23:00:00.000'])(
    'cut-off %j',
    (cutoffLocalTime) => {
      timeError(
        () => businessDateOf('2026-11-22T00:00:00Z', { zone: DEFAULT_ZONE, cutoffLocalTime }),
        'TIME.INVALID_CUTOFF',
      );
    },
  );

  it.each([
    '2026-11-22T13:49:20',
    '2026-11-22T13:49:20.000',
    '2026-11-22 13:49:20',
    '2026-11-22T13:49',
    '2026-11-22',
  ])('a local time without offset: %j', (instant) => {
    const error = timeError(() => parseIsoInstant(instant), 'TIME.MISSING_OFFSET');
    expect(error.message).toBe(
      `${JSON.stringify(instant)} has no UTC offset; an instant needs 'Z' or ±HH:mm`,
    );
    timeError(() => businessDateOf(instant, shanghai), 'TIME.MISSING_OFFSET');
  });

  it.each([
    '2026-11-22T13:49:20z',
    '2026-11-22t13:49:20Z',
    '2026-11-22 13:49:20Z',
    '20261122T134920Z',
    '2026-W47-7T12:00Z',
    '2026-11-22T13Z',
    '2026-11-22T13:49:20.Z',
    '2026-11-22T13:49:20.1234567890Z',
    '2026-11-22T13:49:20+8',
    '2026-11-22T13:49:20 +08:00',
    ' 2026-11-22T13:49:20Z',
    'yesterday',
    '',
    '1763819360000',
  ])('a malformed instant: %j', (instant) => {
    timeError(() => parseIsoInstant(instant), 'TIME.MALFORMED_INSTANT');
  });

  it.each([
    '2026-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-00-10T00:00:00Z',
    '2026-11-00T00:00:00Z',
    '2026-11-22T24:00:00Z',
    '2026-11-22T23:60:00Z',
    '2026-11-22T23:59:60Z',
    '2026-11-22T12:00:00+18:01',
    '2026-11-22T12:00:00+08:60',
    '2026-11-22T12:00:00+24:00',
    '2100-02-29T00:00:00Z',
  ])('an instant that does not exist: %j', (instant) => {
    timeError(() => parseIsoInstant(instant), 'TIME.INVALID_INSTANT');
  });

  it('non-strings, invalid Dates and invalid DateTimes', () => {
    timeError(() => parseIsoInstant(1763819360000), 'TIME.NOT_A_STRING');
    timeError(() => parseIsoInstant(null), 'TIME.NOT_A_STRING');
    timeError(() => businessDateOf(new Date(Number.NaN), shanghai), 'TIME.INVALID_INSTANT');
    timeError(() => businessDateOf(DateTime.invalid('test'), shanghai), 'TIME.INVALID_INSTANT');
    timeError(() => businessDateOf(12 as unknown as string, shanghai), 'TIME.NOT_A_STRING');
  });
});

describe('parseIsoInstant', () => {
  it.each([
    ['2026-11-22T13:49:20.000Z', '2026-11-22T13:49:20.000Z'],
    ['2026-11-22T13:49:20Z', '2026-11-22T13:49:20.000Z'],
    ['2026-11-22T13:49Z', '2026-11-22T13:49:00.000Z'],
    ['2026-11-22T21:49:20+08:00', '2026-11-22T13:49:20.000Z'],
    ['2026-11-22T21:49:20+0800', '2026-11-22T13:49:20.000Z'],
    ['2026-11-22T21:49:20+08', '2026-11-22T13:49:20.000Z'],
    ['2026-11-22T08:19:20-05:30', '2026-11-22T13:49:20.000Z'],
    ['2026-11-22T13:49:20.5Z', '2026-11-22T13:49:20.500Z'],
    ['2026-11-22T13:49:20.123456789Z', '2026-11-22T13:49:20.123Z'], // java.time nanos, truncated
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00.000Z'],
    ['0099-01-01T00:00:00Z', '0099-01-01T00:00:00.000Z'],
  ])('%s is %s, in UTC', (input, iso) => {
    const parsed = parseIsoInstant(input);
    expect(parsed.toISO()).toBe(iso);
    expect(parsed.zoneName).toBe('UTC');
    expect(isoInstantToEpochMillis(input)).toBe(parsed.toMillis());
  });

  it('agrees with luxon on every instant it accepts (the hand-rolled fast path is luxon-exact)', () => {
    const two = (min: number, max: number) => fc.integer({ min, max }).map((n) => String(n).padStart(2, '0'));
    const instant = fc
      .record({
        year: fc.integer({ min: 1000, max: 9999 }).map(String),
        month: two(0, 13),
        day: two(0, 32),
        hour: two(0, 24),
        minute: two(0, 60),
        second: fc.option(two(0, 60), { nil: undefined }),
        fraction: fc.option(fc.stringMatching(/^\d{1,9}$/), { nil: undefined }),
        offset: fc.oneof(
          fc.constant('Z'),
          fc
            .tuple(fc.constantFrom('+', '-'), two(0, 19), two(0, 60), fc.constantFrom(':', ''))
            .map(([sign, h, m, sep]) => `${sign}${h}${sep}${m}`),
        ),
      })
      .map(({ year, month, day, hour, minute, second, fraction, offset }) => {
        const seconds =
          second === undefined ? '' : `:${second}${fraction === undefined ? '' : `.${fraction}`}`;
        return `${year}-${month}-${day}T${hour}:${minute}${seconds}${offset}`;
      });
    let accepted = 0;
    fc.assert(
      fc.property(instant, (text) => {
        const theirs = DateTime.fromISO(text, { setZone: true });
        let ours: number | undefined;
        try {
          ours = isoInstantToEpochMillis(text);
        } catch (error) {
          expect(error).toBeInstanceOf(TimeError);
        }
        if (ours !== undefined) {
          accepted++;
          expect(theirs.isValid).toBe(true);
          expect(ours).toBe(theirs.toMillis());
        } else if (!theirs.isValid) {
          expect(ours).toBeUndefined();
        }
      }),
      { numRuns: 5000 },
    );
    expect(accepted).toBeGreaterThan(500);
  });
});

describe('businessDateOf properties', () => {
  const instantMs = fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2090, 0, 1) });
  const dstZones = fc.constantFrom(
    'America/New_York',
    'Europe/Berlin',
    'Australia/Sydney',
    'America/Santiago',
    'Australia/Lord_Howe',
  );
  const anyZone = fc.constantFrom(
    DEFAULT_ZONE,
    'UTC',
    'Asia/Kolkata',
    'Asia/Kathmandu',
    'Pacific/Chatham',
    'America/New_York',
    'Europe/Berlin',
    'Australia/Lord_Howe',
  );
  const cutoff = fc.oneof(
    fc.constant(undefined),
    fc
      .record({ h: fc.integer({ min: 0, max: 23 }), m: fc.integer({ min: 0, max: 59 }) })
      .map(({ h, m }) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`),
  );

  it('with the default cut-off it is the luxon local date, in every zone', () => {
    fc.assert(
      fc.property(instantMs, anyZone, (ms, zone) => {
        expect(businessDateOf(new Date(ms), { zone })).toBe(DateTime.fromMillis(ms, { zone }).toISODate());
      }),
      { numRuns: 3000 },
    );
  });

  it('in a zone without DST it is the local date, plus one day from the cut-off on', () => {
    fc.assert(
      fc.property(
        instantMs,
        fc.constantFrom(DEFAULT_ZONE, 'Asia/Tokyo', 'UTC', 'Asia/Kolkata'),
        cutoff,
        (ms, zone, cut) => {
          const local = DateTime.fromMillis(ms, { zone });
          const cutoffMinutes =
            cut === undefined ? 0 : Number(cut.slice(0, 2)) * 60 + Number(cut.slice(3, 5));
          const localMinutes = local.hour * 60 + local.minute;
          const expected =
            cutoffMinutes > 0 && localMinutes >= cutoffMinutes ? local.plus({ days: 1 }) : local;
          expect(businessDateOf(new Date(ms), { zone, cutoffLocalTime: cut })).toBe(expected.toISODate());
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('never goes backwards as time goes forwards, DST or not', () => {
    fc.assert(
      fc.property(
        instantMs,
        fc.integer({ min: 1, max: 3 * 3_600_000 }),
        dstZones,
        cutoff,
        (ms, step, zone, cut) => {
          const calendar = { zone, cutoffLocalTime: cut };
          const earlier = businessDateOf(new Date(ms), calendar);
          const later = businessDateOf(new Date(ms + step), calendar);
          expect(later >= earlier).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('the bounds of an instant’s business date contain it', () => {
    fc.assert(
      fc.property(instantMs, fc.oneof(dstZones, anyZone), cutoff, (ms, zone, cut) => {
        const calendar = { zone, cutoffLocalTime: cut };
        const { start, end } = businessDateBounds(businessDateOf(new Date(ms), calendar), calendar);
        expect(start.toMillis()).toBeLessThanOrEqual(ms);
        expect(ms).toBeLessThan(end.toMillis());
        expect(businessDateOf(start, calendar)).toBe(businessDateOf(new Date(ms), calendar));
      }),
      { numRuns: 3000 },
    );
  });
});
