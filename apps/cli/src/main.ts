import 'reflect-metadata';
import { Command, Option } from 'commander';
import { clearingCheckCommand, clearingSummaryCommand } from './commands/clearing.command.js';
import { migrateCommand, rolesCommand } from './commands/db.command.js';
import { authTokenCommand } from './commands/auth.command.js';
import { feesAddCommand, feesQuoteCommand, feesRulesCommand } from './commands/fees.command.js';
import {
  ledgerBalanceCommand,
  ledgerCompactCommand,
  ledgerStatementCommand,
  ledgerTrialBalanceCommand,
} from './commands/ledger.command.js';
import { publishCommand } from './commands/publish.command.js';
import {
  discrepancyAdjustmentDecisionCommand,
  discrepancyResolveCommand,
  reconReportCommand,
  reconRunCommand,
} from './commands/recon.command.js';
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
import { SERVICES, TOKEN_ENV } from './api-client.js';
import { CliError, terminalSafe, UsageError } from './output.js';

const program = new Command('cse')
  .description('Clearing & settlement engine operator CLI (npm run cli -- <command>)')
  .showHelpAfterError();

const json = () => new Option('--json', 'print one machine-readable JSON document on stdout');

/**
 * A command that changes state goes through a service's HTTP API with a bearer token: these are
 * its options (the token names the caller; nobody says who they are on the command line).
 */
function apiCommand(command: Command, service: keyof typeof SERVICES): Command {
  return command
    .option('--token-file <path>', `a file holding the bearer token (default: $${TOKEN_ENV})`)
    .option('--idempotency-key <K>', 'repeat it to retry a lost answer safely (default: a new one)')
    .addHelpText(
      'after',
      `\nCalls the ${service} service at $${SERVICES[service].env} (default ${SERVICES[service].default}) ` +
        `with the token of $${TOKEN_ENV} or --token-file; exit code 3 when it is not accepted (401/403), ` +
        '2 when the service refuses the request (4xx), 1 when it cannot be reached.',
    );
}

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
apiCommand(statement.command('import'), 'reconciliation')
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
      tokenFile?: string;
      idempotencyKey?: string;
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
apiCommand(recon.command('run'), 'reconciliation')
  .description(
    "classify every item of a channel's business date against its latest statement; matched items go to clearing once",
  )
  .requiredOption('--channel <C>', 'the channel, e.g. WECHAT')
  .requiredOption('--date <yyyy-mm-dd>', 'the business date')
  .addOption(json())
  .action(
    async (options: {
      channel: string;
      date: string;
      json?: boolean;
      tokenFile?: string;
      idempotencyKey?: string;
    }) => {
      await reconRunCommand({ ...options, date: businessDate(options.date) });
    },
  );
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

const discrepancy = program
  .command('discrepancy')
  .description('discrepancies (差错): resolve one; confirm or reject a large adjustment');
apiCommand(discrepancy.command('resolve <id>'), 'reconciliation')
  .description(
    'resolve an open discrepancy: ADJUST (a correcting journal entry) or WRITE_OFF (closed with a reason)',
  )
  .requiredOption('--action <A>', 'ADJUST or WRITE_OFF')
  .requiredOption('--note <N>', 'why (1 to 500 characters)')
  .addOption(json())
  .action(
    async (
      id: string,
      options: { action: string; note: string; json?: boolean; tokenFile?: string; idempotencyKey?: string },
    ) => {
      await discrepancyResolveCommand({ ...options, id });
    },
  );

apiCommand(discrepancy.command('confirm-adjustment <id>'), 'reconciliation')
  .description(
    "confirm another person's adjustment above the threshold: its journal entry is posted (not by the proposer)",
  )
  .option('--note <N>', 'what you checked (1 to 500 characters)')
  .addOption(json())
  .action(
    async (
      id: string,
      options: { note?: string; json?: boolean; tokenFile?: string; idempotencyKey?: string },
    ) => {
      await discrepancyAdjustmentDecisionCommand({ ...options, id, decision: 'confirm' });
    },
  );
apiCommand(discrepancy.command('reject-adjustment <id>'), 'reconciliation')
  .description(
    "reject another person's adjustment above the threshold: nothing is posted, the discrepancy stays open",
  )
  .requiredOption('--reason <R>', 'why (1 to 500 characters)')
  .addOption(json())
  .action(
    async (
      id: string,
      options: { reason: string; json?: boolean; tokenFile?: string; idempotencyKey?: string },
    ) => {
      await discrepancyAdjustmentDecisionCommand({ ...options, id, decision: 'reject' });
    },
  );

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

