import { invariant, Money, parseCurrencyCode, parseIsoInstant } from '@app/contracts';
import { backoffDelayMs, sleep } from '@app/platform';
import type { DataSource, EntityManager } from 'typeorm';
import type { Side, SubjectRoot } from './chart.js';
import { normalBalance } from './journal-entry.js';
import { lockBalanceRows } from './balance-locks.js';
import { LedgerError } from './ledger-error.js';

/**
 * Read side of the ledger: balances, statements, the trial balance, and compaction of hot-account
 * deltas. Plain functions over anything that can run a query (a DataSource, or an EntityManager
 * inside the caller's transaction), so a service can read its own uncommitted postings.
 *
 * Every read that combines several numbers is one SQL statement: under READ COMMITTED a statement
 * sees one snapshot, so a balance never mixes a projection row from before a compaction with the
 * deltas from after it, and a statement's opening balance, lines and totals agree.
 */
export type LedgerDb = Pick<EntityManager, 'query'>;

export interface AccountBalance {
  accountCode: string;
  currency: string;
  normalSide: Side;
  /** Null: the current balance, from the projection; otherwise the instant it was computed for. */
  asOf: string | null;
  debitTotal: string;
  creditTotal: string;
  /** Balance on the account's normal side: debits − credits for DEBIT accounts, the reverse otherwise. */
  posted: string;
  held: string;
  /** posted − held. */
  available: string;
}

export interface AccountBalanceOptions {
  /**
   * ISO-8601 instant with offset. Postings count by `effective_at` ≤ asOf; holds by when they were
   * placed and resolved (recorded times: a hold has no business time of its own).
   */
  asOf?: string;
}

/**
 * An account's balance. Now: `account_balance` plus the account's pending `balance_delta` rows. As
 * of an instant: recomputed from the postings, which are the facts.
 * @throws LedgerError LEDGER.UNKNOWN_ACCOUNT | LEDGER.INVALID_EFFECTIVE_TIME
 */
