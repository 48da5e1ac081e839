/**
 * A second person for large adjustments (issue 15), through the real reconciliation service on the
 * real Postgres and Kafka, with bearer tokens: an ADJUST above the currency's threshold (CNY
 * 10,000.00, migration 1764000004600) by clerk A posts nothing (no journal entry, nothing released)
 * and leaves the discrepancy OPEN with its pending adjustment; A's own confirmation is refused
 * (403, in the discrepancy history and the command audit); B's posts exactly one entry and
 * releases once; a rejection returns it to plain OPEN; two concurrent confirmations end in one;
 * at or below the threshold an ADJUST posts at once, as before.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { dlqTopicOf, TOPIC, type PaymentsTransactionV1 } from '@app/contracts';
import { ROLE } from '@app/http';
import { Ledger } from '@app/ledger';
import { ensureTopics } from '@app/messaging';
import type { DataSource } from 'typeorm';
import {
  DEFAULT_CHANNEL_CALENDAR,
  toInternalTransaction,
  InternalTransactionRepository,
  tDayEntryOf,
  type Discrepancy,
  ReconciliationModule,
} from '../../apps/reconciliation/src/index.js';
import { migrateAll, openDataSource, testKafka, useIsolatedDatabase } from '../support/infra.js';
import { startServiceApp } from '../support/http-app.js';
import { authHeader, PEOPLE } from '../support/identity.js';

const DAY = '2026-12-01';
const CLERK_ROLES = [ROLE.resolveDiscrepancy, ROLE.financeRead];
/** Three finance clerks holding recon.resolve; A proposes, B and C check. */
const A = 'finance.zhou';
const B = 'finance.qian';
const C = 'finance.sun';

/** Ours against the channel's: the difference (or the channel-only line) is what an ADJUST posts to suspense. */
const ITEMS: { orderNo: string; ours: string | null; theirs: string }[] = [
  { orderNo: 'O-BIG', ours: '50000.00', theirs: '38000.00' }, // 12,000.00: above the threshold
  { orderNo: 'O-SMALL', ours: '100.00', theirs: '99.00' }, // 1.00: posts at once
  { orderNo: 'O-EDGE', ours: '20000.00', theirs: '10000.00' }, // 10,000.00: equal, posts at once
  { orderNo: 'O-RACE', ours: '60000.00', theirs: '45000.00' }, // 15,000.00: rejected, proposed again, raced
  { orderNo: 'O-LATE', ours: null, theirs: '30000.00' }, // channel only: proposed, then our transaction arrives
];

function paymentOf(orderNo: string, amount: string, hour: number): PaymentsTransactionV1 {
  return {
    eventId: `e-${orderNo}`,
    type: 'PAYMENT_SUCCEEDED',
    occurredAt: `2026-12-01T0${hour}:00:00.000Z`,
    merchantId: 'M00042',
    channel: 'WECHAT',
    orderNo,
    amount,
    currency: 'CNY',
  };
}

/** Inserts our transactions with their T-day entries, as the ingest records them. */
async function record(db: DataSource, events: PaymentsTransactionV1[]): Promise<void> {
  const transactions = events.map((e) => toInternalTransaction(e, DEFAULT_CHANNEL_CALENDAR));
  await db.transaction(async (tx) => {
    expect(await new InternalTransactionRepository().insertMany(tx, transactions)).toEqual([]);
    await new Ledger().post(tx, transactions.map(tDayEntryOf));
  });
}

interface Answer {
  status: number;
  headers: Headers;
  body: Discrepancy & { error?: string; message?: string };
}

