import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Cleared items (清分结果): one row per cleared transaction, the settlement's input, and the refunds
 * that matched before their payment was cleared.
 *
 * The split figures are signed movements, as on clearing.item-cleared.v1: a payment adds, a refund
 * takes back, so a day's or a cycle's totals are plain sums over any mix of types. For every row
 * net + fee = pending (what left merchant pending, 2202) and, for a payment,
 * pending + coupon_merchant_funded = gross.
 */
export class ClearedItems1764000000700 implements MigrationInterface {
  readonly name = 'ClearedItems1764000000700';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE clearing.cleared_item (
        -- One cleared item per transaction, whichever path (match run, resolution) released it.
        transaction_event_id          text        PRIMARY KEY CHECK (length(transaction_event_id) BETWEEN 1 AND 128),
        matched_event_id              text        NOT NULL,
        merchant_id                   text        NOT NULL,
        channel                       text        NOT NULL,
        business_date                 date        NOT NULL,
        type                          text        NOT NULL CHECK (type IN ('PAYMENT', 'REFUND')),
        order_no                      text        NOT NULL,
        refund_no                     text,
        -- A refund's cleared payment: where its fee-return policy and Σ earlier refunds come from.
        payment_transaction_event_id  text,
        currency                      char(3)     NOT NULL,
        amount                        numeric     NOT NULL CHECK (amount > 0),
        order_value                   numeric     CHECK (order_value >= 0),
        coupon_merchant_funded        numeric     CHECK (coupon_merchant_funded >= 0),
        coupon_platform_funded        numeric     CHECK (coupon_platform_funded >= 0),
        gross                         numeric     NOT NULL,
        pending                       numeric     NOT NULL,
        fee                           numeric     NOT NULL,
        channel_cost                  numeric     NOT NULL,
        net                           numeric     NOT NULL,
        fee_rule_id                   bigint      NOT NULL,
        fee_rule_version              int         NOT NULL CHECK (fee_rule_version >= 1),
        -- The payment rule's refund policy and rounding, kept with the payment so that its refunds,
        -- days later, are split by the rule it was charged under.
        refund_fee_policy             text        CHECK (refund_fee_policy IN ('NONE', 'FULL', 'PRO_RATA')),
        fee_rounding                  text,
        journal_entry_id              bigint      NOT NULL,
        effective_at                  timestamptz NOT NULL,
        cleared_at                    timestamptz NOT NULL,
        CHECK (net + fee = pending),
        CHECK ((type = 'PAYMENT') = (refund_no IS NULL)),
        CHECK ((type = 'PAYMENT') = (payment_transaction_event_id IS NULL)),
        CHECK ((type = 'PAYMENT') = (order_value IS NOT NULL AND coupon_merchant_funded IS NOT NULL
                                     AND coupon_platform_funded IS NOT NULL AND refund_fee_policy IS NOT NULL)),
        CHECK (type = 'REFUND' OR (gross = order_value AND pending + coupon_merchant_funded = gross
                                   AND fee >= 0 AND channel_cost >= 0)),
        CHECK (type = 'PAYMENT' OR (gross = -amount AND pending = gross AND fee <= 0 AND channel_cost <= 0))
      )`);
    // Settlement and the day's checks read a business date per merchant; refunds find their
    // payment (and its earlier refunds) by order.
    await runner.query(
      `CREATE INDEX cleared_item_date_merchant ON clearing.cleared_item (business_date, merchant_id)`,
    );
    await runner.query(
      `CREATE INDEX cleared_item_merchant_order ON clearing.cleared_item (merchant_id, order_no)`,
    );

    // A matched refund whose payment is not cleared yet (matched later, or released by a
    // discrepancy resolution days after): its inbox row is committed, so it waits here and is
    // cleared in the transaction that clears its payment. The original message is kept so that a
    // refund the ledger then refuses still goes to the DLQ byte for byte.
    await runner.query(`
      CREATE TABLE clearing.refund_awaiting_payment (
        transaction_event_id  text        PRIMARY KEY,
        matched_event_id      text        NOT NULL,
        merchant_id           text        NOT NULL,
        channel               text        NOT NULL,
        business_date         date        NOT NULL,
        order_no              text        NOT NULL,
        event                 jsonb       NOT NULL,
        source_topic          text        NOT NULL,
        source_partition      int         NOT NULL,
        source_offset         text        NOT NULL,
        message_key           text,
        message_value         bytea       NOT NULL,
        message_headers       jsonb       NOT NULL,
        parked_at             timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(
      `CREATE INDEX refund_awaiting_payment_order ON clearing.refund_awaiting_payment (merchant_id, order_no)`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE clearing.refund_awaiting_payment');
    await runner.query('DROP TABLE clearing.cleared_item');
  }
}
