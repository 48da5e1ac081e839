/**
 * The questions the ledger must answer at any time (DESIGN.md §6–7), each one set-based SQL over
 * the whole book: nothing is sampled and no balance is trusted without being re-derived from the
 * postings. Meant for tests after every step, the CLI's trial balance and a nightly job alike; read-only.
 *
 * Run inside one REPEATABLE READ transaction (or a quiet database) to see a consistent book: under
 * READ COMMITTED the checks would each see a different snapshot while writers are busy.
 */
import type { EntityManager } from 'typeorm';

/** One check's verdict. */
export interface LedgerCheck {
  name: string;
  ok: boolean;
  /** One human line: what was compared, and the totals or how many rows broke it. */
  detail: string;
  /** The rows that break the check, at most LEDGER_CHECK_DIFFERENCES_MAX of them. */
  differences: unknown[];
}

export interface LedgerCheckReport {
  ok: boolean;
  checks: LedgerCheck[];
}

/** Differences listed per check; the detail line still counts all of them. */
export const LEDGER_CHECK_DIFFERENCES_MAX = 100;

type Db = { query: EntityManager['query'] };

export async function runLedgerChecks(db: Db): Promise<LedgerCheckReport> {
  const checks: LedgerCheck[] = [];
  // One at a time: `db` may be a single transaction's manager, which cannot run queries in parallel.
  for (const check of CHECKS) checks.push(await check(db));
  return { ok: checks.every((c) => c.ok), checks };
}

// -----------------------------------------------------------------------------------------------
// Shared SQL. Every amount leaves the database as text: money is never a JS number.

/** An account's current totals: its balance row plus the deltas not yet folded into it (ADR 006). */
const PROJECTION_CTE = `
  delta AS (
    SELECT account_id, sum(debit) AS debit, sum(credit) AS credit
    FROM ledger.balance_delta GROUP BY account_id),
  projection AS (
    SELECT a.id AS account_id, a.code, a.currency, a.subject_code, a.template_code,
           b.account_id IS NOT NULL AS has_balance_row,
           coalesce(b.debit_total, 0) + coalesce(d.debit, 0) AS debit_total,
           coalesce(b.credit_total, 0) + coalesce(d.credit, 0) AS credit_total,
           coalesce(b.held_total, 0) AS held_total
    FROM ledger.account a
    LEFT JOIN ledger.account_balance b ON b.account_id = a.id
    LEFT JOIN delta d ON d.account_id = a.id)`;

/** Each posting's totals per account. */
const POSTED_CTE = `
  posted AS (
    SELECT account_id,
           coalesce(sum(amount) FILTER (WHERE side = 'D'), 0) AS debit_total,
           coalesce(sum(amount) FILTER (WHERE side = 'C'), 0) AS credit_total
    FROM ledger.posting GROUP BY account_id)`;

/**
 * Every subject paired with itself and each of its descendants, from `$1`/`$2` (see closureOf).
 * Passed in rather than built with WITH RECURSIVE: the planner guesses ~10^5 rows for a recursive
 * CTE over this small table, and that guess alone buys ~60 ms of JIT compilation per run.
 */
const CLOSURE_CTE = `
  closure AS (SELECT * FROM unnest($1::text[], $2::text[]) AS c (ancestor, descendant))`;

/** The subject tree's (ancestor, descendant) pairs, each subject its own ancestor too. */
async function closureOf(db: Db): Promise<[string[], string[]]> {
  const subjects = await db.query<{ code: string; parent_code: string | null }[]>(
    'SELECT code, parent_code FROM ledger.subject',
  );
  const parentOf = new Map(subjects.map((s) => [s.code, s.parent_code]));
  const ancestors: string[] = [];
  const descendants: string[] = [];
  for (const { code } of subjects) {
    // A cycle cannot pass the table's constraints; the bound keeps a broken chart from looping.
    for (let at: string | null | undefined = code, depth = 0; at && depth <= subjects.length; depth += 1) {
      ancestors.push(at);
      descendants.push(code);
      at = parentOf.get(at);
    }
  }
  return [ancestors, descendants];
}

