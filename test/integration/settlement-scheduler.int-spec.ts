/**
 * The settlement service running on its own (real Postgres + Kafka): booted with its scheduler on
 * and a 200 ms payout loop, it requests the payouts of records approved before it started — two
 * sent through the outbox, one refused for want of an account — without anyone calling it, and a
 * scheduled close of a date already closed creates nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { dlqTopicOf, TOPIC, type ClearingItemClearedV1 } from '@app/contracts';
import { accountBalance, Ledger } from '@app/ledger';
import { ensureTopics } from '@app/messaging';
import type { DataSource } from 'typeorm';
import {
  ApprovalService,
  SettlementScheduler,
  itemCleared,
  CLOSE_SUBMITTER,
  CycleCloseService,
  SettlementModule,
} from '../../apps/settlement/src/index.js';
import { migrateAll, openDataSource, testKafka, useIsolatedDatabase, waitFor } from '../support/infra.js';
import { clearIntoSettleable } from '../support/settlement-payouts.js';

const ACCOUNTS = {
  M_S1: { no: '6222000011113333', type: 'CORPORATE' },
  M_S2: { no: '6214830100991234', type: 'PERSONAL_TYPE_I' },
} as const;

describe('settlement scheduler: the payout loop and the scheduled close (real Kafka + Postgres)', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  const saved = {
    prefix: process.env.KAFKA_TOPIC_PREFIX,
    scheduler: process.env.SETTLEMENT_SCHEDULER,
    poll: process.env.SETTLEMENT_PAYOUT_POLL_MS,
  };
  const prefix = `${saved.prefix ?? ''}settlement_scheduler_${Date.now()}.`;
  const requestTopic = `${prefix}${TOPIC.settlementPayoutRequestedV1}`;
  const ledger = new Ledger();
  let db: DataSource;
  let app: INestApplication;
  const ids = new Map<string, string>();

  const restore = (name: string, value: string | undefined) => {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  };

  beforeAll(async () => {
    await useIsolatedDatabase('settlement_scheduler');
    await admin.connect();
    const consumed = [TOPIC.clearingItemClearedV1, TOPIC.settlementPayoutResultV1].map(
      (t) => `${prefix}${t}`,
    );
    await ensureTopics(admin, [...consumed, ...consumed.map(dlqTopicOf), requestTopic], 3);
    await migrateAll();
    db = await openDataSource('settlement');
    for (const [merchant, account] of Object.entries(ACCOUNTS))
      await db.query(
        `INSERT INTO settlement.merchant_terms (merchant_id, currency, cycle, minimum_payout, payout_account)
         VALUES ($1, 'CNY', '{"kind": "T_PLUS", "days": 1}', 0, $2)`,
        [
          merchant,
          JSON.stringify({
            bank: 'ICBC',
            accountNo: account.no,
            holder: `${merchant} Ltd`,
            type: account.type,
          }),
        ],
      );
    const items: ClearingItemClearedV1[] = [
      itemCleared('M_S1', '2026-09-25', '100.00'),
      itemCleared('M_S1', '2026-09-25', '20.25'),
      itemCleared('M_S2', '2026-09-25', '300.50'),
      itemCleared('M_S3', '2026-09-25', '40.00'),
    ];
    expect(await clearIntoSettleable(db, ledger, items)).toBe(items.length);
    await new CycleCloseService(db, ledger).close('2026-09-28', { by: CLOSE_SUBMITTER });
    for (const r of await db.query<{ id: string; merchant_id: string }[]>(
      'SELECT id::text, merchant_id FROM settlement.settlement_record',
    ))
      ids.set(r.merchant_id, r.id);
    const approvals = new ApprovalService(db, ledger);
    for (const [merchant, id] of ids)
      await approvals.approve(id, { by: 'finance:bob', idempotencyKey: `approve-${merchant}` });

    process.env.KAFKA_TOPIC_PREFIX = prefix;
    process.env.SETTLEMENT_SCHEDULER = 'on';
    process.env.SETTLEMENT_PAYOUT_POLL_MS = '200';
    app = await NestFactory.create(SettlementModule, { logger: ['error', 'warn'] });
    app.enableShutdownHooks();
    await app.init();
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await db?.destroy();
    await admin.disconnect();
    restore('KAFKA_TOPIC_PREFIX', saved.prefix);
    restore('SETTLEMENT_SCHEDULER', saved.scheduler);
    restore('SETTLEMENT_PAYOUT_POLL_MS', saved.poll);
  });

  const statuses = async () =>
    (
      await db.query<{ merchant_id: string; status: string; amount: string }[]>(
        'SELECT merchant_id, status, amount::text AS amount FROM settlement.settlement_record ORDER BY merchant_id',
      )
    ).map((r) => [r.merchant_id, r.status, r.amount]);

  it('requests the approved payouts by itself within a few seconds', async () => {
    await waitFor(
      'payouts requested by the loop',
      statuses,
      (s) => s.every(([, status]) => status !== 'APPROVED'),
      10_000,
    );
    expect(await statuses()).toEqual([
      ['M_S1', 'PAYOUT_REQUESTED', '120.25'],
      ['M_S2', 'PAYOUT_REQUESTED', '300.50'],
      ['M_S3', 'PAYOUT_FAILED', '40.00'],
    ]);
    const sent = await db.query<{ key: string; amount: string; account: string }[]>(
      `SELECT message_key AS key, v->>'amount' AS amount, v->'payoutAccount'->>'accountNo' AS account
       FROM settlement.outbox, CAST(convert_from(value, 'UTF8') AS jsonb) AS v WHERE topic = $1 ORDER BY message_key`,
      [requestTopic],
    );
    expect(sent).toEqual(
      [
        { key: ids.get('M_S1'), amount: '120.25', account: ACCOUNTS.M_S1.no },
        { key: ids.get('M_S2'), amount: '300.50', account: ACCOUNTS.M_S2.no },
      ].sort((a, b) => a.key!.localeCompare(b.key!)),
    );
    // The refused payout's funds are settleable again; the requested ones stay in transit.
    expect((await accountBalance(db, '2203:M_S3')).posted).toBe('40.00');
    expect((await accountBalance(db, '2204:M_S1')).posted).toBe('120.25');
    expect((await accountBalance(db, '2204:M_S2')).posted).toBe('300.50');
    // Later ticks request nothing more: one payout per record.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const [{ n }] = (await db.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM settlement.outbox WHERE topic = $1',
      [requestTopic],
    )) as [{ n: number }];
    expect(n).toBe(2);
  }, 30_000);

  it('a scheduled close of a date already closed creates nothing', async () => {
    const result = await app.get(SettlementScheduler).closeDate('2026-09-28');
    expect(result).toMatchObject({
      date: '2026-09-28',
      recordsCreated: 0,
      itemsSettled: 0,
      recordsAlreadyClosed: 3,
      nothingNew: true,
    });
    const [{ n }] = (await db.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM settlement.settlement_record',
    )) as [{ n: number }];
    expect(n).toBe(3);
  });
});