export async function accountBalance(
  db: LedgerDb,
  accountCode: string,
  options: AccountBalanceOptions = {},
): Promise<AccountBalance> {
  const asOf = options.asOf === undefined ? null : instantOf(options.asOf, 'asOf');
  type Row = {
    code: string;
    currency: string;
    normal_side: Side;
    debit_total: string | null;
    credit_total: string | null;
    held_total: string | null;
  };
  const [row] =
    asOf === null
      ? await db.query<Row[]>(
          `SELECT a.code, a.currency, s.normal_side,
                  (b.debit_total + coalesce(d.debit, 0))::text AS debit_total,
                  (b.credit_total + coalesce(d.credit, 0))::text AS credit_total,
                  b.held_total::text AS held_total
           FROM ledger.account a
           JOIN ledger.subject s ON s.code = a.subject_code
           LEFT JOIN ledger.account_balance b ON b.account_id = a.id
           LEFT JOIN LATERAL (
             SELECT sum(debit) AS debit, sum(credit) AS credit FROM ledger.balance_delta WHERE account_id = a.id
           ) d ON true
           WHERE a.code = $1`,
          [accountCode],
        )
      : await db.query<Row[]>(
          // Σ postings up to asOf, found through the account's index (migration 1764000003000): the
          // B-tree by account and time, or for a hot account, whose postings have only a BRIN by
          // time, its current balance less the postings after asOf (a short range at the end).
          // The account's hot flag gates each branch as a one-time filter; only one runs.
          `SELECT a.code, a.currency, s.normal_side,
                  (CASE WHEN t.hot THEN b.debit_total + coalesce(d.debit, 0) - coalesce(later.debit, 0)
                        ELSE coalesce(p.debit, 0) END)::text AS debit_total,
                  (CASE WHEN t.hot THEN b.credit_total + coalesce(d.credit, 0) - coalesce(later.credit, 0)
                        ELSE coalesce(p.credit, 0) END)::text AS credit_total,
                  coalesce(h.held, 0)::text AS held_total
           FROM ledger.account a
           JOIN ledger.subject s ON s.code = a.subject_code
           JOIN ledger.account_template t ON t.code = a.template_code
           LEFT JOIN ledger.account_balance b ON b.account_id = a.id
           LEFT JOIN LATERAL (
             SELECT sum(amount) FILTER (WHERE side = 'D') AS debit, sum(amount) FILTER (WHERE side = 'C') AS credit
             FROM ledger.posting
             WHERE NOT t.hot AND account_id = a.id AND NOT hot_account AND effective_at <= $2::timestamptz
           ) p ON true
           LEFT JOIN LATERAL (
             SELECT sum(debit) AS debit, sum(credit) AS credit FROM ledger.balance_delta WHERE t.hot AND account_id = a.id
           ) d ON true
           LEFT JOIN LATERAL (
             SELECT sum(amount) FILTER (WHERE side = 'D') AS debit, sum(amount) FILTER (WHERE side = 'C') AS credit
             FROM ledger.posting
             WHERE t.hot AND account_id = a.id AND hot_account AND effective_at > $2::timestamptz
           ) later ON true
           LEFT JOIN LATERAL (
             SELECT sum(h.amount) AS held FROM ledger.hold h
             WHERE h.account_id = a.id AND h.created_at <= $2::timestamptz
               AND NOT EXISTS (
                 SELECT 1 FROM ledger.hold_resolution r WHERE r.hold_id = h.id AND r.resolved_at <= $2::timestamptz)
           ) h ON true
           WHERE a.code = $1`,
          [accountCode, asOf],
        );
  if (!row) throw new LedgerError('LEDGER.UNKNOWN_ACCOUNT', `no account ${accountCode}`);
  // Every account gets its balance row in the transaction that creates it.
  invariant(
    row.debit_total !== null && row.credit_total !== null && row.held_total !== null,
    () => `account ${row.code} has no balance row`,
  );
  const debitTotal = Money.of(row.debit_total, row.currency);
  const creditTotal = Money.of(row.credit_total, row.currency);
  const held = Money.of(row.held_total, row.currency);
  const posted = normalBalance(row.normal_side, debitTotal, creditTotal);
  return {
    accountCode: row.code,
    currency: row.currency,
    normalSide: row.normal_side,
    asOf,
    debitTotal: debitTotal.toString(),
    creditTotal: creditTotal.toString(),
    posted: posted.toString(),
    held: held.toString(),
    available: posted.minus(held).toString(),
  };
}

// -------------------------------------------------------------------------------------------------

export const STATEMENT_LINES_DEFAULT = 1_000;
export const STATEMENT_LINES_MAX = 100_000;

export interface StatementOptions {
  /** Inclusive lower bound on `effective_at`; absent: from the first posting (opening balance 0). */
  from?: string;
  /** Inclusive upper bound, so the closing balance is `accountBalance(…, { asOf: to }).posted`. */
  to?: string;
  /** Lines returned, at most STATEMENT_LINES_MAX; the balances always cover the whole period. */
  limit?: number;
}

export interface StatementLine {
  postingId: string;
  entryId: string;
  effectiveAt: string;
  businessRef: string;
  description: string | null;
  side: Side;
  amount: string;
  /** Normal-side balance after this line. */
  balance: string;
}

export interface AccountStatement {
  accountCode: string;
  currency: string;
  normalSide: Side;
  from: string | null;
  to: string | null;
  openingBalance: string;
  /** Σ debits and Σ credits of the whole period, whatever `limit` cut from `lines`. */
  debitTotal: string;
  creditTotal: string;
  closingBalance: string;
  /** Postings in the period; `lines` holds the first `limit` of them in (effective_at, id) order. */
  lineCount: number;
  truncated: boolean;
  lines: StatementLine[];
}

/**
 * An account's statement (对账单): the opening balance, each posting of the period in time order
 * with the running balance on the account's normal side (a SQL window), and the closing balance.
 * @throws LedgerError LEDGER.UNKNOWN_ACCOUNT | LEDGER.INVALID_EFFECTIVE_TIME
 */
