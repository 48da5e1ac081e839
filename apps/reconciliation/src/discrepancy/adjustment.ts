import { Money } from '@app/contracts';
import type { PostingDraft } from '@app/ledger';
import { DiscrepancyError, type Discrepancy } from './discrepancy.types.js';

/**
 * What an ADJUSTMENT of a discrepancy does to the books (DESIGN §6), decided from its class alone:
 *
 * | class | what it means | entry | to clearing |
 * | --- | --- | --- | --- |
 * | AMOUNT_MISMATCH | both sides have it, the amounts differ | the difference between what the channel will pay and what we booked goes to suspense (2241): channel more → Dr 1122 / Cr 2241; channel less → Dr 2241 / Cr 1122 | yes, on our amount: the merchant is owed what the payer paid us |
 * | STATUS_MISMATCH | the channel says the payment did not succeed | our T-day entry is reversed: the channel owes nothing, the merchant is owed nothing | no |
 * | MISSING_IN_CHANNEL | the channel never had it (我方有渠道无), grace elapsed | our T-day entry is reversed | no |
 * | MISSING_INTERNAL | the channel has a success we lack (长款) | Dr 1122 / Cr 2241 for a payment line (the channel owes us money nobody claimed); Dr 2241 / Cr 1122 for a refund line | no (no transaction of ours) |
 * | DUPLICATE | the channel booked a line twice | like MISSING_INTERNAL for the extra line | no |
 *
 * Suspense is where finance parks money until it is identified (待查明); clearing it is a later,
 * separate decision with its own entry. A WRITE_OFF never posts: it closes the case with a reason.
 */
export type AdjustmentPlan =
  | { kind: 'REVERSE_T_DAY_ENTRY'; tDayIdempotencyKey: string; amount: string; releaseToClearing: false }
  | {
      kind: 'POST';
      postings: PostingDraft[];
      description: string;
      amount: string;
      releaseToClearing: boolean;
    };

/*
 * `amount` is what the adjustment moves between us and the channel (1122), at the currency's
 * scale: the difference, the line's amount, or, for a reversal, our transaction's amount. It is
 * the figure the second-person threshold is compared with (adjustment-confirmation.ts).
 */

/** The T-day entry's idempotency key, as the ingest handler posts it. */
export function tDayIdempotencyKey(eventId: string): string {
  return `recon.t-day:${eventId}`;
}

export function adjustmentPlanOf(d: Discrepancy): AdjustmentPlan {
  const receivable = { template: 'channel_receivable', owner: d.channel };
  const suspense = { template: 'suspense' };
  switch (d.class) {
    case 'STATUS_MISMATCH':
    case 'MISSING_IN_CHANNEL':
      if (d.eventId === null)
        throw new DiscrepancyError(
          'DISCREPANCY.INVALID_REQUEST',
          `discrepancy ${d.id} (${d.class}) has no transaction of ours to reverse`,
        );
      if (d.internalAmount === null)
        throw new DiscrepancyError(
          'DISCREPANCY.INVALID_REQUEST',
          `discrepancy ${d.id} (${d.class}) has no amount of ours to reverse`,
        );
      return {
        kind: 'REVERSE_T_DAY_ENTRY',
        tDayIdempotencyKey: tDayIdempotencyKey(d.eventId),
        amount: Money.of(d.internalAmount, d.currency).abs().toString(),
        releaseToClearing: false,
      };
    case 'AMOUNT_MISMATCH': {
      if (d.internalAmount === null || d.channelAmount === null)
        throw new DiscrepancyError(
          'DISCREPANCY.INVALID_REQUEST',
          `discrepancy ${d.id} (AMOUNT_MISMATCH) lacks one of the two amounts`,
        );
      // A currency difference is not an amount to book: the item is wrong upstream.
      const ours = Money.of(d.internalAmount, d.currency);
      const theirs = Money.of(d.channelAmount, d.currency);
      const difference = theirs.minus(ours);
      if (difference.isZero())
        throw new DiscrepancyError(
          'DISCREPANCY.INVALID_REQUEST',
          `discrepancy ${d.id}: the amounts agree (${ours.toString()}); the difference is in the currency, correct it upstream or write it off`,
        );
      const amount = difference.abs().toString();
      const channelPaysMore = difference.isPositive();
      return {
        kind: 'POST',
        amount,
        releaseToClearing: true,
        description: `${d.channel} ${d.orderNo}: channel ${theirs.toString()} vs ours ${ours.toString()} ${d.currency}, difference to suspense`,
        postings: [
          { account: channelPaysMore ? receivable : suspense, side: 'DEBIT', amount, currency: d.currency },
          { account: channelPaysMore ? suspense : receivable, side: 'CREDIT', amount, currency: d.currency },
        ],
      };
    }
    case 'MISSING_INTERNAL':
    case 'DUPLICATE': {
      if (d.channelAmount === null || d.lineNo === null)
        throw new DiscrepancyError(
          'DISCREPANCY.INVALID_REQUEST',
          `discrepancy ${d.id} (${d.class}) has no statement line to book`,
        );
      const amount = Money.of(d.channelAmount, d.currency).toString();
      // A refund line moved money from the channel back to a payer: the opposite direction.
      const isRefund = d.itemType === 'REFUND';
      return {
        kind: 'POST',
        amount,
        releaseToClearing: false,
        description: `${d.channel} statement ${d.statementFileId} line ${d.lineNo}: ${isRefund ? 'refund' : 'payment'} of ${amount} ${d.currency} without a transaction of ours, to suspense`,
        postings: [
          { account: isRefund ? suspense : receivable, side: 'DEBIT', amount, currency: d.currency },
          { account: isRefund ? receivable : suspense, side: 'CREDIT', amount, currency: d.currency },
        ],
      };
    }
  }
}