const LIMIT = `LIMIT ${LEDGER_CHECK_DIFFERENCES_MAX}`;

/** Rows of a differences query carry `total`, the count of all differences before the LIMIT. */
type Counted = { total: string };

function strip<T extends Counted>(rows: T[]): Omit<T, 'total'>[] {
  return rows.map(({ total: _total, ...rest }) => rest);
}

/** How many differences a check found in all (a row count, not money). */
function totalOf(rows: Counted[]): number {
  return rows.length === 0 ? 0 : Number.parseInt(rows[0]!.total, 10);
}

function shown(total: number): string {
  return total > LEDGER_CHECK_DIFFERENCES_MAX ? ` (first ${LEDGER_CHECK_DIFFERENCES_MAX} listed)` : '';
}

async function count(db: Db, sql: string): Promise<string> {
  const [row] = await db.query<{ n: string }[]>(sql);
  return row?.n ?? '0';
}

// -----------------------------------------------------------------------------------------------
// (a) Each entry: ≥ 2 postings, its lines numbered exactly 1…n (no key enforces it since migration
// 1764000003000; the ledger writes them so), and debits = credits in every currency it touches.

async function entriesBalanced(db: Db): Promise<LedgerCheck> {
  const rows = await db.query<
    (Counted & {
      entry_id: string;
      idempotency_key: string;
      currency: string | null;
      postings: string;
      debits: string;
      credits: string;
    })[]
  >(`
    WITH per_currency AS (
      SELECT e.id AS entry_id, e.idempotency_key, p.currency,
             count(p.entry_id) AS postings,
             coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0) AS debits,
             coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0) AS credits
      FROM ledger.journal_entry e LEFT JOIN ledger.posting p ON p.entry_id = e.id
      GROUP BY e.id, e.idempotency_key, p.currency),
    per_entry AS (SELECT entry_id, sum(postings) AS postings FROM per_currency GROUP BY entry_id),
    misnumbered AS (
      SELECT entry_id FROM ledger.posting GROUP BY entry_id
      HAVING min(line) <> 1 OR max(line) <> count(*) OR count(DISTINCT line) <> count(*)),
    broken AS (
      SELECT c.entry_id, c.idempotency_key, c.currency, e.postings, c.debits, c.credits
      FROM per_currency c JOIN per_entry e USING (entry_id)
      WHERE c.debits <> c.credits OR e.postings < 2 OR c.entry_id IN (SELECT entry_id FROM misnumbered))
    SELECT entry_id::text, idempotency_key, currency, postings::text, debits::text, credits::text,
           count(*) OVER ()::text AS total
    FROM broken ORDER BY broken.entry_id, currency ${LIMIT}`);
  const total = totalOf(rows);
  const entries = await count(db, 'SELECT count(*)::text AS n FROM ledger.journal_entry');
  return {
    name: 'entries_balanced',
    ok: total === 0,
    detail:
      total === 0
        ? `${entries} journal entries, each with ≥ 2 postings numbered 1…n and debits = credits per currency`
        : `${total} (entry, currency) pairs unbalanced, with < 2 postings or lines not numbered 1…n among ${entries} entries${shown(total)}`,
    differences: strip(rows),
  };
}

// -----------------------------------------------------------------------------------------------
// (b) Trial balance: Σ debits = Σ credits per currency, over the postings and over the projection.

