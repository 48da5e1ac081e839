/**
 * The set-based match run (SQL), and the run made on import (StatementMatcher, ADR 013), against
 * the pure classifier (the specification) on random days:
 * payments and refunds, amount and status differences, missing items on both sides, repeated
 * lines, anonymous refund lines (the generic CSV has no refund number) and items near the
 * cut-off. Every item must land in the same class on both.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { PaymentsTransactionV1 } from '@app/contracts';
import type { DataSource } from 'typeorm';
import {
  DEFAULT_CHANNEL_CALENDAR,
  toInternalTransaction,
  InternalTransactionRepository,
  classify,
  MatchRunService,
  type InternalItem,
  type MatchRun,
  type StatementLine,
  StatementImportService,
} from '../../apps/reconciliation/src/index.js';
import { migrateAll, openDataSource, useIsolatedDatabase } from '../support/infra.js';

const DAY = '2026-11-22';

type LineFate = 'MATCH' | 'AMOUNT' | 'STATUS' | 'NONE' | 'TWICE' | 'TWICE_BAD_FIRST';

interface OrderSpec {
  cents: number;
  fate: LineFate;
  /** Seconds after local midnight of D (86,399 = 23:59:59, inside the cross-day window). */
  second: number;
  refunds: { cents: number; fate: LineFate }[];
}

const fate = fc.constantFrom<LineFate>(
  'MATCH',
  'MATCH',
  'MATCH',
  'AMOUNT',
  'STATUS',
  'NONE',
  'TWICE',
  'TWICE_BAD_FIRST',
);
const orderSpec: fc.Arbitrary<OrderSpec> = fc.record({
  cents: fc.integer({ min: 100, max: 99_999 }),
  fate,
  second: fc.oneof(fc.integer({ min: 0, max: 86_399 }), fc.integer({ min: 86_000, max: 86_399 })),
  refunds: fc.array(fc.record({ cents: fc.integer({ min: 1, max: 99 }), fate }), { maxLength: 2 }),
});
interface DaySpec {
  orders: OrderSpec[];
  channelOnly: number[];
}
const daySpec: fc.Arbitrary<DaySpec> = fc.record({
  orders: fc.array(orderSpec, { minLength: 1, maxLength: 25 }),
  channelOnly: fc.array(fc.integer({ min: 100, max: 9_999 }), { maxLength: 3 }),
});

