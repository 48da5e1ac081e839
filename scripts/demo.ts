/**
 * `npm run demo`: the main job on the sample day, from a fresh clone.
 *
 * With authentication on (issue 15): the demo makes the local development identity (an Ed25519 key
 * pair under .cache/identity/), starts every service trusting its public key (AUTH_MODE unset), and
 * mints short-lived tokens for named people — an operator `ops.zhang`, two finance approvers
 * `finance.wang` and `finance.li`, a user of merchant M00002. Every command goes through the
 * services' HTTP API with the CLI's own client, and the demo prints who did what.
 *
 * Start the infrastructure, migrate, start the reconciliation service, publish the sample
 * day's transaction events (twice, to show that a replay changes nothing), wait until the service
 * has consumed everything, show what it stored, then import the channel's statements and run
 * reconciliation for the sample day and the next (where the cross-day items are matched); then
 * start the clearing service, wait until it has cleared every matched item, and print the clearing
 * result per merchant and the internal reconciliation (内部对账) of the day; then start settlement
 * (its scheduler off: the demo drives each step) and the payout gateway simulator, give the
 * merchants payout accounts, have the operator close the T+1 cycle, show that the operator may not
 * approve what it closed, lower the dual-approval threshold so that the largest record needs two
 * finance approvers, have finance approve, let merchant M00002 read its own statement (and not
 * another merchant's), pay out through Kafka and print the final report with the ledger checks.
 * Every step is idempotent, so a second run on the same database creates nothing and reports the
 * same day.
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Logger } from '@nestjs/common';
import { TOPIC } from '@app/contracts';
import { consumerLag, createKafka, topicName } from '@app/messaging';
import { loadPlatformConfig } from '@app/platform';
import { ensureKafka } from './kafka-lib.mjs';
import { ensurePostgres } from './postgres.mjs';
import {
  migrateCommand,
  rolesCommand,
  publishCommand,
  transactionSummaryCommand,
  withSchemaDataSource,
  reconReportCommand,
  reconRunCommand,
  statementImportCommand,
  ApiCallError,
  ApiClient,
  SERVICES,
  type ServiceName,
  clearingCheckCommand,
  clearingSummaryCommand,
  table,
  ledgerTrialBalanceCommand,
  settlementCloseCommand,
  settlementDecideCommand,
  settlementListCommand,
  settlementPayoutsCommand,
} from '../apps/cli/src/index.js';
import { SAMPLES_DIR } from '../test/support/samples.js';
import { devIdentityEnv, ensureDevIdentity, mintDevToken, ROLE, type TokenRequest } from '@app/http';
import {
  RECONCILIATION_SCHEMA,
  reconciliationMigrations,
  TRANSACTION_INGEST_GROUP,
  DiscrepancyService,
} from '../apps/reconciliation/src/index.js';
import {
  ITEM_MATCHED_GROUP,
  CLEARING_SCHEMA,
  clearingMigrations,
  clearingSummary,
} from '../apps/clearing/src/index.js';
import { Money } from '@app/contracts';
import { Ledger } from '@app/ledger';
import {
  SETTLEMENT_SCHEMA,
  settlementMigrations,
  ITEM_CLEARED_GROUP,
  loadBusinessCalendar,
  cycleOf,
} from '../apps/settlement/src/index.js';
import {
  PAYOUT_GATEWAY_SCHEMA,
  payoutGatewayMigrations,
} from '../apps/payout-gateway-simulator/src/index.js';

const EVENTS_FILE = path.join(SAMPLES_DIR, 'internal-events.jsonl');
const ROLE_PREFIX = 'cse_';
const REPORT_CSV = path.resolve('.cache/demo/discrepancies-WECHAT-2026-11-22.csv');
await mkdir(path.dirname(REPORT_CSV), { recursive: true });
/**
 * The people of the demo and what their tokens allow (roles of libs/http principal.ts). The
 * operator runs the day and closes it; finance approves (two of them above the threshold); a
 * merchant user reads its own merchant's records only.
 */