async function trialBalance(db: Db): Promise<LedgerCheck> {
  const rows = await db.query<
    { currency: string; source: string; debits: string; credits: string; balanced: boolean }[]
  >(`
    WITH ${PROJECTION_CTE},
    totals AS (
      SELECT currency, 'postings' AS source,
             coalesce(sum(amount) FILTER (WHERE side = 'D'), 0) AS debits,
             coalesce(sum(amount) FILTER (WHERE side = 'C'), 0) AS credits
      FROM ledger.posting GROUP BY currency
      UNION ALL
      SELECT currency, 'balances' AS source, sum(debit_total), sum(credit_total)
      FROM projection GROUP BY currency)
    SELECT currency, source, debits::text, credits::text, debits = credits AS balanced
    FROM totals ORDER BY currency, source DESC`);
  const broken = rows.filter((r) => !r.balanced).map(({ balanced: _b, ...rest }) => rest);
  const fromPostings = rows.filter((r) => r.source === 'postings');
  const summary = fromPostings
    .map((r) => `Σ debits ${r.debits} ${r.balanced ? '=' : '≠'} Σ credits ${r.credits} ${r.currency}`)
    .join('; ');
  return {
    name: 'trial_balance',
    ok: broken.length === 0,
    detail:
      broken.length === 0
        ? fromPostings.length === 0
          ? 'no postings yet'
          : `${summary} (postings and balances agree)`
        : `${broken.length} currency totals unbalanced: ${broken
            .map((b) => `${b.source} ${b.currency} Σ debits ${b.debits} ≠ Σ credits ${b.credits}`)
            .join('; ')}`,
    differences: broken.slice(0, LEDGER_CHECK_DIFFERENCES_MAX),
  };
}

// -----------------------------------------------------------------------------------------------
// (c) Every account: balance row + Σ deltas = Σ its postings, on each side; postings in its currency.

async function accountBalancesDerived(db: Db): Promise<LedgerCheck> {
  const rows = await db.query<
    (Counted & {
      code: string;
      problem: string;
      balance_debit: string;
      balance_credit: string;
      posted_debit: string;
      posted_credit: string;
    })[]
  >(`
    WITH ${PROJECTION_CTE}, ${POSTED_CTE},
    foreign_currency AS (
      SELECT p.account_id, count(*) AS n FROM ledger.posting p JOIN ledger.account a ON a.id = p.account_id
      WHERE p.currency <> a.currency GROUP BY p.account_id),
    broken AS (
      SELECT a.account_id, a.code,
             CASE WHEN NOT a.has_balance_row THEN 'no balance row'
                  WHEN f.n IS NOT NULL THEN f.n || ' postings in another currency than ' || a.currency
                  ELSE 'balance ≠ Σ postings' END AS problem,
             a.debit_total AS balance_debit, a.credit_total AS balance_credit,
             coalesce(p.debit_total, 0) AS posted_debit, coalesce(p.credit_total, 0) AS posted_credit
      FROM projection a
      LEFT JOIN posted p ON p.account_id = a.account_id
      LEFT JOIN foreign_currency f ON f.account_id = a.account_id
      WHERE NOT a.has_balance_row OR f.n IS NOT NULL
         OR a.debit_total <> coalesce(p.debit_total, 0) OR a.credit_total <> coalesce(p.credit_total, 0))
    SELECT code, problem, balance_debit::text, balance_credit::text, posted_debit::text, posted_credit::text,
           count(*) OVER ()::text AS total
    FROM broken ORDER BY account_id ${LIMIT}`);
  const total = totalOf(rows);
  const accounts = await count(db, 'SELECT count(*)::text AS n FROM ledger.account');
  return {
    name: 'account_balances_derived',
    ok: total === 0,
    detail:
      total === 0
        ? `${accounts} accounts: balance row + Σ deltas = Σ postings, debit and credit`
        : `${total} of ${accounts} accounts disagree with their postings${shown(total)}`,
    differences: strip(rows),
  };
}

// -----------------------------------------------------------------------------------------------
// (d) held_total = Σ open holds (those without a resolution), never negative, in the account's currency.

