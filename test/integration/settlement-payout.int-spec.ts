/**
 * Settlement payouts (代付) end to end on the real Postgres and Kafka: approved records requested
 * through the settlement outbox, answered by the payout-gateway simulator through its own outbox,
 * and applied once by the settlement.payout-result.v1 consumer — one paid (2204 → 1002), one to a
 * closed account (funds back to 2203), one whose first answer was lost (TIMEOUT) and resolved by a
 * status query to PAID without a second payment, answers re-published duplicated and reordered
 * changing nothing, and a type-II account over its daily limit refused before anything is sent.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { TOPIC } from '@app/contracts';
import { accountBalance, Ledger, runLedgerChecks, trialBalance } from '@app/ledger';
import { consumerLag, OutboxRelay, type EventConsumer } from '@app/messaging';
import type { Admin } from 'kafkajs';
import type { DataSource } from 'typeorm';
import {
  createPayoutResultConsumer,
  PAYOUT_RESULT_GROUP,
  PayoutService,
  CLOSE_SUBMITTER,
  CycleCloseService,
} from '../../apps/settlement/src/index.js';
import { PayoutGatewaySimulator } from '../../apps/payout-gateway-simulator/src/index.js';
import {
  migrateAll,
  openDataSource,
  publish,
  readTopic,
  testKafka,
  useIsolatedDatabase,
  waitFor,
} from '../support/infra.js';
import { seedApprovedRecords } from '../support/settlement-payouts.js';

const ACCOUNTS = {
  M_PAID: { no: '6222000011112222', type: 'CORPORATE' },
  M_CLOSED: { no: '6230000000000001', type: 'CORPORATE' },
  M_TIMEOUT: { no: '6240000000000001', type: 'PERSONAL_TYPE_I' },
  M_LIMIT: { no: '6250000000000001', type: 'PERSONAL_TYPE_II' },
} as const;

describe('settlement payouts through the gateway simulator (real Kafka + Postgres)', () => {
  const kafka = testKafka();
  let admin: Admin;
  const basePrefix = process.env.KAFKA_TOPIC_PREFIX ?? '';
  const prefix = `${basePrefix}settlement_payout_${Date.now()}.`;
  const resultTopic = `${prefix}${TOPIC.settlementPayoutResultV1}`;
  const requestTopic = `${prefix}${TOPIC.settlementPayoutRequestedV1}`;
  const ledger = new Ledger();
  let db: DataSource;
  let gw: DataSource;
  let relay: OutboxRelay;
  let simulator: PayoutGatewaySimulator;
  let results: EventConsumer<unknown>;
  const ids = new Map<string, string>();

  const status = async (merchant: string) =>
    (
      await db.query<{ status: string }[]>('SELECT status FROM settlement.settlement_record WHERE id = $1', [
        ids.get(merchant),
      ])
    )[0]!.status;
  const balance = async (code: string) => (await accountBalance(db, code)).posted;

  beforeAll(async () => {
    await useIsolatedDatabase('settlement_payout');
    await migrateAll();
    db = await openDataSource('settlement');
    gw = await openDataSource('payout_gateway');
    admin = kafka.admin();
    await admin.connect();
    await gw.query(
      `INSERT INTO payout_gateway.account_rule (account_prefix, mode) VALUES ('623', 'ACCOUNT_CLOSED'), ('624', 'TIMEOUT_THEN_PAID')`,
    );
    const seeded = await seedApprovedRecords(db, ledger, [
      { merchantId: 'M_PAID', net: '100.00', account: ACCOUNTS.M_PAID },
      { merchantId: 'M_CLOSED', net: '250.00', account: ACCOUNTS.M_CLOSED },
      { merchantId: 'M_TIMEOUT', net: '300.50', account: ACCOUNTS.M_TIMEOUT },
      { merchantId: 'M_LIMIT', net: '12000.00', account: ACCOUNTS.M_LIMIT },
      { merchantId: 'M_NOACC', net: '40.00', account: null },
    ]);
    for (const [merchant, recordId] of seeded) ids.set(merchant, recordId);

    simulator = new PayoutGatewaySimulator(kafka, gw, { topicPrefix: prefix });
    await simulator.start();
    results = createPayoutResultConsumer(kafka, db, ledger, {
      topicPrefix: prefix,
    });
    await results.start();
    relay = new OutboxRelay(kafka, db, { schema: 'settlement', idlePollMs: 50 });
    await relay.start();
  }, 120_000);

  afterAll(async () => {
    await relay?.stop();
    await results?.stop();
    await simulator?.stop();
    await admin?.disconnect();
    await gw?.destroy();
    await db?.destroy();
  });

  it('refuses a type-II account over its daily limit and a merchant without an account before anything is sent', async () => {
    const outcomes = await new PayoutService(db, ledger, { topicPrefix: prefix }).requestPayouts();
    const byMerchant = new Map([...ids].map(([m, id]) => [id, m]));
    expect(outcomes.map((o) => [byMerchant.get(o.recordId), o.outcome, o.code ?? null]).sort()).toEqual([
      ['M_CLOSED', 'REQUESTED', null],
      ['M_LIMIT', 'REFUSED', 'ACCOUNT_LIMIT_EXCEEDED'],
      ['M_NOACC', 'REFUSED', 'PAYOUT_ACCOUNT_MISSING'],
      ['M_PAID', 'REQUESTED', null],
      ['M_TIMEOUT', 'REQUESTED', null],
    ]);
    expect(outcomes.find((o) => o.recordId === ids.get('M_LIMIT'))!.message).toBe(
      'a payout of 12000.00 CNY to personal type-II account (Ⅱ类户) ****0001 at ICBC exceeds the daily inflow limit of 10000.00 CNY (0.00 already received today, 10000.00 left)',
    );
    expect(await status('M_LIMIT')).toBe('PAYOUT_FAILED');
    expect(await status('M_NOACC')).toBe('PAYOUT_FAILED');
    expect(await balance('2204:M_LIMIT')).toBe('0.00');
    expect(await balance('2203:M_LIMIT')).toBe('12000.00');
    expect(await balance('2203:M_NOACC')).toBe('40.00');
    const sent = await db.query<{ key: string; kind: string }[]>(
      `SELECT message_key AS key, headers->>'payout-request-kind' AS kind FROM settlement.outbox WHERE topic = $1 ORDER BY id`,
      [requestTopic],
    );
    expect(sent.map((s) => s.key).sort()).toEqual(
      [ids.get('M_CLOSED'), ids.get('M_PAID'), ids.get('M_TIMEOUT')].sort(),
    );
    // A second run finds nothing left to request.
    expect(await new PayoutService(db, ledger, { topicPrefix: prefix }).requestPayouts()).toEqual([]);
  }, 60_000);

  it("pays, returns a closed account's funds, and resolves a lost answer by a query without paying twice", async () => {
    await waitFor(
      'payout outcomes',
      async () => [await status('M_PAID'), await status('M_CLOSED'), await status('M_TIMEOUT')],
      (s) => s.join() === 'PAID,PAYOUT_FAILED,PAID',
      90_000,
    );
    expect(await balance('2204:M_PAID')).toBe('0.00');
    expect(await balance(`1002:${ACCOUNTS.M_PAID.no}`)).toBe('-100.00');
    expect(await balance('2204:M_CLOSED')).toBe('0.00');
    expect(await balance('2203:M_CLOSED')).toBe('250.00');
    expect(await balance('2204:M_TIMEOUT')).toBe('0.00');
    expect(await balance(`1002:${ACCOUNTS.M_TIMEOUT.no}`)).toBe('-300.50');

    const payments = await gw.query<
      { attempt_id: string; paid: boolean; requests: number; amount: string }[]
    >('SELECT attempt_id, paid, requests, amount::text FROM payout_gateway.payment ORDER BY attempt_id');
    expect(payments).toEqual(
      [
        { attempt_id: `${ids.get('M_PAID')}-1`, paid: true, requests: 1, amount: '100.00' },
        { attempt_id: `${ids.get('M_CLOSED')}-1`, paid: false, requests: 1, amount: '250.00' },
        { attempt_id: `${ids.get('M_TIMEOUT')}-1`, paid: true, requests: 2, amount: '300.50' },
      ].sort((a, b) => a.attempt_id.localeCompare(b.attempt_id)),
    );
    const [timeoutAttempt] = await db.query<{ queries: number; outcomes: string[] }[]>(
      `SELECT queries, array(SELECT r->>'status' || ':' || (r->>'outcome') FROM jsonb_array_elements(results) r) AS outcomes
       FROM settlement.payout_attempt WHERE attempt_id = $1`,
      [`${ids.get('M_TIMEOUT')}-1`],
    );
    expect(timeoutAttempt).toEqual({ queries: 1, outcomes: ['FAILED:APPLIED', 'PAID:APPLIED'] });
  }, 120_000);

  it('changes nothing when the answers are re-published duplicated and reordered', async () => {
    const answers = await readTopic(kafka, resultTopic, 4);
    expect(answers).toHaveLength(4);
    const reversed = [...answers].reverse();
    const fresh = reversed.map((a) => ({
      key: a.key,
      value: JSON.stringify({ ...(JSON.parse(a.value) as object), eventId: randomUUID() }),
    }));
    await publish(kafka, resultTopic, [...reversed.map((a) => ({ key: a.key, value: a.value })), ...fresh]);
    const group = `${prefix}${PAYOUT_RESULT_GROUP}`;
    await waitFor(
      'results consumed',
      () => consumerLag(admin, group, resultTopic),
      (lag) => lag === 0,
      60_000,
    );

    const entries = await db.query<{ key: string; n: number }[]>(
      `SELECT idempotency_key AS key, count(*)::int AS n FROM ledger.journal_entry
       WHERE idempotency_key LIKE 'payout-%' GROUP BY 1 ORDER BY 1`,
    );
    expect(entries).toEqual(
      [
        { key: `payout-paid:${ids.get('M_PAID')}`, n: 1 },
        { key: `payout-paid:${ids.get('M_TIMEOUT')}`, n: 1 },
        { key: `payout-returned:${ids.get('M_CLOSED')}`, n: 1 },
        { key: `payout-returned:${ids.get('M_LIMIT')}`, n: 1 },
        { key: `payout-returned:${ids.get('M_NOACC')}`, n: 1 },
      ].sort((a, b) => a.key.localeCompare(b.key)),
    );
    expect(await balance(`1002:${ACCOUNTS.M_PAID.no}`)).toBe('-100.00');
    expect(await balance(`1002:${ACCOUNTS.M_TIMEOUT.no}`)).toBe('-300.50');
    expect(await balance('2203:M_CLOSED')).toBe('250.00');
    expect([await status('M_PAID'), await status('M_CLOSED'), await status('M_TIMEOUT')]).toEqual([
      'PAID',
      'PAYOUT_FAILED',
      'PAID',
    ]);
    // The fresh-id copies reached the handler: the pure module called every one a duplicate.
    const [dups] = await db.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM settlement.payout_attempt a, jsonb_array_elements(a.results) r
       WHERE r->>'outcome' = 'DUPLICATE'`,
    );
    expect(dups!.n).toBe(4);
    const [escalations] = await db.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM settlement.record_audit WHERE action = 'PAYOUT_ESCALATED'`,
    );
    expect(escalations!.n).toBe(0);
    expect((await trialBalance(db)).balanced).toBe(true);
    const report = await db.transaction('REPEATABLE READ', (tx) => runLedgerChecks(tx));
    expect(report.ok).toBe(true);
  }, 120_000);

  it("pays funds that came back to settleable with the merchant's next record, once", async () => {
    const close = new CycleCloseService(db, ledger);
    const result = await close.close('2026-09-29', { by: CLOSE_SUBMITTER });
    expect(result.recordsCreated).toBe(3);
    const next = await db.query<
      { merchant_id: string; id: string; items_count: number; carried_in: string; amount: string }[]
    >(
      `SELECT merchant_id, id::text, items_count, carried_in::text, amount::text
       FROM settlement.settlement_record WHERE closes_on = '2026-09-29' ORDER BY merchant_id`,
    );
    expect(next.map((r) => [r.merchant_id, r.items_count, r.carried_in, r.amount])).toEqual([
      ['M_CLOSED', 0, '250.00', '250.00'],
      ['M_LIMIT', 0, '12000.00', '12000.00'],
      ['M_NOACC', 0, '40.00', '40.00'],
    ]);
    const returns = await db.query<{ record_id: string; cause: string; consumed_by: string; how: string }[]>(
      `SELECT record_id::text, cause, consumed_by_record_id::text AS consumed_by, consumed_how AS how
       FROM settlement.returned_funds ORDER BY record_id`,
    );
    const nextOf = new Map(next.map((r) => [r.merchant_id, r.id]));
    expect(returns).toEqual(
      [
        {
          record_id: ids.get('M_CLOSED')!,
          cause: 'PAYOUT_FAILED',
          consumed_by: nextOf.get('M_CLOSED')!,
          how: 'NEXT_RECORD',
        },
        {
          record_id: ids.get('M_LIMIT')!,
          cause: 'PAYOUT_REFUSED',
          consumed_by: nextOf.get('M_LIMIT')!,
          how: 'NEXT_RECORD',
        },
        {
          record_id: ids.get('M_NOACC')!,
          cause: 'PAYOUT_REFUSED',
          consumed_by: nextOf.get('M_NOACC')!,
          how: 'NEXT_RECORD',
        },
      ].sort((a, b) => a.record_id.localeCompare(b.record_id, undefined, { numeric: true })),
    );
    // The money left settleable for in transit again, with the new record.
    for (const [merchant, amount] of [
      ['M_CLOSED', '250.00'],
      ['M_LIMIT', '12000.00'],
      ['M_NOACC', '40.00'],
    ] as const) {
      expect(await balance(`2203:${merchant}`)).toBe('0.00');
      expect(await balance(`2204:${merchant}`)).toBe(amount);
    }
    const [audit] = await db.query<{ from: string[] }[]>(
      `SELECT array(SELECT jsonb_array_elements_text(detail->'returnedFundsFrom')) AS from
       FROM settlement.record_audit WHERE record_id = $1 AND action = 'CREATED'`,
      [nextOf.get('M_CLOSED')],
    );
    expect(audit!.from).toEqual([ids.get('M_CLOSED')]);
    // Closing the next day finds nothing owed: each return is paid once.
    expect((await close.close('2026-09-30', { by: CLOSE_SUBMITTER })).recordsCreated).toBe(0);
    expect((await trialBalance(db)).balanced).toBe(true);
  }, 120_000);
});
