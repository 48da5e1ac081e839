/**
 * The clearing bench's workload: N recon.item-matched.v1 events of one WECHAT/CNY day over M
 * merchants, as the reconciliation service would publish them after a match run, and the figures
 * clearing must come to for them, worked out here independently of the fee module (integer fen,
 * bigint) so the bench can hold the engine to them exactly.
 *
 * Item i belongs to merchant i % M (the message key), so a merchant's items are spread over the
 * whole stream and stay in one partition, in order. Item i is:
 *   - a REFUND with probability `refundRate` (a hash of i), once the merchant has had its first item
 *     (i ≥ M), of the merchant's oldest payment not refunded yet: always earlier in the stream and in
 *     the same partition, so clearing never has to park it; half of them refund the whole payment,
 *     half ⌊amount / 2⌋;
 *   - otherwise a PAYMENT of 1.00 … 5,000.00, `couponRate` of them with a coupon of 1.00 … 19.99
 *     (merchant-funded half rounded down, the platform the rest).
 * Every item matched in match run 1 with a statement line whose fee is the channel's 0.6% of the
 * amount HALF_UP, negative on a refund (the channel gives its fee back): what the seeded channel
 * cost rate would give, but taken from the line as clearing does when a line has a fee.
 *
 * Expected figures follow the seeded CNY platform rule (PERCENTAGE 0.6% of the order value HALF_UP,
 * capped at pending, refund policy PRO_RATA) and clearingEntryOf's postings (one per non-zero leg).
 */
import { reconItemMatchedEventId, type ReconItemMatchedV1Input } from '@app/contracts';

export const CLEARING_BENCH_CHANNEL = 'WECHAT';
export const CLEARING_BENCH_CURRENCY = 'CNY';
export const CLEARING_BENCH_BUSINESS_DATE = '2026-11-22';
/** 00:00 of the business date in Asia/Shanghai, WECHAT's zone: transactions spread over that day. */
const DAY_START_MS = Date.parse('2026-11-22T00:00:00+08:00');
const DAY_SPAN_MS = 23 * 3_600_000 + 59 * 60_000;
const ZONE_OFFSET_MS = 8 * 3_600_000;
/** When match run 1 matched the day: every item's `occurredAt`, so every entry's effective instant. */
const MATCHED_AT = '2026-11-23T02:00:00.000Z';

export interface ClearingWorkloadOptions {
  items: number;
  merchants: number;
  refundRate: number;
  couponRate: number;
}

/** Totals in fen over the whole stream, signed as the items carry them (refund parts positive). */
export interface ExpectedClearing {
  items: number;
  payments: number;
  refunds: number;
  fullRefunds: number;
  paymentsWithCoupon: number;
  postings: number;
  /** Payments. */
  amount: bigint;
  orderValue: bigint;
  couponMerchantFunded: bigint;
  couponPlatformFunded: bigint;
  pending: bigint;
  fee: bigint;
  channelCost: bigint;
  net: bigint;
  /** Refunds, as positive amounts. */
  refunded: bigint;
  feeReturned: bigint;
  channelCostReturned: bigint;
  merchantDebit: bigint;
}

const KIND_PAYMENT = 0;
const KIND_REFUND = 1;

