import type { DataSource } from 'typeorm';

/** One merchant's cleared items of a business date, in one currency. */
export interface MerchantClearingSummary {
  merchantId: string;
  currency: string;
  items: number;
  payments: number;
  refunds: number;
  /** Σ gross: order values of payments less refunded amounts. */
  gross: string;
  /** Σ platform fee, net of fees returned on refunds. */
  fee: string;
  /** Σ what the channels charged the platform for these items, net of returns. */
  channelCost: string;
  /** Σ coupon value the merchant funded, and the platform funded (payments). */
  couponMerchantFunded: string;
  couponPlatformFunded: string;
  /** Σ net: what the items add to the merchant's settleable balance. */
  net: string;
}

export interface ClearingSummary {
  businessDate: string;
  merchants: MerchantClearingSummary[];
  /** Matched refunds of the date still waiting for their payment to clear. */
  awaitingPayment: number;
}

/** The clearing result (清分结果) of a business date per merchant, from clearing.cleared_item. */
export async function clearingSummary(
  dataSource: DataSource,
  businessDate: string,
): Promise<ClearingSummary> {
  const rows = await dataSource.query<
    {
      merchant_id: string;
      currency: string;
      items: number;
      payments: number;
      refunds: number;
      gross: string;
      fee: string;
      channel_cost: string;
      coupon_merchant_funded: string;
      coupon_platform_funded: string;
      net: string;
    }[]
  >(
    `SELECT merchant_id, currency, count(*)::int AS items,
            count(*) FILTER (WHERE type = 'PAYMENT')::int AS payments,
            count(*) FILTER (WHERE type = 'REFUND')::int AS refunds,
            sum(gross)::text AS gross, sum(fee)::text AS fee, sum(channel_cost)::text AS channel_cost,
            coalesce(sum(coupon_merchant_funded), 0)::text AS coupon_merchant_funded,
            coalesce(sum(coupon_platform_funded), 0)::text AS coupon_platform_funded,
            sum(net)::text AS net
     FROM clearing.cleared_item WHERE business_date = $1
     GROUP BY merchant_id, currency ORDER BY merchant_id, currency`,
    [businessDate],
  );
  const [waiting] = await dataSource.query<{ n: number }[]>(
    'SELECT count(*)::int AS n FROM clearing.refund_awaiting_payment WHERE business_date = $1',
    [businessDate],
  );
  return {
    businessDate,
    merchants: rows.map((r) => ({
      merchantId: r.merchant_id,
      currency: r.currency,
      items: r.items,
      payments: r.payments,
      refunds: r.refunds,
      gross: r.gross,
      fee: r.fee,
      channelCost: r.channel_cost,
      couponMerchantFunded: r.coupon_merchant_funded,
      couponPlatformFunded: r.coupon_platform_funded,
      net: r.net,
    })),
    awaitingPayment: waiting?.n ?? 0,
  };
}