export async function accountStatement(
  db: LedgerDb,
  accountCode: string,
  options: StatementOptions = {},
): Promise<AccountStatement> {
  const from = options.from === undefined ? null : instantOf(options.from, 'from');
  const to = options.to === undefined ? null : instantOf(options.to, 'to');
  if (from !== null && to !== null && Date.parse(from) > Date.parse(to)) {
    throw new LedgerError('LEDGER.INVALID_EFFECTIVE_TIME', `from ${from} is after to ${to}`);
  }
  const limit = options.limit ?? STATEMENT_LINES_DEFAULT;
  invariant(
    Number.isSafeInteger(limit) && limit >= 1 && limit <= STATEMENT_LINES_MAX,
    () => `statement limit must be an integer in 1..${STATEMENT_LINES_MAX}, got ${limit}`,
  );
  const [account] = await db.query<
    { id: string; code: string; currency: string; normal_side: Side; hot: boolean }[]
  >(
    `SELECT a.id::text, a.code, a.currency, s.normal_side, t.hot
     FROM ledger.account a JOIN ledger.subject s ON s.code = a.subject_code
     JOIN ledger.account_template t ON t.code = a.template_code WHERE a.code = $1`,
    [accountCode],
  );
  if (!account) throw new LedgerError('LEDGER.UNKNOWN_ACCOUNT', `no account ${accountCode}`);
  const normal = account.normal_side === 'DEBIT' ? 'D' : 'C';
  // Which index finds the account's postings (migration 1764000003000): a B-tree by account and
  // time for most accounts, a BRIN by time for a hot one, whose opening balance is then its
  // current balance less everything from the period's start on (a short range at the table's end).
  const ofAccount = `account_id = $1 AND ${account.hot ? 'hot_account' : 'NOT hot_account'}`;
  const openingSql = account.hot
    ? `SELECT (SELECT CASE WHEN $5 = 'D' THEN b.debit_total - b.credit_total ELSE b.credit_total - b.debit_total END
                  FROM ledger.account_balance b WHERE b.account_id = $1)
            + (SELECT coalesce(sum(CASE WHEN $5 = 'D' THEN debit - credit ELSE credit - debit END), 0)
                  FROM ledger.balance_delta WHERE account_id = $1)
            - (SELECT coalesce(sum(CASE WHEN side = $5 THEN amount ELSE -amount END), 0)
                  FROM ledger.posting WHERE ${ofAccount} AND effective_at >= $2::timestamptz) AS amount`
    : `SELECT coalesce(sum(CASE WHEN side = $5 THEN amount ELSE -amount END), 0) AS amount
       FROM ledger.posting WHERE ${ofAccount} AND effective_at < $2::timestamptz`;
  // One statement, one snapshot: a posting committed (or back-dated into the period) meanwhile
  // cannot make the lines disagree with the totals. Each CTE is referenced once, so Postgres
  // inlines it; the window runs over the index order and LIMIT stops it early.
  const rows = await db.query<
    {
      opening: string;
      line_count: string;
      debit_total: string;
      credit_total: string;
      posting_id: string | null;
      entry_id: string | null;
      effective_at: Date | null;
      business_ref: string | null;
      description: string | null;
      side: 'D' | 'C' | null;
      amount: string | null;
      running: string | null;
    }[]
  >(
    `WITH opening AS (
       ${openingSql}
     ), period AS (
       SELECT count(*) AS line_count,
              coalesce(sum(amount) FILTER (WHERE side = 'D'), 0) AS debit_total,
              coalesce(sum(amount) FILTER (WHERE side = 'C'), 0) AS credit_total
       FROM ledger.posting
       WHERE ${ofAccount} AND effective_at >= $2::timestamptz AND effective_at <= $3::timestamptz
     ), lines AS (
       SELECT p.entry_id, p.line, p.effective_at, p.side, p.amount,
              sum(CASE WHEN p.side = $5 THEN p.amount ELSE -p.amount END)
                OVER (ORDER BY p.effective_at, p.entry_id, p.line ROWS UNBOUNDED PRECEDING) AS running
       FROM ledger.posting p
       WHERE p.${ofAccount} AND p.effective_at >= $2::timestamptz AND p.effective_at <= $3::timestamptz
       ORDER BY p.effective_at, p.entry_id, p.line
       LIMIT $4
     )
     SELECT o.amount::text AS opening, pr.line_count::text AS line_count,
            pr.debit_total::text AS debit_total, pr.credit_total::text AS credit_total,
            l.entry_id || ':' || l.line AS posting_id, l.entry_id::text AS entry_id, l.effective_at, e.business_ref,
            e.description, l.side, l.amount::text AS amount, (o.amount + l.running)::text AS running
     FROM opening o
     CROSS JOIN period pr
     LEFT JOIN (lines l JOIN ledger.journal_entry e ON e.id = l.entry_id) ON true
     ORDER BY l.effective_at, l.entry_id, l.line`,
    [account.id, from ?? '-infinity', to ?? 'infinity', limit, normal],
  );
  const head = rows[0];
  invariant(head !== undefined, 'the statement query returns at least one row');
  const currency = account.currency;
  const opening = Money.of(head.opening, currency);
  const debitTotal = Money.of(head.debit_total, currency);
  const creditTotal = Money.of(head.credit_total, currency);
  const closing =
    account.normal_side === 'DEBIT'
      ? opening.plus(debitTotal).minus(creditTotal)
      : opening.plus(creditTotal).minus(debitTotal);
  const lines: StatementLine[] = rows
    .filter((r) => r.posting_id !== null)
    .map((r) => ({
      postingId: r.posting_id!,
      entryId: r.entry_id!,
      effectiveAt: r.effective_at!.toISOString(),
      businessRef: r.business_ref!,
      description: r.description,
      side: r.side === 'D' ? 'DEBIT' : 'CREDIT',
      amount: Money.of(r.amount!, currency).toString(),
      balance: Money.of(r.running!, currency).toString(),
    }));
  const lineCount = Number(head.line_count);
  const truncated = lines.length < lineCount;
  // Pair assertion: the window's running balance and the period's totals are two computations of
  // the same thing; a whole statement must end where the totals say.
  invariant(lines.length === Math.min(lineCount, limit), () => `statement of ${account.code}: line count`);
  if (!truncated && lines.length > 0) {
    invariant(
      Money.of(lines[lines.length - 1]!.balance, currency).equals(closing),
      () =>
        `statement of ${account.code}: running balance ${lines[lines.length - 1]!.balance} ≠ closing ${closing.toString()}`,
    );
  }
  return {
    accountCode: account.code,
    currency,
    normalSide: account.normal_side,
    from,
    to,
    openingBalance: opening.toString(),
    debitTotal: debitTotal.toString(),
    creditTotal: creditTotal.toString(),
    closingBalance: closing.toString(),
    lineCount,
    truncated,
    lines,
  };
}

