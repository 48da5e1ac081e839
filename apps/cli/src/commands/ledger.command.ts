import { MoneyError } from '@app/contracts';
import {
  accountBalance,
  accountStatement,
  compactBalanceDeltas,
  LEDGER_SCHEMA,
  LedgerError,
  ledgerMigrations,
  runLedgerChecks,
  trialBalance,
  type AccountBalance,
  type AccountStatement,
  type CompactionResult,
  type LedgerCheckReport,
  type TrialBalance,
} from '@app/ledger';
import type { DataSource } from 'typeorm';
import { emit, table, UsageError, type OutputOptions } from '../output.js';
import { withSchemaDataSource } from '../schema-data-source.js';

/** A request the operator can correct (unknown account, malformed time or currency): exit 2, one line. */
const USAGE_ERRORS = new Set(['LEDGER.UNKNOWN_ACCOUNT', 'LEDGER.INVALID_EFFECTIVE_TIME']);

async function withLedger<T>(work: (dataSource: DataSource) => Promise<T>): Promise<T> {
  try {
    return await withSchemaDataSource(LEDGER_SCHEMA, ledgerMigrations, work);
  } catch (error) {
    if ((error instanceof LedgerError && USAGE_ERRORS.has(error.code)) || error instanceof MoneyError) {
      throw new UsageError(error.message);
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------

export interface TrialBalanceCommandResult {
  trialBalance: TrialBalance;
  checks: LedgerCheckReport;
  ok: boolean;
}

/**
 * The trial balance as an indented subject tree per currency, then every ledger check. Both read
 * one REPEATABLE READ snapshot, so they describe the same book while writers carry on. Sets exit
 * code 1 when the books do not balance or a check fails.
 */
export async function ledgerTrialBalanceCommand(
  options: OutputOptions & { asOf?: string; currency?: string },
): Promise<TrialBalanceCommandResult> {
  const result = await withLedger((dataSource) =>
    dataSource.transaction('REPEATABLE READ', async (tx) => {
      await tx.query('SET TRANSACTION READ ONLY');
      const tb = await trialBalance(tx, { asOf: options.asOf, currency: options.currency });
      const checks = await runLedgerChecks(tx);
      return { trialBalance: tb, checks, ok: tb.balanced && checks.ok };
    }),
  );
  emit(options, result, () => renderTrialBalance(result));
  if (!result.ok) process.exitCode = 1;
  return result;
}

function renderTrialBalance({ trialBalance: tb, checks }: TrialBalanceCommandResult): string {
  const out: string[] = [];
  const when = tb.asOf === null ? 'now' : `as of ${tb.asOf}`;
  out.push(`Trial balance ${when} (from ${tb.source === 'projection' ? 'account balances' : 'postings'})`);
  if (tb.currencies.length === 0) out.push('', '(no accounts yet)');
  for (const currency of tb.currencies) {
    const rows = tb.rows.filter((r) => r.currency === currency);
    const total = tb.totals.find((t) => t.currency === currency)!;
    out.push(
      '',
      `[${currency}]`,
      // Names last: CJK characters are two columns wide and would skew every column after them.
      table(
        alignRight(
          rows.map((r) => ({
            subject: `${'  '.repeat(r.depth)}${r.code}`,
            side: r.normalSide === 'DEBIT' ? 'Dr' : 'Cr',
            accounts: String(r.accounts),
            debit: r.debitTotal,
            credit: r.creditTotal,
            balance: r.balance,
            name: r.name,
          })),
          ['accounts', 'debit', 'credit', 'balance'],
        ),
      ),
      `Σ debits ${total.debitTotal} ${total.balanced ? '=' : '≠'} Σ credits ${total.creditTotal} ${currency}` +
        (total.balanced ? '' : '  ← NOT BALANCED'),
    );
  }
  out.push(
    '',
    // The checks are over the whole book as it is now, whatever --as-of said.
    `Ledger checks (the whole book, now${tb.asOf === null ? '' : `; not as of ${tb.asOf}`})`,
    table(checks.checks.map((c) => ({ check: c.name, result: c.ok ? 'ok' : 'FAILED', detail: c.detail }))),
  );
  for (const c of checks.checks.filter((c) => !c.ok && c.differences.length > 0)) {
    out.push('', `${c.name}: differences`, table(c.differences.map((d) => stringify(d))));
  }
  out.push('', checks.ok && tb.balanced ? 'OK' : 'FAILED');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------

export async function ledgerBalanceCommand(
  accountCode: string,
  options: OutputOptions & { asOf?: string },
): Promise<AccountBalance> {
  const balance = await withLedger((dataSource) =>
    accountBalance(dataSource, accountCode, { asOf: options.asOf }),
  );
  emit(options, balance, () =>
    [
      `${balance.accountCode} (${balance.currency}, normal side ${balance.normalSide}) ${balance.asOf === null ? 'now' : `as of ${balance.asOf}`}`,
      table(
        alignRight(
          [
            { figure: 'debit total', amount: balance.debitTotal },
            { figure: 'credit total', amount: balance.creditTotal },
            { figure: 'posted', amount: balance.posted },
            { figure: 'held', amount: balance.held },
            { figure: 'available', amount: balance.available },
          ],
          ['amount'],
        ),
      ),
    ].join('\n'),
  );
  return balance;
}

export async function ledgerStatementCommand(
  accountCode: string,
  options: OutputOptions & { from?: string; to?: string; limit?: number },
): Promise<AccountStatement> {
  const statement = await withLedger((dataSource) =>
    accountStatement(dataSource, accountCode, { from: options.from, to: options.to, limit: options.limit }),
  );
  emit(options, statement, () =>
    [
      `${statement.accountCode} (${statement.currency}, normal side ${statement.normalSide}) ` +
        `from ${statement.from ?? 'the first posting'} to ${statement.to ?? 'now'}`,
      `opening balance ${statement.openingBalance}`,
      table(
        alignRight(
          statement.lines.map((l) => ({
            effective: l.effectiveAt,
            entry: l.entryId,
            ref: l.businessRef,
            debit: l.side === 'DEBIT' ? l.amount : '',
            credit: l.side === 'CREDIT' ? l.amount : '',
            balance: l.balance,
          })),
          ['entry', 'debit', 'credit', 'balance'],
        ),
      ),
      statement.truncated
        ? `… ${statement.lines.length} of ${statement.lineCount} lines shown (--limit)`
        : `${statement.lineCount} lines`,
      `period debits ${statement.debitTotal}, credits ${statement.creditTotal}`,
      `closing balance ${statement.closingBalance}`,
    ].join('\n'),
  );
  return statement;
}

export async function ledgerCompactCommand(
  options: OutputOptions & { batchMax?: number },
): Promise<CompactionResult & { elapsedMs: number }> {
  const started = performance.now();
  const result = await withLedger((dataSource) =>
    compactBalanceDeltas(dataSource, { batchMax: options.batchMax }),
  );
  const report = { ...result, elapsedMs: Math.round(performance.now() - started) };
  emit(
    options,
    report,
    () =>
      `folded ${report.deltasFolded.toLocaleString('en-US')} balance deltas into ` +
      `${report.accountsUpdated.toLocaleString('en-US')} balance-row updates in ${report.batches} transactions (${report.elapsedMs} ms)`,
  );
  return report;
}

// ---------------------------------------------------------------------------------------------

/** Right-aligns the named columns (amounts, counts) by padding their cells to the widest. */
function alignRight<R extends Record<string, string>>(rows: R[], columns: (keyof R)[]): R[] {
  const widths = new Map(
    columns.map((c) => [c, Math.max(String(c).length, ...rows.map((r) => r[c]!.length))]),
  );
  return rows.map((r) => {
    const out: Record<string, string> = { ...r };
    for (const [c, w] of widths) out[c as string] = r[c]!.padStart(w);
    return out as R;
  });
}

function stringify(row: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(row as Record<string, unknown>)) {
    out[k] = v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}
