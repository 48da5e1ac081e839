/**
 * "Retry payout" (重新发起代付) end to end on the real Postgres and Kafka: a record whose payout
 * failed for good (ACCOUNT_CLOSED at the gateway simulator) has its funds back in settleable; the
 * merchant's account is fixed in merchant_terms; an operator retries it with an Idempotency-Key
 * (Dr 2203 / Cr 2204 again, attempt `<record>-2` through the outbox) and it ends PAID once. A
 * second record retried to a still-closed account fails again and its funds return under their own
 * ledger key; a PAID record, a replayed key, a reused key and a drained settleable balance are
 * refused without moving money.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TOPIC } from '@app/contracts';
import { accountBalance, Ledger, runLedgerChecks, trialBalance } from '@app/ledger';
import { OutboxRelay, type EventConsumer } from '@app/messaging';
import type { DataSource } from 'typeorm';
import {
  SettlementApprovalError,
  ApprovalService,
  settlementErrorBody,
  createPayoutResultConsumer,
  PayoutRetryError,
  PayoutRetryService,
  PayoutService,
  CLOSE_SUBMITTER,
  CycleCloseService,
} from '../../apps/settlement/src/index.js';
import { PayoutGatewaySimulator } from '../../apps/payout-gateway-simulator/src/index.js';
import { migrateAll, openDataSource, testKafka, useIsolatedDatabase, waitFor } from '../support/infra.js';
import { payoutAccountJson, seedApprovedRecords } from '../support/settlement-payouts.js';

const CLOSED_1 = '6230000000000001';
const CLOSED_2 = '6230000000000002';
const CLOSED_3 = '6230000000000003';
const FIXED = '6222000033334444';

describe('retry payout of a PAYOUT_FAILED record (real Kafka + Postgres)', () => {
  const kafka = testKafka();
  const basePrefix = process.env.KAFKA_TOPIC_PREFIX ?? '';
  const prefix = `${basePrefix}settlement_payout_retry_${Date.now()}.`;
  const requestTopic = `${prefix}${TOPIC.settlementPayoutRequestedV1}`;
  const ledger = new Ledger();
  let db: DataSource;
  let gw: DataSource;
  let relay: OutboxRelay;
  let simulator: PayoutGatewaySimulator;
  let results: EventConsumer<unknown>;
  let payouts: PayoutService;
  let retries: PayoutRetryService;
  const ids = new Map<string, string>();
  const id = (merchant: string) => ids.get(merchant)!;

  const status = async (merchant: string) =>
    (
      await db.query<{ status: string }[]>('SELECT status FROM settlement.settlement_record WHERE id = $1', [
        id(merchant),
      ])
    )[0]!.status;
  const balance = async (code: string) => (await accountBalance(db, code)).posted;
  const setAccount = (merchant: string, accountNo: string | null) =>
    db.query(`UPDATE settlement.merchant_terms SET payout_account = $2 WHERE merchant_id = $1`, [
      merchant,
      accountNo === null ? null : payoutAccountJson(merchant, { no: accountNo, type: 'CORPORATE' }),
    ]);
  const refusal = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (error) {
      if (!(error instanceof PayoutRetryError || error instanceof SettlementApprovalError)) throw error;
      const body = settlementErrorBody(error);
      return { status: body?.statusCode, error: body?.error, message: error.message };
    }
    throw new Error('expected the command to be refused');
  };

  beforeAll(async () => {
    await useIsolatedDatabase('settlement_payout_retry');
    await migrateAll();
    db = await openDataSource('settlement');
    gw = await openDataSource('payout_gateway');
    // M_DRAINED has no account: refused before sending, funds straight back to settleable.
    await gw.query(
      `INSERT INTO payout_gateway.account_rule (account_prefix, mode) VALUES ('623', 'ACCOUNT_CLOSED')`,
    );
    const seeded = await seedApprovedRecords(db, ledger, [
      { merchantId: 'M_FIX', net: '250.00', account: { no: CLOSED_1, type: 'CORPORATE' } },
      { merchantId: 'M_TWICE', net: '80.25', account: { no: CLOSED_2, type: 'CORPORATE' } },
      { merchantId: 'M_DRAINED', net: '40.00', account: null },
    ]);
    for (const [merchant, recordId] of seeded) ids.set(merchant, recordId);

    payouts = new PayoutService(db, ledger, { topicPrefix: prefix });
    retries = new PayoutRetryService(db, ledger, payouts);
    simulator = new PayoutGatewaySimulator(kafka, gw, { topicPrefix: prefix });
    await simulator.start();
    results = createPayoutResultConsumer(kafka, db, ledger, { topicPrefix: prefix });
    await results.start();
    relay = new OutboxRelay(kafka, db, { schema: 'settlement', idlePollMs: 50 });
    await relay.start();
  }, 120_000);

  afterAll(async () => {
    await relay?.stop();
    await results?.stop();
    await simulator?.stop();
    await gw?.destroy();
    await db?.destroy();
  });

  it('fails the payouts to closed accounts and returns their funds to settleable', async () => {
    const outcomes = await payouts.requestPayouts();
    expect(outcomes.map((o) => [o.recordId, o.outcome, o.code ?? null]).sort()).toEqual(
      [
        [id('M_DRAINED'), 'REFUSED', 'PAYOUT_ACCOUNT_MISSING'],
        [id('M_FIX'), 'REQUESTED', null],
        [id('M_TWICE'), 'REQUESTED', null],
      ].sort(),
    );
    await waitFor(
      'closed-account failures',
      async () => [await status('M_FIX'), await status('M_TWICE')],
      (s) => s.join() === 'PAYOUT_FAILED,PAYOUT_FAILED',
      90_000,
    );
    expect(await balance('2203:M_FIX')).toBe('250.00');
    expect(await balance('2204:M_FIX')).toBe('0.00');
    expect(await balance('2203:M_TWICE')).toBe('80.25');
    expect(await balance('2203:M_DRAINED')).toBe('40.00');
  }, 120_000);

  it('retries a fixed account once, pays it, and replays the same key with the same body', async () => {
    await setAccount('M_FIX', FIXED);
    const command = {
      by: 'finance:carol',
      reason: 'merchant moved to a new account',
      idempotencyKey: 'retry-fix-1',
    };
    const first = await retries.retryPayout(id('M_FIX'), command);
    expect(first).toMatchObject({ id: id('M_FIX'), status: 'PAYOUT_REQUESTED', netPayout: '250.00' });
    // In transit again before the gateway answers.
    expect(await balance('2203:M_FIX')).toBe('0.00');
    expect(await balance('2204:M_FIX')).toBe('250.00');
    expect(await retries.retryPayout(id('M_FIX'), command)).toEqual(first);
    expect(
      await refusal(retries.retryPayout(id('M_FIX'), { ...command, reason: 'another reason' })),
    ).toMatchObject({ status: 409, error: 'SETTLEMENT.IDEMPOTENCY_CONFLICT' });
    // One key namespace for every finance command: an approval cannot take the retry's key.
    expect(
      await refusal(
        new ApprovalService(db, ledger).approve(id('M_TWICE'), {
          by: 'finance:dan',
          idempotencyKey: 'retry-fix-1',
        }),
      ),
    ).toMatchObject({ status: 409, error: 'SETTLEMENT.IDEMPOTENCY_CONFLICT' });

    await waitFor(
      'retried payout paid',
      () => status('M_FIX'),
      (s) => s === 'PAID',
      90_000,
    );
    expect(await balance('2203:M_FIX')).toBe('0.00');
    expect(await balance('2204:M_FIX')).toBe('0.00');
    expect(await balance(`1002:${FIXED}`)).toBe('-250.00');
    // Nothing ever reached the closed account.
    await expect(balance(`1002:${CLOSED_1}`)).rejects.toThrow('LEDGER.UNKNOWN_ACCOUNT');

    const payments = await gw.query<{ attempt_id: string; paid: boolean; amount: string }[]>(
      `SELECT attempt_id, paid, amount::text AS amount FROM payout_gateway.payment WHERE attempt_id LIKE $1 ORDER BY attempt_id`,
      [`${id('M_FIX')}-%`],
    );
    expect(payments).toEqual([
      { attempt_id: `${id('M_FIX')}-1`, paid: false, amount: '250.00' },
      { attempt_id: `${id('M_FIX')}-2`, paid: true, amount: '250.00' },
    ]);
    const sent = await db.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM settlement.outbox WHERE topic = $1 AND message_key = $2`,
      [requestTopic, id('M_FIX')],
    );
    expect(sent[0]!.n).toBe(2);
    const trail = await db.query<
      { by: string; action: string; to_status: string | null; reason: string | null }[]
    >(
      `SELECT by, action, to_status, reason FROM settlement.record_audit
       WHERE record_id = $1 AND action LIKE 'PAYOUT%' ORDER BY id`,
      [id('M_FIX')],
    );
    expect(trail).toEqual([
      { by: 'system:payout', action: 'PAYOUT_REQUESTED', to_status: 'PAYOUT_REQUESTED', reason: null },
      { by: 'system:payout', action: 'PAYOUT_RESULT', to_status: 'PAYOUT_FAILED', reason: null },
      {
        by: 'finance:carol',
        action: 'PAYOUT_RETRY_REQUESTED',
        to_status: 'PAYOUT_REQUESTED',
        reason: 'merchant moved to a new account',
      },
      { by: 'system:payout', action: 'PAYOUT_RESULT', to_status: 'PAID', reason: null },
    ]);
  }, 120_000);

  it('refuses to retry a PAID record (409) and moves nothing', async () => {
    expect(
      await refusal(
        retries.retryPayout(id('M_FIX'), {
          by: 'finance:carol',
          reason: 'again',
          idempotencyKey: 'retry-fix-2',
        }),
      ),
    ).toEqual({
      status: 409,
      error: 'SETTLEMENT.NOT_RETRYABLE',
      message: `settlement record ${id('M_FIX')} is PAID; only a PAYOUT_FAILED record (its funds back in settleable) can have its payout retried`,
    });
    expect(await balance('2203:M_FIX')).toBe('0.00');
    expect(await balance('2204:M_FIX')).toBe('0.00');
  }, 30_000);

  it('returns the funds again under their own key when the retried payout fails too', async () => {
    await setAccount('M_TWICE', CLOSED_3);
    await retries.retryPayout(id('M_TWICE'), {
      by: 'finance:carol',
      reason: 'merchant says the account works now',
      idempotencyKey: 'retry-twice-1',
    });
    await waitFor(
      'retried payout failed',
      async () =>
        (
          await db.query<{ n: number }[]>(
            `SELECT count(*)::int AS n FROM ledger.journal_entry WHERE idempotency_key = $1`,
            [`payout-returned:${id('M_TWICE')}:1`],
          )
        )[0]!.n,
      (n) => n === 1,
      90_000,
    );
    expect(await status('M_TWICE')).toBe('PAYOUT_FAILED');
    expect(await balance('2203:M_TWICE')).toBe('80.25');
    expect(await balance('2204:M_TWICE')).toBe('0.00');
  }, 120_000);

  it('refuses when settleable no longer covers the amount (ledger floor), then retries once it does', async () => {
    // The 40.00 returned to settleable was partly used since (here: 30.00 moved back to pending).
    await db.transaction((tx) =>
      ledger.post(tx, [
        {
          idempotencyKey: 'test-drain:M_DRAINED',
          businessRef: 'test-drain',
          effectiveAt: new Date().toISOString(),
          postings: [
            {
              account: { template: 'merchant_settleable', owner: 'M_DRAINED' },
              side: 'DEBIT',
              amount: '30.00',
              currency: 'CNY',
            },
            {
              account: { template: 'merchant_pending', owner: 'M_DRAINED' },
              side: 'CREDIT',
              amount: '30.00',
              currency: 'CNY',
            },
          ],
        },
      ]),
    );
    await setAccount('M_DRAINED', FIXED.replace(/4$/, '5'));
    const refused = await refusal(
      retries.retryPayout(id('M_DRAINED'), {
        by: 'finance:carol',
        reason: 'account added',
        idempotencyKey: 'retry-drained-1',
      }),
    );
    expect(refused).toMatchObject({ status: 409, error: 'SETTLEMENT.INSUFFICIENT_SETTLEABLE' });
    expect(await status('M_DRAINED')).toBe('PAYOUT_FAILED');
    expect(await balance('2203:M_DRAINED')).toBe('10.00');
    expect(await balance('2204:M_DRAINED')).toBe('0.00');
    const [audited] = await db.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM settlement.record_audit WHERE record_id = $1 AND action = 'PAYOUT_RETRY_REFUSED'`,
      [id('M_DRAINED')],
    );
    expect(audited!.n).toBe(1);

    // Once settleable covers it again, the payout refused before sending goes out as attempt 1.
    await db.transaction((tx) =>
      ledger.post(tx, [
        {
          idempotencyKey: 'test-refill:M_DRAINED',
          businessRef: 'test-refill',
          effectiveAt: new Date().toISOString(),
          postings: [
            {
              account: { template: 'merchant_pending', owner: 'M_DRAINED' },
              side: 'DEBIT',
              amount: '30.00',
              currency: 'CNY',
            },
            {
              account: { template: 'merchant_settleable', owner: 'M_DRAINED' },
              side: 'CREDIT',
              amount: '30.00',
              currency: 'CNY',
            },
          ],
        },
      ]),
    );
    await retries.retryPayout(id('M_DRAINED'), {
      by: 'finance:carol',
      reason: 'account added',
      idempotencyKey: 'retry-drained-2',
    });
    await waitFor(
      'refused payout retried and paid',
      () => status('M_DRAINED'),
      (s) => s === 'PAID',
      90_000,
    );
    expect(await balance('2203:M_DRAINED')).toBe('0.00');
    expect(await balance('2204:M_DRAINED')).toBe('0.00');
    expect(await balance(`1002:${FIXED.replace(/4$/, '5')}`)).toBe('-40.00');
    const attempts = await db.query<{ attempt_id: string }[]>(
      'SELECT attempt_id FROM settlement.payout_attempt WHERE record_id = $1',
      [id('M_DRAINED')],
    );
    expect(attempts).toEqual([{ attempt_id: `${id('M_DRAINED')}-1` }]);
  }, 120_000);

  it('keeps the books balanced with one entry per money move', async () => {
    const entries = await db.query<{ key: string }[]>(
      `SELECT idempotency_key AS key FROM ledger.journal_entry WHERE idempotency_key LIKE 'payout-%' ORDER BY 1`,
    );
    expect(entries.map((e) => e.key)).toEqual(
      [
        `payout-paid:${id('M_FIX')}`,
        `payout-retry:${id('M_FIX')}:1`,
        `payout-returned:${id('M_FIX')}`,
        `payout-retry:${id('M_TWICE')}:1`,
        `payout-returned:${id('M_TWICE')}`,
        `payout-returned:${id('M_TWICE')}:1`,
        `payout-returned:${id('M_DRAINED')}`,
        `payout-retry:${id('M_DRAINED')}:1`,
        `payout-paid:${id('M_DRAINED')}`,
      ].sort(),
    );
    expect((await trialBalance(db)).balanced).toBe(true);
    const report = await db.transaction('REPEATABLE READ', (tx) => runLedgerChecks(tx));
    expect(report.ok).toBe(true);
  }, 30_000);

  it("refuses a retry once the merchant's next record has taken the returned funds", async () => {
    // M_TWICE's second failure left 80.25 in settleable: the next close pays it on.
    expect(await balance('2203:M_TWICE')).toBe('80.25');
    await new CycleCloseService(db, ledger).close('2026-09-29', { by: CLOSE_SUBMITTER });
    const [next] = await db.query<{ id: string; carried_in: string; amount: string }[]>(
      `SELECT id::text, carried_in::text, amount::text FROM settlement.settlement_record
       WHERE merchant_id = 'M_TWICE' AND closes_on = '2026-09-29'`,
    );
    expect(next).toMatchObject({ carried_in: '80.25', amount: '80.25' });
    expect(await balance('2203:M_TWICE')).toBe('0.00');
    await setAccount('M_TWICE', FIXED);
    expect(
      await refusal(
        retries.retryPayout(id('M_TWICE'), {
          by: 'finance:carol',
          reason: 'account fixed at last',
          idempotencyKey: 'retry-twice-after-close',
        }),
      ),
    ).toMatchObject({
      status: 409,
      message: `the funds of settlement record ${id('M_TWICE')} were already paid on with settlement record ${next!.id}; nothing to retry`,
    });
    expect(await status('M_TWICE')).toBe('PAYOUT_FAILED');
    expect(await balance('2204:M_TWICE')).toBe('80.25');
  }, 60_000);
});
