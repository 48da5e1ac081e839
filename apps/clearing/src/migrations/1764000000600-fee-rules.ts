import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fee rules (手续费规则) and channel cost rates as versioned configuration (DESIGN §5).
 *
 * A rule row is a fact: the rule a scope had over [effective_from, effective_to). A change is a
 * new version, never an edit, so an item cleared yesterday can always be explained by the row it
 * was cleared with. The one UPDATE a trigger lets through is the close of an open-ended version
 * (effective_to NULL → an instant ≥ its effective_from, nothing else changed): a stored upper bound
 * is what lets the exclusion constraint guard the no-overlap rule in the database, where a
 * derived bound (the next version's start) could not be constrained at all. The service only
 * closes at an instant that is not in the past (a change never rewrites past clearing); the
 * trigger also refuses a close before now() so no other client can rewrite the past either.
 *
 * No two rows of one scope (merchant, channel, payment method, currency; NULL = any, coalesced to
 * '' so the constraint compares them) may cover the same instant: EXCLUDE with btree_gist.
 */
export class FeeRules1764000000600 implements MigrationInterface {
  readonly name = 'FeeRules1764000000600';

  async up(runner: QueryRunner): Promise<void> {
    // Into public: the gist operator classes are found by type whatever the search_path.
    await runner.query('CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public');

    await runner.query(`
      CREATE TABLE clearing.fee_rule (
        id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        merchant_id     text        CHECK (merchant_id <> ''),
        channel         text        CHECK (channel ~ '^[A-Z0-9_]{1,32}$'),
        payment_method  text        CHECK (payment_method <> ''),
        currency        char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
        formula         jsonb       NOT NULL CHECK (jsonb_typeof(formula) = 'object'
                                      AND formula->>'kind' IN ('PERCENTAGE', 'FIXED', 'PERCENTAGE_PLUS_FIXED', 'TIERED')),
        refund_policy   text        NOT NULL CHECK (refund_policy IN ('NONE', 'FULL', 'PRO_RATA')),
        version         int         NOT NULL CHECK (version >= 1),
        effective_from  timestamptz NOT NULL,
        effective_to    timestamptz CHECK (effective_to >= effective_from),
        created_by      text        NOT NULL CHECK (length(created_by) BETWEEN 1 AND 64),
        created_at      timestamptz NOT NULL DEFAULT now(),
        note            text        CHECK (length(note) <= 500),
        CONSTRAINT fee_rule_no_overlap EXCLUDE USING gist (
          (coalesce(merchant_id, '')) WITH =,
          (coalesce(channel, '')) WITH =,
          (coalesce(payment_method, '')) WITH =,
          currency WITH =,
          tstzrange(effective_from, effective_to, '[)') WITH &&)
      )`);
    // One version chain per scope: the numbers say in which order the versions were made.
    await runner.query(`
      CREATE UNIQUE INDEX fee_rule_scope_version_uq ON clearing.fee_rule (
        (coalesce(merchant_id, '')), (coalesce(channel, '')), (coalesce(payment_method, '')), currency, version)`);

    await runner.query(`
      CREATE TABLE clearing.channel_cost_rate (
        id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        channel         text        NOT NULL CHECK (channel ~ '^[A-Z0-9_]{1,32}$'),
        rate            numeric     NOT NULL CHECK (rate >= 0 AND rate < 1),
        rounding        text        NOT NULL DEFAULT 'HALF_UP'
                                      CHECK (rounding IN ('HALF_UP', 'HALF_EVEN', 'HALF_DOWN', 'UP', 'DOWN', 'CEIL', 'FLOOR')),
        effective_from  timestamptz NOT NULL,
        effective_to    timestamptz CHECK (effective_to >= effective_from),
        created_at      timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT channel_cost_rate_no_overlap EXCLUDE USING gist (
          channel WITH =,
          tstzrange(effective_from, effective_to, '[)') WITH &&)
      )`);

    await runner.query(`
      CREATE FUNCTION clearing.versioned_config_close_only() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        unchanged_but_close record;
      BEGIN
        IF TG_OP <> 'UPDATE' THEN
          RAISE EXCEPTION 'clearing.% is versioned configuration: % refused; add a new version', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'raise_exception';
        END IF;
        unchanged_but_close := NEW;
        unchanged_but_close.effective_to := OLD.effective_to;
        IF OLD.effective_to IS NOT NULL OR NEW.effective_to IS NULL
           OR unchanged_but_close IS DISTINCT FROM OLD THEN
          RAISE EXCEPTION 'clearing.% row % is immutable: only closing an open-ended version (effective_to from NULL) is allowed', TG_TABLE_NAME, OLD.id
            USING ERRCODE = 'raise_exception';
        END IF;
        IF NEW.effective_to < now() THEN
          RAISE EXCEPTION 'clearing.% row %: closing at % would rewrite the past (now %)', TG_TABLE_NAME, OLD.id, NEW.effective_to, now()
            USING ERRCODE = 'raise_exception';
        END IF;
        RETURN NEW;
      END $$`);
    for (const table of ['fee_rule', 'channel_cost_rate']) {
      await runner.query(
        `CREATE TRIGGER ${table}_close_only BEFORE UPDATE OR DELETE ON clearing.${table} FOR EACH ROW EXECUTE FUNCTION clearing.versioned_config_close_only()`,
      );
      await runner.query(
        `CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON clearing.${table} FOR EACH STATEMENT EXECUTE FUNCTION clearing.versioned_config_close_only()`,
      );
    }

    // The platform default and the sample channels' contracted cost: 0.6%, as the sample statements
    // charge (samples/generic-2026-11-22.csv: every fee is amount × 0.006 rounded HALF_UP).
    await runner.query(
      `INSERT INTO clearing.fee_rule (merchant_id, channel, payment_method, currency, formula, refund_policy,
         version, effective_from, created_by, note)
       VALUES (NULL, NULL, NULL, 'CNY', $1::jsonb, 'PRO_RATA', 1, '2026-01-01T00:00:00+08:00', 'migration',
         'platform default rate')`,
      [JSON.stringify({ kind: 'PERCENTAGE', rate: '0.006', rounding: 'HALF_UP' })],
    );
    await runner.query(`
      INSERT INTO clearing.channel_cost_rate (channel, rate, rounding, effective_from) VALUES
        ('WECHAT', 0.006, 'HALF_UP', '2026-01-01T00:00:00+08:00'),
        ('ALIPAY', 0.006, 'HALF_UP', '2026-01-01T00:00:00+08:00')`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE clearing.channel_cost_rate');
    await runner.query('DROP TABLE clearing.fee_rule');
    await runner.query('DROP FUNCTION clearing.versioned_config_close_only()');
    // btree_gist stays: another schema may use it by now.
  }
}