async function holdsDerived(db: Db): Promise<LedgerCheck> {
  const rows = await db.query<
    (Counted & { code: string; problem: string; held_total: string | null; open_holds: string })[]
  >(`
    WITH open_holds AS (
      SELECT h.account_id, sum(h.amount) AS amount, count(*) AS n,
             bool_or(h.currency <> a.currency) AS foreign_currency
      FROM ledger.hold h JOIN ledger.account a ON a.id = h.account_id
      WHERE NOT EXISTS (SELECT 1 FROM ledger.hold_resolution r WHERE r.hold_id = h.id)
      GROUP BY h.account_id),
    broken AS (
      SELECT a.id AS account_id, a.code,
             CASE WHEN b.held_total < 0 THEN 'held_total negative'
                  WHEN o.foreign_currency THEN 'a hold in another currency than ' || a.currency
                  ELSE 'held_total ≠ Σ open holds' END AS problem,
             b.held_total, coalesce(o.amount, 0) AS open_holds
      FROM ledger.account a
      LEFT JOIN ledger.account_balance b ON b.account_id = a.id
      LEFT JOIN open_holds o ON o.account_id = a.id
      WHERE coalesce(b.held_total, 0) <> coalesce(o.amount, 0) OR b.held_total < 0 OR o.foreign_currency)
    SELECT code, problem, held_total::text, open_holds::text, count(*) OVER ()::text AS total
    FROM broken ORDER BY account_id ${LIMIT}`);
  const total = totalOf(rows);
  const open = await count(
    db,
    `SELECT count(*)::text AS n FROM ledger.hold h
     WHERE NOT EXISTS (SELECT 1 FROM ledger.hold_resolution r WHERE r.hold_id = h.id)`,
  );
  return {
    name: 'holds_derived',
    ok: total === 0,
    detail:
      total === 0
        ? `${open} open holds: every held_total = Σ its open holds, none negative`
        : `${total} accounts whose held_total disagrees with their ${open} open holds or is negative${shown(total)}`,
    differences: strip(rows),
  };
}

// -----------------------------------------------------------------------------------------------
// (e) Subject balances (科目体系平衡 and 账户体系平衡): for every subject and currency, Σ postings of
// the accounts in its subtree = the accounts' balances rolled up the tree; every parent = Σ children.