// -------------------------------------------------------------------------------------------------

export interface TrialBalanceOptions {
  /** Recompute from postings with `effective_at` ≤ asOf; absent: the balances as they are now. */
  asOf?: string;
  /** One currency only; absent: every currency that has an account. */
  currency?: string;
  /**
   * Where leaf amounts come from. Default: `projection` (account_balance + balance_delta, one row
   * per account) for now, `postings` (Σ postings, a scan of the journal) for an asOf. Asking for
   * `postings` without asOf gives the same figures from the facts; the two must agree.
   */
  source?: 'projection' | 'postings';
}

export interface TrialBalanceRow {
  currency: string;
  code: string;
  name: string;
  parentCode: string | null;
  root: SubjectRoot;
  /** 0 for the five roots. */
  depth: number;
  leaf: boolean;
  normalSide: Side;
  /** Accounts under this subject (leaf) or under its descendants. */
  accounts: number;
  debitTotal: string;
  creditTotal: string;
  /** On the subject's normal side. */
  balance: string;
}

export interface TrialBalanceTotal {
  currency: string;
  debitTotal: string;
  creditTotal: string;
  balanced: boolean;
}

export interface TrialBalance {
  asOf: string | null;
  source: 'projection' | 'postings';
  currencies: string[];
  /** Per currency, every subject of the tree in depth-first order (children by code). */
  rows: TrialBalanceRow[];
  /** Σ debits and Σ credits over all leaf subjects, per currency. */
  totals: TrialBalanceTotal[];
  balanced: boolean;
}

