import { describe, expect, it } from '@jest/globals';
import { principalKey } from '@app/contracts';
import fc from 'fast-check';
import {
  decideAdjustment,
  needsConfirmation,
  pendingPostingsOf,
  type AdjustmentCommand,
  type AdjustmentDecision,
  type AdjustmentPolicy,
} from './adjustment-confirmation.js';
import type { Discrepancy, PendingAdjustment } from './discrepancy.types.js';

const BASE: Discrepancy = {
  id: '7',
  channel: 'WECHAT',
  businessDate: '2026-12-01',
  detectedOn: '2026-12-01',
  class: 'AMOUNT_MISMATCH',
  side: 'BOTH',
  itemType: 'PAYMENT',
  eventId: 'e-1',
  statementFileId: '3',
  lineNo: 2,
  merchantId: 'M00042',
  orderNo: 'O-1',
  refundNo: null,
  internalAmount: '50000.00',
  channelAmount: '38000.00',
  currency: 'CNY',
  feeDifference: null,
  reason: 'amount 50000.00 (ours) ≠ 38000.00 (channel)',
  status: 'OPEN',
  resolution: null,
  resolutionNote: null,
  resolvedBy: null,
  resolvedAt: null,
  journalEntryId: null,
  pendingAdjustment: null,
  adjustmentConfirmedBy: null,
  openedAt: '2026-12-01T02:00:00.000Z',
  lastMatchRunId: '1',
};
const POLICY: AdjustmentPolicy = { confirmationAbove: '10000.00' };

/** Minor units as a CNY amount: exact at any size (a JS number would not be past 2^53). */
const cny = (minor: bigint): string => `${minor / 100n}.${(minor % 100n).toString().padStart(2, '0')}`;
/** Up to 25 integer digits: far past where doubles stop telling neighbouring cents apart. */
const minorUnits = fc.bigInt({ min: 1n, max: 10n ** 27n });

/** An open discrepancy of a class an ADJUST can apply to, and the amount its adjustment moves (minor units). */
const adjustable: fc.Arbitrary<{ d: Discrepancy; moves: bigint }> = fc.oneof(
  fc
    .tuple(minorUnits, minorUnits)
    .filter(([a, b]) => a !== b)
    .map(([ours, theirs]) => ({
      d: { ...BASE, internalAmount: cny(ours), channelAmount: cny(theirs) },
      moves: ours > theirs ? ours - theirs : theirs - ours,
    })),
  minorUnits.map((line) => ({
    d: {
      ...BASE,
      class: 'MISSING_INTERNAL' as const,
      side: 'CHANNEL' as const,
      eventId: null,
      internalAmount: null,
      channelAmount: cny(line),
    },
    moves: line,
  })),
  minorUnits.map((ours) => ({
    d: {
      ...BASE,
      class: 'STATUS_MISMATCH' as const,
      internalAmount: cny(ours),
      channelAmount: cny(ours),
    },
    moves: ours,
  })),
);
const threshold = fc.bigInt({ min: 0n, max: 10n ** 27n });

/** A principal id, and spellings of it every check must take for the same person. */
const principal = fc.stringMatching(/^[a-z][a-z0-9._:-]{0,20}$/);
function variantOf(id: string, how: readonly number[]): string {
  return [...id]
    .map((c, i) => {
      const mode = how[i % Math.max(how.length, 1)] ?? 0;
      if (mode === 1) return c.toUpperCase();
      // Full-width forms (ＡＢＣ．) that NFKC folds back to ASCII.
      if (mode === 2) return String.fromCharCode(c.toUpperCase().charCodeAt(0) + 0xfee0);
      return c;
    })
    .join('');
}
const spelling = fc.tuple(
  principal,
  fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 8 }),
);

