import fc from 'fast-check';
import { backoffDelayMs } from './backoff.js';

describe('backoffDelayMs', () => {
  const policy = { initialDelayMs: 200, maxDelayMs: 10_000 };

  it('grows exponentially up to the cap (upper end of the jitter)', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelayMs(a, policy, () => 1))).toEqual([
      400, 800, 1_600, 3_200, 6_400, 10_000, 10_000,
    ]);
  });

  it('stays within [initial, max] for any attempt and any jitter', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (attempt, r) => {
          const delay = backoffDelayMs(attempt, policy, () => r);
          return delay >= policy.initialDelayMs && delay <= policy.maxDelayMs;
        },
      ),
    );
  });
});
