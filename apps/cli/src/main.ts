import 'reflect-metadata';
import { Command, Option } from 'commander';
import { migrateCommand } from './commands/db.command.js';
import { publishCommand } from './commands/publish.command.js';
import { transactionSummaryCommand } from './commands/transactions.command.js';
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
