import { describe, expect, it } from '@jest/globals';
import { Money } from '@app/contracts';
import { LedgerError, type EntryDraft, type Ledger } from '@app/ledger';
import type { EntityManager } from 'typeorm';
import type { InternalTransaction } from './internal-transaction.js';
import { TDayLedger } from './t-day-ledger.js';

/**
 * Just enough of Ledger.post to exercise TDayLedger: merchant pending balances with a floor judged
 * on each call's net effect, and nothing applied when a call is refused. The real ledger's floors
 * are covered by its own integration tests and by test/integration/ingest-ledger.int-spec.ts.
 */
class FloorOnlyLedger {
  readonly pending = new Map<string, Money>();
  readonly posted: string[] = [];
  calls = 0;

  async post(_tx: EntityManager, drafts: EntryDraft[]) {
    this.calls += 1;
    const next = new Map(this.pending);
    for (const d of drafts) {
      for (const p of d.postings) {
        if (p.account.template !== 'merchant_pending') continue;
        const owner = p.account.owner!;
        const amount = Money.parse(p.amount, p.currency);
        const before = next.get(owner) ?? Money.zero(p.currency);
        next.set(owner, p.side === 'CREDIT' ? before.plus(amount) : before.minus(amount));
      }
    }
    for (const [owner, balance] of next) {
      if (balance.isNegative())
        throw new LedgerError(
          'LEDGER.INSUFFICIENT_FUNDS',
          `2202:${owner} would fall to ${balance.toString()}`,
        );
    }
    for (const [owner, balance] of next) this.pending.set(owner, balance);
    this.posted.push(...drafts.map((d) => d.idempotencyKey));
    return drafts.map((d) => ({
      entryId: d.idempotencyKey,
      idempotencyKey: d.idempotencyKey,
      replayed: false,
    }));
  }
}

const tx = {} as EntityManager;
let serial = 0;
const transaction = (
  eventType: InternalTransaction['eventType'],
  merchantId: string,
  amount: string,
): InternalTransaction => {
  serial += 1;
  return {
    eventId: `e${serial}`,
    eventType,
    merchantId,
    channel: 'WECHAT',
    orderNo: `O${serial}`,
    refundNo: eventType === 'REFUND_SUCCEEDED' ? `R${serial}` : null,
    channelTxnId: null,
    paymentMethod: null,
    amount,
    currency: 'CNY',
    couponAmount: null,
    couponMerchantFunded: null,
    couponPlatformFunded: null,
    occurredAt: '2026-11-22T01:00:00.000Z',
    businessDate: '2026-11-22',
    businessZone: 'Asia/Shanghai',
    metadata: null,
  };
};

describe('TDayLedger', () => {
  it('posts a batch in calls of at most the ledger batch size', async () => {
    const ledger = new FloorOnlyLedger();
    const batch = Array.from({ length: 25 }, () => transaction('PAYMENT_SUCCEEDED', 'M1', '1.00'));
    const refused = await new TDayLedger(ledger as unknown as Ledger, 10).post(tx, batch);
    expect(refused).toEqual([]);
    expect(ledger.calls).toBe(3);
    expect(ledger.posted).toEqual(batch.map((t) => `recon.t-day:${t.eventId}`));
    expect(ledger.pending.get('M1')?.toString()).toBe('25.00');
  });

  it('refuses only the refunds merchant pending cannot cover, judging each after every payment of the batch', async () => {
    const ledger = new FloorOnlyLedger();
    const refundBeforeItsPayment = transaction('REFUND_SUCCEEDED', 'M1', '30.00');
    const payment = transaction('PAYMENT_SUCCEEDED', 'M1', '100.00');
    const uncovered = transaction('REFUND_SUCCEEDED', 'M2', '50.00');
    const other = transaction('PAYMENT_SUCCEEDED', 'M3', '10.00');
    const secondRefund = transaction('REFUND_SUCCEEDED', 'M1', '60.00');
    const overdraw = transaction('REFUND_SUCCEEDED', 'M1', '10.01');
    const reversal = transaction('PAYMENT_REVERSED', 'M3', '10.00');
    const batch = [refundBeforeItsPayment, payment, uncovered, other, secondRefund, overdraw, reversal];

    const refused = await new TDayLedger(ledger as unknown as Ledger).post(tx, batch);

    expect(refused.map((r) => [r.transaction.eventId, r.code])).toEqual([
      [uncovered.eventId, 'LEDGER.INSUFFICIENT_FUNDS'],
      [overdraw.eventId, 'LEDGER.INSUFFICIENT_FUNDS'],
    ]);
    expect(refused[0]!.reason).toBe('LEDGER.INSUFFICIENT_FUNDS: 2202:M2 would fall to -50.00');
    expect(new Set(ledger.posted)).toEqual(
      new Set(
        [refundBeforeItsPayment, payment, other, secondRefund, reversal].map(
          (t) => `recon.t-day:${t.eventId}`,
        ),
      ),
    );
    expect(Object.fromEntries([...ledger.pending].map(([m, b]) => [m, b.toString()]))).toEqual({
      M1: '10.00',
      M3: '0.00',
    });
  });

  it('lets anything but a LedgerError through to the consumer', async () => {
    const failing = {
      post: async () => {
        throw new Error('connection terminated');
      },
    };
    await expect(
      new TDayLedger(failing as unknown as Ledger).post(tx, [transaction('PAYMENT_SUCCEEDED', 'M1', '1.00')]),
    ).rejects.toThrow('connection terminated');
  });
});
