import { invariant } from '@app/contracts';

/**
 * Locks balance rows in ascending account-id order, the one order every locker uses (a posting
 * that lowers a floored account, a hold, compaction), so two of them wait for each other instead of
 * deadlocking. The order is taken here, not trusted to callers: ids travel as decimal strings, and
 * a text sort puts "100" before "99" (compaction once sorted them so in SQL, by an output column
 * named like the bigint it cast, and deadlocked with writers once account ids passed a power of
 * ten). A sub-select with FOR UPDATE is never flattened, so this is one primary-key probe per id,
 * in array order (`= ANY(…) ORDER BY … FOR UPDATE` cost twice as much: a bitmap scan of the key,
 * then a sort).
 */
export async function lockBalanceRows(
  db: { query: <T>(sql: string, parameters?: unknown[]) => Promise<T> },
  accountIds: readonly string[],
): Promise<void> {
  const ordered = inLockOrder(accountIds);
  const [locked] = await db.query<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM unnest($1::bigint[]) AS i(account_id),
       LATERAL (SELECT 1 FROM ledger.account_balance b WHERE b.account_id = i.account_id FOR UPDATE) l`,
    [`{${ordered.join(',')}}`],
  );
  invariant(
    locked?.n === ordered.length,
    () => `balance rows missing: locked ${locked?.n} of ${ordered.length}`,
  );
}

/** Account ids (canonical decimal strings of positive bigints) in ascending numeric order, each once. */
export function inLockOrder(accountIds: readonly string[]): string[] {
  for (const id of accountIds) {
    invariant(/^[1-9][0-9]*$/.test(id), () => `account id must be a positive integer, got "${id}"`);
  }
  const ordered = [...accountIds].sort(compareAccountIds);
  for (let i = 1; i < ordered.length; i += 1) {
    invariant(ordered[i] !== ordered[i - 1], () => `account ${ordered[i]} to be locked twice`);
  }
  return ordered;
}

/** Numeric order of canonical decimal strings without a BigInt each: shorter is smaller. */
function compareAccountIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
