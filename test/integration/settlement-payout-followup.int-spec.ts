/**
 * What settlement does after a payout request when the bank is not simply paying (real Postgres and
 * Kafka, the gateway simulator, settlement's clock driven by the test):
 * - a transient refusal (BANK_UNAVAILABLE) schedules a retry; `startDueRetries` sends a new attempt
 *   only once the retry delay has passed, the next attempt pays, and the record is paid once;
 * - a bank refusing every attempt ends FAILED after the policy's 3 attempts, its funds back in
 *   settleable once, and no further attempt is started;
 * - a payout whose answer never came is asked about again (`queryOverdue`, the same attempt id)
 *   only once SETTLEMENT_PAYOUT_QUERY_AFTER_MS has passed; unanswered queries escalate to operations;
 *   when the gateway answers, the record is paid once and the bank paid once.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { accountBalance, Ledger, runLedgerChecks, trialBalance } from '@app/ledger';
import { OutboxRelay, type EventConsumer } from '@app/messaging';
import type { DataSource } from 'typeorm';
import { createPayoutResultConsumer, PayoutService } from '../../apps/settlement/src/index.js';
import { PayoutGatewaySimulator } from '../../apps/payout-gateway-simulator/src/index.js';
import { migrateAll, openDataSource, testKafka, useIsolatedDatabase, waitFor } from '../support/infra.js';
import { seedApprovedRecords } from '../support/settlement-payouts.js';

const FLAKY = '6260000000000001';
const DOWN = '6270000000000001';
const SILENT = '6280000000000001';
const RETRY_DELAY_MS = 60_000;
const QUERY_AFTER_MS = 300_000;

describe('payout follow-up: transient refusals retried, silent payouts queried (real Kafka + Postgres)', () => {
  const kafka = testKafka();
  const basePrefix = process.env.KAFKA_TOPIC_PREFIX ?? '';
  const prefix = `${basePrefix}settlement_payout_followup_${Date.now()}.`;
  const ledger = new Ledger();
  let db: DataSource;
  let gw: DataSource;
  let relay: OutboxRelay;
  let simulator: PayoutGatewaySimulator;
  let results: EventConsumer<unknown>;
  let payouts: PayoutService;
  let ids = new Map<string, string>();
  const id = (merchant: string) => ids.get(merchant)!;
  // Settlement's clock: real time plus what the test lets pass.
  let skewMs = 0;
  const now = () => new Date(Date.now() + skewMs);
  const pass = (ms: number) => {
    skewMs += ms;
  };

  const recordStatus = async (merchant: string) =>
    (
      await db.query<{ status: string }[]>('SELECT status FROM settlement.settlement_record WHERE id = $1', [
        id(merchant),
      ])
    )[0]!.status;
  const payout = async (merchant: string) =>
    (
      await db.query<{ status: string; attempts: number; retry_due_at: Date | null; updated_at: Date }[]>(
        `SELECT status, jsonb_array_length(state->'attempts') AS attempts, retry_due_at, updated_at
         FROM settlement.payout WHERE record_id = $1`,
        [id(merchant)],
      )
    )[0]!;
  const balance = async (code: string) => (await accountBalance(db, code)).posted;
  const bankPayments = (merchant: string) =>
    gw.query<{ attempt_id: string; paid: boolean; failure_code: string | null; requests: number }[]>(
      `SELECT attempt_id, paid, failure_code, requests FROM payout_gateway.payment
       WHERE record_id = $1 ORDER BY attempt_id`,
      [id(merchant)],
    );

  beforeAll(async () => {
    await useIsolatedDatabase('settlement_payout_followup');
    await migrateAll();
    db = await openDataSource('settlement');
    gw = await openDataSource('payout_gateway');
    await gw.query(
      `INSERT INTO payout_gateway.account_rule (account_prefix, mode)
       VALUES ('626', 'BANK_UNAVAILABLE_ONCE'), ('627', 'BANK_UNAVAILABLE'), ('628', 'NO_ANSWER_THEN_PAID')`,
    );
    ids = await seedApprovedRecords(db, ledger, [
      { merchantId: 'M_FLAKY', net: '120.00', account: { no: FLAKY, type: 'CORPORATE' } },
      { merchantId: 'M_DOWN', net: '75.30', account: { no: DOWN, type: 'CORPORATE' } },
      { merchantId: 'M_SILENT', net: '310.08', account: { no: SILENT, type: 'PERSONAL_TYPE_I' } },
    ]);
    const clock = { now, retryDelayMs: RETRY_DELAY_MS, queryAfterMs: QUERY_AFTER_MS };
    payouts = new PayoutService(db, ledger, { ...clock, topicPrefix: prefix, escalateAfterQueries: 2 });
    simulator = new PayoutGatewaySimulator(kafka, gw, { topicPrefix: prefix });
    await simulator.start();
    results = createPayoutResultConsumer(kafka, db, ledger, { topicPrefix: prefix, payouts: clock });
    await results.start();
    relay = new OutboxRelay(kafka, db, { schema: 'settlement', idlePollMs: 50 });
    await relay.start();
  }, 120_000);

  afterAll(async () => {
    await relay?.stop();
    await results?.stop();
    await simulator?.stop();
    await gw?.destroy();
    await db?.destroy();
  });

  it('retries a transient refusal with a new attempt only once the delay has passed, and pays once', async () => {
    const outcomes = await payouts.requestPayouts();
    expect(outcomes.map((o) => o.outcome)).toEqual(['REQUESTED', 'REQUESTED', 'REQUESTED']);
    await waitFor(
      'transient refusals',
      async () => [(await payout('M_FLAKY')).status, (await payout('M_DOWN')).status],
      (s) => s.join() === 'RETRY_SCHEDULED,RETRY_SCHEDULED',
      60_000,
    );
    const flaky = await payout('M_FLAKY');
    const delay = flaky.retry_due_at!.getTime() - flaky.updated_at.getTime();
    expect(delay).toBeGreaterThanOrEqual(RETRY_DELAY_MS - 5);
    expect(delay).toBeLessThanOrEqual(RETRY_DELAY_MS + 5);
    // Not due yet: nothing is sent, the money stays in transit.
    expect(await payouts.startDueRetries()).toEqual([]);
    expect(await recordStatus('M_FLAKY')).toBe('PAYOUT_REQUESTED');
    expect(await balance('2204:M_FLAKY')).toBe('120.00');

    pass(RETRY_DELAY_MS + 1_000);
    expect((await payouts.startDueRetries()).sort()).toEqual(
      [`${id('M_FLAKY')}-2`, `${id('M_DOWN')}-2`].sort(),
    );
    // A second pass right after finds nothing: each retry is started once.
    expect(await payouts.startDueRetries()).toEqual([]);
    await waitFor(
      'the second attempt paid',
      () => recordStatus('M_FLAKY'),
      (s) => s === 'PAID',
      60_000,
    );
    expect(await balance('2204:M_FLAKY')).toBe('0.00');
    expect(await balance(`1002:${FLAKY}`)).toBe('-120.00');
    expect(await bankPayments('M_FLAKY')).toEqual([
      { attempt_id: `${id('M_FLAKY')}-1`, paid: false, failure_code: 'BANK_UNAVAILABLE', requests: 1 },
      { attempt_id: `${id('M_FLAKY')}-2`, paid: true, failure_code: null, requests: 1 },
    ]);
  }, 120_000);

  it('fails for good after the policy’s last attempt and returns the funds to settleable once', async () => {
    await waitFor(
      'second refusal',
      () => payout('M_DOWN'),
      (p) => p.status === 'RETRY_SCHEDULED' && p.attempts === 2,
      60_000,
    );
    pass(RETRY_DELAY_MS + 1_000);
    expect(await payouts.startDueRetries()).toEqual([`${id('M_DOWN')}-3`]);
    await waitFor(
      'last refusal',
      () => recordStatus('M_DOWN'),
      (s) => s === 'PAYOUT_FAILED',
      60_000,
    );
    expect(await payout('M_DOWN')).toMatchObject({ status: 'FAILED', attempts: 3, retry_due_at: null });
    pass(RETRY_DELAY_MS + 1_000);
    expect(await payouts.startDueRetries()).toEqual([]);
    expect(await balance('2204:M_DOWN')).toBe('0.00');
    expect(await balance('2203:M_DOWN')).toBe('75.30');
    expect((await bankPayments('M_DOWN')).map((p) => [p.paid, p.failure_code])).toEqual([
      [false, 'BANK_UNAVAILABLE'],
      [false, 'BANK_UNAVAILABLE'],
      [false, 'BANK_UNAVAILABLE'],
    ]);
  }, 120_000);

  it('asks again about a payout whose answer never came, escalates while it stays silent, and is paid once', async () => {
    await waitFor(
      'the bank paid without answering',
      () => bankPayments('M_SILENT'),
      (p) => p.length === 1 && p[0]!.paid,
      60_000,
    );
    expect(await payout('M_SILENT')).toMatchObject({ status: 'IN_FLIGHT', attempts: 1 });
    // The clock has moved 3 × 61 s since the request: not overdue yet.
    expect(await payouts.queryOverdue()).toEqual([]);

    // The gateway goes quiet: the queries wait in Kafka.
    await simulator.stop();
    pass(QUERY_AFTER_MS);
    expect(await payouts.queryOverdue()).toEqual([
      { recordId: id('M_SILENT'), attemptId: `${id('M_SILENT')}-1`, queryNo: 1, escalated: false },
    ]);
    expect(await payouts.queryOverdue()).toEqual([]);
    pass(QUERY_AFTER_MS + 1_000);
    expect(await payouts.queryOverdue()).toEqual([
      { recordId: id('M_SILENT'), attemptId: `${id('M_SILENT')}-1`, queryNo: 2, escalated: true },
    ]);
    const escalations = await db.query<{ note: string }[]>(
      `SELECT detail->>'note' AS note FROM settlement.record_audit WHERE record_id = $1 AND action = 'PAYOUT_ESCALATED'`,
      [id('M_SILENT')],
    );
    expect(escalations).toEqual([
      {
        note: `no definitive answer for attempt 1 (${id('M_SILENT')}-1) after 2 queries: ask the bank whether it paid; nothing is paid again meanwhile`,
      },
    ]);
    expect(await recordStatus('M_SILENT')).toBe('PAYOUT_REQUESTED');

    // The gateway is back: both queries are answered PAID; the record is paid once.
    simulator = new PayoutGatewaySimulator(kafka, gw, { topicPrefix: prefix });
    await simulator.start();
    await waitFor(
      'the answer',
      () => recordStatus('M_SILENT'),
      (s) => s === 'PAID',
      60_000,
    );
    await waitFor(
      'both queries answered',
      () => bankPayments('M_SILENT'),
      (p) => p[0]!.requests === 3,
      60_000,
    );
    expect(await bankPayments('M_SILENT')).toEqual([
      { attempt_id: `${id('M_SILENT')}-1`, paid: true, failure_code: null, requests: 3 },
    ]);
    expect(await balance('2204:M_SILENT')).toBe('0.00');
    expect(await balance(`1002:${SILENT}`)).toBe('-310.08');
    pass(QUERY_AFTER_MS + 1_000);
    expect(await payouts.queryOverdue()).toEqual([]);

    const entries = await db.query<{ key: string; n: number }[]>(
      `SELECT idempotency_key AS key, count(*)::int AS n FROM ledger.journal_entry
       WHERE idempotency_key LIKE 'payout-%' GROUP BY 1 ORDER BY 1`,
    );
    expect(entries).toEqual(
      [
        { key: `payout-paid:${id('M_FLAKY')}`, n: 1 },
        { key: `payout-paid:${id('M_SILENT')}`, n: 1 },
        { key: `payout-returned:${id('M_DOWN')}`, n: 1 },
      ].sort((a, b) => a.key.localeCompare(b.key)),
    );
    expect((await trialBalance(db)).balanced).toBe(true);
    const report = await db.transaction('REPEATABLE READ', (tx) => runLedgerChecks(tx));
    expect(report.ok).toBe(true);
  }, 180_000);
});
