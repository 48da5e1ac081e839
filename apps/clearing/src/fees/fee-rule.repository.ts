import { describeValue, invariant, type RoundingMode } from '@app/contracts';
import type { EntityManager } from 'typeorm';
import {
  FeeError,
  type ChannelCostRate,
  type FeeFormula,
  type FeeRule,
  type FeeRuleScope,
  type RefundFeePolicy,
} from './fee.types.js';
import { selectRule, validateFeeRule, type FeeRuleQuery } from './fee-rule.js';
import { parseInstant } from './fee-values.js';

/** A new version of a scope's rule, as an operator writes it. */
export interface FeeRuleDraft {
  scope: FeeRuleScope;
  currency: string;
  formula: FeeFormula;
  refundPolicy: RefundFeePolicy;
  /** ISO instant with an offset; not in the past. */
  effectiveFrom: string;
  /** Absent or null: open-ended, until a later version closes it. */
  effectiveTo?: string | null;
  note?: string | null;
}

/** A stored version with its audit fields: who made it, when, and why. */
export interface FeeRuleRecord extends FeeRule {
  createdBy: string;
  /** ISO instant, UTC. */
  createdAt: string;
  note: string | null;
}

/** Exact-match filter of `list`: a given field selects the rules with exactly that scope value. */
export interface FeeRuleFilter {
  merchantId?: string;
  channel?: string;
  paymentMethod?: string;
  currency?: string;
}

/** A list is configuration, never traffic; past this many rows someone is misusing it. */
export const FEE_RULE_LIST_MAX = 10_000;

const ACTOR_PATTERN = /^[\p{L}\p{N}_.@:-]{1,64}$/u;
const NOTE_LENGTH_MAX = 500;

interface FeeRuleRow {
  id: string;
  merchant_id: string | null;
  channel: string | null;
  payment_method: string | null;
  currency: string;
  formula: FeeFormula;
  refund_policy: RefundFeePolicy;
  version: number;
  effective_from: Date;
  effective_to: Date | null;
  created_by: string;
  created_at: Date;
  note: string | null;
}

interface ChannelCostRateRow {
  channel: string;
  rate: string;
  rounding: RoundingMode;
  effective_from: Date;
  effective_to: Date | null;
}

const RULE_COLUMNS = `id::text AS id, merchant_id, channel, payment_method, currency, formula, refund_policy,
  version, effective_from, effective_to, created_by, created_at, note`;

/** The scope of a row, as the unique index and the exclusion constraint compare it. */
const SAME_SCOPE = `coalesce(merchant_id, '') = coalesce($1::text, '')
  AND coalesce(channel, '') = coalesce($2::text, '')
  AND coalesce(payment_method, '') = coalesce($3::text, '')
  AND currency = $4`;

function toRecord(row: FeeRuleRow): FeeRuleRecord {
  return {
    id: row.id,
    version: row.version,
    scope: { merchantId: row.merchant_id, channel: row.channel, paymentMethod: row.payment_method },
    currency: row.currency,
    formula: row.formula,
    refundPolicy: row.refund_policy,
    effectiveFrom: row.effective_from.toISOString(),
    effectiveTo: row.effective_to?.toISOString() ?? null,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    note: row.note,
  };
}

function describeScope(scope: FeeRuleScope, currency: string): string {
  return `merchant ${scope.merchantId ?? 'any'}, channel ${scope.channel ?? 'any'}, method ${scope.paymentMethod ?? 'any'}, ${currency}`;
}

function describeVersion(rule: FeeRule): string {
  return `v${rule.version} (rule ${rule.id}) [${rule.effectiveFrom}, ${rule.effectiveTo ?? '∞'})`;
}

function isExclusionViolation(error: unknown): boolean {
  const e = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  return e?.code === '23P01' || e?.driverError?.code === '23P01';
}

/**
 * Fee rules and channel cost rates in clearing.fee_rule / clearing.channel_cost_rate (migration
 * 1764000000600). Rows are immutable; a change is a new version (`createVersion`). Every method runs
 * on the caller's transaction. Nothing is cached yet: each look-up is one indexed query.
 */
export class FeeRuleRepository {
  /**
   * The rules that could price a transaction: in force at `at`, same currency, a scope whose every
   * non-null part matches. `selectRule` picks among them.
   * @throws FeeError FEES.INVALID_INPUT when `at` is not an ISO instant
   */
  async rulesInForce(tx: EntityManager, query: FeeRuleQuery): Promise<FeeRuleRecord[]> {
    const at = new Date(parseInstant(query.at, 'at', 'FEES.INVALID_INPUT')).toISOString();
    const rows = await tx.query<FeeRuleRow[]>(
      `SELECT ${RULE_COLUMNS} FROM clearing.fee_rule
       WHERE currency = $1
         AND (merchant_id IS NULL OR merchant_id = $2)
         AND (channel IS NULL OR channel = $3)
         AND (payment_method IS NULL OR payment_method = $4)
         AND effective_from <= $5::timestamptz
         AND (effective_to IS NULL OR effective_to > $5::timestamptz)
       ORDER BY id`,
      [query.currency, query.merchantId, query.channel, query.paymentMethod ?? null, at],
    );
    return rows.map(toRecord);
  }