const ROOT_ORDER: readonly SubjectRoot[] = ['ASSET', 'LIABILITY', 'EQUITY', 'INCOME', 'EXPENSE'];

interface SubjectRow {
  code: string;
  name: string;
  parent_code: string | null;
  root: SubjectRoot;
  normal_side: Side;
}

/**
 * The trial balance (试算平衡表) over the subject tree: a leaf subject sums its accounts, a parent
 * sums its children, per currency; totals per currency are Σ debits and Σ credits over the leaves.
 * The roll-up is done here with Money, so a subject's figures are exact at the currency's scale.
 */
export async function trialBalance(db: LedgerDb, options: TrialBalanceOptions = {}): Promise<TrialBalance> {
  const asOf = options.asOf === undefined ? null : instantOf(options.asOf, 'asOf');
  const currency = options.currency === undefined ? null : parseCurrencyCode(options.currency);
  const source = options.source ?? (asOf === null ? 'projection' : 'postings');
  invariant(
    source === 'postings' || asOf === null,
    'the projection holds current balances only; an asOf trial balance reads postings',
  );
  const subjects = await db.query<SubjectRow[]>(
    'SELECT code, name, parent_code, root, normal_side FROM ledger.subject ORDER BY code',
  );
  type SumRow = {
    subject_code: string;
    currency: string;
    accounts: number;
    with_balance_row: number;
    debit: string;
    credit: string;
  };
  const sums =
    source === 'projection'
      ? await db.query<SumRow[]>(
          `SELECT a.subject_code, a.currency, count(*)::int AS accounts,
                  count(b.account_id)::int AS with_balance_row,
                  coalesce(sum(b.debit_total + coalesce(d.debit, 0)), 0)::text AS debit,
                  coalesce(sum(b.credit_total + coalesce(d.credit, 0)), 0)::text AS credit
           FROM ledger.account a
           LEFT JOIN ledger.account_balance b ON b.account_id = a.id
           LEFT JOIN (
             SELECT account_id, sum(debit) AS debit, sum(credit) AS credit FROM ledger.balance_delta GROUP BY account_id
           ) d ON d.account_id = a.id
           WHERE $1::text IS NULL OR a.currency = $1
           GROUP BY a.subject_code, a.currency`,
          [currency],
        )
      : await db.query<SumRow[]>(
          `SELECT a.subject_code, a.currency, count(*)::int AS accounts, count(*)::int AS with_balance_row,
                  coalesce(sum(t.debit), 0)::text AS debit, coalesce(sum(t.credit), 0)::text AS credit
           FROM ledger.account a
           LEFT JOIN (
             SELECT account_id, sum(amount) FILTER (WHERE side = 'D') AS debit,
                    sum(amount) FILTER (WHERE side = 'C') AS credit
             FROM ledger.posting WHERE effective_at <= $2::timestamptz GROUP BY account_id
           ) t ON t.account_id = a.id
           WHERE $1::text IS NULL OR a.currency = $1
           GROUP BY a.subject_code, a.currency`,
          [currency, asOf ?? 'infinity'],
        );
  // An account without its balance row would drop out of the projection's totals unnoticed.
  for (const r of sums) {
    invariant(
      r.with_balance_row === r.accounts,
      () => `${r.accounts - r.with_balance_row} accounts on subject ${r.subject_code} have no balance row`,
    );
  }
  return rollUp(subjects, sums, currency, asOf, source);
}