async function subjectsBalanced(db: Db): Promise<LedgerCheck> {
  const closure = await closureOf(db);
  const rows = await db.query<
    (Counted & {
      subject: string;
      currency: string;
      problem: string;
      debit_left: string;
      credit_left: string;
      debit_right: string;
      credit_right: string;
    })[]
  >(
    `
    WITH ${CLOSURE_CTE}, ${PROJECTION_CTE},
    from_postings AS (
      SELECT c.ancestor AS subject, p.currency,
             coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0) AS debit,
             coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0) AS credit
      FROM ledger.posting p
      JOIN ledger.account a ON a.id = p.account_id
      JOIN closure c ON c.descendant = a.subject_code
      GROUP BY c.ancestor, p.currency),
    per_subject AS (
      SELECT subject_code, currency, sum(debit_total) AS debit, sum(credit_total) AS credit
      FROM projection GROUP BY subject_code, currency),
    rolled_up AS (
      SELECT c.ancestor AS subject, s.currency, sum(s.debit) AS debit, sum(s.credit) AS credit
      FROM per_subject s JOIN closure c ON c.descendant = s.subject_code
      GROUP BY c.ancestor, s.currency),
    children AS (
      SELECT s.parent_code AS subject, f.currency, sum(f.debit) AS debit, sum(f.credit) AS credit
      FROM from_postings f JOIN ledger.subject s ON s.code = f.subject
      WHERE s.parent_code IS NOT NULL
      GROUP BY s.parent_code, f.currency),
    parents AS (SELECT DISTINCT parent_code AS code FROM ledger.subject WHERE parent_code IS NOT NULL),
    broken AS (
      SELECT coalesce(f.subject, r.subject) AS subject, coalesce(f.currency, r.currency) AS currency,
             'Σ postings ≠ Σ account balances' AS problem,
             coalesce(f.debit, 0) AS debit_left, coalesce(f.credit, 0) AS credit_left,
             coalesce(r.debit, 0) AS debit_right, coalesce(r.credit, 0) AS credit_right
      FROM from_postings f FULL JOIN rolled_up r ON r.subject = f.subject AND r.currency = f.currency
      WHERE coalesce(f.debit, 0) <> coalesce(r.debit, 0) OR coalesce(f.credit, 0) <> coalesce(r.credit, 0)
      UNION ALL
      SELECT coalesce(f.subject, ch.subject), coalesce(f.currency, ch.currency),
             'parent ≠ Σ children',
             coalesce(f.debit, 0), coalesce(f.credit, 0), coalesce(ch.debit, 0), coalesce(ch.credit, 0)
      FROM (SELECT f.* FROM from_postings f JOIN parents p ON p.code = f.subject) f
      FULL JOIN children ch ON ch.subject = f.subject AND ch.currency = f.currency
      WHERE coalesce(f.debit, 0) <> coalesce(ch.debit, 0) OR coalesce(f.credit, 0) <> coalesce(ch.credit, 0))
    SELECT subject, currency, problem, debit_left::text, credit_left::text, debit_right::text,
           credit_right::text, count(*) OVER ()::text AS total
    FROM broken ORDER BY subject, currency, problem ${LIMIT}`,
    closure,
  );
  const total = totalOf(rows);
  // The summary: each root's normal-side balance, which is the accounting equation per currency.
  const roots = await db.query<{ currency: string; code: string; balance: string }[]>(
    `
    WITH ${CLOSURE_CTE}
    SELECT p.currency, r.code,
           (CASE r.normal_side WHEN 'DEBIT' THEN 1 ELSE -1 END
             * coalesce(sum(CASE p.side WHEN 'D' THEN p.amount ELSE -p.amount END), 0))::text AS balance
    FROM ledger.subject r
    JOIN closure c ON c.ancestor = r.code
    JOIN ledger.account a ON a.subject_code = c.descendant
    JOIN ledger.posting p ON p.account_id = a.id
    WHERE r.parent_code IS NULL
    GROUP BY p.currency, r.code, r.normal_side
    ORDER BY p.currency, r.code`,
    closure,
  );
  const byCurrency = new Map<string, string[]>();
  for (const r of roots)
    byCurrency.set(r.currency, [...(byCurrency.get(r.currency) ?? []), `${r.code} ${r.balance}`]);
  const summary = [...byCurrency].map(([currency, parts]) => `${currency}: ${parts.join(', ')}`).join('; ');
  return {
    name: 'subjects_balanced',
    ok: total === 0,
    detail:
      total === 0
        ? `every subject: Σ postings = Σ account balances rolled up, parent = Σ children${summary ? ` (${summary})` : ''}`
        : `${total} subject totals disagree${shown(total)}`,
    differences: strip(rows),
  };
}

// -----------------------------------------------------------------------------------------------
// (f) Accounts hang only off leaf subjects, and off the subject their template names.

async function accountsOnLeafSubjects(db: Db): Promise<LedgerCheck> {
  const rows = await db.query<
    (Counted & { code: string; subject_code: string; template_subject: string | null; problem: string })[]
  >(`
    WITH broken AS (
      SELECT a.id, a.code, a.subject_code, t.subject_code AS template_subject,
             CASE WHEN EXISTS (SELECT 1 FROM ledger.subject s WHERE s.parent_code = a.subject_code)
                  THEN 'subject has children' ELSE 'subject differs from its template''s' END AS problem
      FROM ledger.account a LEFT JOIN ledger.account_template t ON t.code = a.template_code
      WHERE EXISTS (SELECT 1 FROM ledger.subject s WHERE s.parent_code = a.subject_code)
         OR t.subject_code IS DISTINCT FROM a.subject_code)
    SELECT code, subject_code, template_subject, problem, count(*) OVER ()::text AS total
    FROM broken ORDER BY id ${LIMIT}`);
  const total = totalOf(rows);
  return {
    name: 'accounts_on_leaf_subjects',
    ok: total === 0,
    detail:
      total === 0
        ? 'every account hangs off a leaf subject, the one its template names'
        : `${total} accounts off a non-leaf subject or off their template's subject${shown(total)}`,
    differences: strip(rows),
  };
}

