/**
 * A match run of (channel, business date) on the real Postgres: the sample day 2026-11-22 against
 * the generic and the WeChat ALL statements, a re-run, and the cross-day items carried into
 * 2026-11-23.
 */
import path from 'node:path';
import type { PaymentsTransactionV1 } from '@app/contracts';
import type { DataSource } from 'typeorm';
import {
  DEFAULT_CHANNEL_CALENDAR,
  toInternalTransaction,
  InternalTransactionRepository,
  latestRunOf,
  MatchRunService,
  type StatementFormat,
  StatementImportService,
} from '../../apps/reconciliation/src/index.js';
import { migrateAll, openDataSource, readLines, SAMPLES_DIR, useIsolatedDatabase } from '../support/infra.js';

const sample = (name: string) => path.join(SAMPLES_DIR, name);

const SAMPLE_DAY_COUNTS = {
  MATCHED: 24,
  AMOUNT_MISMATCH: 3,
  STATUS_MISMATCH: 3,
  MISSING_IN_CHANNEL: 3,
  MISSING_INTERNAL: 3,
  PENDING_CROSS_DAY: 3,
  DUPLICATE: 0,
};

/** Opens a fresh database with the sample internal transactions written through the ingest code path. */
async function sampleDatabase(label: string): Promise<DataSource> {
  await useIsolatedDatabase(label);
  await migrateAll();
  const db = await openDataSource('reconciliation');
  const events = (await readLines(sample('internal-events.jsonl'))).map(
    (l) => JSON.parse(l) as PaymentsTransactionV1,
  );
  const repository = new InternalTransactionRepository();
  const skipped = await db.transaction((tx) =>
    repository.insertMany(
      tx,
      events.map((e) => toInternalTransaction(e, DEFAULT_CHANNEL_CALENDAR)),
    ),
  );
  expect(skipped).toEqual([]);
  return db;
}

async function importStatement(db: DataSource, format: StatementFormat, file: string, businessDate: string) {
  return new StatementImportService(db).import({
    channel: 'WECHAT',
    format,
    filePath: sample(file),
    businessDate,
    silent: true,
  });
}

async function storedItems(
  db: DataSource,
  matchRunId: string,
): Promise<
  {
    class: string;
    side: string;
    event_id: string | null;
    line_no: number | null;
    original_business_date: string | null;
  }[]
> {
  return db.query(
    `SELECT class, side, event_id, line_no, to_char(original_business_date, 'YYYY-MM-DD') AS original_business_date
     FROM reconciliation.match_item WHERE match_run_id = $1 ORDER BY order_no, coalesce(refund_no, $$$$), line_no, event_id`,
    [matchRunId],
  );
}

function countOf(items: { class: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const c of Object.keys(SAMPLE_DAY_COUNTS)) counts[c] = 0;
  for (const item of items) counts[item.class] = (counts[item.class] ?? 0) + 1;
  return counts;
}

