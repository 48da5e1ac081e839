/**
 * Amounts within a documented bound (issue 15, hole 3; ADR 005): one item's amount is at most
 * AMOUNT_MAX_MINOR_UNITS (10^15 − 1 minor units, 9999999999999.99 CNY). A 30-digit amount used to
 * be accepted, stored and posted, after which the trial balance and the reconciliation report
 * could no longer be computed, and a statement holding one made POST /statements answer 500.
 *
 * Here, on the real broker and Postgres with the reconciliation and clearing services booted: such
 * an amount in a file for `cli publish` stops it before anything is sent; as an event it is
 * dead-lettered INVALID naming the field and nothing is stored; as a
 * statement line it is a 422 naming the line and field and nothing is imported; as an API body a
 * 400 naming the field. Amounts AT the bound flow through ingest, import, match and clearing, and
 * the trial balance, the ledger checks and the report still compute. Last, a property over HTTP:
 * whatever string is sent as a fee quote's amount, the service never answers 500.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { dlqTopicOf, Money, TOPIC } from '@app/contracts';
import { runLedgerChecks, trialBalance } from '@app/ledger';
import { consumerLag, DLQ_HEADER, ensureTopics } from '@app/messaging';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { ITEM_MATCHED_GROUP, ClearingModule } from '../../apps/clearing/src/index.js';
import { publishCommand, formatReport } from '../../apps/cli/src/index.js';
import {
  type ReconReport,
  TRANSACTION_INGEST_GROUP,
  ReconciliationModule,
} from '../../apps/reconciliation/src/index.js';
import { startServiceApp } from '../support/http-app.js';
import {
  migrateAll,
  openDataSource,
  publish,
  readTopic,
  testKafka,
  useIsolatedDatabase,
  waitFor,
} from '../support/infra.js';

const SECRET = 'amount-bound-test-secret-of-at-least-32-chars';
/** Every role a command here could need, so the token keeps working once every route is guarded. */
const ROLES = ['clearing.fee-rules', 'recon.resolve', 'recon.import', 'recon.match', 'finance.read'];

// The documented figures (ADR 005), spelled out rather than imported, so that this file also runs
// against a tree without the bound and shows each regression failing there.
const AMOUNT_MAX_MINOR_UNITS = 10n ** 15n - 1n;
const MAX = '9999999999999.99'; // CNY, AMOUNT_MAX_MINOR_UNITS fen
const THIRTY_DIGITS = `${'9'.repeat(30)}.99`;
const BOUND_MESSAGE = `exceeds the largest amount one item may carry (${MAX} CNY, 15 digits in minor units)`;
const MERCHANT = 'M_BOUND';
const DATE = '2026-11-22';

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details?: Record<string, unknown>;
}

const payment = (orderNo: string, amount: string, coupon?: Record<string, string>) => ({
  eventId: `e-${orderNo}`,
  type: 'PAYMENT_SUCCEEDED',
  occurredAt: '2026-11-22T02:00:00.000Z', // 10:00 in Asia/Shanghai
  merchantId: MERCHANT,
  channel: 'WECHAT',
  orderNo,
  amount,
  currency: 'CNY',
  ...(coupon === undefined ? {} : { coupon }),
});

const HEADER = 'channel_txn_id,order_no,type,amount,fee,currency,status,trade_time';
/** The two payments we accept, as the channel reports them (fee at the channel's 0.6%). */
const GOOD_LINES = [
  '4200000000000000001,O-BOUND-OK,PAYMENT,100.00,0.60,CNY,SUCCESS,2026-11-22 10:00:00',
  `4200000000000000002,O-BOUND-MAX,PAYMENT,${MAX},60000000000.00,CNY,SUCCESS,2026-11-22 10:00:00`,
];

