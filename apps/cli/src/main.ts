import 'reflect-metadata';
import { Command, Option } from 'commander';
import { clearingCheckCommand, clearingSummaryCommand } from './commands/clearing.command.js';
import { migrateCommand, rolesCommand } from './commands/db.command.js';
import { feesQuoteCommand, feesRulesCommand } from './commands/fees.command.js';
import {
  ledgerBalanceCommand,
  ledgerCompactCommand,
  ledgerStatementCommand,
  ledgerTrialBalanceCommand,
} from './commands/ledger.command.js';
import { publishCommand } from './commands/publish.command.js';
import { reconReportCommand, reconRunCommand } from './commands/recon.command.js';
import {
  settlementPayoutsCommand,
  settlementRetryPayoutCommand,
} from './commands/settlement-payouts.command.js';
import {
  settlementCloseCommand,
  settlementDecideCommand,
  settlementListCommand,
  settlementStatementCommand,
  settlementSummaryCommand,
} from './commands/settlement.command.js';
import { statementImportCommand } from './commands/statement.command.js';
import { transactionSummaryCommand } from './commands/transactions.command.js';
import { dlqListCommand, dlqReplayCommand } from './commands/dlq.command.js';
import {
  messagingPruneCommand,
  messagingStatusCommand,
  messagingUnparkCommand,
} from './commands/messaging.command.js';
import { UsageError } from './output.js';

const program = new Command('cse')
  .description('Clearing & settlement engine operator CLI (npm run cli -- <command>)')
  .showHelpAfterError();

const json = () => new Option('--json', 'print one machine-readable JSON document on stdout');

program
  .command('publish')
  .description(
    'publish a JSON-lines file of payments.transaction.v1 events (validated first, keyed by merchantId)',
  )
  .requiredOption('--file <path>', 'JSON-lines file, one event per line')
  .option('--topic <name>', 'contract topic to publish to (default payments.transaction.v1)')
  .option('--raw', 'publish lines as they are, without validation (tests of the DLQ path)')
  .addOption(json())
  .action(async (options: { file: string; topic?: string; raw?: boolean; json?: boolean }) => {
    await publishCommand(options);
  });

const db = program.command('db').description('database administration');
db.command('migrate')
  .description('create the database schemas and apply every pending migration')
  .addOption(json())
  .action(async (options: { json?: boolean }) => {
    await migrateCommand(options);
  });
db.command('roles')
  .description(
    "create or update one least-privilege login role per service (its own schema, append-only ledger); run after 'db migrate'",
  )
  .option('--prefix <P>', 'role name prefix', 'cse_')
  .addOption(json())
  .action(async (options: { prefix: string; json?: boolean }) => {
    await rolesCommand(options);
  });

const transactions = program
  .command('transactions')
  .description('internal transactions (我方交易) stored by reconciliation');
transactions
  .command('summary')
  .description('count and amount per business date, channel and type')
  .option('--date <yyyy-mm-dd>', 'one business date')
  .addOption(json())
  .action(async (options: { date?: string; json?: boolean }) => {
    if (options.date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(options.date)) {
      throw new UsageError(`--date must be YYYY-MM-DD, got "${options.date}"`);
    }
    await transactionSummaryCommand(options);
  });

const statement = program.command('statement').description('channel statements (渠道对账单)');
statement
  .command('import')
  .description(
    'import one statement file, all or nothing: control totals verified, the same content refused twice',
  )
  .requiredOption('--channel <C>', 'the channel, e.g. WECHAT, ALIPAY')
  .requiredOption('--format <format>', 'generic | wechat-all | alipay')
  .requiredOption('--file <path>', 'the statement file')
  .option('--date <yyyy-mm-dd>', "business date (default: the lines' trade date, when they share one)")
  .option(
    '--match',
    "also run the day's match in the same pass (one write per line); prints the count per class",
  )
  .addOption(json())
  .action(
    async (options: {
      channel: string;
      format: string;
      file: string;
      date?: string;
      match?: boolean;
      json?: boolean;
    }) => {
      if (options.date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(options.date)) {
        throw new UsageError(`--date must be YYYY-MM-DD, got "${options.date}"`);
      }
      await statementImportCommand(options);
    },
  );

