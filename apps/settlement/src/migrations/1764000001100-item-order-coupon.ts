import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The merchant statement lists each item by order number with its coupon split, which
 * clearing.item-cleared.v1 always carried but settlement did not keep. Nullable: items stored
 * before this stay NULL (the event is gone from the inbox's reach), and a refund has no coupon parts
 * and a payment no refund number. The immutability trigger is recreated so the new columns are as
 * fixed as the old ones: the store writes them at insert, nothing updates them.
 */
export class ItemOrderCoupon1764000001100 implements MigrationInterface {
  readonly name = 'ItemOrderCoupon1764000001100';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE settlement.cleared_item
        ADD COLUMN order_no                text,
        ADD COLUMN refund_no               text,
        ADD COLUMN coupon_merchant_funded  numeric,
        ADD COLUMN coupon_platform_funded  numeric`);
    await this.setOnceTrigger(
      runner,
      ', OLD.order_no, OLD.refund_no, OLD.coupon_merchant_funded, OLD.coupon_platform_funded',
      ', NEW.order_no, NEW.refund_no, NEW.coupon_merchant_funded, NEW.coupon_platform_funded',
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await this.setOnceTrigger(runner, '', '');
    await runner.query(`
      ALTER TABLE settlement.cleared_item
        DROP COLUMN order_no,
        DROP COLUMN refund_no,
        DROP COLUMN coupon_merchant_funded,
        DROP COLUMN coupon_platform_funded`);
  }

  /** As in 1764000000800, with `extraOld` / `extraNew` appended to the compared rows. */
  private async setOnceTrigger(runner: QueryRunner, extraOld: string, extraNew: string): Promise<void> {
    await runner.query('DROP TRIGGER cleared_item_set_once ON settlement.cleared_item');
    await runner.query(`
      CREATE TRIGGER cleared_item_set_once BEFORE UPDATE ON settlement.cleared_item FOR EACH ROW
      WHEN (OLD.settlement_record_id IS NOT NULL OR NEW.settlement_record_id IS NULL
            OR (OLD.event_id, OLD.transaction_event_id, OLD.merchant_id, OLD.channel, OLD.type, OLD.business_date,
                OLD.currency, OLD.gross, OLD.fee, OLD.channel_cost, OLD.net, OLD.cleared_at, OLD.received_at${extraOld})
               IS DISTINCT FROM
               (NEW.event_id, NEW.transaction_event_id, NEW.merchant_id, NEW.channel, NEW.type, NEW.business_date,
                NEW.currency, NEW.gross, NEW.fee, NEW.channel_cost, NEW.net, NEW.cleared_at, NEW.received_at${extraNew}))
      EXECUTE FUNCTION settlement.cleared_item_set_once()`);
  }
}
