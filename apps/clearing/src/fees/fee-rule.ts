import { Money, describeValue, minorUnitByCurrency } from '@app/contracts';
import {
  FEE_KINDS,
  FeeError,
  type FeeFormula,
  type FeeKind,
  type FeeRule,
  type FeeRuleScope,
  REFUND_FEE_POLICIES,
} from './fee.types.js';
import { parseAmount, parseInstant, parseRate, parseRounding } from './fee-values.js';

/**
 * Scope ids as the events that must match them can carry them: a rule scoped to a merchant id no
 * event could have would never apply, silently. Channel is the clearing tables' own pattern.
 */
export const SCOPE_ID_PATTERNS: Readonly<Record<keyof FeeRuleScope, RegExp>> = {
  merchantId: /^[A-Za-z0-9_-]{1,64}$/, // as payments.transaction.v1 merchantId
  channel: /^[A-Z0-9_]{1,32}$/, // as clearing.fee_rule.channel
  paymentMethod: /^[A-Za-z0-9_.-]{1,32}$/, // as payments.transaction.v1 paymentMethod
};

/** A tier list longer than this is a configuration mistake, not a price schedule. */
export const FEE_TIERS_MAX = 32;

const SCOPE_FIELDS = ['merchantId', 'channel', 'paymentMethod'] as const;
const COMMON_FORMULA_FIELDS: ReadonlySet<string> = new Set(['kind', 'min', 'max', 'rounding']);
const KIND_FIELDS = ['rate', 'fixed', 'tiers'] as const;
/** Exactly these kind-specific fields, no others: a stray `rate` on a FIXED rule means someone misread it. */
const FIELDS_OF_KIND: Readonly<Record<FeeKind, readonly (typeof KIND_FIELDS)[number][]>> = {
  PERCENTAGE: ['rate'],
  FIXED: ['fixed'],
  PERCENTAGE_PLUS_FIXED: ['rate', 'fixed'],
  TIERED: ['tiers'],
};
const TIER_FIELDS: ReadonlySet<string> = new Set(['upTo', 'rate', 'fixed']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a rule before it is stored (or used from outside the repository). Every failure names the
 * field: `fee rule 12 v3: formula.tiers[1].upTo: …`.
 * @throws FeeError FEES.INVALID_RULE
 */
export function validateFeeRule(rule: FeeRule): void {
  const id = typeof rule.id === 'string' ? rule.id : describeValue(rule.id);
  const label = `fee rule ${id} v${describeValue(rule.version)}`;
  const invalid = (field: string, why: string): FeeError =>
    new FeeError('FEES.INVALID_RULE', `${label}: ${field}: ${why}`);
  const rewrap = (fn: () => unknown): void => {
    try {
      fn();
    } catch (error) {
      if (error instanceof FeeError) {
        throw new FeeError('FEES.INVALID_RULE', `${label}: ${error.message}`);
      }
      throw error;
    }
  };

  if (!Number.isSafeInteger(rule.version) || rule.version < 1) {
    throw invalid('version', `must be an integer ≥ 1, got ${describeValue(rule.version)}`);
  }
  if (minorUnitByCurrency(rule.currency) === undefined) {
    throw invalid('currency', `${describeValue(rule.currency)} is not an ISO 4217 currency code`);
  }
  if (!isPlainObject(rule.scope)) throw invalid('scope', 'must be an object');
  for (const field of SCOPE_FIELDS) {
    const id: unknown = rule.scope[field];
    if (id === null) continue;
    if (typeof id !== 'string' || !SCOPE_ID_PATTERNS[field].test(id)) {
      throw invalid(
        `scope.${field}`,
        `must be null (any) or match ${SCOPE_ID_PATTERNS[field].source}, got ${describeValue(id)}`,
      );
    }
  }
  if (!(REFUND_FEE_POLICIES as readonly unknown[]).includes(rule.refundPolicy)) {
    throw invalid(
      'refundPolicy',
      `must be one of ${REFUND_FEE_POLICIES.join(', ')}, got ${describeValue(rule.refundPolicy)}`,
    );
  }
  let from = 0;
  rewrap(() => (from = parseInstant(rule.effectiveFrom, 'effectiveFrom', 'FEES.INVALID_RULE')));
  if (rule.effectiveTo !== null) {
    let to = 0;
    rewrap(() => (to = parseInstant(rule.effectiveTo, 'effectiveTo', 'FEES.INVALID_RULE')));
    if (to <= from) {
      throw invalid(
        'effectiveTo',
        `${describeValue(rule.effectiveTo)} must be after effectiveFrom ${describeValue(rule.effectiveFrom)}`,
      );
    }
  }
  rewrap(() => validateFormula(rule.formula, rule.currency));
}

/**
 * The formula alone, against a currency: what `computeFee` relies on.
 * @throws FeeError FEES.INVALID_RULE naming the field as `formula.…`
 */
export function validateFormula(formula: FeeFormula, currency: string): void {
  const invalid = (field: string, why: string): FeeError =>
    new FeeError('FEES.INVALID_RULE', `formula.${field}: ${why}`);
  if (!isPlainObject(formula)) throw new FeeError('FEES.INVALID_RULE', 'formula: must be an object');
  const fields = formula as Record<string, unknown>;
  if (!(FEE_KINDS as readonly unknown[]).includes(fields.kind)) {
    throw invalid('kind', `must be one of ${FEE_KINDS.join(', ')}, got ${describeValue(fields.kind)}`);
  }
  const kind = fields.kind as FeeKind;
  const wanted = FIELDS_OF_KIND[kind];
  for (const key of Object.keys(fields)) {
    if (!COMMON_FORMULA_FIELDS.has(key) && !(KIND_FIELDS as readonly string[]).includes(key)) {
      throw invalid(key, 'is not a field of a fee formula');
    }
  }
  for (const key of KIND_FIELDS) {
    const present = fields[key] != null;
    if (wanted.includes(key) && !present) throw invalid(key, `is required for a ${kind} rule`);
    if (!wanted.includes(key) && present) throw invalid(key, `is not allowed on a ${kind} rule`);
  }

  if (formula.rate != null) parseRate(formula.rate, 'formula.rate', 'FEES.INVALID_RULE');
  if (formula.fixed != null) parseAmount(formula.fixed, currency, 'formula.fixed', 'FEES.INVALID_RULE');
  if (formula.tiers != null) validateTiers(formula.tiers, currency);
  const min =
    formula.min == null ? undefined : parseAmount(formula.min, currency, 'formula.min', 'FEES.INVALID_RULE');
  const max =
    formula.max == null ? undefined : parseAmount(formula.max, currency, 'formula.max', 'FEES.INVALID_RULE');
  if (min !== undefined && max !== undefined && min.greaterThan(max)) {
    throw invalid('min', `${formula.min} is above formula.max ${formula.max}`);
  }
  parseRounding(formula.rounding, 'formula.rounding', 'FEES.INVALID_RULE');
}

function validateTiers(tiers: unknown, currency: string): void {
  const invalid = (field: string, why: string): FeeError =>
    new FeeError('FEES.INVALID_RULE', `formula.${field}: ${why}`);
  if (!Array.isArray(tiers)) throw invalid('tiers', 'must be an array');
  if (tiers.length === 0) throw invalid('tiers', 'needs at least one tier');
  if (tiers.length > FEE_TIERS_MAX) {
    throw invalid('tiers', `has ${tiers.length} tiers; at most ${FEE_TIERS_MAX} are allowed`);
  }
  let previous: Money | undefined;
  tiers.forEach((tier: unknown, i) => {
    const at = `tiers[${i}]`;
    if (!isPlainObject(tier)) throw invalid(at, 'must be an object');
    for (const key of Object.keys(tier)) {
      if (!TIER_FIELDS.has(key)) throw invalid(`${at}.${key}`, 'is not a field of a tier');
    }
    parseRate(tier.rate, `formula.${at}.rate`, 'FEES.INVALID_RULE');
    parseAmount(tier.fixed, currency, `formula.${at}.fixed`, 'FEES.INVALID_RULE');
    const last = i === tiers.length - 1;
    if (tier.upTo === null) {
      if (!last) throw invalid(`${at}.upTo`, 'only the last tier may be unbounded (null)');
      return;
    }
    if (last) {
      throw invalid(
        `${at}.upTo`,
        `the last tier must be unbounded (null), got ${describeValue(tier.upTo)}: an order value above it would have no fee`,
      );
    }
    const upTo = parseAmount(tier.upTo, currency, `formula.${at}.upTo`, 'FEES.INVALID_RULE');
    if (previous !== undefined && !upTo.greaterThan(previous)) {
      throw invalid(
        `${at}.upTo`,
        `${upTo.toString()} must be above the previous tier's ${previous.toString()}`,
      );
    }
    previous = upTo;
  });
}

/** An [effectiveFrom, effectiveTo) validity range; null = open at that end. */
export interface EffectiveRange {
  effectiveFrom: string | null;
  effectiveTo: string | null;
}

/**
 * Whether two [from, to) ranges share an instant. Ranges that only touch (one's `to` = the other's
 * `from`) do not: that is how a version hands over to the next. An empty range (from = to, a version
 * closed the moment it began) overlaps nothing, as Postgres' tstzrange && says.
 * @throws FeeError FEES.INVALID_RULE when a bound is not an ISO instant
 */
export function rangesOverlap(a: EffectiveRange, b: EffectiveRange): boolean {
  const bound = (value: string | null, open: number, field: string): number =>
    value === null ? open : parseInstant(value, field, 'FEES.INVALID_RULE');
  const aFrom = bound(a.effectiveFrom, -Infinity, 'a.effectiveFrom');
  const aTo = bound(a.effectiveTo, Infinity, 'a.effectiveTo');
  const bFrom = bound(b.effectiveFrom, -Infinity, 'b.effectiveFrom');
  const bTo = bound(b.effectiveTo, Infinity, 'b.effectiveTo');
  return Math.max(aFrom, bFrom) < Math.min(aTo, bTo);
}

/** What the rule is looked up for: one transaction at one instant. */
export interface FeeRuleQuery {
  merchantId: string;
  channel: string;
  /** Absent on many events; then only rules for any payment method apply. */
  paymentMethod?: string | null;
  currency: string;
  /** ISO instant with an offset: the transaction's time, not the clearing run's. */
  at: string;
}

/**
 * Specificity, in the order the brief ranks it: merchant first, then channel, then payment method.
 * As bits, so comparing two numbers compares the three criteria lexicographically.
 */
function specificityOf(scope: FeeRuleScope): number {
  return (
    (scope.merchantId !== null ? 4 : 0) +
    (scope.channel !== null ? 2 : 0) +
    (scope.paymentMethod !== null ? 1 : 0)
  );
}

function describeRule(rule: FeeRule): string {
  const s = rule.scope;
  return `rule ${rule.id} v${rule.version} (merchant ${s.merchantId ?? 'any'}, channel ${s.channel ?? 'any'}, method ${s.paymentMethod ?? 'any'}, [${rule.effectiveFrom}, ${rule.effectiveTo ?? '∞'}))`;
}

/**
 * The rule that prices a transaction: in force at `at` ([from, to)), same currency, a scope that
 * matches (null matches anything), and of those the most specific. Two equally specific candidates
 * can only be two versions of one scope in force at once; the repository forbids that, and if it
 * happens anyway this refuses to pick one, since either choice would price someone wrongly.
 * @throws FeeError FEES.NO_RULE | FEES.OVERLAP | FEES.INVALID_INPUT (bad `at`) | FEES.INVALID_RULE (bad rule instant)
 */
export function selectRule(rules: readonly FeeRule[], tx: FeeRuleQuery): FeeRule {
  const at = parseInstant(tx.at, 'at', 'FEES.INVALID_INPUT');
  const method = tx.paymentMethod ?? null;
  let best: FeeRule[] = [];
  let bestSpecificity = -1;
  for (const rule of rules) {
    if (rule.currency !== tx.currency) continue;
    const s = rule.scope;
    if (s.merchantId !== null && s.merchantId !== tx.merchantId) continue;
    if (s.channel !== null && s.channel !== tx.channel) continue;
    if (s.paymentMethod !== null && s.paymentMethod !== method) continue;
    const from = parseInstant(rule.effectiveFrom, `rule ${rule.id} effectiveFrom`, 'FEES.INVALID_RULE');
    if (at < from) continue;
    if (rule.effectiveTo !== null) {
      const to = parseInstant(rule.effectiveTo, `rule ${rule.id} effectiveTo`, 'FEES.INVALID_RULE');
      if (at >= to) continue;
    }
    const specificity = specificityOf(s);
    if (specificity > bestSpecificity) {
      best = [rule];
      bestSpecificity = specificity;
    } else if (specificity === bestSpecificity) {
      best.push(rule);
    }
  }
  const [chosen, ...others] = best;
  if (chosen === undefined) {
    throw new FeeError(
      'FEES.NO_RULE',
      `no fee rule in force for merchant ${tx.merchantId}, channel ${tx.channel}, payment method ${method ?? '(none)'}, currency ${tx.currency} at ${tx.at}`,
    );
  }
  if (others.length > 0) {
    throw new FeeError(
      'FEES.OVERLAP',
      `${best.length} equally specific fee rules are in force for merchant ${tx.merchantId}, channel ${tx.channel}, payment method ${method ?? '(none)'}, currency ${tx.currency} at ${tx.at}: ${best.map(describeRule).join('; ')}`,
    );
  }
  return chosen;
}