const recon = program
  .command('recon')
  .description('reconciliation (对账): match runs and the discrepancy report');
recon
  .command('run')
  .description(
    "classify every item of a channel's business date against its latest statement; matched items go to clearing once",
  )
  .requiredOption('--channel <C>', 'the channel, e.g. WECHAT')
  .requiredOption('--date <yyyy-mm-dd>', 'the business date')
  .addOption(json())
  .action(async (options: { channel: string; date: string; json?: boolean }) => {
    await reconRunCommand(options);
  });
recon
  .command('report')
  .description('the discrepancy report (差错报表) of a business date: latest runs, summary by class, detail')
  .requiredOption('--date <yyyy-mm-dd>', 'the business date')
  .option('--channel <C>', 'one channel (default: all)')
  .option('--csv <path>', 'also write the detail as CSV (UTF-8 with BOM, safe against formula injection)')
  .addOption(json())
  .action(async (options: { channel?: string; date: string; csv?: string; json?: boolean }) => {
    await reconReportCommand(options);
  });

const ledger = program.command('ledger').description('the double-entry ledger: balances and checks');
ledger
  .command('trial-balance')
  .description('trial balance over the subject tree, then every ledger check (exit code 1 if one fails)')
  .option('--as-of <iso>', 'recompute from the postings effective at or before this instant')
  .option('--currency <code>', 'one currency only')
  .addOption(json())
  .action(async (options: { asOf?: string; currency?: string; json?: boolean }) => {
    await ledgerTrialBalanceCommand(options);
  });
ledger
  .command('balance')
  .description('one account: debit and credit totals, posted, held and available')
  .argument('<accountCode>', 'e.g. 2203:M00042, or 6001 for a platform-wide account')
  .option('--as-of <iso>', 'recompute from the postings effective at or before this instant')
  .addOption(json())
  .action(async (accountCode: string, options: { asOf?: string; json?: boolean }) => {
    await ledgerBalanceCommand(accountCode, options);
  });
ledger
  .command('statement')
  .description('one account: opening balance, postings with the running balance, closing balance')
  .argument('<accountCode>', 'e.g. 2203:M00042')
  .option('--from <iso>', 'first instant of the period (inclusive)')
  .option('--to <iso>', 'last instant of the period (inclusive)')
  .option('--limit <n>', 'lines to print (1..100000)', '1000')
  .addOption(json())
  .action(
    async (accountCode: string, options: { from?: string; to?: string; limit: string; json?: boolean }) => {
      await ledgerStatementCommand(accountCode, {
        ...options,
        limit: positiveInt('--limit', options.limit, 100_000),
      });
    },
  );
ledger
  .command('compact')
  .description("fold hot accounts' balance deltas into their balance rows")
  .option('--batch-max <n>', 'delta rows per transaction', '100000')
  .addOption(json())
  .action(async (options: { batchMax: string; json?: boolean }) => {
    await ledgerCompactCommand({
      ...options,
      batchMax: positiveInt('--batch-max', options.batchMax, 10_000_000),
    });
  });

const fees = program.command('fees').description('fee rules (手续费规则) and the fee quote (清分试算)');
fees
  .command('quote')
  .description('the clearing split a payment would get: fee, merchant net, channel cost (nothing is stored)')
  .requiredOption('--merchant <M>', 'the merchant id')
  .requiredOption('--channel <C>', 'the channel, e.g. WECHAT')
  .option('--method <X>', 'the payment method, when the rules distinguish it')
  .requiredOption('--amount <amount>', 'what the payer pays through the channel, e.g. 90.00')
  .requiredOption('--currency <code>', 'e.g. CNY')
  .option('--coupon <amount>', 'coupon on top of the amount (with --coupon-platform and --coupon-merchant)')
  .option('--coupon-platform <amount>', 'the platform-funded part of the coupon')
  .option('--coupon-merchant <amount>', 'the merchant-funded part of the coupon')
  .option('--at <iso>', 'when the payment happens (default now), e.g. 2026-11-22T21:49:20+08:00')
  .addOption(json())
  .action(
    async (options: {
      merchant: string;
      channel: string;
      method?: string;
      amount: string;
      currency: string;
      coupon?: string;
      couponPlatform?: string;
      couponMerchant?: string;
      at?: string;
      json?: boolean;
    }) => {
      await feesQuoteCommand(options);
    },
  );