function rollUp(
  subjects: SubjectRow[],
  sums: { subject_code: string; currency: string; accounts: number; debit: string; credit: string }[],
  currencyFilter: string | null,
  asOf: string | null,
  source: 'projection' | 'postings',
): TrialBalance {
  const byCode = new Map(subjects.map((s) => [s.code, s]));
  const children = new Map<string, SubjectRow[]>();
  for (const s of subjects) {
    if (s.parent_code === null) continue;
    invariant(byCode.has(s.parent_code), () => `subject ${s.code} has an unknown parent ${s.parent_code}`);
    children.set(s.parent_code, [...(children.get(s.parent_code) ?? []), s]);
  }
  const currencies = [
    ...new Set([...(currencyFilter ? [currencyFilter] : []), ...sums.map((r) => r.currency)]),
  ];
  currencies.sort();
  const leafSums = new Map<string, { accounts: number; debit: Money; credit: Money }>();
  for (const r of sums) {
    const subject = byCode.get(r.subject_code);
    invariant(subject !== undefined, () => `accounts on unknown subject ${r.subject_code}`);
    invariant(
      !children.has(r.subject_code),
      () => `accounts on subject ${r.subject_code}, which has children`,
    );
    leafSums.set(`${r.currency}|${r.subject_code}`, {
      accounts: r.accounts,
      debit: Money.of(r.debit, r.currency),
      credit: Money.of(r.credit, r.currency),
    });
  }

  const rows: TrialBalanceRow[] = [];
  const totals: TrialBalanceTotal[] = [];
  // Roots in the order of the accounting equation, as a trial balance is read.
  const roots = subjects
    .filter((s) => s.parent_code === null)
    .sort((a, b) => ROOT_ORDER.indexOf(a.root) - ROOT_ORDER.indexOf(b.root));
  for (const currency of currencies) {
    const zero = Money.zero(currency);
    // Depth-first: a parent's row is placed before its children and filled in after them.
    const visit = (s: SubjectRow, depth: number): { accounts: number; debit: Money; credit: Money } => {
      invariant(depth <= subjects.length, () => `subject tree has a cycle through ${s.code}`);
      const row: TrialBalanceRow = {
        currency,
        code: s.code,
        name: s.name,
        parentCode: s.parent_code,
        root: s.root,
        depth,
        leaf: !children.has(s.code),
        normalSide: s.normal_side,
        accounts: 0,
        debitTotal: '',
        creditTotal: '',
        balance: '',
      };
      rows.push(row);
      let sum = leafSums.get(`${currency}|${s.code}`) ?? { accounts: 0, debit: zero, credit: zero };
      for (const child of children.get(s.code) ?? []) {
        invariant(child.root === s.root, () => `subject ${child.code} is not under its parent's root`);
        const c = visit(child, depth + 1);
        sum = {
          accounts: sum.accounts + c.accounts,
          debit: sum.debit.plus(c.debit),
          credit: sum.credit.plus(c.credit),
        };
      }
      row.accounts = sum.accounts;
      row.debitTotal = sum.debit.toString();
      row.creditTotal = sum.credit.toString();
      row.balance = normalBalance(s.normal_side, sum.debit, sum.credit).toString();
      return sum;
    };
    let debit = zero;
    let credit = zero;
    for (const root of roots) {
      const sum = visit(root, 0);
      debit = debit.plus(sum.debit);
      credit = credit.plus(sum.credit);
    }
    totals.push({
      currency,
      debitTotal: debit.toString(),
      creditTotal: credit.toString(),
      balanced: debit.equals(credit),
    });
  }
  // Every subject is reached from a root exactly once per currency.
  invariant(
    rows.length === subjects.length * currencies.length,
    () =>
      `subject tree: ${rows.length} rows for ${subjects.length} subjects × ${currencies.length} currencies`,
  );
  return { asOf, source, currencies, rows, totals, balanced: totals.every((t) => t.balanced) };
}

// -------------------------------------------------------------------------------------------------

export interface CompactionOptions {
  /** Delta rows folded per transaction: bounds how long the hot balance rows stay locked. */
  batchMax?: number;
  /** Transactions per call, so a compactor racing a flood of writers still returns. */
  batchesMax?: number;
  /** Attempts per batch when two compactors deadlock on the same balance rows. */
  conflictAttemptsMax?: number;
}

export interface CompactionResult {
  deltasFolded: number;
  accountsUpdated: number;
  batches: number;
}