/** A deterministic draw in [0, 1) for item i: the same stream on every run. */
function draw(i: number, salt: number): number {
  let h = Math.imul(i ^ salt, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}

/** 12345n → "123.45", -30n → "-0.30": fen as a CNY decimal string. */
export function fenText(fen: bigint): string {
  if (fen < 0n) return `-${fenText(-fen)}`;
  const digits = fen.toString().padStart(3, '0');
  return `${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

/** 0.6% of a non-negative amount in fen, HALF_UP to the fen: the rule's and the channel's fee. */
const sixPerMille = (fen: bigint) => (fen * 6n + 500n) / 1_000n;

export const merchantIdOf = (m: number) => `M${String(m).padStart(6, '0')}`;
const orderNoOf = (i: number) => `O${String(i).padStart(10, '0')}`;
const transactionEventIdOf = (i: number) => `t-${String(i).padStart(10, '0')}`;

/** A payment's figures, a pure function of its index: a refund recomputes its payment's. */
function paymentOf(i: number, couponRate: number) {
  const amount = 100n + BigInt(Math.floor(draw(i, 0x51) * 499_901)); // 1.00 … 5,000.00
  let couponMerchantFunded = 0n;
  let couponPlatformFunded = 0n;
  const withCoupon = draw(i, 0xc0) < couponRate;
  if (withCoupon) {
    const coupon = 100n + BigInt(i % 1_900); // 1.00 … 19.99
    couponMerchantFunded = coupon / 2n;
    couponPlatformFunded = coupon - couponMerchantFunded;
  }
  const orderValue = amount + couponMerchantFunded + couponPlatformFunded;
  const pending = amount + couponPlatformFunded;
  const byRule = sixPerMille(orderValue);
  const fee = byRule > pending ? pending : byRule;
  return {
    amount,
    withCoupon,
    couponMerchantFunded,
    couponPlatformFunded,
    orderValue,
    pending,
    fee,
    net: pending - fee,
    channelCost: sixPerMille(amount),
  };
}

const occurredAtMs = (i: number, items: number) =>
  DAY_START_MS + Math.floor((i * DAY_SPAN_MS) / Math.max(items, 1));

/** 'YYYY-MM-DD HH:mm:ss' on the channel's wall clock (UTC+8), as its statement prints it. */
const tradeTimeOf = (ms: number) =>
  new Date(ms + ZONE_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');

export class ClearingWorkload {
  readonly expected: ExpectedClearing = {
    items: 0,
    payments: 0,
    refunds: 0,
    fullRefunds: 0,
    paymentsWithCoupon: 0,
    postings: 0,
    amount: 0n,
    orderValue: 0n,
    couponMerchantFunded: 0n,
    couponPlatformFunded: 0n,
    pending: 0n,
    fee: 0n,
    channelCost: 0n,
    net: 0n,
    refunded: 0n,
    feeReturned: 0n,
    channelCostReturned: 0n,
    merchantDebit: 0n,
  };

  constructor(readonly options: ClearingWorkloadOptions) {
    const { items, merchants } = options;
    if (!Number.isSafeInteger(items) || items < 1) throw new Error('items must be a positive integer');
    if (!Number.isSafeInteger(merchants) || merchants < 1 || merchants > 999_999)
      throw new Error('merchants must be an integer in [1, 999999]');
    if (!(options.refundRate >= 0 && options.refundRate < 0.5))
      throw new Error('refund rate must be in [0, 0.5)');
    if (!(options.couponRate >= 0 && options.couponRate <= 1))
      throw new Error('coupon rate must be in [0, 1]');
  }

  /**
   * The events in publishing order, with their message key. Single pass: the expected totals are
   * complete once the generator is exhausted.
   */
  *events(): Generator<{ key: string; event: ReconItemMatchedV1Input }> {
    const { items, merchants, refundRate, couponRate } = this.options;
    const kind = new Uint8Array(items);
    // Per merchant, the next of its items that may be a payment not refunded yet.
    const oldest = new Int32Array(merchants).map((_, m) => m);
    const x = this.expected;
    for (let i = 0; i < items; i += 1) {
      const m = i % merchants;
      let refundOf = -1;
      if (i >= merchants && draw(i, 0x2e) < refundRate) {
        let j = oldest[m]!;
        while (j < i && kind[j] === KIND_REFUND) j += merchants;
        if (j < i) {
          refundOf = j;
          oldest[m] = j + merchants;
        }
      }
      const at = occurredAtMs(i, items);
      const merchantId = merchantIdOf(m);
      const transactionEventId = transactionEventIdOf(i);
      let transaction: ReconItemMatchedV1Input['transaction'];
      let lineAmount: bigint;
      let lineFee: bigint;
      if (refundOf < 0) {
        kind[i] = KIND_PAYMENT;
        const p = paymentOf(i, couponRate);
        transaction = {
          eventId: transactionEventId,
          type: 'PAYMENT_SUCCEEDED',
          orderNo: orderNoOf(i),
          amount: fenText(p.amount),
          currency: CLEARING_BENCH_CURRENCY,
          occurredAt: new Date(at).toISOString(),
          channelTxnId: `42${String(i).padStart(16, '0')}`,
          paymentMethod: 'WECHAT_JSAPI',
          ...(p.withCoupon
            ? {
                coupon: {
                  amount: fenText(p.couponMerchantFunded + p.couponPlatformFunded),
                  merchantFunded: fenText(p.couponMerchantFunded),
                  platformFunded: fenText(p.couponPlatformFunded),
                },
              }
            : {}),
        };
        lineAmount = p.amount;
        lineFee = p.channelCost;
        x.payments += 1;
        if (p.withCoupon) x.paymentsWithCoupon += 1;
        x.amount += p.amount;
        x.orderValue += p.orderValue;
        x.couponMerchantFunded += p.couponMerchantFunded;
        x.couponPlatformFunded += p.couponPlatformFunded;
        x.pending += p.pending;
        x.fee += p.fee;
        x.channelCost += p.channelCost;
        x.net += p.net;
        x.postings += legs(p.pending, p.net, p.fee, p.channelCost);
      } else {
        kind[i] = KIND_REFUND;
        const p = paymentOf(refundOf, couponRate);
        const full = draw(i, 0xf1) < 0.5;
        const amount = full ? p.amount : p.amount / 2n;
        // PRO_RATA: the payment's fee × refund / paid HALF_UP; the refund completing it returns the rest.
        const feeReturned = full ? p.fee : (2n * p.fee * amount + p.amount) / (2n * p.amount);
        const channelFeeReturned = sixPerMille(amount);
        transaction = {
          eventId: transactionEventId,
          type: 'REFUND_SUCCEEDED',
          orderNo: orderNoOf(refundOf),
          refundNo: `R${String(i).padStart(10, '0')}`,
          amount: fenText(amount),
          currency: CLEARING_BENCH_CURRENCY,
          occurredAt: new Date(at).toISOString(),
          channelTxnId: `43${String(i).padStart(16, '0')}`,
          paymentMethod: 'WECHAT_JSAPI',
        };
        lineAmount = amount;
        lineFee = -channelFeeReturned;
        x.refunds += 1;
        if (full) x.fullRefunds += 1;
        x.refunded += amount;
        x.feeReturned += feeReturned;
        x.channelCostReturned += channelFeeReturned;
        x.merchantDebit += amount - feeReturned;
        x.postings += legs(amount, amount - feeReturned, feeReturned, channelFeeReturned);
      }
      x.items += 1;
      yield {
        key: merchantId,
        event: {
          eventId: reconItemMatchedEventId(CLEARING_BENCH_CHANNEL, transactionEventId),
          occurredAt: MATCHED_AT,
          matchedBy: 'MATCH_RUN',
          matchRunId: '1',
          channel: CLEARING_BENCH_CHANNEL,
          businessDate: CLEARING_BENCH_BUSINESS_DATE,
          merchantId,
          transaction,
          statementLine: {
            statementFileId: '1',
            lineNo: i + 1,
            amount: fenText(lineAmount),
            fee: fenText(lineFee),
            channelTxnId: transaction.channelTxnId!,
            tradeTime: tradeTimeOf(at),
          },
        },
      };
    }
  }
}

/**
 * Postings of one clearing entry (clearingEntryOf: one per non-zero leg): 2202 pending, 2203 net,
 * 6001 fee, and 6401 + 1122 for the channel cost.
 */
function legs(pending: bigint, net: bigint, fee: bigint, channelCost: bigint): number {
  return (
    (pending !== 0n ? 1 : 0) + (net !== 0n ? 1 : 0) + (fee !== 0n ? 1 : 0) + (channelCost !== 0n ? 2 : 0)
  );
}
