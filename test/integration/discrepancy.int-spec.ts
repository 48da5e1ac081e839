/**
 * Marks, emission and discrepancies (差错) on the real Postgres: the sample day's run emits each
 * matched item once, opens one discrepancy per non-matched item, a re-run changes nothing, finance
 * resolves them (adjustment with its journal entry, write-off), a late arrival resolves one by
 * re-match, and a corrected statement with a repeated line yields a DUPLICATE.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseReconItemMatchedV1, reconItemMatchedEventId, type PaymentsTransactionV1 } from '@app/contracts';
import { Ledger, runLedgerChecks } from '@app/ledger';
import type { DataSource } from 'typeorm';
import {
  DEFAULT_CHANNEL_CALENDAR,
  toInternalTransaction,
  InternalTransactionRepository,
  tDayIdempotencyKey,
  DiscrepancyService,
  DiscrepancyError,
  type Discrepancy,
  MatchRunService,
  unpublishedItemMatchedEvents,
  StatementImportService,
} from '../../apps/reconciliation/src/index.js';
import { migrateAll, openDataSource, readLines, SAMPLES_DIR, useIsolatedDatabase } from '../support/infra.js';

const sample = (name: string) => path.join(SAMPLES_DIR, name);
const DAY = '2026-11-22';

interface OutboxMessage {
  key: string;
  value: Record<string, unknown> & {
    transaction: Record<string, unknown>;
    statementLine?: Record<string, unknown>;
  };
}

/** What the matched-item relay will publish: every mark, as the event it builds (none published here). */
async function outboxMessages(db: DataSource): Promise<OutboxMessage[]> {
  const items = await unpublishedItemMatchedEvents(db.manager, 10_000);
  return items.map((i) => ({
    key: i.merchantId,
    // Through JSON, as the relay sends it.
    value: JSON.parse(JSON.stringify(i.event)) as OutboxMessage['value'],
  }));
}

async function accountBalance(db: DataSource, code: string): Promise<string> {
  const [row] = await db.query<[{ balance: string }]>(
    `SELECT coalesce(sum(CASE p.side WHEN 'D' THEN p.amount ELSE -p.amount END), 0)::text AS balance
     FROM ledger.posting p JOIN ledger.account a ON a.id = p.account_id WHERE a.code = $1`,
    [code],
  );
  return row.balance;
}