fees
  .command('rules')
  .description('every version of the fee rules, past and future, with its effective range')
  .option('--merchant <M>', "one merchant's own rules")
  .addOption(json())
  .action(async (options: { merchant?: string; json?: boolean }) => {
    await feesRulesCommand(options);
  });

const clearing = program
  .command('clearing')
  .description('clearing (清分): cleared items and internal reconciliation');
clearing
  .command('check')
  .description(
    'internal reconciliation (内部对账) of a business date: cleared items against their journal entries; exit code 1 on any difference',
  )
  .requiredOption('--date <yyyy-mm-dd>', 'the business date')
  .addOption(json())
  .action(async (options: { date: string; json?: boolean }) => {
    await clearingCheckCommand({ ...options, date: businessDate(options.date) });
  });
clearing
  .command('summary')
  .description(
    'the cleared items of a business date per merchant: items, gross, fees, channel cost, coupons, net',
  )
  .requiredOption('--date <yyyy-mm-dd>', 'the business date')
  .addOption(json())
  .action(async (options: { date: string; json?: boolean }) => {
    await clearingSummaryCommand({ ...options, date: businessDate(options.date) });
  });

const settlement = program
  .command('settlement')
  .description('settlement (结算): cycle close into settlement records');
settlement
  .command('close')
  .description(
    'close every cycle that closes on a date into settlement records (PENDING_APPROVAL) with their ledger entries; a second run creates nothing',
  )
  .requiredOption('--date <yyyy-mm-dd>', 'the close date (a business day)')
  .addOption(json())
  .action(async (options: { date: string; json?: boolean }) => {
    await settlementCloseCommand({ ...options, date: businessDate(options.date) });
  });
settlement
  .command('list')
  .description('settlement records, by close date, merchant and status')
  .option('--date <yyyy-mm-dd>', 'records that closed on this date')
  .option('--merchant <M>', "one merchant's records")
  .option('--status <S>', 'e.g. PENDING_APPROVAL')
  .addOption(json())
  .action(async (options: { date?: string; merchant?: string; status?: string; json?: boolean }) => {
    await settlementListCommand({
      ...options,
      ...(options.date === undefined ? {} : { date: businessDate(options.date) }),
    });
  });

settlement
  .command('approve <id>')
  .description('approve a settlement record (maker-checker: not by its submitter or an adjuster)')
  .requiredOption('--as <user>', 'the approver (principal id)')
  .option('--key <K>', 'Idempotency-Key: repeat it to retry safely (default: a new one)')
  .addOption(json())
  .action(async (id: string, options: { as: string; key?: string; json?: boolean }) => {
    await settlementDecideCommand({ ...options, id, action: 'approve' });
  });
settlement
  .command('reject <id>')
  .description('reject a settlement record with a reason; its amount goes back to settleable')
  .requiredOption('--as <user>', 'who rejects (principal id)')
  .requiredOption('--reason <R>', 'why (1 to 500 characters)')
  .option('--key <K>', 'Idempotency-Key: repeat it to retry safely (default: a new one)')
  .addOption(json())
  .action(async (id: string, options: { as: string; reason: string; key?: string; json?: boolean }) => {
    await settlementDecideCommand({ ...options, id, action: 'reject' });
  });
settlement
  .command('statement <id>')
  .description(
    "a settlement record's merchant statement (商户结算对账单) as CSV: every item, then totals equal to the record",
  )
  .option('--out <file>', 'write to this file instead of stdout')
  .action(async (id: string, options: { out?: string }) => {
    await settlementStatementCommand({ ...options, id });
  });
settlement
  .command('summary')
  .description(
    'the daily settlement summary (结算日报) of a close date: records by status and currency, their payouts',
  )
  .requiredOption('--date <yyyy-mm-dd>', 'the close date')
  .addOption(json())
  .action(async (options: { date: string; json?: boolean }) => {
    await settlementSummaryCommand({ ...options, date: businessDate(options.date) });
  });
