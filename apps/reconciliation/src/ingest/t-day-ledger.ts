import { LedgerError, type EntryDraft, type Ledger, type LedgerErrorCode } from '@app/ledger';
import type { EntityManager } from 'typeorm';
import type { InternalTransaction } from './internal-transaction.js';
import { creditsMerchantOnly, tDayEntryOf } from './t-day-entry.js';

/** The ledger's default `batchSizeMax`: entries per `Ledger.post` call. */
export const T_DAY_ENTRIES_PER_POST = 10_000;

/** A transaction whose T-day entry the ledger would not take: nothing was posted for it. */
export interface RefusedEntry {
  transaction: InternalTransaction;
  code: LedgerErrorCode;
  reason: string;
}

type Item = { transaction: InternalTransaction; draft: EntryDraft };

/**
 * Posts the T-day entries of newly recorded internal transactions in the caller's transaction, so
 * they commit (or roll back) with the transactions themselves and the consumer's inbox rows.
 *
 * Merchant pending (2202) has no floor (ledger migration 1764000000700). Payments credit it; a
 * refund or a reversal debits it, and may take it below zero when its payment was cleared on to
 * settleable (2203) days before, or was never recorded here. That is the normal life of a refund
 * of a cleared payment: clearing the matched refund credits 2202 back and takes the money out of
 * 2203, whose floor is the one that protects the merchant's money (clearing dead-letters a refund
 * that 2203 cannot cover). So refunds and reversals are booked here whatever 2202 holds.
 *
 * Whatever the ledger still refuses (e.g. a second currency on an account: multi-currency books
 * are not modelled yet) is refused for that transaction alone: nothing is written for it, and
 * the handler sends the event to the DLQ (REJECTED) with the ledger's reason for a person to
 * resolve; the channel statement then shows it as MISSING_INTERNAL, where finance looks anyway.
 * Errors that are not LedgerErrors (database, bugs) propagate and the consumer retries or
 * isolates the message as usual.
 */
export class TDayLedger {
  constructor(
    private readonly ledger: Ledger,
    private readonly entriesPerPost = T_DAY_ENTRIES_PER_POST,
  ) {}

  /** Returns the transactions whose entries were refused; every other one has its entry posted. */
  async post(tx: EntityManager, transactions: InternalTransaction[]): Promise<RefusedEntry[]> {
    const items = transactions.map((transaction) => ({ transaction, draft: tDayEntryOf(transaction) }));
    for (let start = 0; start < items.length; start += this.entriesPerPost) {
      const chunk = items.slice(start, start + this.entriesPerPost);
      try {
        await this.ledger.post(
          tx,
          chunk.map((i) => i.draft),
        );
      } catch (error) {
        if (!(error instanceof LedgerError)) throw error;
        // The ledger judges floors on a batch's net effect and rolled this chunk back as a whole.
        // Rare: find the entries it refuses. Payments first, so that were a floor ever judged here
        // again, a refund would see every payment of the batch, whatever order they came in.
        const rest = items.slice(start);
        const refused: RefusedEntry[] = [];
        await this.postIsolating(
          tx,
          [
            ...rest.filter((i) => creditsMerchantOnly(i.transaction)),
            ...rest.filter((i) => !creditsMerchantOnly(i.transaction)),
          ],
          refused,
        );
        return refused;
      }
    }
    return [];
  }

  /** Posts what the ledger takes, halving a refused batch down to the entries it refuses. */
  private async postIsolating(tx: EntityManager, items: Item[], refused: RefusedEntry[]): Promise<void> {
    if (items.length === 0) return;
    if (items.length <= this.entriesPerPost) {
      try {
        await this.ledger.post(
          tx,
          items.map((i) => i.draft),
        );
        return;
      } catch (error) {
        if (!(error instanceof LedgerError)) throw error;
        if (items.length === 1) {
          refused.push({ transaction: items[0]!.transaction, code: error.code, reason: error.message });
          return;
        }
      }
    }
    const middle = Math.ceil(items.length / 2);
    await this.postIsolating(tx, items.slice(0, middle), refused);
    await this.postIsolating(tx, items.slice(middle), refused);
  }
}