const PEOPLE = {
  operator: { sub: 'ops.zhang', roles: [ROLE.importStatement, ROLE.runMatch, ROLE.closeCycle] },
  approver: { sub: 'finance.wang', roles: [ROLE.approveSettlement, ROLE.financeRead] },
  secondApprover: { sub: 'finance.li', roles: [ROLE.approveSettlement, ROLE.financeRead] },
  merchant: { sub: 'merchant.m00002', roles: [ROLE.merchant], merchantId: 'M00002' },
} satisfies Record<string, TokenRequest>;
/** The dual-approval threshold the demo sets (an administrator's change of a policy row): the largest record is above it. */
const DUAL_APPROVAL_ABOVE = '2000.00';
const ACTIVE_PAYOUT_STATUSES = ['APPROVED', 'PAYOUT_REQUESTED'];
const SAMPLE_DATES = ['2026-11-22', '2026-11-23'] as const;
const step = (text: string) => process.stdout.write(`\n== ${text}\n`);
Logger.overrideLogger(['error', 'warn']);

step('infrastructure');
const pgResult = await ensurePostgres({ quiet: false });
process.env.DATABASE_URL = pgResult.databaseUrl;
const kafkaResult = await ensureKafka({ quiet: false });
process.env.KAFKA_BROKERS = kafkaResult.brokers;
const config = loadPlatformConfig('demo');

step('identity: the local development identity provider (.cache/identity) and short-lived tokens');
// Authentication on, as in production: the services verify EdDSA tokens against this public key.
// Production tokens come from the identity provider; this key pair is for development only.
delete process.env.AUTH_MODE;
const identity = await ensureDevIdentity();
const identityEnv = devIdentityEnv(identity);
const tokens = Object.fromEntries(
  await Promise.all(
    Object.entries(PEOPLE).map(async ([who, person]) => [
      who,
      await mintDevToken(identity, { ...person, ttlSeconds: 30 * 60 }),
    ]),
  ),
) as Record<keyof typeof PEOPLE, string>;
for (const person of Object.values(PEOPLE))
  process.stdout.write(
    `token for ${person.sub}: ${person.roles.join(', ')}${'merchantId' in person ? ` (merchant ${person.merchantId})` : ''}, 30 minutes\n`,
  );
/** Each service's base URL, once it has started (CSE_*_URL, as the CLI reads them). */
const serviceUrls: Record<string, string> = {};
/** The CLI's API client for one person and one service. */
const as = (who: keyof typeof PEOPLE, service: ServiceName) =>
  ApiClient.withToken(service, tokens[who], serviceUrls);
/** Prints who does what, as the CLI command they would type. */
const who = (person: keyof typeof PEOPLE, command: string) =>
  process.stdout.write(`[${PEOPLE[person].sub}] cse ${command}\n`);

step('migrations');
await migrateCommand({});
// The services run as least-privilege roles (ADR 012): their own schema, append-only ledger.
// DEMO_SERVICE_ROLES=off keeps DATABASE_URL's user, for a server that wants passwords.
const serviceRoles = process.env.DEMO_SERVICE_ROLES !== 'off';
if (serviceRoles) {
  step('service roles');
  await rolesCommand({ prefix: ROLE_PREFIX });
}