const money = (cents: number) => `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
const localTime = (second: number) =>
  `${DAY} ${String(Math.floor(second / 3600)).padStart(2, '0')}:${String(Math.floor((second % 3600) / 60)).padStart(2, '0')}:${String(second % 60).padStart(2, '0')}`;
/** Local Asia/Shanghai wall clock → ISO instant. */
const instant = (second: number) =>
  new Date(Date.parse(`${DAY}T00:00:00+08:00`) + second * 1000).toISOString();

interface Scenario {
  events: PaymentsTransactionV1[];
  lines: StatementLine[];
}

function scenarioOf(channel: string, spec: DaySpec): Scenario {
  const events: PaymentsTransactionV1[] = [];
  const lines: StatementLine[] = [];
  const addLines = (
    type: 'PAYMENT' | 'REFUND',
    orderNo: string,
    cents: number,
    second: number,
    f: LineFate,
  ) => {
    const line = (amountCents: number, status: string): void => {
      lines.push({
        lineNo: lines.length + 2,
        type,
        orderNo,
        refundNo: null,
        channelTxnId: null,
        amount: money(amountCents),
        fee: null,
        currency: 'CNY',
        status,
        tradeTime: localTime(Math.min(second + 1, 86_399)),
      });
    };
    if (f === 'MATCH') line(cents, 'SUCCESS');
    if (f === 'AMOUNT') line(cents + 7, 'SUCCESS');
    if (f === 'STATUS') line(cents, 'CLOSED');
    if (f === 'TWICE') {
      line(cents, 'SUCCESS');
      line(cents, 'SUCCESS');
    }
    if (f === 'TWICE_BAD_FIRST') {
      line(cents + 1, 'SUCCESS');
      line(cents, 'SUCCESS');
    }
  };
  spec.orders.forEach((order, i) => {
    const orderNo = `${channel}-O${i}`;
    events.push({
      eventId: `${channel}-pay-${i}`,
      type: 'PAYMENT_SUCCEEDED',
      occurredAt: instant(order.second),
      merchantId: `M${i % 3}`,
      channel,
      orderNo,
      amount: money(order.cents),
      currency: 'CNY',
    });
    addLines('PAYMENT', orderNo, order.cents, order.second, order.fate);
    order.refunds.forEach((refund, r) => {
      events.push({
        eventId: `${channel}-ref-${i}-${r}`,
        type: 'REFUND_SUCCEEDED',
        occurredAt: instant(Math.min(order.second + 10 + r, 86_399)),
        merchantId: `M${i % 3}`,
        channel,
        orderNo,
        refundNo: `R${r}`,
        amount: money(refund.cents),
        currency: 'CNY',
      });
      addLines('REFUND', orderNo, refund.cents, order.second + 10 + r, refund.fate);
    });
  });
  spec.channelOnly.forEach((cents, i) => addLines('PAYMENT', `${channel}-X${i}`, cents, 3_600, 'MATCH'));
  return { events, lines };
}

function csvOf(lines: StatementLine[]): string {
  return [
    'channel_txn_id,order_no,type,amount,fee,currency,status,trade_time',
    ...lines.map((l) => `,${l.orderNo},${l.type},${l.amount},,${l.currency},${l.status},${l.tradeTime}`),
  ].join('\n');
}

describe('set-based match run ≡ pure classifier (random days, real Postgres)', () => {
  let db: DataSource;
  let workDir: string;
  let scenarioNo = 0;

  beforeAll(async () => {
    await useIsolatedDatabase('match_equivalence');
    await migrateAll();
    db = await openDataSource('reconciliation');
    workDir = await mkdtemp(path.join(tmpdir(), 'cse-equivalence-'));
  });

  afterAll(async () => {
    await db?.destroy();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  /** The day's events stored and its statement written; what classify() says of it. */
  async function dayOf(spec: DaySpec): Promise<{ channel: string; file: string; expected: MatchRun }> {
    scenarioNo += 1;
    const channel = `EQ${scenarioNo}`;
    const { events, lines } = scenarioOf(channel, spec);
    await db.transaction((tx) =>
      new InternalTransactionRepository().insertMany(
        tx,
        events.map((e) => toInternalTransaction(e, DEFAULT_CHANNEL_CALENDAR)),
      ),
    );
    const file = path.join(workDir, `${channel}.csv`);
    await writeFile(file, csvOf(lines));
    const expected = classify({
      businessDate: DAY,
      internalItems: events.map((e): InternalItem => ({
        eventId: e.eventId,
        kind: e.type === 'PAYMENT_SUCCEEDED' ? 'PAYMENT' : 'REFUND',
        merchantId: e.merchantId,
        orderNo: e.orderNo,
        refundNo: e.refundNo ?? null,
        amount: e.amount,
        currency: e.currency,
        occurredAt: e.occurredAt,
      })),
      pendingItems: [],
      lines,
      policy: { zone: 'Asia/Shanghai' },
    });
    return { channel, file, expected };
  }

  const itemKey = (r: { event_id: string | null; line_no: number | null }) =>
    `${r.event_id ?? '-'}|${r.line_no ?? '-'}`;
  const wantedOf = (expected: MatchRun) =>
    expected.rows
      .map(
        (r) =>
          `${itemKey({ event_id: r.internal?.eventId ?? null, line_no: r.line?.lineNo ?? null })} ${r.class} ${r.side}`,
      )
      .sort();

  it('classifies every item as classify() does', async () => {
    await fc.assert(
      fc.asyncProperty(daySpec, async (spec) => {
        const { channel, file, expected } = await dayOf(spec);
        await new StatementImportService(db).import({
          channel,
          format: 'generic',
          filePath: file,
          businessDate: DAY,
          silent: true,
        });
        const run = await new MatchRunService(db).run(channel, DAY);
        expect(run.counts).toEqual(expected.counts);

        const stored = await db.query<
          { class: string; side: string; event_id: string | null; line_no: number | null }[]
        >(`SELECT class, side, event_id, line_no FROM reconciliation.match_item WHERE match_run_id = $1`, [
          run.matchRunId,
        ]);
        const actual = stored.map((r) => `${itemKey(r)} ${r.class} ${r.side}`).sort();
        expect(actual).toEqual(wantedOf(expected));
      }),
      { numRuns: 30 },
    );
  });

  it('the run made on import classifies every item as classify() does, and a re-run agrees', async () => {
    await fc.assert(
      fc.asyncProperty(daySpec, async (spec) => {
        const { channel, file, expected } = await dayOf(spec);
        const imported = await new StatementImportService(db).import({
          channel,
          format: 'generic',
          filePath: file,
          businessDate: DAY,
          silent: true,
          match: true,
        });
        const run = imported.matchRun!;
        expect(run.counts).toEqual(expected.counts);
        expect(run.statementLines).toBe(imported.lines);

        // Every line carries its class; our items alone are the run's match_item rows.
        const stored = await db.query<
          { class: string; side: string; event_id: string | null; line_no: number | null }[]
        >(
          `SELECT l.match_class AS class,
                  CASE WHEN l.internal_transaction_id IS NULL THEN 'CHANNEL' ELSE 'BOTH' END AS side,
                  it.event_id, l.line_no
           FROM reconciliation.statement_line l
           LEFT JOIN reconciliation.internal_transaction it ON it.id = l.internal_transaction_id
           WHERE l.statement_file_id = $1
           UNION ALL
           SELECT class, side, event_id, line_no FROM reconciliation.match_item
           WHERE match_run_id = $2 AND side = 'INTERNAL'`,
          [imported.statementFileId, run.matchRunId],
        );
        const actual = stored.map((r) => `${itemKey(r)} ${r.class} ${r.side}`).sort();
        expect(actual).toEqual(wantedOf(expected));
        // Each line written once, at its own position.
        const [seqs] = await db.query<
          [{ n: number; distinct_seq: number; distinct_line: number; max_seq: number }]
        >(
          `SELECT count(*)::int AS n, count(DISTINCT seq)::int AS distinct_seq,
                  count(DISTINCT line_no)::int AS distinct_line, coalesce(max(seq), 0) AS max_seq
           FROM reconciliation.statement_line WHERE statement_file_id = $1`,
          [imported.statementFileId],
        );
        expect(seqs).toEqual({
          n: imported.lines,
          distinct_seq: imported.lines,
          distinct_line: imported.lines,
          max_seq: imported.lines,
        });

        const rerun = await new MatchRunService(db).run(channel, DAY);
        expect(rerun.counts).toEqual(expected.counts);
      }),
      { numRuns: 30 },
    );
  });
});