/**
 * Folds `balance_delta` rows into `account_balance`, one short transaction per `batchMax` rows,
 * until none is left. Safe beside writers (they insert deltas, or lock a floored account's balance
 * row in account-id order to lower it, as this does to fold) and beside other compactors: a batch
 * folds exactly the rows its own DELETE removed (SKIP LOCKED leaves rows another compactor is
 * taking to that compactor), and the sum of a batch lands in the same commit that deletes it.
 */
export async function compactBalanceDeltas(
  dataSource: Pick<DataSource, 'transaction'>,
  options: CompactionOptions = {},
): Promise<CompactionResult> {
  const batchMax = options.batchMax ?? 100_000;
  const batchesMax = options.batchesMax ?? 10_000;
  const attemptsMax = options.conflictAttemptsMax ?? 8;
  invariant(Number.isSafeInteger(batchMax) && batchMax >= 1, () => `batchMax must be ≥ 1, got ${batchMax}`);
  const result: CompactionResult = { deltasFolded: 0, accountsUpdated: 0, batches: 0 };
  while (result.batches < batchesMax) {
    const batch = await foldOnce(dataSource, batchMax, attemptsMax);
    if (batch.folded === 0) break;
    result.deltasFolded += batch.folded;
    result.accountsUpdated += batch.accounts;
    result.batches += 1;
  }
  return result;
}

async function foldOnce(
  dataSource: Pick<DataSource, 'transaction'>,
  batchMax: number,
  attemptsMax: number,
): Promise<{ folded: number; accounts: number }> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await dataSource.transaction('READ COMMITTED', async (tx) => {
        const sums = await tx.query<{ account_id: string; debit: string; credit: string; n: number }[]>(
          `WITH d AS (
             DELETE FROM ledger.balance_delta
             WHERE ctid = ANY (ARRAY(SELECT ctid FROM ledger.balance_delta LIMIT $1 FOR UPDATE SKIP LOCKED))
             RETURNING account_id, debit, credit
           )
           SELECT account_id::text, sum(debit)::text AS debit, sum(credit)::text AS credit, count(*)::int AS n
           FROM d GROUP BY d.account_id`,
          [batchMax],
        );
        if (sums.length === 0) return { folded: 0, accounts: 0 };
        const ids = `{${sums.map((r) => r.account_id).join(',')}}`;
        // Balance rows locked in account-id order (lockBalanceRows sorts), as a posting that lowers
        // a floored account locks them: the two wait for each other instead of deadlocking.
        await lockBalanceRows(
          tx,
          sums.map((r) => r.account_id),
        );
        const [row] = await tx.query<{ accounts: number }[]>(
          `WITH u AS (
             UPDATE ledger.account_balance b
             SET debit_total = b.debit_total + s.debit, credit_total = b.credit_total + s.credit, updated_at = now()
             FROM unnest($1::bigint[], $2::numeric[], $3::numeric[]) AS s(account_id, debit, credit)
             WHERE b.account_id = s.account_id
             RETURNING b.account_id
           )
           SELECT count(*)::int AS accounts FROM u`,
          [ids, `{${sums.map((r) => r.debit).join(',')}}`, `{${sums.map((r) => r.credit).join(',')}}`],
        );
        // A delta without a balance row would vanish from the books: roll the batch back.
        invariant(
          row?.accounts === sums.length,
          () => `compaction: ${sums.length} accounts had deltas, ${row?.accounts} balance rows updated`,
        );
        return { folded: sums.reduce((n, r) => n + r.n, 0), accounts: sums.length };
      });
    } catch (error) {
      const code =
        (error as { driverError?: { code?: string } }).driverError?.code ?? (error as { code?: string }).code;
      if (code === '40P01' && attempt < attemptsMax) {
        await sleep(backoffDelayMs(attempt, { initialDelayMs: 5, maxDelayMs: 200 }));
        continue;
      }
      throw error;
    }
  }
}

// -------------------------------------------------------------------------------------------------

function instantOf(value: string, what: string): string {
  try {
    return parseIsoInstant(value).toUTC().toISO();
  } catch (error) {
    throw new LedgerError('LEDGER.INVALID_EFFECTIVE_TIME', `${what}: ${(error as Error).message}`);
  }
}
