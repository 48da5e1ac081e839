import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InternalTransactions1764000000100 implements MigrationInterface {
  readonly name = 'InternalTransactions1764000000100';

  async up(runner: QueryRunner): Promise<void> {
    // Business-date rules per channel: the channel's statement day is what reconciliation compares
    // against, so an item's business date is computed in the channel's zone and cut-off.
    await runner.query(`
      CREATE TABLE reconciliation.channel_calendar (
        channel            text PRIMARY KEY CHECK (channel ~ '^[A-Z0-9_]{1,32}$'),
        zone               text NOT NULL,
        cutoff_local_time  text NOT NULL DEFAULT '00:00' CHECK (cutoff_local_time ~ '^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$'),
        updated_at         timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`
      INSERT INTO reconciliation.channel_calendar (channel, zone, cutoff_local_time) VALUES
        ('WECHAT', 'Asia/Shanghai', '00:00'),
        ('ALIPAY', 'Asia/Shanghai', '00:00'),
        ('UNIONPAY', 'Asia/Shanghai', '23:00')`);

    // 我方交易 (internal transactions): what our platform says happened, one row per payment,
    // refund or reversal, as published on payments.transaction.v1.
    await runner.query(`
      CREATE TABLE reconciliation.internal_transaction (
        id                      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id                text        NOT NULL,
        event_type              text        NOT NULL CHECK (event_type IN ('PAYMENT_SUCCEEDED', 'REFUND_SUCCEEDED', 'PAYMENT_REVERSED')),
        merchant_id             text        NOT NULL,
        channel                 text        NOT NULL,
        order_no                text        NOT NULL,
        refund_no               text,
        channel_txn_id          text,
        payment_method          text,
        amount                  numeric     NOT NULL CHECK (amount > 0),
        currency                char(3)     NOT NULL,
        coupon_amount           numeric     CHECK (coupon_amount >= 0),
        coupon_merchant_funded  numeric     CHECK (coupon_merchant_funded >= 0),
        coupon_platform_funded  numeric     CHECK (coupon_platform_funded >= 0),
        occurred_at             timestamptz NOT NULL,
        business_date           date        NOT NULL,
        business_zone           text        NOT NULL,
        metadata                jsonb,
        recorded_at             timestamptz NOT NULL DEFAULT now(),
        CHECK ((event_type = 'REFUND_SUCCEEDED') = (refund_no IS NOT NULL)),
        CHECK (coupon_amount IS NULL OR coupon_amount = coupon_merchant_funded + coupon_platform_funded)
      )`);
    // One business transaction is recorded once even if a publisher re-sends it under a new event id.
    await runner.query(`
      CREATE UNIQUE INDEX internal_transaction_business_key
        ON reconciliation.internal_transaction (channel, event_type, order_no, (coalesce(refund_no, '')))`);
    // The match run reads one channel's business day.
    await runner.query(`
      CREATE INDEX internal_transaction_channel_day
        ON reconciliation.internal_transaction (channel, business_date)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE reconciliation.internal_transaction');
    await runner.query('DROP TABLE reconciliation.channel_calendar');
  }
}