describe('discrepancies, marks and emission (real Postgres)', () => {
  let db: DataSource;
  let runs: MatchRunService;
  let discrepancies: DiscrepancyService;
  let events: PaymentsTransactionV1[];
  let workDir: string;

  const byClass = async (klass: Discrepancy['class']) =>
    (await discrepancies.list({ businessDate: DAY, channel: 'WECHAT', class: klass })).sort((a, b) =>
      a.orderNo < b.orderNo ? -1 : 1,
    );

  beforeAll(async () => {
    await useIsolatedDatabase('discrepancy');
    await migrateAll();
    db = await openDataSource('reconciliation');
    workDir = await mkdtemp(path.join(tmpdir(), 'cse-discrepancy-'));
    events = (await readLines(sample('internal-events.jsonl'))).map(
      (l) => JSON.parse(l) as PaymentsTransactionV1,
    );
    const ledger = new Ledger();
    await db.transaction(async (tx) => {
      const skipped = await new InternalTransactionRepository().insertMany(
        tx,
        events.map((e) => toInternalTransaction(e, DEFAULT_CHANNEL_CALENDAR)),
      );
      expect(skipped).toEqual([]);
      // The T-day entries the ingest posts (receivable against merchant pending), so that an
      // adjustment has something to reverse.
      await ledger.post(
        tx,
        events.map((e) => ({
          idempotencyKey: tDayIdempotencyKey(e.eventId),
          businessRef: e.eventId,
          effectiveAt: e.occurredAt,
          postings:
            e.type === 'REFUND_SUCCEEDED'
              ? [
                  {
                    account: { template: 'merchant_pending', owner: e.merchantId },
                    side: 'DEBIT',
                    amount: e.amount,
                    currency: e.currency,
                  },
                  {
                    account: { template: 'channel_receivable', owner: e.channel },
                    side: 'CREDIT',
                    amount: e.amount,
                    currency: e.currency,
                  },
                ]
              : [
                  {
                    account: { template: 'channel_receivable', owner: e.channel },
                    side: 'DEBIT',
                    amount: e.amount,
                    currency: e.currency,
                  },
                  {
                    account: { template: 'merchant_pending', owner: e.merchantId },
                    side: 'CREDIT',
                    amount: e.amount,
                    currency: e.currency,
                  },
                ],
        })),
      );
    });
    await new StatementImportService(db).import({
      channel: 'WECHAT',
      format: 'generic',
      filePath: sample('generic-2026-11-22.csv'),
      businessDate: DAY,
      silent: true,
    });
    runs = new MatchRunService(db);
    discrepancies = new DiscrepancyService(db, ledger);
  });

  afterAll(async () => {
    await db?.destroy();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('the first run emits the 24 matched items once and opens 12 discrepancies (pending items are not discrepancies)', async () => {
    const result = await runs.run('WECHAT', DAY);
    expect(result.counts.MATCHED).toBe(24);
    expect(result.emitted).toBe(24);
    expect(result.discrepancies).toEqual({ opened: 12, reclassified: 0, resolvedByRematch: 0 });

    const messages = await outboxMessages(db);
    expect(messages).toHaveLength(24);
    const matchedIds = await db.query<{ event_id: string }[]>(
      `SELECT event_id FROM reconciliation.match_item WHERE match_run_id = $1 AND class = 'MATCHED' ORDER BY event_id`,
      [result.matchRunId],
    );
    expect(messages.map((m) => m.value.transaction.eventId).sort()).toEqual(
      matchedIds.map((r) => r.event_id),
    );
    const byEventId = new Map(events.map((e) => [e.eventId, e]));
    for (const message of messages) {
      const event = byEventId.get(message.value.transaction.eventId as string)!;
      expect(message.key).toBe(event.merchantId);
      expect(message.value).toMatchObject({
        matchedBy: 'MATCH_RUN',
        matchRunId: result.matchRunId,
        channel: 'WECHAT',
        businessDate: DAY,
        merchantId: event.merchantId,
        transaction: {
          type: event.type,
          orderNo: event.orderNo,
          amount: event.amount,
          currency: event.currency,
        },
        statementLine: { amount: event.amount },
      });
      expect(message.value.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      // What clearing will parse: the contract accepts every message as it is.
      const parsed = parseReconItemMatchedV1(message.value);
      expect(parsed.ok ? 'valid' : parsed.reason).toBe('valid');
      expect(message.value.eventId).toBe(reconItemMatchedEventId('WECHAT', event.eventId));
      // Absent means absent: no optional field is sent as null.
      expect(JSON.stringify(message.value)).not.toContain('null');
    }

    const counts = await db.query<{ class: string; n: string }[]>(
      `SELECT class, count(*)::text AS n FROM reconciliation.discrepancy GROUP BY class ORDER BY class COLLATE "C"`,
    );
    expect(counts).toEqual([
      { class: 'AMOUNT_MISMATCH', n: '3' },
      { class: 'MISSING_INTERNAL', n: '3' },
      { class: 'MISSING_IN_CHANNEL', n: '3' },
      { class: 'STATUS_MISMATCH', n: '3' },
    ]);
    const history = await db.query<{ n: string }[]>(
      `SELECT count(*)::text AS n FROM reconciliation.discrepancy_history WHERE action = 'OPENED' AND actor = 'system'`,
    );
    expect(history[0]?.n).toBe('12');
  });

  it('a re-run emits nothing and opens nothing, the discrepancies only note the newer run', async () => {
    const again = await runs.run('WECHAT', DAY);
    expect(again.counts.MATCHED).toBe(24);
    expect(again.emitted).toBe(0);
    expect(again.discrepancies).toEqual({ opened: 0, reclassified: 0, resolvedByRematch: 0 });
    expect(await outboxMessages(db)).toHaveLength(24);
    const all = await discrepancies.list({ businessDate: DAY });
    expect(all).toHaveLength(12);
    expect(new Set(all.map((d) => d.lastMatchRunId))).toEqual(new Set([again.matchRunId]));
  });

  it('the report sums each class per channel and lists every discrepancy', async () => {
    const report = await discrepancies.report({ businessDate: DAY, channel: 'WECHAT' });
    expect(report.runs).toHaveLength(1);
    expect(report.runs[0]?.counts).toMatchObject({ MATCHED: 24, PENDING_CROSS_DAY: 3 });
    expect(report.summary.map((s) => [s.class, s.open, s.resolved])).toEqual([
      ['AMOUNT_MISMATCH', 3, 0],
      ['STATUS_MISMATCH', 3, 0],
      ['MISSING_IN_CHANNEL', 3, 0],
      ['MISSING_INTERNAL', 3, 0],
    ]);
    const amountMismatches = await byClass('AMOUNT_MISMATCH');
    const sum = (values: (string | null)[]) =>
      values.reduce((total, v) => total + BigInt((v ?? '0').replace('.', '')), 0n);
    const summaryRow = report.summary.find((s) => s.class === 'AMOUNT_MISMATCH')!;
    expect(BigInt(summaryRow.internalAmount.replace('.', ''))).toBe(
      sum(amountMismatches.map((d) => d.internalAmount)),
    );
    expect(BigInt(summaryRow.channelAmount.replace('.', ''))).toBe(
      sum(amountMismatches.map((d) => d.channelAmount)),
    );
    expect(report.discrepancies).toHaveLength(12);
    for (const d of amountMismatches) {
      expect(d.internalAmount).not.toBe(d.channelAmount);
      expect(d.reason).toContain(`amount ${d.internalAmount} (ours) ≠ ${d.channelAmount} (channel)`);
    }
  });

  it('an ADJUSTMENT of an amount mismatch books the difference to suspense and releases the item to clearing, once', async () => {
    const [target] = await byClass('AMOUNT_MISMATCH');
    const suspenseBefore = await accountBalance(db, '2241');
    const result = await discrepancies.resolve({
      discrepancyId: target!.id,
      action: 'ADJUST',
      actor: 'finance.li',
      note: 'channel confirmed its figure',
      idempotencyKey: 'resolve-1',
    });
    expect(result.replayed).toBe(false);
    expect(result.releasedToClearing).toBe(true);
    expect(result.discrepancy).toMatchObject({
      status: 'RESOLVED',
      resolution: 'ADJUSTMENT',
      resolvedBy: 'finance.li',
    });
    expect(result.discrepancy.journalEntryId).toMatch(/^\d+$/);

    const postings = await db.query<{ code: string; side: string; amount: string }[]>(
      `SELECT a.code, p.side, p.amount::text AS amount FROM ledger.posting p JOIN ledger.account a ON a.id = p.account_id
       WHERE p.entry_id = $1 ORDER BY p.line`,
      [result.discrepancy.journalEntryId],
    );
    const difference =
      BigInt(target!.channelAmount!.replace('.', '')) - BigInt(target!.internalAmount!.replace('.', ''));
    const magnitude = difference < 0n ? -difference : difference;
    const asMoney = `${magnitude / 100n}.${(magnitude % 100n).toString().padStart(2, '0')}`;
    expect(postings).toEqual(
      difference > 0n
        ? [
            { code: '1122:WECHAT', side: 'D', amount: asMoney },
            { code: '2241', side: 'C', amount: asMoney },
          ]
        : [
            { code: '2241', side: 'D', amount: asMoney },
            { code: '1122:WECHAT', side: 'C', amount: asMoney },
          ],
    );
    const suspenseAfter = await accountBalance(db, '2241');
    expect(BigInt(suspenseAfter.replace('.', '')) - BigInt(suspenseBefore.replace('.', ''))).toBe(
      -difference,
    );

    const released = (await outboxMessages(db)).filter((m) => m.value.matchedBy === 'DISCREPANCY_RESOLUTION');
    expect(released).toHaveLength(1);
    const parsedRelease = parseReconItemMatchedV1(released[0]?.value);
    expect(parsedRelease.ok ? 'valid' : parsedRelease.reason).toBe('valid');
    expect(released[0]?.value).toMatchObject({
      discrepancyId: target!.id,
      transaction: { eventId: target!.eventId, amount: target!.internalAmount },
      statementLine: { amount: target!.channelAmount, lineNo: target!.lineNo },
    });

    // Replay: the same result, nothing new.
    const replay = await discrepancies.resolve({
      discrepancyId: target!.id,
      action: 'ADJUST',
      actor: 'finance.li',
      note: 'channel confirmed its figure',
      idempotencyKey: 'resolve-1',
    });
    expect(replay.replayed).toBe(true);
    expect(replay.releasedToClearing).toBe(true);
    expect(replay.discrepancy).toEqual(result.discrepancy);
    expect(await outboxMessages(db)).toHaveLength(25);

    await expect(
      discrepancies.resolve({
        discrepancyId: target!.id,
        action: 'WRITE_OFF',
        actor: 'finance.wang',
        note: 'x',
        idempotencyKey: 'resolve-2',
      }),
    ).rejects.toMatchObject({ code: 'DISCREPANCY.ALREADY_RESOLVED' });
    const [other] = await byClass('MISSING_INTERNAL');
    await expect(
      discrepancies.resolve({
        discrepancyId: other!.id,
        action: 'ADJUST',
        actor: 'finance.li',
        note: 'x',
        idempotencyKey: 'resolve-1',
      }),
    ).rejects.toMatchObject({ code: 'DISCREPANCY.IDEMPOTENCY_CONFLICT' });
    await expect(
      discrepancies.resolve({
        discrepancyId: '999999',
        action: 'ADJUST',
        actor: 'finance.li',
        note: 'x',
        idempotencyKey: 'resolve-3',
      }),
    ).rejects.toBeInstanceOf(DiscrepancyError);

    // A later re-run sees the item still differ, but the resolved case stays closed and the item
    // is not emitted a second time.
    const rerun = await runs.run('WECHAT', DAY);
    expect(rerun.emitted).toBe(0);
    expect((await discrepancies.get(target!.id))?.status).toBe('RESOLVED');
    expect(await outboxMessages(db)).toHaveLength(25);
  });

  it('an ADJUSTMENT of a channel-only payment books it to suspense; a WRITE_OFF posts nothing', async () => {
    const [first, second] = await byClass('MISSING_INTERNAL');
    const adjusted = await discrepancies.resolve({
      discrepancyId: first!.id,
      action: 'ADJUST',
      actor: 'finance.li',
      note: '长款, parked until identified',
      idempotencyKey: 'resolve-missing-internal',
    });
    expect(adjusted.releasedToClearing).toBe(false);
    const postings = await db.query<{ code: string; side: string; amount: string }[]>(
      `SELECT a.code, p.side, p.amount::text AS amount FROM ledger.posting p JOIN ledger.account a ON a.id = p.account_id
       WHERE p.entry_id = $1 ORDER BY p.line`,
      [adjusted.discrepancy.journalEntryId],
    );
    expect(postings).toEqual([
      { code: '1122:WECHAT', side: 'D', amount: first!.channelAmount },
      { code: '2241', side: 'C', amount: first!.channelAmount },
    ]);

    const entriesBefore = await db.query<{ n: string }[]>(
      'SELECT count(*)::text AS n FROM ledger.journal_entry',
    );
    const writtenOff = await discrepancies.resolve({
      discrepancyId: second!.id,
      action: 'WRITE_OFF',
      actor: 'finance.wang',
      note: 'test order placed by the channel, confirmed by phone',
      idempotencyKey: 'resolve-write-off',
    });
    expect(writtenOff.discrepancy).toMatchObject({
      status: 'RESOLVED',
      resolution: 'WRITE_OFF',
      resolvedBy: 'finance.wang',
      resolutionNote: 'test order placed by the channel, confirmed by phone',
      journalEntryId: null,
    });
    expect(writtenOff.discrepancy.resolvedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const entriesAfter = await db.query<{ n: string }[]>(
      'SELECT count(*)::text AS n FROM ledger.journal_entry',
    );
    expect(entriesAfter).toEqual(entriesBefore);
  });

  it('an ADJUSTMENT of a status mismatch reverses our T-day entry', async () => {
    const [target] = await byClass('STATUS_MISMATCH');
    const result = await discrepancies.resolve({
      discrepancyId: target!.id,
      action: 'ADJUST',
      actor: 'finance.li',
      note: 'channel closed the order',
      idempotencyKey: 'resolve-status',
    });
    expect(result.releasedToClearing).toBe(false);
    const [entry] = await db.query<[{ reverses: string; key: string }]>(
      `SELECT r.idempotency_key AS key, o.idempotency_key AS reverses
       FROM ledger.journal_entry r JOIN ledger.journal_entry o ON o.id = r.reverses_entry_id WHERE r.id = $1`,
      [result.discrepancy.journalEntryId],
    );
    expect(entry).toEqual({
      key: `recon.adjustment:${target!.id}`,
      reverses: tDayIdempotencyKey(target!.eventId!),
    });
    const checks = await db.transaction((tx) => runLedgerChecks(tx));
    expect(checks.ok).toBe(true);
  });

  it('a late transaction for a channel-only line resolves its discrepancy by REMATCH and is emitted then', async () => {
    const [late] = await byClass('MISSING_INTERNAL');
    const openLate = (await byClass('MISSING_INTERNAL')).find((d) => d.status === 'OPEN')!;
    expect(late).toBeDefined();
    const event: PaymentsTransactionV1 = {
      eventId: 'late-arrival-1',
      type: 'PAYMENT_SUCCEEDED',
      occurredAt: '2026-11-22T04:00:00Z',
      merchantId: 'M00001',
      channel: 'WECHAT',
      orderNo: openLate.orderNo,
      amount: openLate.channelAmount!,
      currency: 'CNY',
    };
    await db.transaction((tx) =>
      new InternalTransactionRepository().insertMany(tx, [
        toInternalTransaction(event, DEFAULT_CHANNEL_CALENDAR),
      ]),
    );
    const result = await runs.run('WECHAT', DAY);
    expect(result.counts.MATCHED).toBe(25);
    expect(result.emitted).toBe(1);
    expect(result.discrepancies.resolvedByRematch).toBe(1);
    expect(await discrepancies.get(openLate.id)).toMatchObject({
      status: 'RESOLVED',
      resolution: 'REMATCH',
      resolvedBy: 'system',
      resolutionNote: `matched by match run ${result.matchRunId}`,
    });
  });

  it('a corrected statement with a repeated line and a wrong fee: DUPLICATE and a recorded fee difference', async () => {
    const original = await readFile(sample('generic-2026-11-22.csv'), 'utf8');
    const lines = original.trimEnd().split('\n');
    // line 2 repeated at the end; line 3's fee off by 0.05
    const third = lines[2]!.split(',');
    const wrongFee = (BigInt(third[4]!.replace('.', '')) + 5n).toString();
    third[4] = `${wrongFee.slice(0, -2)}.${wrongFee.slice(-2)}`;
    const corrected = [...lines.slice(0, 2), third.join(','), ...lines.slice(3), lines[1]].join('\n') + '\n';
    const file = path.join(workDir, 'generic-2026-11-22-corrected.csv');
    await writeFile(file, corrected);
    await new StatementImportService(db).import({
      channel: 'WECHAT',
      format: 'generic',
      filePath: file,
      businessDate: DAY,
      silent: true,
    });

    const result = await runs.run('WECHAT', DAY);
    expect(result.counts.DUPLICATE).toBe(1);
    expect(result.statementLines).toBe(34);
    const [duplicate] = await byClass('DUPLICATE');
    expect(duplicate).toMatchObject({
      side: 'CHANNEL',
      lineNo: 35,
      eventId: null,
      status: 'OPEN',
      detectedOn: DAY,
    });
    expect(duplicate!.reason).toContain('already on line 2');
    const [feeItem] = await db.query<[{ class: string; fee_difference: string }]>(
      `SELECT class, fee_difference::text FROM reconciliation.match_item WHERE match_run_id = $1 AND line_no = 3`,
      [result.matchRunId],
    );
    expect(feeItem).toEqual({ class: feeItem.class, fee_difference: '0.05' });
  });
});
