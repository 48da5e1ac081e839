/**
 * The settlement REST API on the real Postgres and Kafka: the whole service booted and driven over
 * HTTP — the cycle close, the list and one record as an approver sees them (net payout, payee
 * account, items, audit trail), approve and reject with an Idempotency-Key and the status of each
 * refusal, and the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { dlqTopicOf, TOPIC } from '@app/contracts';
import { accountBalance, Ledger } from '@app/ledger';
import { ensureTopics } from '@app/messaging';
import type { DataSource } from 'typeorm';
import { itemCleared, SettlementModule } from '../../apps/settlement/src/index.js';
import { migrateAll, openDataSource, testKafka, useIsolatedDatabase } from '../support/infra.js';
import { clearIntoSettleable } from '../support/settlement-payouts.js';
import { startServiceApp } from '../support/http-app.js';
import { staffFetch } from '../support/identity.js';

// Every call of this file as staff with every staff role (access itself: access-control.int-spec.ts).
const fetch = staffFetch();

describe('settlement HTTP API (real Postgres + Kafka)', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  const savedPrefix = process.env.KAFKA_TOPIC_PREFIX;
  const prefix = `${savedPrefix ?? ''}settlement-http.`;
  let app: INestApplication;
  let base: string;
  let db: DataSource;
  const ids = new Map<string, string>();

  beforeAll(async () => {
    await useIsolatedDatabase('settlement_http');
    await admin.connect();
    const topic = `${prefix}${TOPIC.clearingItemClearedV1}`;
    await ensureTopics(admin, [topic, dlqTopicOf(topic)], 3);
    await migrateAll();
    db = await openDataSource('settlement');
    await db.query(
      `INSERT INTO settlement.merchant_terms (merchant_id, currency, cycle, minimum_payout, payout_account) VALUES
         ('M_H1', 'CNY', '{"kind": "T_PLUS", "days": 1}', 0,
          '{"bank": "CMB", "accountNo": "6214830100998877", "holder": "Tea House", "type": "PERSONAL_TYPE_I"}')`,
    );
    const items = [itemCleared('M_H1', '2026-09-25', '120.00'), itemCleared('M_H2', '2026-09-25', '45.50')];
    const ledger = new Ledger();
    expect(await clearIntoSettleable(db, ledger, items)).toBe(items.length);
    process.env.KAFKA_TOPIC_PREFIX = prefix;
    ({ app: app, base: base } = await startServiceApp(SettlementModule, ['error', 'warn']));
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await db?.destroy();
    await admin.disconnect();
    if (savedPrefix === undefined) delete process.env.KAFKA_TOPIC_PREFIX;
    else process.env.KAFKA_TOPIC_PREFIX = savedPrefix;
  });

  const post = (url: string, body: unknown, key?: string) =>
    fetch(`${base}${url}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(key === undefined ? {} : { 'idempotency-key': key }),
      },
      body: JSON.stringify(body),
    });

  it('closes a date over HTTP', async () => {
    const response = await post('/cycles/close', { date: '2026-09-28' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ date: '2026-09-28', recordsCreated: 2, itemsSettled: 2 });
    const bad = await post('/cycles/close', { date: '2026-02-30' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('REQUEST.INVALID');
  });

  it('lists records with the net payout and the payee account, and shows one with items and audit', async () => {
    const response = await fetch(`${base}/settlement-records?date=2026-09-28&status=PENDING_APPROVAL`);
    expect(response.status).toBe(200);
    const list = (await response.json()) as Record<string, unknown>[];
    expect(list.map((r) => [r.merchantId, r.netPayout, r.payeeAccount, r.approvalsRequired])).toEqual([
      [
        'M_H1',
        '120.00',
        { bank: 'CMB', accountNo: '****8877', holder: 'Tea House', type: 'PERSONAL_TYPE_I' },
        1,
      ],
      ['M_H2', '45.50', null, 1],
    ]);
    for (const r of list) ids.set(r.merchantId as string, r.id as string);
    const one = (await (await fetch(`${base}/settlement-records/${ids.get('M_H1')}`)).json()) as Record<
      string,
      unknown
    >;
    expect(one).toMatchObject({
      id: ids.get('M_H1'),
      status: 'PENDING_APPROVAL',
      version: 1,
      netPayout: '120.00',
    });
    expect(one.items).toEqual([
      expect.objectContaining({
        type: 'PAYMENT',
        businessDate: '2026-09-25',
        gross: '121.00',
        fee: '1.00',
        net: '120.00',
      }),
    ]);
    expect((one.audit as { action: string }[]).map((a) => a.action)).toEqual(['CREATED']);
    const missing = await fetch(`${base}/settlement-records/999999`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toBe('SETTLEMENT.NOT_FOUND');
  });

  it('approves with an Idempotency-Key, replays it, and answers each refusal with its status', async () => {
    const id = ids.get('M_H1')!;
    const noKey = await post(`/settlement-records/${id}/approve`, { by: 'finance:li' });
    expect(noKey.status).toBe(400);
    // The records were closed over HTTP by test.staff: the maker, whatever roles it holds.
    const self = await post(`/settlement-records/${id}/approve`, { by: 'Test.Staff' }, 'h-self');
    expect(self.status).toBe(403);
    expect(((await self.json()) as { error: string }).error).toBe('SETTLEMENT.SELF_APPROVAL');

    const first = await post(`/settlement-records/${id}/approve`, { by: 'finance:li' }, 'h-1');
    expect(first.status).toBe(200);
    const body = (await first.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'APPROVED', version: 2, netPayout: '120.00' });
    const replay = await post(`/settlement-records/${id}/approve`, { by: 'finance:li' }, 'h-1');
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual(body);
    const otherBody = await post(`/settlement-records/${id}/approve`, { by: 'finance:wang' }, 'h-1');
    expect(otherBody.status).toBe(409);
    expect(((await otherBody.json()) as { error: string }).error).toBe('SETTLEMENT.IDEMPOTENCY_CONFLICT');
    const late = await post(
      `/settlement-records/${id}/reject`,
      { by: 'finance:wang', reason: 'late' },
      'h-2',
    );
    expect(late.status).toBe(409);
    expect(((await late.json()) as { error: string }).error).toBe('SETTLEMENT.NOT_PENDING');
  });

  it('rejects with a reason (422 without one) and returns the amount to settleable', async () => {
    const id = ids.get('M_H2')!;
    // Without the currency's approval threshold nothing can be decided: a clear 409, not a 500.
    await db.query(`DELETE FROM settlement.approval_policy WHERE currency = 'CNY'`);
    const unconfigured = await post(
      `/settlement-records/${id}/reject`,
      { by: 'finance:li', reason: 'x' },
      'h-np',
    );
    await db.query(
      `INSERT INTO settlement.approval_policy (currency, dual_approval_above) VALUES ('CNY', 50000.00)`,
    );
    expect(unconfigured.status).toBe(409);
    expect(await unconfigured.json()).toMatchObject({
      error: 'SETTLEMENT.NO_APPROVAL_POLICY',
      message: expect.stringContaining('no approval policy for CNY'),
    });
    const noReason = await post(`/settlement-records/${id}/reject`, { by: 'finance:li', reason: ' ' }, 'h-3');
    expect(noReason.status).toBe(422);
    expect(((await noReason.json()) as { error: string }).error).toBe('SETTLEMENT.REASON_REQUIRED');
    const rejected = await post(
      `/settlement-records/${id}/reject`,
      { by: 'finance:li', reason: 'no payee account' },
      'h-4',
    );
    expect(rejected.status).toBe(200);
    expect(await rejected.json()).toMatchObject({ status: 'REJECTED', version: 2 });
    expect((await accountBalance(db, '2203:M_H2')).posted).toBe('45.50');
    expect((await accountBalance(db, '2204:M_H2')).posted).toBe('0.00');
    const shown = (await (await fetch(`${base}/settlement-records/${id}`)).json()) as {
      audit: { action: string; toStatus: string; reason: string | null }[];
    };
    expect(shown.audit.map((a) => [a.action, a.toStatus, a.reason])).toEqual([
      ['CREATED', 'PENDING_APPROVAL', null],
      ['REJECT', 'PENDING_APPROVAL', null],
      ['REJECT', 'REJECTED', 'no payee account'],
    ]);
  });

  it('serves the OpenAPI document', async () => {
    const response = await fetch(`${base}/docs-json`);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/cycles/close',
      '/health',
      '/health/ready',
      '/settlement-records',
      '/settlement-records/{id}',
      '/settlement-records/{id}/approve',
      '/settlement-records/{id}/reject',
      '/settlement-records/{id}/retry-payout',
      '/settlement-records/{id}/statement.csv',
      '/settlement-summary',
    ]);
  });
});