apiCommand(fees.command('add'), 'clearing')
  .description(
    "add a version of a fee rule from a future instant (the scope's open-ended version ends there); recorded as yours",
  )
  .option('--merchant <M>', "the merchant's own rule (default: any merchant)")
  .option('--channel <C>', 'one channel (default: any)')
  .option('--method <X>', 'one payment method (default: any)')
  .requiredOption('--currency <code>', 'e.g. CNY')
  .requiredOption('--kind <K>', 'PERCENTAGE, FIXED, PERCENTAGE_PLUS_FIXED or TIERED')
  .option('--rate <r>', 'a fraction: 0.6% is 0.006')
  .option('--fixed <amount>', 'fixed part, e.g. 0.30')
  .option('--tiers <json>', 'TIERED: [{"upTo":"1000.00","rate":"0.006","fixed":"0.00"}, …]')
  .option('--min <amount>', 'lower bound of the fee')
  .option('--max <amount>', 'upper bound of the fee')
  .option('--rounding <mode>', 'to the minor unit (default HALF_UP)')
  .requiredOption('--refund-policy <P>', 'NONE, FULL or PRO_RATA')
  .requiredOption(
    '--from <iso>',
    'first instant it applies (not in the past), e.g. 2026-12-01T00:00:00+08:00',
  )
  .option('--to <iso>', 'first instant it no longer applies (default: open-ended)')
  .option('--note <N>', 'e.g. the contract (at most 500 characters)')
  .addOption(json())
  .action(async (options: Parameters<typeof feesAddCommand>[0]) => {
    await feesAddCommand(options);
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
apiCommand(settlement.command('close'), 'settlement')
  .description(
    'close every cycle that closes on a date into settlement records (PENDING_APPROVAL) with their ledger entries; a second run creates nothing',
  )
  .requiredOption('--date <yyyy-mm-dd>', 'the close date (a business day)')
  .addOption(json())
  .action(async (options: { date: string; json?: boolean; tokenFile?: string; idempotencyKey?: string }) => {
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

apiCommand(settlement.command('approve <id>'), 'settlement')
  .description(
    'approve a settlement record as yourself (maker-checker: not by its maker, closer or an adjuster)',
  )
  .addOption(json())
  .action(async (id: string, options: { json?: boolean; tokenFile?: string; idempotencyKey?: string }) => {
    await settlementDecideCommand({ ...options, id, action: 'approve' });
  });
apiCommand(settlement.command('reject <id>'), 'settlement')
  .description('reject a settlement record with a reason; its amount goes back to settleable')
  .requiredOption('--reason <R>', 'why (1 to 500 characters)')
  .addOption(json())
  .action(
    async (
      id: string,
      options: { reason: string; json?: boolean; tokenFile?: string; idempotencyKey?: string },
    ) => {
      await settlementDecideCommand({ ...options, id, action: 'reject' });
    },
  );
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
apiCommand(settlement.command('retry-payout <id>'), 'settlement')
  .description(
    'a new payout (重新发起代付) of a PAYOUT_FAILED record, e.g. after its account was fixed: funds 2203 → 2204 again',
  )
  .requiredOption('--reason <R>', 'why (1 to 500 characters)')
  .addOption(json())
  .action(
    async (
      id: string,
      options: { reason: string; json?: boolean; tokenFile?: string; idempotencyKey?: string },
    ) => {
      await settlementRetryPayoutCommand({ ...options, id });
    },
  );

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

program
  .command('auth')
  .description("tokens for the services' HTTP API")
  .command('token')
  .description(
    'DEVELOPMENT ONLY: mint a short-lived token signed by the local development identity (.cache/identity); ' +
      'production tokens come from the identity provider',
  )
  .requiredOption('--sub <id>', 'the principal, e.g. ops.zhang')
  .option('--role <r>', 'a role (repeat for several), e.g. settlement.approve', collect, [] as string[])
  .option('--merchant <M>', 'the merchant a merchant-role token may read (claim merchant_id)')
  .option(
    '--ttl <duration>',
    "lifetime, e.g. 15m, 1h (at most 1h, the services' default HTTP_AUTH_TOKEN_MAX_LIFETIME_S)",
    '15m',
  )
  .option('--identity-dir <dir>', 'where the key pair is', '.cache/identity')
  .option('--create-identity', 'make the key pair if there is none')
  .addOption(json())
  .action(
    async (options: {
      sub: string;
      role: string[];
      merchant?: string;
      ttl: string;
      identityDir: string;
      createIdentity?: boolean;
      json?: boolean;
    }) => {
      await authTokenCommand(options);
    },
  );

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

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

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
  if (error instanceof CliError) {
    process.stderr.write(`error: ${terminalSafe(error.message)}\n`);
    process.exit(error.exitCode);
  }
  process.stderr.write(
    `error: ${terminalSafe((error as Error).stack ?? String(error), { keepNewlines: true })}\n`,
  );
  process.exit(1);
}