describe('match run (real Postgres, generic statement)', () => {
  let db: DataSource;
  let service: MatchRunService;

  beforeAll(async () => {
    db = await sampleDatabase('match_run');
    service = new MatchRunService(db);
  });

  afterAll(async () => {
    await db?.destroy();
  });

  it('classifies 2026-11-22 into the expected counts and stores one item per internal item and line', async () => {
    const statement = await importStatement(db, 'generic', 'generic-2026-11-22.csv', '2026-11-22');
    const result = await service.run('WECHAT', '2026-11-22');
    expect(result.counts).toEqual(SAMPLE_DAY_COUNTS);
    expect(result.statementFileId).toBe(statement.statementFileId);

    const items = await storedItems(db, result.matchRunId);
    expect(countOf(items)).toEqual(SAMPLE_DAY_COUNTS);
    // Every internal item of the day (36 events) and every line (33) appears exactly once.
    expect(new Set(items.flatMap((i) => (i.event_id === null ? [] : [i.event_id]))).size).toBe(36);
    expect(new Set(items.flatMap((i) => (i.line_no === null ? [] : [i.line_no]))).size).toBe(33);
    const [run] = await db.query<[{ counts: unknown; ordered: boolean }]>(
      `SELECT counts, started_at <= finished_at AS ordered FROM reconciliation.match_run WHERE id = $1`,
      [result.matchRunId],
    );
    expect(run).toEqual({ counts: SAMPLE_DAY_COUNTS, ordered: true });
  });

  it('a re-run of 2026-11-22 writes a new run with the same classification', async () => {
    const [first] = await db.query<[{ id: string }]>(
      `SELECT id::text AS id FROM reconciliation.match_run WHERE channel = 'WECHAT' AND business_date = '2026-11-22'`,
    );
    const again = await service.run('WECHAT', '2026-11-22');
    expect(again.counts).toEqual(SAMPLE_DAY_COUNTS);
    expect(again.matchRunId).not.toBe(first.id);
    expect(await storedItems(db, again.matchRunId)).toEqual(await storedItems(db, first.id));
  });

  it('2026-11-23 matches the three items pending from 2026-11-22 and leaves nothing pending', async () => {
    await importStatement(db, 'generic', 'generic-2026-11-23.csv', '2026-11-23');
    const result = await service.run('WECHAT', '2026-11-23');
    expect(result.counts).toEqual({
      MATCHED: 3,
      AMOUNT_MISMATCH: 0,
      STATUS_MISMATCH: 0,
      MISSING_IN_CHANNEL: 0,
      MISSING_INTERNAL: 0,
      PENDING_CROSS_DAY: 0,
      DUPLICATE: 0,
    });
    const pendingBefore = await db.query<{ event_id: string }[]>(
      `SELECT mi.event_id FROM reconciliation.match_item mi
       WHERE mi.match_run_id = (SELECT max(id) FROM reconciliation.match_run
                                WHERE channel = 'WECHAT' AND business_date = '2026-11-22')
         AND mi.class = 'PENDING_CROSS_DAY' ORDER BY mi.event_id`,
    );
    expect(pendingBefore).toHaveLength(3);
    const items = await storedItems(db, result.matchRunId);
    expect(items.map((i) => [i.class, i.side, i.original_business_date])).toEqual([
      ['MATCHED', 'BOTH', '2026-11-22'],
      ['MATCHED', 'BOTH', '2026-11-22'],
      ['MATCHED', 'BOTH', '2026-11-22'],
    ]);
    expect(items.map((i) => i.event_id).sort()).toEqual(pendingBefore.map((p) => p.event_id));
  });

  it("the previous day's latest run is the newest by id, also where ids pass 99 (numbers, not text)", async () => {
    // A bare `ORDER BY id` over `id::text AS id` sorts the text column: "99" > "100", so the run
    // before a re-run was taken for the latest one once ids gained a digit.
    await db.query("SELECT setval(pg_get_serial_sequence('reconciliation.match_run', 'id'), 99, false)");
    const ids = await db.query<{ id: string }[]>(
      `INSERT INTO reconciliation.match_run (channel, business_date, started_at, finished_at, counts, started_by)
       SELECT 'ALIPAY', '2026-11-20', now(), now(), '{}'::jsonb, 'system:local' FROM generate_series(1, 2)
       RETURNING id::text AS id`,
    );
    expect(ids.map((r) => r.id)).toEqual(['99', '100']);
    expect(await db.transaction((tx) => latestRunOf(tx, 'ALIPAY', '2026-11-20'))).toBe('100');
  });
});

describe('match run (real Postgres, WeChat ALL bill)', () => {
  let db: DataSource;

  beforeAll(async () => {
    db = await sampleDatabase('match_run_wechat');
  });

  afterAll(async () => {
    await db?.destroy();
  });

  it('classifies the WeChat bill of 2026-11-22 like the generic file', async () => {
    await importStatement(db, 'wechat-all', 'wechat-all-2026-11-22.csv', '2026-11-22');
    const result = await new MatchRunService(db).run('WECHAT', '2026-11-22');
    expect(result.counts).toEqual(SAMPLE_DAY_COUNTS);
    expect(countOf(await storedItems(db, result.matchRunId))).toEqual(SAMPLE_DAY_COUNTS);
  });
});
