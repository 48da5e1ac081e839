/**
 * Reconciliation to clearing on the real Kafka and Postgres: both services booted (Nest), the sample
 * day published, both statements imported and matched, the 27 matched items relayed as
 * recon.item-matched.v1 and cleared exactly once each (re-published, nothing changes); then refunds
 * of cleared payments (merchant pending below zero at T-day and back), a refund matched before its
 * payment (parked, then cleared with it) and a refund merchant settleable cannot cover (dead-lettered).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import path from 'node:path';
import {
  decodeClearingItemClearedV1,
  dlqTopicOf,
  Money,
  reconItemMatchedEventId,
  TOPIC,
  type ClearingItemClearedV1,
  type ReconItemMatchedV1Input,
} from '@app/contracts';
import { accountBalance, Ledger, runLedgerChecks, trialBalance } from '@app/ledger';
import { consumerLag, DLQ_HEADER, ensureTopics, listDeadLetters, replayDeadLetter } from '@app/messaging';
import type { DataSource } from 'typeorm';
import {
  internalReconciliation,
  internalReconciliationIn,
  type InternalReconciliationReport,
  clearingSummary,
  ITEM_MATCHED_GROUP,
  ClearingModule,
} from '../../apps/clearing/src/index.js';
import {
  TRANSACTION_INGEST_GROUP,
  MatchRunService,
  ReconciliationModule,
  StatementImportService,
} from '../../apps/reconciliation/src/index.js';
import {
  openDataSource,
  publish,
  readLines,
  readTopic,
  SAMPLES_DIR,
  testKafka,
  useIsolatedDatabase,
  waitFor,
} from '../support/infra.js';
import { startServiceApp } from '../support/http-app.js';
import { staffFetch } from '../support/identity.js';

// Every call of this file as staff with every staff role (access itself: access-control.int-spec.ts).
const fetch = staffFetch();

const CNY = (value: string) => Money.of(value, 'CNY');
const sum = (values: string[]) => values.reduce((s, v) => s.plus(CNY(v)), Money.zero('CNY')).toString();

describe('clearing end to end (real Kafka + Postgres)', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  const basePrefix = process.env.KAFKA_TOPIC_PREFIX ?? '';
  const prefix = `${basePrefix}clearing_e2e_${Date.now()}.`;
  const transactionsTopic = `${prefix}${TOPIC.paymentsTransactionV1}`;
  const matchedTopic = `${prefix}${TOPIC.reconItemMatchedV1}`;
  const clearedTopic = `${prefix}${TOPIC.clearingItemClearedV1}`;
  const ingestGroup = `${prefix}${TRANSACTION_INGEST_GROUP}`;
  const clearingGroup = `${prefix}${ITEM_MATCHED_GROUP}`;
  let reconciliation: TestingModule;
  let clearing: INestApplication;
  let clearingUrl: string;
  let reconDb: DataSource;
  let clearingDb: DataSource;

  beforeAll(async () => {
    await useIsolatedDatabase('clearing_e2e');
    process.env.KAFKA_TOPIC_PREFIX = prefix;
    await admin.connect();
    await ensureTopics(
      admin,
      [transactionsTopic, matchedTopic, clearedTopic].flatMap((t) => [t, dlqTopicOf(t)]),
      3,
    );
    // No migrateAll: each service brings up its own schema and the ledger's at boot.
    reconciliation = await Test.createTestingModule({ imports: [ReconciliationModule] }).compile();
    reconciliation.enableShutdownHooks();
    await reconciliation.init();
    // Clearing with its HTTP surface, as bootstrapService starts it.
    ({ app: clearing, base: clearingUrl } = await startServiceApp(ClearingModule, ['error', 'warn']));
    reconDb = await openDataSource('reconciliation');
    clearingDb = await openDataSource('clearing');
  }, 120_000);

  afterAll(async () => {
    await clearing?.close();
    await reconciliation?.close();
    await reconDb?.destroy();
    await clearingDb?.destroy();
    await admin.disconnect();
    process.env.KAFKA_TOPIC_PREFIX = basePrefix;
  });

  const drained = (group: string, topic: string) =>
    waitFor(
      `consumer lag 0 of ${group}`,
      () => consumerLag(admin, group, topic),
      (lag) => lag === 0,
      90_000,
    );

  const clearedCount = async () => {
    const [row] = await clearingDb.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM clearing.cleared_item',
    );
    return row!.n;
  };

  const posted = async (code: string) => (await accountBalance(clearingDb, code)).posted;

  /** Everything a redelivery could change: counts of facts and every account balance. */
  const book = async () => {
    const [counts] = await clearingDb.query<Record<string, number>[]>(
      `SELECT (SELECT count(*)::int FROM clearing.cleared_item) AS items,
              (SELECT count(*)::int FROM clearing.inbox) AS inbox,
              (SELECT count(*)::int FROM clearing.outbox) AS outbox,
              (SELECT count(*)::int FROM ledger.journal_entry) AS entries,
              (SELECT count(*)::int FROM ledger.posting) AS postings`,
    );
    const balances = await clearingDb.query<{ code: string; debit: string; credit: string }[]>(
      `SELECT a.code, (b.debit_total + coalesce(sum(d.debit), 0))::text AS debit,
              (b.credit_total + coalesce(sum(d.credit), 0))::text AS credit
       FROM ledger.account a JOIN ledger.account_balance b ON b.account_id = a.id
       LEFT JOIN ledger.balance_delta d ON d.account_id = a.id
       GROUP BY a.code, b.debit_total, b.credit_total ORDER BY a.code`,
    );
    return { counts, balances };
  };

  const ledgerSound = async () => {
    const balance = await trialBalance(clearingDb);
    expect(balance.balanced).toBe(true);
    const report = await clearingDb.transaction('REPEATABLE READ', (tx) => runLedgerChecks(tx));
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  };

  it('clears the 27 matched items of the sample day exactly once, and a re-publish changes nothing', async () => {
    const lines = await readLines(path.join(SAMPLES_DIR, 'internal-events.jsonl'));
    await publish(
      kafka,
      transactionsTopic,
      lines.map((value) => ({ key: (JSON.parse(value) as { merchantId: string }).merchantId, value })),
    );
    await drained(ingestGroup, transactionsTopic);

    const statements = new StatementImportService(reconDb);
    const matching = new MatchRunService(reconDb);
    const emitted: number[] = [];
    for (const [date, file] of [
      ['2026-11-22', 'generic-2026-11-22.csv'],
      ['2026-11-23', 'generic-2026-11-23.csv'],
    ] as const) {
      await statements.import({
        channel: 'WECHAT',
        format: 'generic',
        filePath: path.join(SAMPLES_DIR, file),
        businessDate: date,
        silent: true,
      });
      emitted.push((await matching.run('WECHAT', date)).emitted);
    }
    expect(emitted).toEqual([24, 3]);

    // The reconciliation service's relay publishes the marks; clearing takes each once.
    await waitFor('27 cleared items', clearedCount, (n) => n === 27, 90_000);
    await drained(clearingGroup, matchedTopic);

    const [kinds] = await clearingDb.query<{ payments: number; refunds: number; dates: string[] }[]>(
      `SELECT count(*) FILTER (WHERE type = 'PAYMENT')::int AS payments,
              count(*) FILTER (WHERE type = 'REFUND')::int AS refunds,
              array_agg(DISTINCT business_date::text) AS dates
       FROM clearing.cleared_item`,
    );
    // The 3 cross-day payments keep their own business date, the 22nd.
    expect(kinds).toEqual({ payments: 24, refunds: 3, dates: ['2026-11-22'] });

    // Worked by hand from the sample files (fee 0.6% of the order value HALF_UP, channel cost = the
    // statement line's fee, refund fee PRO_RATA):
    // M00016: payments 114.91 (fee 0.69), 504.11 (3.02), 294.55 (1.77), 211.42 (1.27); refund 57.45 of
    //   the first, fee returned 0.69 × 57.45 / 114.91 = 0.34, its line returns 0.34 of channel fee.
    // M00018: payments 927.05 (5.56), 310.44 (1.86), 957.23 (5.74), 466.43 (2.80); refund 233.21 of
    //   the last, fee returned 2.80 × 233.21 / 466.43 = 1.40, channel fee returned 1.40.
    const summary = await clearingSummary(clearingDb, '2026-11-22');
    const merchant = (id: string) => summary.merchants.find((m) => m.merchantId === id);
    expect(merchant('M00016')).toEqual({
      merchantId: 'M00016',
      currency: 'CNY',
      items: 5,
      payments: 4,
      refunds: 1,
      gross: '1067.54',
      fee: '6.41',
      channelCost: '6.41',
      couponMerchantFunded: '0.00',
      couponPlatformFunded: '0.00',
      net: '1061.13',
    });
    expect(merchant('M00018')).toEqual({
      merchantId: 'M00018',
      currency: 'CNY',
      items: 5,
      payments: 4,
      refunds: 1,
      gross: '2427.94',
      fee: '14.56',
      channelCost: '14.56',
      couponMerchantFunded: '0.00',
      couponPlatformFunded: '0.00',
      net: '2413.38',
    });
    // O202611220000020 (3.04) never reached the channel: it stays pending; the rest moved on.
    expect(await posted('2202:M00016')).toBe('3.04');
    expect(await posted('2203:M00016')).toBe('1061.13');
    expect(await posted('2202:M00018')).toBe('0.00');
    expect(await posted('2203:M00018')).toBe('2413.38');

    // Every item: net + fee = pending; the fees are the rule's, the channel cost the line's.
    const items = await clearingDb.query<
      {
        type: string;
        amount: string;
        fee: string;
        net: string;
        pending: string;
        channel_cost: string;
        order_no: string;
      }[]
    >(
      `SELECT type, amount::text, fee::text, net::text, pending::text, channel_cost::text, order_no
       FROM clearing.cleared_item WHERE type = 'PAYMENT' ORDER BY order_no`,
    );
    const statementFee = new Map<string, string>();
    for (const file of ['generic-2026-11-22.csv', 'generic-2026-11-23.csv']) {
      for (const line of (await readLines(path.join(SAMPLES_DIR, file))).slice(1)) {
        const [, orderNo, type, , fee] = line.split(',');
        if (type === 'PAYMENT') statementFee.set(orderNo!, fee!);
      }
    }
    for (const i of items) {
      expect({ order: i.order_no, fee: i.fee, channelCost: i.channel_cost }).toEqual({
        order: i.order_no,
        fee: Money.ofRounded(CNY(i.amount).toDecimal().times('0.006'), 'CNY', 'HALF_UP').toString(),
        channelCost: statementFee.get(i.order_no),
      });
    }
    const [totals] = await clearingDb.query<{ net: string; fee: string; pending: string; cost: string }[]>(
      `SELECT sum(net)::text AS net, sum(fee)::text AS fee, sum(pending)::text AS pending,
              sum(channel_cost)::text AS cost FROM clearing.cleared_item`,
    );
    expect(CNY(totals!.net).plus(CNY(totals!.fee)).toString()).toBe(CNY(totals!.pending).toString());
    expect(await posted('6001')).toBe(CNY(totals!.fee).toString());
    expect(await posted('6401:WECHAT')).toBe(CNY(totals!.cost).toString());

    const check = await internalReconciliation(clearingDb, '2026-11-22');
    expect(check.differences).toEqual([]);
    expect({
      ok: check.ok,
      items: check.items,
      entries: check.entries,
      merchants: check.merchants.length,
    }).toEqual({
      ok: true,
      items: 27,
      entries: 27,
      merchants: summary.merchants.length,
    });
    await ledgerSound();

    // The relay publishes one clearing.item-cleared.v1 per item, valid against the contract.
    const published = await readTopic(kafka, clearedTopic, 27);
    expect(published).toHaveLength(27);
    const events = published.map((m) => {
      const decoded = decodeClearingItemClearedV1(m.value);
      if (!decoded.ok) throw new Error(decoded.reason);
      expect(m.key).toBe(decoded.value.merchantId);
      return decoded.value;
    });
    expect(new Set(events.map((e) => e.eventId)).size).toBe(27);
    expect(sum(events.map((e) => e.net))).toBe(CNY(totals!.net).toString());
    const refund = events.find((e) => e.refundNo === 'RO202611220000011') as ClearingItemClearedV1;
    expect(refund).toMatchObject({
      type: 'REFUND',
      merchantId: 'M00016',
      paymentTransactionEventId: 'e-O202611220000011',
      amount: '57.45',
      gross: '-57.45',
      fee: '-0.34',
      channelCost: '-0.34',
      net: '-57.11',
    });

    // Every recon.item-matched.v1 message again, as a replaying producer would send it.
    const before = await book();
    const matched = await readTopic(kafka, matchedTopic, 27);
    expect(matched).toHaveLength(27);
    await publish(
      kafka,
      matchedTopic,
      matched.map((m) => ({ key: m.key, value: m.value })),
    );
    await drained(clearingGroup, matchedTopic);
    expect(await book()).toEqual(before);
    expect((await internalReconciliation(clearingDb, '2026-11-22')).ok).toBe(true);

    // The same answers over HTTP.
    const response = await fetch(`${clearingUrl}/internal-reconciliation?businessDate=2026-11-22`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      businessDate: '2026-11-22',
      ok: true,
      items: 27,
      differences: [],
    });
    const day = await fetch(`${clearingUrl}/cleared-items/summary?businessDate=2026-11-22`);
    expect(((await day.json()) as { merchants: unknown[] }).merchants).toContainEqual(merchant('M00016'));
    const bad = await fetch(`${clearingUrl}/internal-reconciliation?businessDate=2026-02-30`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      statusCode: 400,
      error: 'REQUEST.INVALID',
      message: "businessDate: must be a date 'YYYY-MM-DD'",
    });
  }, 240_000);

  it('internal reconciliation lists every difference between cleared items and the ledger', async () => {
    const [day] = await clearingDb.query<{ cost: string }[]>(
      `SELECT sum(channel_cost)::text AS cost FROM clearing.cleared_item
       WHERE business_date = '2026-11-22' AND transaction_event_id <> 'e-O202611220000015'`,
    );
    const sentinel = new Error('roll back the tampering');
    let report: InternalReconciliationReport | undefined;
    // The ledger refuses any change, so the cleared items are tampered with, and rolled back after.
    await expect(
      clearingDb.transaction('REPEATABLE READ', async (tx) => {
        // A fee one cent higher than booked (net one lower, so the row still adds up).
        await tx.query(
          `UPDATE clearing.cleared_item SET fee = fee + 0.01, net = net - 0.01
           WHERE transaction_event_id = 'e-O202611220000024'`,
        );
        // A channel cost one cent higher than booked.
        await tx.query(
          `UPDATE clearing.cleared_item SET channel_cost = channel_cost + 0.01
           WHERE transaction_event_id = 'e-O202611220000029'`,
        );
        // A cleared item lost: its entry is left without it.
        await tx.query(`DELETE FROM clearing.cleared_item WHERE transaction_event_id = 'e-O202611220000015'`);
        report = await internalReconciliationIn(tx, '2026-11-22');
        throw sentinel;
      }),
    ).rejects.toBe(sentinel);
    const cost = CNY(day!.cost);
    expect(report).toMatchObject({ ok: false, items: 26, entries: 27, differenceCount: 9 });
    expect(report!.differences.map(({ detail: _, ...d }) => d)).toEqual([
      {
        kind: 'POSTING_MISMATCH',
        transactionEventId: 'e-O202611220000024',
        journalEntryId: expect.any(String),
        account: 'fee_income',
        side: 'C',
        expected: '3.03 CNY',
        actual: '3.02 CNY',
      },
      {
        kind: 'POSTING_MISMATCH',
        transactionEventId: 'e-O202611220000024',
        journalEntryId: expect.any(String),
        account: 'merchant_settleable:M00016',
        side: 'C',
        expected: '501.08 CNY',
        actual: '501.09 CNY',
      },
      {
        kind: 'POSTING_MISMATCH',
        transactionEventId: 'e-O202611220000029',
        journalEntryId: expect.any(String),
        account: 'channel_fee_expense:WECHAT',
        side: 'D',
        expected: '1.28 CNY',
        actual: '1.27 CNY',
      },
      {
        kind: 'POSTING_MISMATCH',
        transactionEventId: 'e-O202611220000029',
        journalEntryId: expect.any(String),
        account: 'channel_receivable:WECHAT',
        side: 'C',
        expected: '1.28 CNY',
        actual: '1.27 CNY',
      },
      {
        kind: 'ENTRY_WITHOUT_ITEM',
        journalEntryId: expect.any(String),
        transactionEventId: 'e-O202611220000015',
      },
      {
        kind: 'MERCHANT_TOTAL_MISMATCH',
        merchantId: 'M00016',
        account: '2203 merchant settleable',
        expected: '1061.12 CNY',
        actual: '1061.13 CNY',
      },
      {
        kind: 'MERCHANT_TOTAL_MISMATCH',
        merchantId: 'M00016',
        account: '6001 fee income',
        expected: '6.42 CNY',
        actual: '6.41 CNY',
      },
      {
        kind: 'CHANNEL_TOTAL_MISMATCH',
        channel: 'WECHAT',
        account: '6401 channel fee expense',
        expected: `${cost.plus(CNY('0.01')).toString()} CNY`,
        actual: `${cost.toString()} CNY`,
      },
      {
        kind: 'CHANNEL_TOTAL_MISMATCH',
        channel: 'WECHAT',
        account: '1122 channel receivable',
        expected: `${cost.plus(CNY('0.01')).toString()} CNY`,
        actual: `${cost.toString()} CNY`,
      },
    ]);
    expect(report!.differences[4]!.detail).toMatch(
      /^journal entry \d+ \(clearing:e-O202611220000015\) has no cleared item$/,
    );
    expect((await internalReconciliation(clearingDb, '2026-11-22')).ok).toBe(true);
  });

  describe('refunds of cleared payments', () => {
    const at = '2026-11-24T02:00:00.000Z';
    let lineNo = 0;
    const transaction = (fields: {
      eventId: string;
      type: 'PAYMENT_SUCCEEDED' | 'REFUND_SUCCEEDED';
      merchantId: string;
      orderNo: string;
      refundNo?: string;
      amount: string;
    }) => ({ occurredAt: at, channel: 'ALIPAY', currency: 'CNY' as const, ...fields });
    type Txn = ReturnType<typeof transaction>;

    const publishTransactions = async (...txns: Txn[]) => {
      await publish(
        kafka,
        transactionsTopic,
        txns.map((t) => ({ key: t.merchantId, value: JSON.stringify(t) })),
      );
      await drained(ingestGroup, transactionsTopic);
    };

    /** What reconciliation would publish had the ALIPAY statement matched the transaction. */
    const publishMatched = async (t: Txn, fee: string) => {
      lineNo += 1;
      const event: ReconItemMatchedV1Input = {
        eventId: reconItemMatchedEventId(t.channel, t.eventId),
        occurredAt: '2026-11-25T02:00:00.000Z',
        matchedBy: 'MATCH_RUN',
        matchRunId: '900',
        channel: t.channel,
        businessDate: '2026-11-24',
        merchantId: t.merchantId,
        transaction: {
          eventId: t.eventId,
          type: t.type,
          orderNo: t.orderNo,
          ...(t.refundNo === undefined ? {} : { refundNo: t.refundNo }),
          amount: t.amount,
          currency: t.currency,
          occurredAt: t.occurredAt,
        },
        statementLine: {
          statementFileId: '900',
          lineNo,
          amount: t.amount,
          fee,
          tradeTime: '2026-11-24 10:00:00',
        },
      };
      await publish(kafka, matchedTopic, [{ key: t.merchantId, value: JSON.stringify(event) }]);
      await drained(clearingGroup, matchedTopic);
    };

    const p1 = transaction({
      eventId: 'rf-p1',
      type: 'PAYMENT_SUCCEEDED',
      merchantId: 'M90001',
      orderNo: 'RF-O1',
      amount: '100.00',
    });
    const r1 = transaction({
      eventId: 'rf-r1',
      type: 'REFUND_SUCCEEDED',
      merchantId: 'M90001',
      orderNo: 'RF-O1',
      refundNo: 'RF-R1',
      amount: '40.00',
    });
    const p2 = transaction({
      eventId: 'rf-p2',
      type: 'PAYMENT_SUCCEEDED',
      merchantId: 'M90002',
      orderNo: 'RF-O2',
      amount: '50.00',
    });
    const r2 = transaction({
      eventId: 'rf-r2',
      type: 'REFUND_SUCCEEDED',
      merchantId: 'M90002',
      orderNo: 'RF-O2',
      refundNo: 'RF-R2',
      amount: '50.00',
    });
    const p3 = transaction({
      eventId: 'rf-p3',
      type: 'PAYMENT_SUCCEEDED',
      merchantId: 'M90003',
      orderNo: 'RF-O3',
      amount: '10.00',
    });
    const r3 = transaction({
      eventId: 'rf-r3',
      type: 'REFUND_SUCCEEDED',
      merchantId: 'M90003',
      orderNo: 'RF-O3',
      refundNo: 'RF-R3',
      amount: '5.00',
    });

    it('takes merchant pending below zero at T-day, and clearing the refund brings it back', async () => {
      await publishTransactions(p1);
      await publishMatched(p1, '0.60');
      // Cleared: 100.00 pending → 99.40 settleable + 0.60 fee.
      expect([await posted('2202:M90001'), await posted('2203:M90001')]).toEqual(['0.00', '99.40']);

      // The refund happens days later: its T-day entry finds nothing pending any more.
      await publishTransactions(r1);
      expect(await posted('2202:M90001')).toBe('-40.00');

      // Matched: 40.00 back into pending, 39.76 out of settleable, 0.24 of the fee returned
      // (0.60 × 40 / 100), and the channel's 0.24 back.
      await publishMatched(r1, '-0.24');
      expect([await posted('2202:M90001'), await posted('2203:M90001')]).toEqual(['0.00', '59.64']);
      const postings = await clearingDb.query<{ side: string; code: string; amount: string }[]>(
        `SELECT p.side, a.code, p.amount::text AS amount
         FROM ledger.journal_entry e JOIN ledger.posting p ON p.entry_id = e.id JOIN ledger.account a ON a.id = p.account_id
         WHERE e.idempotency_key = 'clearing:rf-r1' ORDER BY p.line`,
      );
      expect(postings.map((p) => `${p.side} ${p.code} ${p.amount}`)).toEqual([
        'C 2202:M90001 40.00',
        'D 2203:M90001 39.76',
        'D 6001 0.24',
        'C 6401:ALIPAY 0.24',
        'D 1122:ALIPAY 0.24',
      ]);
    }, 120_000);

    it('parks a refund matched before its payment and clears it with the payment', async () => {
      await publishTransactions(p2, r2);
      await publishMatched(r2, '-0.30');
      const waiting = async () =>
        clearingDb.query<{ transaction_event_id: string }[]>(
          'SELECT transaction_event_id FROM clearing.refund_awaiting_payment ORDER BY 1',
        );
      expect(await waiting()).toEqual([{ transaction_event_id: 'rf-r2' }]);
      expect(
        await clearingDb.query(`SELECT 1 FROM clearing.cleared_item WHERE merchant_id = 'M90002'`),
      ).toEqual([]);

      await publishMatched(p2, '0.30');
      expect(await waiting()).toEqual([]);
      const cleared = await clearingDb.query<{ type: string; fee: string; net: string }[]>(
        `SELECT type, fee::text AS fee, net::text AS net FROM clearing.cleared_item WHERE merchant_id = 'M90002' ORDER BY type`,
      );
      // A full refund returns the whole fee.
      expect(cleared).toEqual([
        { type: 'PAYMENT', fee: '0.30', net: '49.70' },
        { type: 'REFUND', fee: '-0.30', net: '-49.70' },
      ]);
      expect([await posted('2202:M90002'), await posted('2203:M90002')]).toEqual(['0.00', '0.00']);
    }, 120_000);

    it('dead-letters a refund that merchant settleable cannot cover, keeping nothing of it', async () => {
      await publishTransactions(p3);
      await publishMatched(p3, '0.06');
      expect(await posted('2203:M90003')).toBe('9.94');
      // Settlement moved the merchant's money on before the refund came.
      const ledgerDb = await openDataSource('ledger');
      try {
        await ledgerDb.transaction((tx) =>
          new Ledger().post(tx, [
            {
              idempotencyKey: 'test:settle-M90003',
              businessRef: 'test:settle-M90003',
              effectiveAt: '2026-11-25T01:00:00.000Z',
              postings: [
                {
                  account: { template: 'merchant_settleable', owner: 'M90003' },
                  side: 'DEBIT',
                  amount: '9.94',
                  currency: 'CNY',
                },
                {
                  account: { template: 'merchant_in_transit', owner: 'M90003' },
                  side: 'CREDIT',
                  amount: '9.94',
                  currency: 'CNY',
                },
              ],
            },
          ]),
        );
      } finally {
        await ledgerDb.destroy();
      }
      await publishTransactions(r3);
      await publishMatched(r3, '-0.03');

      const [kept] = await clearingDb.query<{ items: number; entries: number; inbox: number }[]>(
        `SELECT (SELECT count(*)::int FROM clearing.cleared_item WHERE transaction_event_id = 'rf-r3') AS items,
                (SELECT count(*)::int FROM ledger.journal_entry WHERE idempotency_key = 'clearing:rf-r3') AS entries,
                (SELECT count(*)::int FROM clearing.inbox WHERE event_id = $1) AS inbox`,
        [reconItemMatchedEventId('ALIPAY', 'rf-r3')],
      );
      expect(kept).toEqual({ items: 0, entries: 0, inbox: 1 });
      const [dead] = await readTopic(kafka, dlqTopicOf(matchedTopic), 1);
      expect(dead?.headers[DLQ_HEADER.kind]).toBe('REJECTED');
      expect(dead?.headers[DLQ_HEADER.reason]).toBe(
        "merchant settleable cannot cover the refund of 5.00 CNY (its payment's money was already paid out or is held); " +
          'the ledger refused its clearing entry: LEDGER.INSUFFICIENT_FUNDS: 2203:M90003 would fall to -4.97 CNY available (held 0.00); its balance may not go below zero',
      );
      // The refund's T-day entry stands: pending shows the refund clearing has not taken.
      expect([await posted('2202:M90003'), await posted('2203:M90003')]).toEqual(['-5.00', '0.00']);

      // The ALIPAY channel: T-day 100 + 50 + 10 − 40 − 50 − 5 = 65.00 receivable, less the
      // channel fees kept (0.60 − 0.24 + 0.30 − 0.30 + 0.06 = 0.42).
      expect(await posted('1122:ALIPAY')).toBe('64.58');
      expect(await posted('6401:ALIPAY')).toBe('0.42');
      const check = await internalReconciliation(clearingDb, '2026-11-24');
      expect(check.differences).toEqual([]);
      expect({
        ok: check.ok,
        items: check.items,
        entries: check.entries,
        awaiting: check.awaitingPayment,
      }).toEqual({
        ok: true,
        items: 5,
        entries: 5,
        awaiting: 0,
      });
      await ledgerSound();
    }, 120_000);

    it('replays the dead-lettered refund once the money is back, clearing it once', async () => {
      const pending = await listDeadLetters(clearingDb, 'clearing');
      expect(pending.map((d) => [d.kind, d.key, d.consumer, d.sourceTopic])).toEqual([
        ['REJECTED', 'M90003', 'item-matched', matchedTopic],
      ]);
      const dead = pending[0]!;
      // The payout of the merchant's 9.94 failed: the funds are back in settleable.
      const ledgerDb = await openDataSource('ledger');
      try {
        await ledgerDb.transaction((tx) =>
          new Ledger().post(tx, [
            {
              idempotencyKey: 'test:payout-returned-M90003',
              businessRef: 'test:settle-M90003',
              effectiveAt: '2026-11-25T02:00:00.000Z',
              postings: [
                {
                  account: { template: 'merchant_in_transit', owner: 'M90003' },
                  side: 'DEBIT',
                  amount: '9.94',
                  currency: 'CNY',
                },
                {
                  account: { template: 'merchant_settleable', owner: 'M90003' },
                  side: 'CREDIT',
                  amount: '9.94',
                  currency: 'CNY',
                },
              ],
            },
          ]),
        );
      } finally {
        await ledgerDb.destroy();
      }

      const replay = await replayDeadLetter(clearingDb, 'clearing', dead.id, {
        by: 'ops.li',
        reason: 'payout returned: settleable covers the refund now',
      });
      expect(replay).toEqual({ id: dead.id, sourceTopic: matchedTopic, key: 'M90003', claimsReleased: 1 });
      await waitFor(
        'the replayed refund cleared',
        () =>
          clearingDb.query<unknown[]>(
            `SELECT 1 FROM clearing.cleared_item WHERE transaction_event_id = 'rf-r3'`,
          ),
        (rows) => rows.length === 1,
        60_000,
      );
      await drained(clearingGroup, matchedTopic);
      // Refund 5.00 less its returned fee 0.03: settleable 9.94 − 4.97; pending back to zero.
      expect([await posted('2202:M90003'), await posted('2203:M90003')]).toEqual(['0.00', '4.97']);
      const [entries] = await clearingDb.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM ledger.journal_entry WHERE idempotency_key = 'clearing:rf-r3'`,
      );
      expect(entries!.n).toBe(1);

      // Once per dead letter: a second replay is refused and nothing else happens.
      const before = await book();
      await expect(
        replayDeadLetter(clearingDb, 'clearing', dead.id, { by: 'ops.li', reason: 'again' }),
      ).rejects.toMatchObject({ code: 'ALREADY_REPLAYED' });
      expect(await listDeadLetters(clearingDb, 'clearing')).toEqual([]);
      const [audited] = await listDeadLetters(clearingDb, 'clearing', { includeReplayed: true });
      expect(audited!.replayed).toMatchObject({
        by: 'ops.li',
        reason: 'payout returned: settleable covers the refund now',
      });
      expect(await book()).toEqual(before);
      const check = await internalReconciliation(clearingDb, '2026-11-24');
      expect(check.differences).toEqual([]);
      await ledgerSound();
    }, 120_000);
  });
});
