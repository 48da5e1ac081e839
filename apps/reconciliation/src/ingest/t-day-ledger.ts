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
 * Merchant pending (2202) keeps its NON_NEGATIVE floor. Payments only credit it; a refund or a
 * reversal debits it, and can find too little there when its payment was never recorded here
 * (published before this service, or lost) or — once clearing moves matched payments on to 2203 —
 * was already cleared. Letting 2202 go negative would book a claim on the merchant as if it were a
 * debt to them, hide the shortfall from the floor check, and (as a chart change) loosen the floor
 * clearing and the ledger's own tests rely on. Booking the shortfall elsewhere (settleable 2203,
 * suspense 2241) is a decision about money already cleared or paid out, which clearing owns. So the
 * entry is refused, nothing is written for that transaction, and the handler sends the event to the
 * DLQ (REJECTED) with the ledger's reason for a person to resolve; the channel statement will then
 * show the refund as MISSING_INTERNAL, which is where finance looks for it anyway.
 *
 * Any other request the ledger refuses (e.g. a second currency on an account: multi-currency books
 * are not modelled yet) is handled the same way; errors that are not LedgerErrors (database, bugs)
 * propagate and the consumer retries or isolates the message as usual.
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
        // Rare: find the entries it refuses. Payments first, so that a refund is judged with every
        // payment of the batch already in merchant pending, whatever order they came in.
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