// -----------------------------------------------------------------------------------------------
// (g) Accounts with a NON_NEGATIVE floor: normal-side balance − held ≥ 0.

async function floorsHold(db: Db): Promise<LedgerCheck> {
  const rows = await db.query<
    (Counted & { code: string; balance: string; held: string; available: string })[]
  >(`
    WITH ${PROJECTION_CTE},
    floored AS (
      SELECT a.account_id, a.code, a.held_total,
             CASE s.normal_side WHEN 'DEBIT' THEN a.debit_total - a.credit_total
                                ELSE a.credit_total - a.debit_total END AS balance
      FROM projection a
      JOIN ledger.account_template t ON t.code = a.template_code
      JOIN ledger.subject s ON s.code = a.subject_code
      WHERE t.balance_floor = 'NON_NEGATIVE')
    SELECT code, balance::text, held_total::text AS held, (balance - held_total)::text AS available,
           count(*) OVER ()::text AS total
    FROM floored WHERE balance - held_total < 0 ORDER BY account_id ${LIMIT}`);
  const total = totalOf(rows);
  const floored = await count(
    db,
    `SELECT count(*)::text AS n FROM ledger.account a
     JOIN ledger.account_template t ON t.code = a.template_code WHERE t.balance_floor = 'NON_NEGATIVE'`,
  );
  return {
    name: 'floors_hold',
    ok: total === 0,
    detail:
      total === 0
        ? `${floored} NON_NEGATIVE accounts, none with available (balance − held) below zero`
        : `${total} of ${floored} NON_NEGATIVE accounts below zero available${shown(total)}`,
    differences: strip(rows),
  };
}

// -----------------------------------------------------------------------------------------------
// (h) Every reversal: exactly the original's postings with the sides swapped; never of a reversal.

async function reversalsMirror(db: Db): Promise<LedgerCheck> {
  const rows = await db.query<
    (Counted & {
      reversal_id: string;
      original_id: string;
      problem: string;
      account_id: string | null;
      side: string | null;
      amount: string | null;
      currency: string | null;
      in_original: string;
      in_reversal: string;
    })[]
  >(`
    WITH pairs AS (
      SELECT r.id AS reversal_id, r.reverses_entry_id AS original_id
      FROM ledger.journal_entry r WHERE r.reverses_entry_id IS NOT NULL),
    expected AS (
      SELECT pr.reversal_id, pr.original_id, p.account_id,
             CASE p.side WHEN 'D' THEN 'C' ELSE 'D' END AS side, p.amount, p.currency, count(*) AS n
      FROM pairs pr JOIN ledger.posting p ON p.entry_id = pr.original_id
      GROUP BY 1, 2, 3, 4, 5, 6),
    actual AS (
      SELECT pr.reversal_id, pr.original_id, p.account_id, p.side::text AS side, p.amount, p.currency, count(*) AS n
      FROM pairs pr JOIN ledger.posting p ON p.entry_id = pr.reversal_id
      GROUP BY 1, 2, 3, 4, 5, 6),
    broken AS (
      SELECT coalesce(e.reversal_id, a.reversal_id) AS reversal_id,
             coalesce(e.original_id, a.original_id) AS original_id,
             'posting not mirrored' AS problem,
             coalesce(e.account_id, a.account_id) AS account_id, coalesce(e.side, a.side) AS side,
             coalesce(e.amount, a.amount) AS amount, coalesce(e.currency, a.currency) AS currency,
             coalesce(e.n, 0) AS in_original, coalesce(a.n, 0) AS in_reversal
      FROM expected e FULL JOIN actual a
        ON a.reversal_id = e.reversal_id AND a.account_id = e.account_id AND a.side = e.side
       AND a.amount = e.amount AND a.currency = e.currency
      WHERE e.n IS DISTINCT FROM a.n
      UNION ALL
      SELECT pr.reversal_id, pr.original_id, 'reverses a reversal', NULL, NULL, NULL, NULL, 0, 0
      FROM pairs pr JOIN ledger.journal_entry o ON o.id = pr.original_id
      WHERE o.reverses_entry_id IS NOT NULL)
    SELECT reversal_id::text, original_id::text, problem, account_id::text, side, amount::text, currency,
           in_original::text, in_reversal::text, count(*) OVER ()::text AS total
    FROM broken ORDER BY broken.reversal_id, broken.account_id ${LIMIT}`);
  const total = totalOf(rows);
  const reversals = await count(
    db,
    'SELECT count(*)::text AS n FROM ledger.journal_entry WHERE reverses_entry_id IS NOT NULL',
  );
  return {
    name: 'reversals_mirror',
    ok: total === 0,
    detail:
      total === 0
        ? `${reversals} reversals, each the mirror of an original that is not itself a reversal`
        : `${total} reversal postings or links wrong among ${reversals} reversals${shown(total)}`,
    differences: strip(rows),
  };
}