step('reconciliation service');
const service = await startService('reconciliation');
const topic = topicName(config.kafkaTopicPrefix, TOPIC.paymentsTransactionV1);
const groupId = `${config.kafkaTopicPrefix}${TRANSACTION_INGEST_GROUP}`;
try {
  for (const round of ['first', 'replay']) {
    step(`publish the sample day's events (${round})`);
    await publishCommand({ file: EVENTS_FILE });
    await waitForLag0(groupId, topic);
  }
  step('stored internal transactions (我方交易) for 2026-11-22');
  await transactionSummaryCommand({ date: '2026-11-22' });

  step('reconciliation (对账) of WECHAT on 2026-11-22 and 2026-11-23, by the operator over HTTP');
  const operatorRecon = as('operator', 'reconciliation');
  for (const [date, file] of [
    ['2026-11-22', 'generic-2026-11-22.csv'],
    ['2026-11-23', 'generic-2026-11-23.csv'],
  ] as const) {
    who('operator', `statement import --channel WECHAT --format generic --date ${date} --file ${file}`);
    await importOnce(operatorRecon, { channel: 'WECHAT', format: 'generic', file, date });
    who('operator', `recon run --channel WECHAT --date ${date}`);
    await reconRunCommand({ channel: 'WECHAT', date }, operatorRecon);
  }
  // The Alipay export of the same day: GBK, trailer totals verified on import.
  who(
    'operator',
    'statement import --channel ALIPAY --format alipay --date 2026-11-22 --file alipay-2026-11-22.csv',
  );
  await importOnce(operatorRecon, {
    channel: 'ALIPAY',
    format: 'alipay',
    file: 'alipay-2026-11-22.csv',
    date: '2026-11-22',
  });

  step('discrepancy report (差错报表) of WECHAT 2026-11-22');
  await reconReportCommand({ channel: 'WECHAT', date: '2026-11-22', csv: REPORT_CSV });

  step('released to clearing (recon.item-matched.v1)');
  await waitForOutboxDrained();

  step('clearing service (清分)');
  const clearing = await startService('clearing');
  try {
    await waitForLag0(
      `${config.kafkaTopicPrefix}${ITEM_MATCHED_GROUP}`,
      topicName(config.kafkaTopicPrefix, TOPIC.reconItemMatchedV1),
    );
    step('cleared items of 2026-11-22 per merchant (fee 0.6%, channel cost from the statement)');
    await clearingSummaryCommand({ date: '2026-11-22' });
    step('internal reconciliation (内部对账) of 2026-11-22: cleared items against the ledger');
    const check = await clearingCheckCommand({ date: '2026-11-22' });
    if (!check.ok) throw new Error(`internal reconciliation found ${check.differenceCount} difference(s)`);

    step('settlement service (结算) and the payout gateway simulator (代付网关)');
    // The demo closes, approves and pays itself, step by step: no scheduler behind its back.
    const settlement = await startService('settlement', { SETTLEMENT_SCHEDULER: 'off' });
    const gateway = await startService('payout-gateway-simulator');
    try {
      await waitForItemsInSettlement();
      await waitForLag0(
        `${config.kafkaTopicPrefix}${ITEM_CLEARED_GROUP}`,
        topicName(config.kafkaTopicPrefix, TOPIC.clearingItemClearedV1),
      );
      await settleAndPay();
    } finally {
      await stopService(gateway);
      await stopService(settlement);
    }
  } finally {
    await stopService(clearing);
  }
} finally {
  await stopService(service);
}
process.stdout.write(
  '\nDone. The broker and database keep running; `npm run kafka:stop` stops the broker.\n',
);
process.exit(0);

