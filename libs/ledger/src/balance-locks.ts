import { invariant } from '@app/contracts';

/**
 * Locks balance rows in account-id order, the one order every locker uses (a posting that lowers a
 * floored account, a hold, compaction), so two of them wait for each other instead of deadlocking.
 * The ids must arrive sorted; a sub-select with FOR UPDATE is never flattened, so this is one
 * primary-key probe per id, in that order (`= ANY(…) ORDER BY … FOR UPDATE` cost twice as much: a
 * bitmap scan of the key, then a sort).
 */
export async function lockBalanceRows(
  db: { query: <T>(sql: string, parameters?: unknown[]) => Promise<T> },
  sortedAccountIds: readonly string[],
): Promise<void> {
  const [locked] = await db.query<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM unnest($1::bigint[]) AS i(account_id),
       LATERAL (SELECT 1 FROM ledger.account_balance b WHERE b.account_id = i.account_id FOR UPDATE) l`,
    [`{${sortedAccountIds.join(',')}}`],
  );
  invariant(
    locked?.n === sortedAccountIds.length,
    () => `balance rows missing: locked ${locked?.n} of ${sortedAccountIds.length}`,
  );
}