  /**
   * The rule that prices a transaction.
   * @throws FeeError FEES.NO_RULE | FEES.OVERLAP | FEES.INVALID_INPUT
   */
  async ruleFor(tx: EntityManager, query: FeeRuleQuery): Promise<FeeRule> {
    return selectRule(await this.rulesInForce(tx, query), query);
  }

  /** The channel's cost rate in force at `at`; null when the channel has none. */
  async channelCostRateAt(tx: EntityManager, channel: string, at: string): Promise<ChannelCostRate | null> {
    const instant = new Date(parseInstant(at, 'at', 'FEES.INVALID_INPUT')).toISOString();
    const rows = await tx.query<ChannelCostRateRow[]>(
      `SELECT channel, rate::text AS rate, rounding, effective_from, effective_to
       FROM clearing.channel_cost_rate
       WHERE channel = $1 AND effective_from <= $2::timestamptz
         AND (effective_to IS NULL OR effective_to > $2::timestamptz)`,
      [channel, instant],
    );
    // The exclusion constraint allows one row per channel and instant; two would be a broken schema.
    invariant(rows.length <= 1, () => `${rows.length} channel cost rates of ${channel} in force at ${at}`);
    const [row] = rows;
    if (row === undefined) return null;
    return {
      channel: row.channel,
      rate: row.rate,
      rounding: row.rounding,
      effectiveFrom: row.effective_from.toISOString(),
      effectiveTo: row.effective_to?.toISOString() ?? null,
    };
  }