/** The pending adjustment the service records for a PROPOSE decision. */
function pendingOf(d: Discrepancy, decision: AdjustmentDecision, by: string): PendingAdjustment {
  if (decision.kind !== 'PROPOSE') throw new Error(`expected PROPOSE, got ${decision.kind}`);
  return {
    proposalId: '1',
    proposedBy: by,
    proposedAt: '2026-12-01T03:00:00.000Z',
    note: 'channel confirmed its figure',
    class: d.class,
    amount: decision.amount,
    currency: d.currency,
    confirmationAbove: decision.confirmationAbove,
    effect: decision.plan.kind,
    postings: pendingPostingsOf(decision.plan),
    releasesToClearing: decision.plan.releaseToClearing,
  };
}

function proposed(
  d: Discrepancy,
  by: string,
  policy: AdjustmentPolicy = { confirmationAbove: '0' },
): Discrepancy {
  return { ...d, pendingAdjustment: pendingOf(d, decideAdjustment(d, { kind: 'ADJUST', by }, policy), by) };
}

const kindOf = (decision: AdjustmentDecision): string =>
  decision.kind === 'REFUSE' ? `REFUSE ${decision.code}` : decision.kind;

describe('decideAdjustment: a second person above the threshold', () => {
  it('an ADJUST above the threshold never posts on the first command; at or below it posts at once, as before', () => {
    fc.assert(
      fc.property(adjustable, threshold, ({ d, moves }, above) => {
        const decision = decideAdjustment(
          d,
          { kind: 'ADJUST', by: 'finance.li' },
          { confirmationAbove: cny(above) },
        );
        if (moves > above) {
          expect(decision).toMatchObject({
            kind: 'PROPOSE',
            amount: cny(moves),
            confirmationAbove: cny(above),
          });
        } else {
          expect(decision.kind).toBe('POST');
          if (decision.kind === 'POST') {
            expect(decision.confirms).toBeNull();
            expect(decision.plan.amount).toBe(cny(moves));
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('the comparison is exact: one cent either side of the threshold, at any magnitude', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 27n }), (t) => {
        expect(needsConfirmation(cny(t), 'CNY', { confirmationAbove: cny(t) })).toBe(false);
        expect(needsConfirmation(cny(t + 1n), 'CNY', { confirmationAbove: cny(t) })).toBe(true);
        expect(needsConfirmation(cny(t - 1n), 'CNY', { confirmationAbove: cny(t) })).toBe(false);
      }),
    );
    // Doubles think these are equal; the threshold does not.
    expect(needsConfirmation('90071992547409.93', 'CNY', { confirmationAbove: '90071992547409.92' })).toBe(
      true,
    );
    expect(needsConfirmation('10000.00', 'CNY', POLICY)).toBe(false);
    expect(needsConfirmation('10000.01', 'CNY', POLICY)).toBe(true);
  });

  it('a currency without a policy needs a second person for every adjustment', () => {
    fc.assert(
      fc.property(adjustable, ({ d }) => {
        expect(decideAdjustment(d, { kind: 'ADJUST', by: 'finance.li' }, null).kind).toBe('PROPOSE');
      }),
    );
  });

  it('the proposer never confirms, however the id is spelt (NFKC + lower case)', () => {
    fc.assert(
      fc.property(adjustable, spelling, ({ d }, [id, how]) => {
        const pending = proposed(d, id);
        const as = variantOf(id, how);
        expect(principalKey(as)).toBe(principalKey(id));
        const decision = decideAdjustment(pending, { kind: 'CONFIRM', by: as }, POLICY);
        expect(kindOf(decision)).toBe('REFUSE DISCREPANCY.SELF_CONFIRMATION');
      }),
      { numRuns: 300 },
    );
  });

  it('another person confirms exactly what was proposed', () => {
    fc.assert(
      fc.property(adjustable, principal, principal, ({ d, moves }, maker, checker) => {
        fc.pre(principalKey(maker) !== principalKey(checker));
        const pending = proposed(d, maker);
        const decision = decideAdjustment(pending, { kind: 'CONFIRM', by: checker }, POLICY);
        expect(decision.kind).toBe('POST');
        if (decision.kind !== 'POST') return;
        expect(decision.confirms).toBe(pending.pendingAdjustment);
        expect(decision.plan.amount).toBe(cny(moves));
        expect(pendingPostingsOf(decision.plan)).toEqual(pending.pendingAdjustment?.postings);
      }),
      { numRuns: 300 },
    );
  });

  it('while an adjustment waits, nothing else resolves the discrepancy; anyone may reject it, the proposer included', () => {
    fc.assert(
      fc.property(adjustable, principal, principal, ({ d }, maker, other) => {
        const pending = proposed(d, maker);
        for (const kind of ['ADJUST', 'WRITE_OFF'] as const)
          for (const by of [maker, other])
            expect(kindOf(decideAdjustment(pending, { kind, by }, POLICY))).toBe(
              'REFUSE DISCREPANCY.ADJUSTMENT_PENDING',
            );
        for (const by of [maker, other])
          expect(decideAdjustment(pending, { kind: 'REJECT', by }, POLICY)).toEqual({
            kind: 'REJECT',
            rejects: pending.pendingAdjustment,
          });
      }),
    );
  });

  it('a resolved discrepancy refuses every command; one without a pending adjustment has nothing to confirm or reject', () => {
    const commands: AdjustmentCommand[] = [
      { kind: 'ADJUST', by: 'a' },
      { kind: 'WRITE_OFF', by: 'a' },
      { kind: 'CONFIRM', by: 'b' },
      { kind: 'REJECT', by: 'b' },
    ];
    const resolved: Discrepancy = {
      ...proposed(BASE, 'a'),
      status: 'RESOLVED',
      resolution: 'ADJUSTMENT',
      resolvedBy: 'a',
      resolvedAt: '2026-12-01T04:00:00.000Z',
    };
    for (const command of commands)
      expect(kindOf(decideAdjustment(resolved, command, POLICY))).toBe('REFUSE DISCREPANCY.ALREADY_RESOLVED');
    expect(kindOf(decideAdjustment(BASE, { kind: 'CONFIRM', by: 'b' }, POLICY))).toBe(
      'REFUSE DISCREPANCY.NO_PENDING_ADJUSTMENT',
    );
    expect(kindOf(decideAdjustment(BASE, { kind: 'REJECT', by: 'b' }, POLICY))).toBe(
      'REFUSE DISCREPANCY.NO_PENDING_ADJUSTMENT',
    );
  });

  it('nobody confirms a figure that changed since it was proposed (a match run reclassified the item or moved an amount)', () => {
    const pending = proposed(BASE, 'finance.zhou');
    const moved = { ...pending, channelAmount: '39000.00' };
    const decision = decideAdjustment(moved, { kind: 'CONFIRM', by: 'finance.qian' }, POLICY);
    expect(decision).toMatchObject({ kind: 'REFUSE', code: 'DISCREPANCY.ADJUSTMENT_STALE' });
    expect((decision as { message: string }).message).toContain('amount 12000.00 → 11000.00 CNY');
    const reclassified = { ...pending, class: 'STATUS_MISMATCH' as const };
    expect(kindOf(decideAdjustment(reclassified, { kind: 'CONFIRM', by: 'finance.qian' }, POLICY))).toBe(
      'REFUSE DISCREPANCY.ADJUSTMENT_STALE',
    );
    // Same magnitude, the other direction: the postings differ.
    const flipped = { ...pending, internalAmount: '38000.00', channelAmount: '50000.00' };
    expect(decideAdjustment(flipped, { kind: 'CONFIRM', by: 'finance.qian' }, POLICY)).toMatchObject({
      kind: 'REFUSE',
      code: 'DISCREPANCY.ADJUSTMENT_STALE',
      message: expect.stringContaining('the postings differ'),
    });
  });
});