settlement
  .command('payouts')
  .description(
    "one pass of the service's payout loop: approved records' payouts (代付) requested or refused, due retries started, overdue answers queried",
  )
  .addOption(json())
  .action(async (options: { json?: boolean }) => {
    await settlementPayoutsCommand(options);
  });
settlement
  .command('retry-payout <id>')
  .description(
    'a new payout (重新发起代付) of a PAYOUT_FAILED record, e.g. after its account was fixed: funds 2203 → 2204 again',
  )
  .requiredOption('--as <user>', 'who asks (principal id); audited')
  .requiredOption('--reason <R>', 'why (1 to 500 characters)')
  .option('--key <K>', 'Idempotency-Key: repeat it to retry safely (default: a new one)')
  .addOption(json())
  .action(async (id: string, options: { as: string; reason: string; key?: string; json?: boolean }) => {
    await settlementRetryPayoutCommand({ ...options, id });
  });

const dlq = program
  .command('dlq')
  .description('dead letters (死信): list them, replay one onto its source topic once its cause is fixed');
dlq
  .command('list')
  .description("a service's dead letters still to handle (--all: replayed ones too), oldest first")
  .requiredOption('--service <S>', 'reconciliation, clearing, settlement or payout_gateway')
  .option('--topic <T>', 'only those from this source topic')
  .option('--kind <K>', 'INVALID, REJECTED, HANDLER_FAILED or CONFLICTING_DUPLICATE')
  .option('--all', 'include dead letters already replayed')
  .addOption(json())
  .action(
    async (options: { service: string; topic?: string; kind?: string; all?: boolean; json?: boolean }) => {
      await dlqListCommand(options);
    },
  );
dlq
  .command('replay <id>')
  .description(
    'put a dead letter back onto its source topic (same key, value, headers; the inbox claim of a rejected one released); once per dead letter, audited',
  )
  .requiredOption('--service <S>', 'the service whose outbox holds it')
  .requiredOption('--as <user>', 'who asks (principal id); audited')
  .requiredOption('--reason <R>', 'why it can be applied now (1 to 500 characters)')
  .addOption(json())
  .action(async (id: string, options: { service: string; as: string; reason: string; json?: boolean }) => {
    await dlqReplayCommand({ ...options, id });
  });

const messaging = program.command('messaging').description('inbox and outbox: housekeeping and status');
messaging
  .command('status')
  .description(
    "what each service's outbox still owes the broker: rows waiting, the oldest one's age, parked rows with the broker's reason, readiness",
  )
  .option('--service <S>', 'one service schema (default: every service)')
  .addOption(json())
  .action(async (options: { service?: string; json?: boolean }) => {
    await messagingStatusCommand(options);
  });
messaging
  .command('unpark <id>')
  .description(
    'put a parked outbox row back in the queue once its cause is dealt with (e.g. the topic accepts larger messages); audited',
  )
  .requiredOption('--service <S>', 'the service whose outbox holds it')
  .requiredOption('--as <user>', 'who asks (principal id); audited')
  .requiredOption('--reason <R>', 'why it can be sent now (1 to 500 characters)')
  .addOption(json())
  .action(async (id: string, options: { service: string; as: string; reason: string; json?: boolean }) => {
    await messagingUnparkCommand({ ...options, id });
  });
messaging
  .command('prune')
  .description(
    'delete published outbox rows and inbox rows past their retention (unpublished rows and dead letters are kept); run daily',
  )
  .option('--service <S>', 'one service schema (default: every service)')
  .option('--outbox-days <N>', 'keep published outbox rows this many days', '7')
  .option(
    '--inbox-days <N>',
    'keep inbox rows this many days (at least 8: longer than the topics keep messages)',
    '35',
  )
  .addOption(json())
  .action(async (options: { service?: string; outboxDays?: string; inboxDays?: string; json?: boolean }) => {
    await messagingPruneCommand(options);
  });

function businessDate(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) throw new UsageError(`--date must be YYYY-MM-DD, got "${value}"`);
  return value;
}

function positiveInt(name: string, value: string, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > max)
    throw new UsageError(`${name} must be an integer in 1..${max}, got "${value}"`);
  return n;
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`error: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`error: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
}