describe('amounts within the documented bound (real Kafka + Postgres, services over HTTP)', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  const saved = { prefix: process.env.KAFKA_TOPIC_PREFIX, secret: process.env.HTTP_AUTH_JWT_SECRET };
  const prefix = `${saved.prefix ?? ''}amount-bound.`;
  const transactions = `${prefix}${TOPIC.paymentsTransactionV1}`;
  let recon: { app: INestApplication; base: string };
  let clearing: { app: INestApplication; base: string };
  let reconDb: DataSource;
  let ledgerDb: DataSource;
  let clearingDb: DataSource;
  let bearer: string;

  beforeAll(async () => {
    await useIsolatedDatabase('amount_bound');
    await admin.connect();
    const topics = [TOPIC.paymentsTransactionV1, TOPIC.reconItemMatchedV1, TOPIC.clearingItemClearedV1].map(
      (t) => `${prefix}${t}`,
    );
    await ensureTopics(admin, [...topics, ...topics.map((t) => dlqTopicOf(t))], 3);
    await migrateAll();
    process.env.KAFKA_TOPIC_PREFIX = prefix;
    process.env.HTTP_AUTH_JWT_SECRET = SECRET;
    recon = await startServiceApp(ReconciliationModule, ['error']);
    clearing = await startServiceApp(ClearingModule, ['error']);
    reconDb = await openDataSource('reconciliation');
    ledgerDb = await openDataSource('ledger');
    clearingDb = await openDataSource('clearing');
    bearer = await new SignJWT({ roles: ROLES })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('finance.bound')
      .setIssuedAt()
      .setExpirationTime('15m')
      .sign(new TextEncoder().encode(SECRET));
  }, 120_000);

  afterAll(async () => {
    await recon?.app.close();
    await clearing?.app.close();
    await reconDb?.destroy();
    await ledgerDb?.destroy();
    await clearingDb?.destroy();
    await admin.disconnect();
    for (const [name, value] of [
      ['KAFKA_TOPIC_PREFIX', saved.prefix],
      ['HTTP_AUTH_JWT_SECRET', saved.secret],
    ] as const)
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
  });

  const postJson = (base: string, url: string, body: unknown) =>
    fetch(`${base}${url}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${bearer}`,
        'idempotency-key': `bound-${Date.now()}-${Math.random()}`,
      },
      body: JSON.stringify(body),
    });

  const upload = (name: string, lines: string[]) => {
    const form = new FormData();
    form.append('channel', 'WECHAT');
    form.append('format', 'generic');
    form.append('file', new Blob([[HEADER, ...lines].join('\n') + '\n']), name);
    return fetch(`${recon.base}/statements`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}` },
      body: form,
    });
  };

  const storedOrders = async () =>
    (
      await reconDb.query<{ order_no: string; amount: string }[]>(
        `SELECT order_no, amount::text FROM reconciliation.internal_transaction ORDER BY order_no`,
      )
    ).map((r) => `${r.order_no} ${r.amount}`);

  it('cli publish refuses a file holding an amount past the bound before sending anything', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cse-amount-bound-'));
    try {
      const file = path.join(dir, 'events.jsonl');
      await writeFile(
        file,
        [payment('O-BOUND-CLI-OK', '1.00'), payment('O-BOUND-CLI-HUGE', THIRTY_DIGITS)]
          .map((e) => JSON.stringify(e))
          .join('\n'),
      );
      await expect(publishCommand({ file, json: true })).rejects.toThrow(
        `${file}:2: amount: "${THIRTY_DIGITS}" ${BOUND_MESSAGE}; nothing was published`,
      );
      const offsets = await admin.fetchTopicOffsets(transactions);
      expect(offsets.map((o) => o.high)).toEqual(offsets.map(() => '0'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('dead-letters an event past the bound as INVALID naming the field, and stores nothing of it', async () => {
    const refused = [
      payment('O-BOUND-HUGE', THIRTY_DIGITS),
      payment('O-BOUND-OVER', '10000000000000.00'), // one minor unit past the bound
      // Each part within the bound, the order value (amount + coupon) one unit past it.
      payment('O-BOUND-ORDER', MAX, { amount: '0.01', merchantFunded: '0.01', platformFunded: '0.00' }),
    ];
    const accepted = [payment('O-BOUND-OK', '100.00'), payment('O-BOUND-MAX', MAX)];
    await publish(
      kafka,
      transactions,
      [...accepted, ...refused].map((e) => ({ key: MERCHANT, value: JSON.stringify(e) })),
    );
    await waitFor(
      'consumer lag 0',
      () => consumerLag(admin, `${prefix}${TRANSACTION_INGEST_GROUP}`, transactions),
      (lag) => lag === 0,
    );

    const dead = await readTopic(kafka, dlqTopicOf(transactions), refused.length);
    expect(dead).toHaveLength(refused.length);
    const reasons = new Map(
      dead.map((d) => [(JSON.parse(d.value) as { orderNo: string }).orderNo, d.headers[DLQ_HEADER.reason]]),
    );
    expect(Object.fromEntries(reasons)).toEqual({
      'O-BOUND-HUGE': `amount: "${THIRTY_DIGITS}" ${BOUND_MESSAGE}`,
      'O-BOUND-OVER': `amount: "10000000000000.00" ${BOUND_MESSAGE}`,
      'O-BOUND-ORDER': `coupon.amount: order value amount + coupon.amount: "10000000000000.00" ${BOUND_MESSAGE}`,
    });
    for (const d of dead) expect(d.headers[DLQ_HEADER.kind]).toBe('INVALID');

    // Nothing of the refused events: no transaction, no T-day entry, no inbox claim.
    expect(await storedOrders()).toEqual([`O-BOUND-MAX ${MAX}`, 'O-BOUND-OK 100.00']);
    const [entries] = await reconDb.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM ledger.journal_entry WHERE idempotency_key LIKE 'recon.t-day:%'`,
    );
    expect(entries!.n).toBe(2);
  });

  it('refuses a statement line past the bound with 422 naming the line and field, importing nothing', async () => {
    const files = async () =>
      (
        await reconDb.query<{ files: number; lines: number }[]>(
          `SELECT (SELECT count(*)::int FROM reconciliation.statement_file) AS files,
                  (SELECT count(*)::int FROM reconciliation.statement_line) AS lines`,
        )
      )[0];
    const cases = [
      {
        line: `4200000000000000003,O-BOUND-HUGE,PAYMENT,${THIRTY_DIGITS},0.00,CNY,SUCCESS,2026-11-22 10:00:00`,
        field: 'amount',
        value: THIRTY_DIGITS,
      },
      {
        line: `4200000000000000003,O-BOUND-FEE,PAYMENT,1.00,-${THIRTY_DIGITS},CNY,SUCCESS,2026-11-22 10:00:00`,
        field: 'fee',
        value: `-${THIRTY_DIGITS}`,
      },
    ];
    for (const { line, field, value } of cases) {
      const response = await upload(`bound-${field}.csv`, [...GOOD_LINES, line]);
      const detail = `"${value.slice(0, 64)}" is beyond the largest amount one line may carry (${MAX} CNY) (column ${field})`;
      expect([response.status, (await response.json()) as ErrorBody]).toEqual([
        422,
        {
          statusCode: 422,
          error: 'STATEMENT.PARSE_ERROR',
          message: `line 4, field ${field}: ${detail}; nothing imported`,
          details: { code: 'STATEMENT.MALFORMED_LINE', line: 4, field, detail },
        },
      ]);
      expect(await files()).toEqual({ files: 0, lines: 0 });
    }

    // The same day without the bad line imports, the amount at the bound included.
    const good = await upload('bound-good.csv', GOOD_LINES);
    expect(good.status).toBe(201);
    expect(await good.json()).toMatchObject({
      lines: 2,
      totals: [{ currency: 'CNY', paymentCount: 2, paymentAmount: '10000000000099.99' }],
    });
    expect(await files()).toEqual({ files: 1, lines: 2 });
  });

  it('answers 400 REQUEST.INVALID naming the field for an API body past the bound', async () => {
    const quote = (amount: string, coupon?: Record<string, string>) =>
      postJson(clearing.base, '/fees/quote', {
        merchantId: MERCHANT,
        channel: 'WECHAT',
        amount,
        currency: 'CNY',
        ...(coupon === undefined ? {} : { coupon }),
        at: '2026-11-22T10:00:00+08:00',
      });
    const refused = async (response: Response, field: string, message: string) => {
      expect([response.status, (await response.json()) as ErrorBody]).toEqual([
        400,
        {
          statusCode: 400,
          error: 'REQUEST.INVALID',
          message: `${field}: ${message}`,
          details: { issues: [{ field, message }] },
        },
      ]);
    };
    await refused(await quote(THIRTY_DIGITS), 'amount', `"${THIRTY_DIGITS}" ${BOUND_MESSAGE}`);
    await refused(
      await quote('1.00', { amount: THIRTY_DIGITS, merchantFunded: '1.00', platformFunded: '0.00' }),
      'coupon.amount',
      `"${THIRTY_DIGITS}" ${BOUND_MESSAGE}`,
    );
    await refused(
      await quote(MAX, { amount: '0.01', merchantFunded: '0.01', platformFunded: '0.00' }),
      'coupon.amount',
      `order value amount + coupon.amount: "10000000000000.00" ${BOUND_MESSAGE}`,
    );
    // At the bound: quoted, exactly.
    const atMax = await quote(MAX);
    expect(atMax.status).toBe(200);
    expect(await atMax.json()).toMatchObject({ amount: MAX, orderValue: MAX, fee: '60000000000.00' });

    const rules = async () =>
      (await clearingDb.query<{ n: number }[]>('SELECT count(*)::int AS n FROM clearing.fee_rule'))[0]!.n;
    const before = await rules();
    const draft = {
      scope: { merchantId: MERCHANT, channel: 'WECHAT', paymentMethod: null },
      currency: 'CNY',
      formula: { kind: 'PERCENTAGE_PLUS_FIXED', rate: '0.0035', fixed: THIRTY_DIGITS },
      refundPolicy: 'FULL',
      effectiveFrom: `${new Date().getUTCFullYear() + 2}-01-01T00:00:00+08:00`,
      note: 'a fixed part past the bound',
    };
    await refused(
      await postJson(clearing.base, '/fee-rules', draft),
      'formula.fixed',
      `"${THIRTY_DIGITS}" ${BOUND_MESSAGE}`,
    );
    await refused(
      await postJson(clearing.base, '/fee-rules', {
        ...draft,
        formula: { kind: 'TIERED', tiers: [{ upTo: THIRTY_DIGITS, rate: '0.006', fixed: '0.00' }] },
      }),
      'formula.tiers.0.upTo',
      `"${THIRTY_DIGITS}" ${BOUND_MESSAGE}`,
    );
    expect(await rules()).toBe(before);
  });

  /** What `ledger trial-balance` runs: the trial balance and every check over one snapshot. */
  const ledgerTrialBalance = () =>
    ledgerDb.transaction('REPEATABLE READ', async (tx) => ({
      tb: await trialBalance(tx),
      checks: await runLedgerChecks(tx),
    }));

  it('still computes the trial balance, the match run, the report and every ledger check', async () => {
    // First over the book as ingest left it (the T-day entries of the accepted payments).
    const before = await ledgerTrialBalance();
    expect([before.tb.balanced, before.checks.ok]).toEqual([true, true]);
    expect(before.tb.totals.find((t) => t.currency === 'CNY')).toMatchObject({
      debitTotal: '10000000000099.99',
      creditTotal: '10000000000099.99',
    });

    const run = await postJson(recon.base, '/match-runs', { channel: 'WECHAT', businessDate: DATE });
    expect(run.status).toBeLessThan(300);
    expect(await run.json()).toMatchObject({ counts: { MATCHED: 2 } });
    // Both released items cleared, the one at the bound included.
    await waitFor(
      'clearing consumer lag 0',
      () => consumerLag(admin, `${prefix}${ITEM_MATCHED_GROUP}`, `${prefix}${TOPIC.reconItemMatchedV1}`),
      (lag) => lag === 0,
    );
    const cleared = await waitFor(
      'two cleared items',
      async () =>
        (
          await clearingDb.query<{ n: number; gross: string }[]>(
            'SELECT count(*)::int AS n, sum(gross)::text AS gross FROM clearing.cleared_item',
          )
        )[0]!,
      (row) => row.n === 2,
    );
    expect(cleared.gross).toBe('10000000000099.99');

    const response = await fetch(`${recon.base}/reports/reconciliation?businessDate=${DATE}`, {
      headers: { authorization: `Bearer ${bearer}` },
    });
    expect(response.status).toBe(200);
    const report = (await response.json()) as ReconReport;
    expect(formatReport(report)).toContain('MATCHED');

    // Again after the match run and clearing posted their entries.
    const { tb, checks } = await ledgerTrialBalance();
    expect(tb.balanced).toBe(true);
    expect(checks.ok).toBe(true);
    const total = tb.totals.find((t) => t.currency === 'CNY')!;
    expect(total.debitTotal).toBe(total.creditTotal);
    // The T-day entries alone debit both payments in full: the book holds the amount at the bound.
    expect(Money.parse(total.debitTotal, 'CNY', { sum: true }).greaterThan(Money.parse(MAX, 'CNY'))).toBe(
      true,
    );
  });

  /** Decimal strings near and far past the bound (all nines or any digits), and any text at all. */
  const digits = (n: number, nines: boolean, seed: bigint) =>
    nines
      ? '9'.repeat(n)
      : `${1n + (seed % 9n)}${(seed % 10n ** BigInt(n)).toString().padStart(n, '0')}`.slice(0, n);
  const decimalArb = fc
    .record({
      negative: fc.boolean(),
      n: fc.constantFrom(1, 3, 13, 14, 15, 16, 29, 30, 31, 45),
      nines: fc.boolean(),
      seed: fc.bigInt({ min: 0n, max: 10n ** 45n }),
      fraction: fc.stringMatching(/^[0-9]{0,4}$/),
    })
    .map(
      ({ negative, n, nines, seed, fraction }) =>
        `${negative ? '-' : ''}${digits(n, nines, seed)}${fraction === '' ? '' : `.${fraction}`}`,
    );
  /** Amounts within the bound, so that every run also sees imports and quotes go through. */
  const withinArb = fc
    .bigInt({ min: 0n, max: AMOUNT_MAX_MINOR_UNITS })
    .map((units) => Money.fromMinorUnits(units, 'CNY').toString());
  const amountArb = fc.oneof(
    { weight: 2, arbitrary: withinArb },
    { weight: 3, arbitrary: decimalArb },
    { weight: 2, arbitrary: fc.string({ maxLength: 80 }) },
  );

  it('never answers 500 to a statement upload, whatever string a line holds as its amount (property over HTTP)', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(amountArb, async (amount) => {
        const form = new FormData();
        form.append('channel', 'BOUND_PROPERTY');
        form.append('format', 'generic');
        form.append('businessDate', DATE);
        // A line before it, so the file's totals are a sum (what overflowed before the bound).
        const lines = [
          '4200000000000000008,O-BOUND-PROP-1,PAYMENT,1.00,0.00,CNY,SUCCESS,2026-11-22 11:00:00',
          `4200000000000000009,O-BOUND-PROP-2,PAYMENT,${amount},0.00,CNY,SUCCESS,2026-11-22 11:00:00`,
        ];
        form.append('file', new Blob([`${HEADER}\n${lines.join('\n')}\n`]), 'property.csv');
        const response = await fetch(`${recon.base}/statements`, {
          method: 'POST',
          headers: { authorization: `Bearer ${bearer}` },
          body: form,
        });
        const body = (await response.json()) as Record<string, unknown>;
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        expect(response.status).toBeLessThan(500);
        if (response.status === 201) {
          // Imported: exactly the amount the line spelled, within the bound.
          const [row] = await reconDb.query<{ amount: string }[]>(
            `SELECT amount::text FROM reconciliation.statement_line
             WHERE statement_file_id = $1 AND order_no = 'O-BOUND-PROP-2'`,
            [body.statementFileId],
          );
          const units = Money.of(row!.amount, 'CNY').toMinorUnits();
          expect(units).toBe(Money.parse(amount.trim(), 'CNY', { sum: true }).toMinorUnits());
          expect(units <= AMOUNT_MAX_MINOR_UNITS).toBe(true);
        } else {
          expect(body).toMatchObject({ error: expect.stringMatching(/^[A-Z]+\.[A-Z_]+$/) });
        }
      }),
      // The regression, always tried first: a 30-digit amount (a 500 before the bound). No
      // shrinking: over HTTP it costs minutes, and the first failure is the one to read.
      { numRuns: 100, examples: [[THIRTY_DIGITS]], endOnFailure: true },
    );
    expect(statuses.get(201) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(422) ?? 0).toBeGreaterThan(0);
  });

  it("never quotes past the bound nor answers 500, whatever string a fee quote's amount is (property over HTTP)", async () => {
    const couponArb = fc.option(
      fc.tuple(amountArb, amountArb).map(([merchantFunded, platformFunded]) => {
        // The coupon's parts add up when both are amounts, so the order value is what is judged.
        const sum = (() => {
          try {
            return Money.parse(merchantFunded, 'CNY', { sum: true })
              .plus(Money.parse(platformFunded, 'CNY', { sum: true }))
              .toString();
          } catch {
            return merchantFunded;
          }
        })();
        return { amount: sum, merchantFunded, platformFunded };
      }),
      { nil: undefined, freq: 2 },
    );
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(amountArb, couponArb, async (amount, coupon) => {
        const response = await postJson(clearing.base, '/fees/quote', {
          merchantId: MERCHANT,
          channel: 'WECHAT',
          amount,
          currency: 'CNY',
          ...(coupon === undefined ? {} : { coupon }),
          at: '2026-11-22T10:00:00+08:00',
        });
        const body = (await response.json()) as Record<string, unknown>;
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        expect([response.status, body]).not.toEqual([500, expect.anything()]);
        expect(response.status).toBeLessThan(500);
        if (response.status === 200) {
          // Quoted: exactly the amount sent, within the bound.
          const units = Money.parse(body.amount, 'CNY').toMinorUnits();
          expect(units).toBe(Money.parse(amount, 'CNY', { sum: true }).toMinorUnits());
          expect(units <= AMOUNT_MAX_MINOR_UNITS).toBe(true);
        } else {
          expect(body).toMatchObject({ error: expect.stringMatching(/^[A-Z]+\.[A-Z_]+$/) });
        }
      }),
      {
        numRuns: 100,
        endOnFailure: true,
        // The regressions, always tried first: an order value past what Money holds (a 30-digit
        // amount and coupon), and a 30-digit amount alone.
        examples: [
          [THIRTY_DIGITS, { amount: THIRTY_DIGITS, merchantFunded: THIRTY_DIGITS, platformFunded: '0.00' }],
          [THIRTY_DIGITS, undefined],
        ],
      },
    );
    // The run covered both sides: quotes and refusals.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
  });
});