async function stopService(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** The service connects as its own role, which may not migrate: the demo migrated as the owner. */
function serviceDatabaseEnv(name: string): Record<string, string> {
  if (!serviceRoles) return {};
  const url = new URL(process.env.DATABASE_URL!);
  url.username = `${ROLE_PREFIX}${name === 'payout-gateway-simulator' ? 'payout_gateway' : name}`;
  url.password = '';
  return { DATABASE_URL: url.toString(), DB_MIGRATE_ON_BOOT: 'false' };
}

/** A command the demo expects the service to refuse: prints the refusal, fails if it went through. */
async function expectRefused(attempt: Promise<unknown>, ifAccepted: string): Promise<void> {
  try {
    await attempt;
  } catch (error) {
    if (!(error instanceof ApiCallError)) throw error;
    process.stdout.write(`refused: ${error.status} ${error.body.error}: ${error.body.message}\n`);
    return;
  }
  throw new Error(`${ifAccepted}: maker-checker did not hold`);
}

async function readText(stream: AsyncIterable<unknown>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A statement imported once: a second demo finds it there (the service refuses the same content). */
async function importOnce(
  client: ApiClient,
  statement: { channel: string; format: string; file: string; date: string },
): Promise<void> {
  try {
    await statementImportCommand({ ...statement, file: path.join(SAMPLES_DIR, statement.file) }, client);
  } catch (error) {
    if (!(error instanceof ApiCallError && error.body.error === 'STATEMENT.ALREADY_IMPORTED')) throw error;
    process.stdout.write(`statement ${statement.file}: already imported (${error.body.message})\n`);
  }
}

/** A port nobody listens on now, for a service to listen on. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function startService(name: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', '@swc-node/register/esm-register', `apps/${name}/src/main.ts`],
    {
      env: {
        ...process.env,
        ...identityEnv,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: String(port),
        ...serviceDatabaseEnv(name),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  if (name in SERVICES) serviceUrls[SERVICES[name as ServiceName].env] = `http://127.0.0.1:${port}`;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not become ready within 60 s`)), 60_000);
    child.once('exit', (code) => reject(new Error(`${name} exited with code ${code} during start-up`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      if (process.env.DEMO_VERBOSE) process.stdout.write(text);
      if (text.includes('ready, HTTP on')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  process.stdout.write(`${name} service started (pid ${child.pid}, http://127.0.0.1:${port})\n`);
  return child;
}

/** The service's matched-item relay publishes what the runs released; the demo waits until it has. */
async function waitForOutboxDrained(): Promise<void> {
  await withSchemaDataSource(RECONCILIATION_SCHEMA, reconciliationMigrations, async (dataSource) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [row] = await dataSource.query<{ pending: string; published: string }[]>(
        `SELECT count(*) FILTER (WHERE published_at IS NULL)::text AS pending,
                count(*) FILTER (WHERE published_at IS NOT NULL)::text AS published
         FROM reconciliation.matched_item`,
      );
      if (row?.pending === '0') {
        process.stdout.write(
          `${row.published} matched transactions published to ${topicName(config.kafkaTopicPrefix, TOPIC.reconItemMatchedV1)} (each once)\n`,
        );
        return;
      }
      if (Date.now() > deadline)
        throw new Error(`${row?.pending} matched items still unpublished after 60 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });
}

async function waitForLag0(group: string, topicToWatch: string): Promise<void> {
  const admin = createKafka({ brokers: config.kafkaBrokers, clientId: 'cse-demo' }).admin();
  await admin.connect();
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const lag = await consumerLag(admin, group, topicToWatch);
      if (lag === 0) break;
      if (Date.now() > deadline) throw new Error(`consumer lag still ${lag} after 120 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
    process.stdout.write(`consumer group ${group}: lag 0\n`);
  } finally {
    await admin.disconnect();
  }
}

/** Clearing's relay publishes what it cleared; settlement has received it all when the counts agree. */
async function waitForItemsInSettlement(): Promise<void> {
  await withSchemaDataSource(SETTLEMENT_SCHEMA, settlementMigrations, async (dataSource) => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const [row] = await dataSource.query<{ cleared: number; received: number }[]>(
        `SELECT (SELECT count(*)::int FROM clearing.cleared_item) AS cleared,
                (SELECT count(*)::int FROM settlement.cleared_item) AS received`,
      );
      if (row && row.received >= row.cleared) {
        process.stdout.write(`${row.received} cleared items received by settlement\n`);
        return;
      }
      if (Date.now() > deadline)
        throw new Error(`settlement has ${row?.received} of ${row?.cleared} cleared items after 120 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });
}

interface RecordRow {
  id: string;
  merchant_id: string;
  amount: string;
  currency: string;
  status: string;
  type: string | null;
  refusal: { code: string; message: string } | null;
  failure: string | null;
}

/** Payout accounts, cycle close at T+1, approval, payouts, the final report. */
async function settleAndPay(): Promise<void> {
  const typeIIMerchant = await withSchemaDataSource(
    SETTLEMENT_SCHEMA,
    settlementMigrations,
    async (dataSource) => {
      step('payout accounts (结算账户) of the sample merchants');
      // The merchant with the largest net is paid into a personal type-II account (Ⅱ类户); every
      // other into a corporate account (对公账户).
      const merchants = await dataSource.query<{ merchant_id: string; net: string }[]>(
        `SELECT merchant_id, sum(net)::text AS net FROM settlement.cleared_item
         GROUP BY merchant_id ORDER BY sum(net) DESC, merchant_id`,
      );
      const typeII = merchants[0]!.merchant_id;
      for (const { merchant_id: merchant } of merchants) {
        const digits = merchant.replace(/\D/g, '').padStart(8, '0');
        const account =
          merchant === typeII
            ? {
                bank: 'CMB',
                accountNo: `62148300${digits}`,
                holder: `${merchant} 个体户`,
                type: 'PERSONAL_TYPE_II',
              }
            : { bank: 'ICBC', accountNo: `11020000${digits}`, holder: `${merchant} Ltd`, type: 'CORPORATE' };
        // Upsert: a second demo finds the terms there and leaves them as they are.
        await dataSource.query(
          `INSERT INTO settlement.merchant_terms (merchant_id, currency, cycle, minimum_payout, payout_account)
           SELECT $1, currency, cycle, minimum_payout, $2 FROM settlement.merchant_terms WHERE merchant_id = '*'
           ON CONFLICT (merchant_id) DO UPDATE SET payout_account = EXCLUDED.payout_account`,
          [merchant, JSON.stringify(account)],
        );
      }
      process.stdout.write(
        `${merchants.length} merchants: ${merchants.length - 1} corporate accounts, ` +
          `${typeII} (largest net, ${merchants[0]!.net} CNY) a personal type-II account\n`,
      );
      return { merchant: typeII, accountNo: `62148300${typeII.replace(/\D/g, '').padStart(8, '0')}` };
    },
  );
  // Settlement sees only its own payouts to the account; the 9,000.00 the account received from
  // elsewhere today is the bank's to know. The simulated bank refuses the inflow (not transient).
  await withSchemaDataSource(PAYOUT_GATEWAY_SCHEMA, payoutGatewayMigrations, (dataSource) =>
    dataSource.query(
      `INSERT INTO payout_gateway.account_rule (account_prefix, mode) VALUES ($1, 'ACCOUNT_LIMIT_EXCEEDED')
       ON CONFLICT (account_prefix) DO UPDATE SET mode = EXCLUDED.mode`,
      [typeIIMerchant.accountNo],
    ),
  );
  process.stdout.write(
    `simulated bank: ${typeIIMerchant.merchant}'s type-II account has already received 9000.00 CNY from elsewhere today: ` +
      `a payout above 1000.00 breaks its daily inflow limit of 10000.00\n`,
  );

  step('cycle close (结算日终) at T+1');
  const closeDates = await withSchemaDataSource(
    SETTLEMENT_SCHEMA,
    settlementMigrations,
    async (dataSource) => {
      const calendar = await loadBusinessCalendar(dataSource);
      const dates = await dataSource.query<{ d: string }[]>(
        `SELECT DISTINCT to_char(business_date, 'YYYY-MM-DD') AS d FROM settlement.cleared_item ORDER BY 1`,
      );
      const byClose = new Map<string, string[]>();
      for (const { d } of dates) {
        const cycle = cycleOf(d, { cycle: { kind: 'T_PLUS', days: 1 } }, calendar);
        byClose.set(cycle.closesOn, [...(byClose.get(cycle.closesOn) ?? []), `${d} (${cycle.key})`]);
      }
      for (const [closesOn, items] of byClose)
        process.stdout.write(`items of ${items.join(', ')} close on ${closesOn}\n`);
      return [...byClose.keys()];
    },
  );
  const operatorSettlement = as('operator', 'settlement');
  for (const date of closeDates) {
    who('operator', `settlement close --date ${date}`);
    await settlementCloseCommand({ date }, operatorSettlement);
  }
  const records = await settlementListCommand({});
  const pending = records.filter((r) => r.status === 'PENDING_APPROVAL');

  step('maker-checker: the operator who closed the cycle may not approve its records');
  const first = pending[0];
  if (first === undefined) process.stdout.write('no record pending approval: all decided before\n');
  else {
    who('operator', `settlement approve ${first.id}`);
    await expectRefused(
      settlementDecideCommand(
        { id: first.id, action: 'approve', idempotencyKey: `demo-operator-approve-${first.id}` },
        operatorSettlement,
      ),
      `record ${first.id} was approved by the operator`,
    );
    // Even a token that also carries the approver role: the maker of a record is who closed it.
    const both = await mintDevToken(identity, {
      sub: PEOPLE.operator.sub,
      roles: [...PEOPLE.operator.roles, ROLE.approveSettlement],
      ttlSeconds: 5 * 60,
    });
    who(
      'operator',
      `settlement approve ${first.id}   (a token with settlement.close and settlement.approve)`,
    );
    await expectRefused(
      settlementDecideCommand(
        { id: first.id, action: 'approve', idempotencyKey: `demo-self-approve-${first.id}` },
        ApiClient.withToken('settlement', both, serviceUrls),
      ),
      `record ${first.id} was approved by the principal who closed its cycle`,
    );
  }

  step(`approval (复核) by finance; above ${DUAL_APPROVAL_ABOVE} CNY two approvers`);
  // An administrator's change of policy (a row, as any settlement setting): the demo's largest
  // record is above it, so it needs finance.wang and finance.li.
  await withSchemaDataSource(SETTLEMENT_SCHEMA, settlementMigrations, (dataSource) =>
    dataSource.query(
      `UPDATE settlement.approval_policy SET dual_approval_above = $1, updated_at = now()
       WHERE currency = 'CNY' AND dual_approval_above <> $1`,
      [DUAL_APPROVAL_ABOVE],
    ),
  );
  process.stdout.write(
    `[administrator] settlement.approval_policy CNY: dual approval above ${DUAL_APPROVAL_ABOVE}\n`,
  );
  const approver = as('approver', 'settlement');
  const secondApprover = as('secondApprover', 'settlement');
  for (const record of pending) {
    // One key per record and person: a second demo replays the same answer instead of deciding again.
    who('approver', `settlement approve ${record.id}`);
    const approved = await settlementDecideCommand(
      {
        id: record.id,
        action: 'approve',
        idempotencyKey: `demo-approve-${PEOPLE.approver.sub}-${record.id}`,
      },
      approver,
    );
    if (approved.status === 'PENDING_APPROVAL') {
      who('secondApprover', `settlement approve ${record.id}`);
      await settlementDecideCommand(
        {
          id: record.id,
          action: 'approve',
          idempotencyKey: `demo-approve-${PEOPLE.secondApprover.sub}-${record.id}`,
        },
        secondApprover,
      );
    }
  }

  step('merchant M00002 reads its own statement, and only its own');
  const own = records.find((r) => r.merchantId === PEOPLE.merchant.merchantId);
  const foreign = records.find((r) => r.merchantId !== PEOPLE.merchant.merchantId);
  if (own === undefined || foreign === undefined)
    throw new Error('no settlement record of M00002, or none of another merchant');
  const merchantApi = as('merchant', 'settlement');
  const csv = await readText(await merchantApi.stream(`/settlement-records/${own.id}/statement.csv`));
  const payable = csv.split('\r\n').find((line) => line.startsWith('PAYABLE_AMOUNT'));
  process.stdout.write(
    `[${PEOPLE.merchant.sub}] GET /settlement-records/${own.id}/statement.csv (M00002's): 200, ` +
      `${csv.split('\r\n').filter((line) => line !== '').length} lines${
        payable === undefined
          ? ''
          : `, ${payable
              .split(',')
              .filter((c) => c !== '')
              .join(' ')}`
      }\n`,
  );
  try {
    await readText(await merchantApi.stream(`/settlement-records/${foreign.id}/statement.csv`));
    throw new Error(`merchant M00002 read ${foreign.merchantId}'s statement (record ${foreign.id})`);
  } catch (error) {
    if (!(error instanceof ApiCallError && error.status === 404)) throw error;
    process.stdout.write(
      `[${PEOPLE.merchant.sub}] GET /settlement-records/${foreign.id}/statement.csv (${foreign.merchantId}'s): 404, ${error.body.error}\n`,
    );
  }

  step('payouts (代付)');
  const run = await settlementPayoutsCommand({});
  if (run.requested.length + run.refused.length === 0)
    process.stdout.write('no payout left to request: all requested before\n');
  const final = await waitForPayoutsSettled();
  process.stdout.write(
    `${table(
      final.map((r) => ({
        record: r.id,
        merchant: r.merchant_id,
        amount: r.amount,
        currency: r.currency,
        account: r.type ?? '',
        status: r.status,
        reason: r.failure ?? (r.refusal ? `${r.refusal.code}: ${r.refusal.message}` : ''),
      })),
    )}\n`,
  );

  step('ledger: trial balance and checks');
  const ledger = await ledgerTrialBalanceCommand({});
  if (!ledger.ok) throw new Error('the ledger does not balance or a ledger check failed');

  step('final report of the sample day');
  const report = await finalReport(final, ledger.ok);
  process.stdout.write(`${report}\n`);
}

async function waitForPayoutsSettled(): Promise<RecordRow[]> {
  return withSchemaDataSource(SETTLEMENT_SCHEMA, settlementMigrations, async (dataSource) => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const rows = await dataSource.query<RecordRow[]>(
        `SELECT r.id::text, r.merchant_id, r.amount::text, r.currency::text AS currency, r.status,
                p.account->>'type' AS type, p.refusal,
                (SELECT concat(a.results->-1->'failure'->>'code', ': ', a.results->-1->'failure'->>'message')
                 FROM settlement.payout_attempt a
                 WHERE a.record_id = r.id AND a.status = 'FAILED' ORDER BY a.attempt_no DESC LIMIT 1) AS failure
         FROM settlement.settlement_record r LEFT JOIN settlement.payout p ON p.record_id = r.id
         ORDER BY r.id`,
      );
      const active = rows.filter((r) => ACTIVE_PAYOUT_STATUSES.includes(r.status));
      if (active.length === 0) return rows;
      if (Date.now() > deadline)
        throw new Error(`${active.length} payout(s) still without an answer after 120 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });
}

async function finalReport(records: RecordRow[], ledgerOk: boolean): Promise<string> {
  const recon = await withSchemaDataSource(
    RECONCILIATION_SCHEMA,
    reconciliationMigrations,
    async (dataSource) => {
      const service = new DiscrepancyService(dataSource, new Ledger());
      const lines: string[] = [];
      for (const date of SAMPLE_DATES) {
        const report = await service.report({ businessDate: date, channel: 'WECHAT' });
        const matched = report.runs.reduce((n, r) => n + (r.counts.MATCHED ?? 0), 0);
        lines.push(`  ${date} WECHAT: ${matched} matched, ${report.discrepancies.length} discrepancies`);
      }
      return lines;
    },
  );
  const cleared = await withSchemaDataSource(CLEARING_SCHEMA, clearingMigrations, async (dataSource) => {
    let [items, gross, fee, net] = [0, Money.zero('CNY'), Money.zero('CNY'), Money.zero('CNY')];
    for (const date of SAMPLE_DATES)
      for (const m of (await clearingSummary(dataSource, date)).merchants) {
        items += m.items;
        gross = gross.plus(Money.of(m.gross, m.currency));
        fee = fee.plus(Money.of(m.fee, m.currency));
        net = net.plus(Money.of(m.net, m.currency));
      }
    return { items, gross, fee, net };
  });
  const sum = (rows: RecordRow[]) =>
    rows.reduce((t, r) => t.plus(Money.of(r.amount, r.currency)), Money.zero('CNY'));
  const paid = records.filter((r) => r.status === 'PAID');
  const failed = records.filter((r) => r.status === 'PAYOUT_FAILED');
  const settled = sum(records);
  const others = records.filter((r) => r.status !== 'PAID' && r.status !== 'PAYOUT_FAILED');
  return [
    'reconciliation (对账):',
    ...recon,
    `clearing (清分): ${cleared.items} items, gross ${cleared.gross.toString()}, fee ${cleared.fee.toString()}, net ${cleared.net.toString()} CNY`,
    `settled (结算): ${plural(records.length, 'record')}, ${settled.toString()} CNY` +
      (settled.equals(cleared.net) ? ' (= cleared net)' : ` (cleared net ${cleared.net.toString()})`),
    `paid (代付成功): ${plural(paid.length, 'record')}, ${sum(paid).toString()} CNY`,
    `failed (代付失败): ${plural(failed.length, 'record')}, ${sum(failed).toString()} CNY` +
      failed
        .map(
          (r) =>
            `\n  record ${r.id} ${r.merchant_id} ${r.amount} (${r.type ?? 'no account'}): ${r.failure ?? r.refusal?.message ?? ''}`,
        )
        .join(''),
    ...(others.length > 0 ? [`other: ${others.map((r) => `record ${r.id} ${r.status}`).join(', ')}`] : []),
    `ledger: trial balance and checks ${ledgerOk ? 'all balanced' : 'FAILED'}`,
  ].join('\n');
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