describe('large discrepancy adjustments need a second person (real Postgres + Kafka, bearer tokens)', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  const saved = process.env.KAFKA_TOPIC_PREFIX;
  const prefix = `${saved ?? ''}recon-confirm.`;
  let app: INestApplication;
  let base: string;
  let db: DataSource;
  const ids = new Map<string, string>();

  const as = (sub: string) => authHeader(sub, CLERK_ROLES);
  const matchRun = async (): Promise<number> =>
    (
      await fetch(`${base}/match-runs`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(await authHeader(PEOPLE.operator.sub, PEOPLE.operator.roles)),
        },
        body: JSON.stringify({ channel: 'WECHAT', businessDate: DAY }),
      })
    ).status;

  async function post(url: string, sub: string, key: string, body: unknown): Promise<Answer> {
    const response = await fetch(`${base}${url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key, ...(await as(sub)) },
      body: JSON.stringify(body),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Answer['body'],
    };
  }
  const adjust = (order: string, sub: string, key: string) =>
    post(`/discrepancies/${ids.get(order)}/resolve`, sub, key, {
      action: 'ADJUST',
      note: `${order}: channel's figure`,
    });
  const confirm = (order: string, sub: string, key: string) =>
    post(`/discrepancies/${ids.get(order)}/confirm-adjustment`, sub, key, {
      note: 'checked the channel mail',
    });
  const reject = (order: string, sub: string, key: string, reason = 'not confirmed by the channel yet') =>
    post(`/discrepancies/${ids.get(order)}/reject-adjustment`, sub, key, { reason });

  /** The ledger's own record: entries an adjustment of the discrepancy posted (its one key). */
  async function adjustmentEntries(order: string): Promise<{ id: string; amount: string }[]> {
    return db.query(
      `SELECT e.id::text AS id, max(p.amount)::text AS amount
       FROM ledger.journal_entry e JOIN ledger.posting p ON p.entry_id = e.id
       WHERE e.idempotency_key = $1 GROUP BY e.id`,
      [`recon.adjustment:${ids.get(order)}`],
    );
  }
  async function releases(order: string): Promise<number> {
    const [row] = await db.query<[{ n: number }]>(
      `SELECT count(*)::int AS n FROM reconciliation.matched_item m
       JOIN reconciliation.discrepancy d ON d.internal_transaction_id = m.internal_transaction_id
       WHERE d.id = $1 AND m.matched_by = 'DISCREPANCY_RESOLUTION'`,
      [ids.get(order)],
    );
    return row.n;
  }
  async function history(
    order: string,
  ): Promise<{ action: string; actor: string; detail: Record<string, unknown> }[]> {
    return db.query(
      `SELECT action, actor, detail FROM reconciliation.discrepancy_history WHERE discrepancy_id = $1 ORDER BY id`,
      [ids.get(order)],
    );
  }

  beforeAll(async () => {
    await useIsolatedDatabase('discrepancy_confirmation');
    await admin.connect();
    const topic = `${prefix}${TOPIC.paymentsTransactionV1}`;
    await ensureTopics(admin, [topic, dlqTopicOf(topic), `${prefix}${TOPIC.reconItemMatchedV1}`], 3);
    await migrateAll();
    db = await openDataSource('reconciliation');

    // Our side: the day's transactions and their T-day entries.
    await record(
      db,
      ITEMS.flatMap((item, i) => (item.ours === null ? [] : [paymentOf(item.orderNo, item.ours, 2 + i)])),
    );

    process.env.KAFKA_TOPIC_PREFIX = prefix;
    ({ app, base } = await startServiceApp(ReconciliationModule, ['error']));

    // The channel's side, uploaded and matched by the operator through the API.
    const operator = await authHeader(PEOPLE.operator.sub, PEOPLE.operator.roles);
    const csv = [
      'channel_txn_id,order_no,type,amount,fee,currency,status,trade_time',
      ...ITEMS.map(
        (item, i) =>
          `42000000000000000${i},${item.orderNo},PAYMENT,${item.theirs},0.00,CNY,SUCCESS,2026-12-01 1${i}:00:00`,
      ),
    ].join('\n');
    const form = new FormData();
    form.append('channel', 'WECHAT');
    form.append('format', 'generic');
    form.append('businessDate', DAY);
    form.append('file', new Blob([`${csv}\n`]), 'generic-2026-12-01.csv');
    const uploaded = await fetch(`${base}/statements`, { method: 'POST', body: form, headers: operator });
    expect(uploaded.status).toBe(201);
    expect(await matchRun()).toBeLessThan(300);

    const listed = await fetch(`${base}/discrepancies?businessDate=${DAY}&status=OPEN`, {
      headers: await as(A),
    });
    for (const d of (await listed.json()) as Discrepancy[]) ids.set(d.orderNo, d.id);
    expect([...ids.keys()].sort()).toEqual(ITEMS.map((i) => i.orderNo).sort());
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await db?.destroy();
    await admin.disconnect();
    if (saved === undefined) delete process.env.KAFKA_TOPIC_PREFIX;
    else process.env.KAFKA_TOPIC_PREFIX = saved;
  });

  it('an ADJUST above the threshold posts nothing: the discrepancy stays OPEN with its pending adjustment', async () => {
    const proposed = await adjust('O-BIG', A, 'big-adjust');
    expect(proposed.status).toBe(200);
    // Before this rule, this very request posted the 12,000.00 entry and released the item.
    expect(await adjustmentEntries('O-BIG')).toEqual([]);
    expect(await releases('O-BIG')).toBe(0);
    expect(proposed.headers.get('confirmation-required')).toBe('true');
    expect(proposed.headers.get('released-to-clearing')).toBe('false');
    expect(proposed.body).toMatchObject({
      status: 'OPEN',
      resolution: null,
      journalEntryId: null,
      pendingAdjustment: {
        proposedBy: A,
        note: "O-BIG: channel's figure",
        class: 'AMOUNT_MISMATCH',
        amount: '12000.00',
        currency: 'CNY',
        confirmationAbove: '10000.00',
        effect: 'POST',
        postings: [
          { account: 'suspense', side: 'DEBIT', amount: '12000.00' },
          { account: 'channel_receivable:WECHAT', side: 'CREDIT', amount: '12000.00' },
        ],
        releasesToClearing: true,
      },
    });
    expect(await adjustmentEntries('O-BIG')).toEqual([]);
    expect(await releases('O-BIG')).toBe(0);

    // A replay is the first answer; the checkers' list shows it; nothing else may resolve it meanwhile.
    const replay = await adjust('O-BIG', A, 'big-adjust');
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.headers.get('confirmation-required')).toBe('true');
    const waiting = (await (
      await fetch(`${base}/discrepancies?awaitingConfirmation=true`, { headers: await as(B) })
    ).json()) as Discrepancy[];
    expect(waiting.map((d) => d.orderNo)).toEqual(['O-BIG']);
    const writeOff = await post(`/discrepancies/${ids.get('O-BIG')}/resolve`, B, 'big-write-off', {
      action: 'WRITE_OFF',
      note: 'around the checker',
    });
    expect(writeOff).toMatchObject({ status: 409, body: { error: 'DISCREPANCY.ADJUSTMENT_PENDING' } });
    expect(await adjustmentEntries('O-BIG')).toEqual([]);
  });

  it("A's own confirmation is refused, whatever the spelling, and the refusal is on record", async () => {
    for (const [sub, key] of [
      [A, 'big-self-1'],
      ['Finance.ZHOU', 'big-self-2'],
    ] as const) {
      const refused = await confirm('O-BIG', sub, key);
      expect(refused).toMatchObject({
        status: 403,
        body: {
          error: 'DISCREPANCY.SELF_CONFIRMATION',
          message: expect.stringContaining('cannot confirm it'),
        },
      });
    }
    expect(await adjustmentEntries('O-BIG')).toEqual([]);
    expect(await releases('O-BIG')).toBe(0);
    const refusals = (await history('O-BIG')).filter((h) => h.action === 'COMMAND_REFUSED');
    expect(refusals.map((h) => [h.actor, h.detail.command, h.detail.code])).toEqual([
      [B, 'WRITE_OFF', 'DISCREPANCY.ADJUSTMENT_PENDING'],
      [A, 'CONFIRM', 'DISCREPANCY.SELF_CONFIRMATION'],
      [A, 'CONFIRM', 'DISCREPANCY.SELF_CONFIRMATION'],
    ]);
    const [audit] = await db.query<
      { principal: string; outcome: string; http_status: number; code: string }[]
    >(
      `SELECT principal, outcome, http_status, code FROM reconciliation.command_audit
       WHERE action = 'DISCREPANCY_CONFIRM_ADJUSTMENT' ORDER BY id LIMIT 1`,
    );
    expect(audit).toEqual({
      principal: A,
      outcome: 'REFUSED',
      http_status: 403,
      code: 'DISCREPANCY.SELF_CONFIRMATION',
    });
  });

  it("B's confirmation posts exactly one entry and releases the transaction once", async () => {
    const confirmed = await confirm('O-BIG', B, 'big-confirm');
    expect(confirmed.status).toBe(200);
    expect(confirmed.headers.get('released-to-clearing')).toBe('true');
    expect(confirmed.body).toMatchObject({
      status: 'RESOLVED',
      resolution: 'ADJUSTMENT',
      resolvedBy: A,
      resolutionNote: "O-BIG: channel's figure",
      adjustmentConfirmedBy: B,
      pendingAdjustment: null,
    });
    const entries = await adjustmentEntries('O-BIG');
    expect(entries).toEqual([{ id: confirmed.body.journalEntryId, amount: '12000.00' }]);
    expect(await releases('O-BIG')).toBe(1);

    // Replayed, confirmed again by someone else, or confirmed by A now: nothing more is posted.
    const replay = await confirm('O-BIG', B, 'big-confirm');
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect((await confirm('O-BIG', C, 'big-confirm-again')).body.error).toBe('DISCREPANCY.ALREADY_RESOLVED');
    expect(await adjustmentEntries('O-BIG')).toHaveLength(1);
    expect(await releases('O-BIG')).toBe(1);
    const resolved = (await history('O-BIG')).filter((h) => h.action === 'RESOLVED');
    expect(resolved).toHaveLength(1);
    expect(resolved[0]).toMatchObject({
      actor: B,
      detail: {
        proposedBy: A,
        confirmedBy: B,
        amount: '12000.00',
        journalEntryId: confirmed.body.journalEntryId,
      },
    });
  });

  it('at or below the threshold an ADJUST posts at once, as before', async () => {
    for (const [order, amount] of [
      ['O-SMALL', '1.00'],
      ['O-EDGE', '10000.00'],
    ] as const) {
      const adjusted = await adjust(order, A, `${order}-adjust`);
      expect(adjusted.status).toBe(200);
      expect(adjusted.headers.get('confirmation-required')).toBe('false');
      expect(adjusted.body).toMatchObject({
        status: 'RESOLVED',
        resolution: 'ADJUSTMENT',
        resolvedBy: A,
        adjustmentConfirmedBy: null,
        pendingAdjustment: null,
      });
      expect(await adjustmentEntries(order)).toEqual([{ id: adjusted.body.journalEntryId, amount }]);
      expect(await releases(order)).toBe(1);
    }
  });

  it('a rejection returns the discrepancy to plain OPEN; of two concurrent confirmations one posts', async () => {
    expect((await adjust('O-RACE', A, 'race-adjust-1')).body.pendingAdjustment?.amount).toBe('15000.00');
    const rejected = await reject('O-RACE', B, 'race-reject');
    expect(rejected).toMatchObject({ status: 200, body: { status: 'OPEN', pendingAdjustment: null } });
    expect((await reject('O-RACE', B, 'race-reject-2')).body.error).toBe('DISCREPANCY.NO_PENDING_ADJUSTMENT');
    expect((await confirm('O-RACE', C, 'race-confirm-nothing')).body.error).toBe(
      'DISCREPANCY.NO_PENDING_ADJUSTMENT',
    );
    expect(await adjustmentEntries('O-RACE')).toEqual([]);

    // Proposed again (a new key: the first one is spent), then B and C confirm at the same moment.
    expect((await adjust('O-RACE', A, 'race-adjust-1')).headers.get('idempotent-replayed')).toBe('true');
    const again = await adjust('O-RACE', A, 'race-adjust-2');
    expect(again.body.pendingAdjustment).toMatchObject({ proposedBy: A, amount: '15000.00' });
    const answers = await Promise.all([confirm('O-RACE', B, 'race-b'), confirm('O-RACE', C, 'race-c')]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect(answers.find((a) => a.status === 409)?.body.error).toBe('DISCREPANCY.ALREADY_RESOLVED');
    const winner = answers.find((a) => a.status === 200)!;
    expect(await adjustmentEntries('O-RACE')).toEqual([
      { id: winner.body.journalEntryId, amount: '15000.00' },
    ]);
    expect(await releases('O-RACE')).toBe(1);
    expect((await history('O-RACE')).map((h) => h.action)).toEqual([
      'OPENED',
      'ADJUSTMENT_PROPOSED',
      'ADJUSTMENT_REJECTED',
      'COMMAND_REFUSED',
      'COMMAND_REFUSED',
      'ADJUSTMENT_PROPOSED',
      'RESOLVED',
      'COMMAND_REFUSED',
    ]);
    const proposals = await db.query<{ status: string; decided_by: string }[]>(
      `SELECT status, decided_by FROM reconciliation.adjustment_proposal WHERE discrepancy_id = $1 ORDER BY id`,
      [ids.get('O-RACE')],
    );
    expect(proposals).toEqual([
      { status: 'REJECTED', decided_by: B },
      { status: 'CONFIRMED', decided_by: winner.body.adjustmentConfirmedBy },
    ]);
  });

  it('a late match closes a case whose adjustment waits (REMATCH): nothing is left to confirm, nothing is posted', async () => {
    const proposed = await adjust('O-LATE', A, 'late-adjust');
    expect(proposed.body).toMatchObject({
      status: 'OPEN',
      class: 'MISSING_INTERNAL',
      pendingAdjustment: { amount: '30000.00', releasesToClearing: false },
    });
    await record(db, [paymentOf('O-LATE', '30000.00', 7)]);
    expect(await matchRun()).toBeLessThan(300);
    const after = (await (
      await fetch(`${base}/discrepancies/${ids.get('O-LATE')}`, { headers: await as(B) })
    ).json()) as Discrepancy;
    expect(after).toMatchObject({ status: 'RESOLVED', resolution: 'REMATCH', pendingAdjustment: null });
    expect((await confirm('O-LATE', B, 'late-confirm')).body.error).toBe('DISCREPANCY.ALREADY_RESOLVED');
    expect(await adjustmentEntries('O-LATE')).toEqual([]);
    const waiting = (await (
      await fetch(`${base}/discrepancies?awaitingConfirmation=true`, { headers: await as(B) })
    ).json()) as Discrepancy[];
    expect(waiting).toEqual([]);
  });

  it('documents the new commands and shapes in the OpenAPI document', async () => {
    const document = (await (await fetch(`${base}/docs-json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/discrepancies/{id}/confirm-adjustment',
        '/discrepancies/{id}/reject-adjustment',
      ]),
    );
    expect(Object.keys(document.components.schemas)).toEqual(
      expect.arrayContaining(['PendingAdjustment', 'ConfirmAdjustmentRequest', 'RejectAdjustmentRequest']),
    );
  });

  it('the history is append-only', async () => {
    await expect(db.query(`UPDATE reconciliation.discrepancy_history SET actor = 'nobody'`)).rejects.toThrow(
      /append-only/,
    );
  });
});
