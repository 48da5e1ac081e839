/**
 * T-day ledger entries of the transaction ingest on the real broker and Postgres: the reconciliation
 * service boots on an empty database (it must migrate the ledger schema itself), the sample day is
 * published twice, then a re-send, a contradiction, coupons, a reversal, a refund that takes merchant
 * pending below zero and an entry the ledger refuses.
 */
import { Test, type TestingModule } from '@nestjs/testing';
import { dlqTopicOf, Money, TOPIC } from '@app/contracts';
import { accountBalance, runLedgerChecks } from '@app/ledger';
import { consumerLag, DLQ_HEADER, ensureTopics } from '@app/messaging';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import {
  ReconciliationModule,
  TRANSACTION_INGEST_GROUP,
  TransactionIngestConsumer,
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

describe('ingest posts T-day ledger entries (real Kafka + Postgres)', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  const basePrefix = process.env.KAFKA_TOPIC_PREFIX ?? '';
  // Topics and group of its own: transaction-ingest.int-spec.ts consumes the same topic name.
  const prefix = `${basePrefix}ledger.`;
  const topic = `${prefix}${TOPIC.paymentsTransactionV1}`;
  const groupId = `${prefix}${TRANSACTION_INGEST_GROUP}`;
  let app: TestingModule;
  let ledgerDb: DataSource;
  let lines: string[];

  beforeAll(async () => {
    // No migrateAll: booting the service on an empty database must bring up both its schema and
    // the ledger's.
    await useIsolatedDatabase('ingest_ledger');
    process.env.KAFKA_TOPIC_PREFIX = prefix;
    await admin.connect();
    await ensureTopics(admin, [topic, dlqTopicOf(topic)], 3);
    app = await Test.createTestingModule({ imports: [ReconciliationModule] }).compile();
    app.enableShutdownHooks();
    await app.init();
    ledgerDb = await openDataSource('ledger');
    lines = await readLines(path.join(SAMPLES_DIR, 'internal-events.jsonl'));
  });

  afterAll(async () => {
    await app?.close();
    await ledgerDb?.destroy();
    await admin.disconnect();
    process.env.KAFKA_TOPIC_PREFIX = basePrefix;
  });

  const drained = () =>
    waitFor(
      'consumer lag 0',
      () => consumerLag(admin, groupId, topic),
      (lag) => lag === 0,
    );

  const entryCount = async () => {
    const [row] = await ledgerDb.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM ledger.journal_entry WHERE idempotency_key LIKE 'recon.t-day:%'`,
    );
    return row!.n;
  };

  /** Normal-side balance of every account of a template, by account code, through the ledger's read API. */
  const balancesOf = async (template: string): Promise<Record<string, string>> => {
    const accounts = await ledgerDb.query<{ code: string }[]>(
      'SELECT code FROM ledger.account WHERE template_code = $1 ORDER BY code',
      [template],
    );
    const result: Record<string, string> = {};
    for (const { code } of accounts) result[code] = (await accountBalance(ledgerDb, code)).posted;
    return result;
  };

  const total = (balances: Record<string, string>) =>
    Object.values(balances)
      .reduce((sum, b) => sum.plus(Money.of(b, 'CNY')), Money.zero('CNY'))
      .toString();

  const checksPass = async () => {
    const report = await ledgerDb.transaction('REPEATABLE READ', (tx) => runLedgerChecks(tx));
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.ok).toBe(true);
  };

  /** Every internal transaction has exactly its entry, and every T-day entry its transaction. */
  const entriesMatchTransactions = async () => {
    const [row] = await ledgerDb.query<{ without_entry: number; without_transaction: number }[]>(
      `SELECT
         (SELECT count(*)::int FROM reconciliation.internal_transaction it
          WHERE NOT EXISTS (SELECT 1 FROM ledger.journal_entry e
                            WHERE e.idempotency_key = 'recon.t-day:' || it.event_id)) AS without_entry,
         (SELECT count(*)::int FROM ledger.journal_entry e
          WHERE e.idempotency_key LIKE 'recon.t-day:%'
            AND NOT EXISTS (SELECT 1 FROM reconciliation.internal_transaction it
                            WHERE e.idempotency_key = 'recon.t-day:' || it.event_id)) AS without_transaction`,
    );
    expect(row).toEqual({ without_entry: 0, without_transaction: 0 });
  };

  it('posts one entry per sample transaction, once, though the day is published twice', async () => {
    expect(lines).toHaveLength(36);
    // The sample day carries no coupon at all, so no marketing expense: the coupon legs are
    // exercised by the last case below.
    expect(lines.filter((l) => l.includes('"coupon"'))).toEqual([]);
    const sample = lines.map((value) => ({
      key: (JSON.parse(value) as { merchantId: string }).merchantId,
      value,
    }));
    await publish(kafka, topic, [...sample, ...sample]);
    await drained();

    expect(await entryCount()).toBe(36);
    await entriesMatchTransactions();
    const [entries] = await ledgerDb.query<{ payments: number; refunds: number }[]>(
      `SELECT count(*) FILTER (WHERE description LIKE 'T-day payment %')::int AS payments,
              count(*) FILTER (WHERE description LIKE 'T-day refund %')::int AS refunds
       FROM ledger.journal_entry WHERE idempotency_key LIKE 'recon.t-day:%'`,
    );
    expect(entries).toEqual({ payments: 33, refunds: 3 });
    const [pendingMoves] = await ledgerDb.query<{ credited: string; debited: string }[]>(
      `SELECT (sum(p.amount) FILTER (WHERE p.side = 'C'))::text AS credited,
              (sum(p.amount) FILTER (WHERE p.side = 'D'))::text AS debited
       FROM ledger.posting p JOIN ledger.account a ON a.id = p.account_id
       WHERE a.template_code = 'merchant_pending'`,
    );
    // Without coupons a payment owes the merchant exactly what the payer paid.
    expect(pendingMoves).toEqual({ credited: '15343.06', debited: '494.28' });

    expect(await balancesOf('channel_receivable')).toEqual({ '1122:WECHAT': '14848.78' });
    const pending = await balancesOf('merchant_pending');
    expect(pending).toEqual({
      '2202:M00002': '1076.77',
      '2202:M00003': '456.86',
      '2202:M00004': '1010.07',
      '2202:M00005': '206.31',
      '2202:M00006': '485.07',
      '2202:M00008': '2143.34',
      '2202:M00009': '1456.81',
      '2202:M00010': '920.74',
      '2202:M00011': '983.95',
      '2202:M00013': '691.94',
      '2202:M00015': '795.46',
      '2202:M00016': '1070.58',
      '2202:M00017': '203.62',
      '2202:M00018': '2427.94',
      '2202:M00019': '293.37',
      '2202:M00020': '625.95',
    });
    // 15,343.06 paid − 494.28 refunded, owed to merchants and owed by the channel alike.
    expect(total(pending)).toBe('14848.78');
    expect(await balancesOf('marketing_expense')).toEqual({});
    await checksPass();

    expect(app.get(TransactionIngestConsumer).consumer.stats).toMatchObject({
      applied: 36,
      duplicates: 36,
      deadLettered: 0,
    });
  });

  it('posts nothing for a re-send under a new event id nor for a contradicting event', async () => {
    const original = JSON.parse(lines[0]!) as { eventId: string; merchantId: string; amount: string };
    const resend = { ...original, eventId: `${original.eventId}-resend` };
    const contradiction = { ...original, eventId: `${original.eventId}-contradiction`, amount: '1.00' };
    await publish(kafka, topic, [
      { key: original.merchantId, value: JSON.stringify(resend) },
      { key: original.merchantId, value: JSON.stringify(contradiction) },
    ]);
    await drained();

    expect(await entryCount()).toBe(36);
    const [keys] = await ledgerDb.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM ledger.journal_entry WHERE idempotency_key = ANY($1)`,
      [[`recon.t-day:${resend.eventId}`, `recon.t-day:${contradiction.eventId}`]],
    );
    expect(keys!.n).toBe(0);
    expect(await balancesOf('channel_receivable')).toEqual({ '1122:WECHAT': '14848.78' });
    expect(total(await balancesOf('merchant_pending'))).toBe('14848.78');
    const dead = await readTopic(kafka, dlqTopicOf(topic), 1);
    expect(
      dead.map((d) => [d.headers[DLQ_HEADER.kind], (JSON.parse(d.value) as { eventId: string }).eventId]),
    ).toEqual([['REJECTED', contradiction.eventId]]);
    await checksPass();
  });

  it('books coupons, a reversal and a refund beyond merchant pending, and dead-letters an entry the ledger refuses', async () => {
    const at = '2026-11-22T02:00:00.000Z';
    const event = (fields: Record<string, unknown>) => ({
      key: fields.merchantId as string,
      value: JSON.stringify({ occurredAt: at, channel: 'ALIPAY', currency: 'CNY', ...fields }),
    });
    const uncovered = {
      eventId: 'cp-r2',
      type: 'REFUND_SUCCEEDED',
      merchantId: 'M90003',
      orderNo: 'CP-O9',
      refundNo: 'CP-R9',
      amount: '12.34',
    };
    // ALIPAY's receivable already holds CNY: a JPY entry on it is refused (one currency per account).
    const refusedByLedger = {
      eventId: 'cp-j1',
      type: 'PAYMENT_SUCCEEDED',
      merchantId: 'M90001',
      orderNo: 'CP-J1',
      amount: '1500',
      currency: 'JPY',
    };
    await publish(kafka, topic, [
      // Order value 100.00: paid 90.00, coupon 10.00 = 4.00 by the merchant + 6.00 by the platform.
      event({
        eventId: 'cp-p1',
        type: 'PAYMENT_SUCCEEDED',
        merchantId: 'M90001',
        orderNo: 'CP-O1',
        amount: '90.00',
        coupon: { amount: '10.00', merchantFunded: '4.00', platformFunded: '6.00' },
      }),
      event({
        eventId: 'cp-p2',
        type: 'PAYMENT_SUCCEEDED',
        merchantId: 'M90001',
        orderNo: 'CP-O2',
        amount: '45.50',
        coupon: { amount: '5.00', merchantFunded: '0.00', platformFunded: '5.00' },
      }),
      // A merchant-funded coupon only: the merchant is owed what the payer paid.
      event({
        eventId: 'cp-p3',
        type: 'PAYMENT_SUCCEEDED',
        merchantId: 'M90002',
        orderNo: 'CP-O3',
        amount: '120.00',
        coupon: { amount: '20.00', merchantFunded: '20.00', platformFunded: '0.00' },
      }),
      // The channel reverses CP-O2, restating its coupon: the platform's 5.00 subsidy goes too.
      event({
        eventId: 'cp-x2',
        type: 'PAYMENT_REVERSED',
        merchantId: 'M90001',
        orderNo: 'CP-O2',
        amount: '45.50',
        coupon: { amount: '5.00', merchantFunded: '0.00', platformFunded: '5.00' },
      }),
      event({
        eventId: 'cp-r1',
        type: 'REFUND_SUCCEEDED',
        merchantId: 'M90002',
        orderNo: 'CP-O3',
        refundNo: 'CP-R3',
        amount: '30.00',
      }),
      // A refund of a payment never recorded here (or already cleared on to settleable), for a
      // merchant with nothing pending: merchant pending has no floor, it goes below zero until
      // clearing clears the refund.
      event(uncovered),
      event(refusedByLedger),
    ]);
    await drained();

    expect(await entryCount()).toBe(36 + 6);
    await entriesMatchTransactions();
    const postings = await ledgerDb.query<{ key: string; code: string; side: string; amount: string }[]>(
      `SELECT e.idempotency_key AS key, a.code, p.side, p.amount::text AS amount
       FROM ledger.journal_entry e JOIN ledger.posting p ON p.entry_id = e.id JOIN ledger.account a ON a.id = p.account_id
       WHERE e.idempotency_key LIKE 'recon.t-day:cp-%' ORDER BY e.idempotency_key, p.line`,
    );
    expect(postings.map((p) => `${p.key} ${p.side} ${p.code} ${p.amount}`)).toEqual([
      'recon.t-day:cp-p1 D 1122:ALIPAY 90.00',
      'recon.t-day:cp-p1 D 6601 6.00',
      'recon.t-day:cp-p1 C 2202:M90001 96.00',
      'recon.t-day:cp-p2 D 1122:ALIPAY 45.50',
      'recon.t-day:cp-p2 D 6601 5.00',
      'recon.t-day:cp-p2 C 2202:M90001 50.50',
      'recon.t-day:cp-p3 D 1122:ALIPAY 120.00',
      'recon.t-day:cp-p3 C 2202:M90002 120.00',
      'recon.t-day:cp-r1 D 2202:M90002 30.00',
      'recon.t-day:cp-r1 C 1122:ALIPAY 30.00',
      'recon.t-day:cp-r2 D 2202:M90003 12.34',
      'recon.t-day:cp-r2 C 1122:ALIPAY 12.34',
      'recon.t-day:cp-x2 C 1122:ALIPAY 45.50',
      'recon.t-day:cp-x2 C 6601 5.00',
      'recon.t-day:cp-x2 D 2202:M90001 50.50',
    ]);

    expect(await balancesOf('channel_receivable')).toEqual({
      '1122:ALIPAY': '167.66',
      '1122:WECHAT': '14848.78',
    });
    expect(await balancesOf('marketing_expense')).toEqual({ '6601': '6.00' });
    const pending = await balancesOf('merchant_pending');
    expect([pending['2202:M90001'], pending['2202:M90002'], pending['2202:M90003']]).toEqual([
      '96.00',
      '90.00',
      '-12.34',
    ]);
    // Receivables 14,848.78 + 167.66 plus 6.00 expense = 14,848.78 + 96.00 + 90.00 − 12.34 owed to merchants.
    expect(total(pending)).toBe('15022.44');

    // The refused entry left nothing but its inbox row and its dead letter.
    const [recorded] = await ledgerDb.query<{ transactions: number; inbox: number }[]>(
      `SELECT (SELECT count(*)::int FROM reconciliation.internal_transaction WHERE event_id = $1) AS transactions,
              (SELECT count(*)::int FROM reconciliation.inbox WHERE event_id = $1) AS inbox`,
      [refusedByLedger.eventId],
    );
    expect(recorded).toEqual({ transactions: 0, inbox: 1 });
    const dead = await readTopic(kafka, dlqTopicOf(topic), 2);
    const refused = dead.find(
      (d) => (JSON.parse(d.value) as { eventId: string }).eventId === refusedByLedger.eventId,
    );
    expect(refused?.headers[DLQ_HEADER.kind]).toBe('REJECTED');
    expect(refused?.headers[DLQ_HEADER.reason]).toBe(
      'the ledger refused its T-day entry: LEDGER.CURRENCY_MISMATCH: entry recon.t-day:cp-j1: account 1122:ALIPAY holds CNY, posting is JPY',
    );
    await checksPass();
  });
});