  /**
   * Stores a new version of the draft's scope and returns it.
   *
   * A change never rewrites past clearing: the version may not start before now (the database's
   * clock, the one the close-only trigger checks), so every transaction already priced keeps its
   * rule. The scope's open-ended version, if it started no later than the new one, is closed at the
   * new one's start; anything else the new range would cover is refused as FEES.OVERLAP (also the
   * backstop when the exclusion constraint finds what this missed, 23P01). Versions of one scope
   * are serialised by an advisory lock, so concurrent creators get consecutive numbers.
   * @throws FeeError FEES.INVALID_RULE | FEES.INVALID_INPUT | FEES.OVERLAP
   */
  async createVersion(tx: EntityManager, draft: FeeRuleDraft, actor: string): Promise<FeeRuleRecord> {
    if (typeof actor !== 'string' || !ACTOR_PATTERN.test(actor))
      throw new FeeError(
        'FEES.INVALID_INPUT',
        `actor: must be 1 to 64 letters, digits or _ . @ : -, got ${describeValue(actor)}`,
      );
    const note = draft.note ?? null;
    if (note !== null && (typeof note !== 'string' || note.length > NOTE_LENGTH_MAX))
      throw new FeeError('FEES.INVALID_RULE', `note: must be at most ${NOTE_LENGTH_MAX} characters`);

    const { scope, currency } = draft;
    const scopeParams = [
      scope?.merchantId ?? null,
      scope?.channel ?? null,
      scope?.paymentMethod ?? null,
      currency,
    ];
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
      `clearing.fee_rule:${JSON.stringify(scopeParams)}`,
    ]);
    const [latest] = await tx.query<{ version: number | null; now: Date }[]>(
      `SELECT max(version) AS version, clock_timestamp() AS now FROM clearing.fee_rule WHERE ${SAME_SCOPE}`,
      scopeParams,
    );
    invariant(latest !== undefined, 'max() returns a row');
    const candidate: FeeRule = {
      id: '(new)',
      version: (latest.version ?? 0) + 1,
      scope,
      currency,
      formula: draft.formula,
      refundPolicy: draft.refundPolicy,
      effectiveFrom: draft.effectiveFrom,
      effectiveTo: draft.effectiveTo ?? null,
    };
    validateFeeRule(candidate);

    const from = parseInstant(candidate.effectiveFrom, 'effectiveFrom', 'FEES.INVALID_RULE');
    if (from < latest.now.getTime())
      throw new FeeError(
        'FEES.INVALID_RULE',
        `effectiveFrom ${candidate.effectiveFrom} is in the past (now ${latest.now.toISOString()}): a change never rewrites past clearing; start the new version now or later`,
      );
    const fromIso = new Date(from).toISOString();
    const toIso =
      candidate.effectiveTo === null
        ? null
        : new Date(parseInstant(candidate.effectiveTo, 'effectiveTo', 'FEES.INVALID_RULE')).toISOString();

    const [open] = await tx.query<FeeRuleRow[]>(
      `SELECT ${RULE_COLUMNS} FROM clearing.fee_rule
       WHERE ${SAME_SCOPE} AND effective_to IS NULL
       FOR UPDATE`,
      scopeParams,
    );
    if (open !== undefined && open.effective_from.getTime() <= from) {
      const [closed] = await tx.query<{ n: number }[]>(
        `WITH closed AS (UPDATE clearing.fee_rule SET effective_to = $2::timestamptz WHERE id = $1 RETURNING id)
         SELECT count(*)::int AS n FROM closed`,
        [open.id, fromIso],
      );
      invariant(closed?.n === 1, () => `closing fee rule ${open.id} updated ${closed?.n} rows`);
    }

    // What would still share an instant with the new range: refused with the versions named.
    const overlapping = await tx.query<FeeRuleRow[]>(
      `SELECT ${RULE_COLUMNS} FROM clearing.fee_rule
       WHERE ${SAME_SCOPE} AND tstzrange(effective_from, effective_to, '[)') && tstzrange($5::timestamptz, $6::timestamptz, '[)')
       ORDER BY version`,
      [...scopeParams, fromIso, toIso],
    );
    if (overlapping.length > 0)
      throw new FeeError(
        'FEES.OVERLAP',
        `the new version [${fromIso}, ${toIso ?? '∞'}) of ${describeScope(scope, currency)} overlaps ${overlapping
          .map((row) => describeVersion(toRecord(row)))
          .join(', ')}`,
      );

    let inserted: FeeRuleRow[];
    try {
      inserted = await tx.query<FeeRuleRow[]>(
        `INSERT INTO clearing.fee_rule (merchant_id, channel, payment_method, currency, formula, refund_policy,
           version, effective_from, effective_to, created_by, note)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8::timestamptz, $9::timestamptz, $10, $11)
         RETURNING ${RULE_COLUMNS}`,
        [
          ...scopeParams,
          JSON.stringify(candidate.formula),
          candidate.refundPolicy,
          candidate.version,
          fromIso,
          toIso,
          actor,
          note,
        ],
      );
    } catch (error) {
      if (isExclusionViolation(error))
        throw new FeeError(
          'FEES.OVERLAP',
          `the new version [${fromIso}, ${toIso ?? '∞'}) of ${describeScope(scope, currency)} overlaps another version`,
        );
      throw error;
    }
    const [row] = inserted;
    invariant(row !== undefined, 'INSERT … RETURNING returns the row');
    return toRecord(row);
  }

  /** Every version matching the filter, by scope and version (history included). */
  async list(tx: EntityManager, filter: FeeRuleFilter = {}): Promise<FeeRuleRecord[]> {
    const rows = await tx.query<FeeRuleRow[]>(
      `SELECT ${RULE_COLUMNS} FROM clearing.fee_rule
       WHERE ($1::text IS NULL OR merchant_id = $1)
         AND ($2::text IS NULL OR channel = $2)
         AND ($3::text IS NULL OR payment_method = $3)
         AND ($4::text IS NULL OR currency = $4)
       ORDER BY currency, merchant_id NULLS FIRST, channel NULLS FIRST, payment_method NULLS FIRST, version
       LIMIT ${FEE_RULE_LIST_MAX}`,
      [
        filter.merchantId ?? null,
        filter.channel ?? null,
        filter.paymentMethod ?? null,
        filter.currency ?? null,
      ],
    );
    return rows.map(toRecord);
  }

  /** The version of exactly this scope in force at `at` (no fallback to a wider scope); null if none. */
  async inForceAt(
    tx: EntityManager,
    scope: FeeRuleScope & { currency: string },
    at: string,
  ): Promise<FeeRuleRecord | null> {
    const instant = new Date(parseInstant(at, 'at', 'FEES.INVALID_INPUT')).toISOString();
    const rows = await tx.query<FeeRuleRow[]>(
      `SELECT ${RULE_COLUMNS} FROM clearing.fee_rule
       WHERE ${SAME_SCOPE} AND effective_from <= $5::timestamptz
         AND (effective_to IS NULL OR effective_to > $5::timestamptz)`,
      [scope.merchantId, scope.channel, scope.paymentMethod, scope.currency, instant],
    );
    invariant(rows.length <= 1, () => `${rows.length} versions of one scope in force at ${at}`);
    return rows[0] === undefined ? null : toRecord(rows[0]);
  }
}