// -----------------------------------------------------------------------------------------------
// (i) Every posting names an entry and an account that exist, and every pending balance delta an
// account. Neither table carries foreign keys (ADR 006: the per-row check cost more than the
// row's indexes), so this is where a dangling reference would show.

async function postingsReferenced(db: Db): Promise<LedgerCheck> {
  const rows = await db.query<
    (Counted & { posting_id: string; entry_id: string; account_id: string; problem: string })[]
  >(`
    WITH broken AS (
      SELECT p.entry_id || ':' || p.line AS id, p.entry_id, p.account_id,
             CASE WHEN e.id IS NULL AND a.id IS NULL THEN 'no such entry, no such account'
                  WHEN e.id IS NULL THEN 'no such entry' ELSE 'no such account' END AS problem
      FROM ledger.posting p
      LEFT JOIN ledger.journal_entry e ON e.id = p.entry_id
      LEFT JOIN ledger.account a ON a.id = p.account_id
      WHERE e.id IS NULL OR a.id IS NULL
      UNION ALL
      SELECT 'balance delta', NULL, d.account_id, 'balance delta of no such account'
      FROM ledger.balance_delta d LEFT JOIN ledger.account a ON a.id = d.account_id
      WHERE a.id IS NULL)
    SELECT id::text AS posting_id, entry_id::text, account_id::text, problem, count(*) OVER ()::text AS total
    FROM broken ORDER BY id ${LIMIT}`);
  const total = totalOf(rows);
  const postings = await count(db, 'SELECT count(*)::text AS n FROM ledger.posting');
  const deltas = await count(db, 'SELECT count(*)::text AS n FROM ledger.balance_delta');
  return {
    name: 'postings_referenced',
    ok: total === 0,
    detail:
      total === 0
        ? `${postings} postings, each of an existing entry and account, and ${deltas} balance deltas, each of an existing account`
        : `${total} of ${postings} postings and ${deltas} balance deltas name a missing entry or account${shown(total)}`,
    differences: strip(rows),
  };
}

const CHECKS: readonly ((db: Db) => Promise<LedgerCheck>)[] = [
  entriesBalanced,
  trialBalance,
  accountBalancesDerived,
  holdsDerived,
  subjectsBalanced,
  accountsOnLeafSubjects,
  floorsHold,
  reversalsMirror,
  postingsReferenced,
];
