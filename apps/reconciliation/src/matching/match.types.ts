import type { StatementLine } from '../statement/statement-line.js';

/**
 * Every reconciliation item ends in exactly one of these (DESIGN §2, invariant 6 of §7).
 * The order is the order summaries print in.
 */
export const MATCH_CLASSES = [
  'MATCHED',
  'AMOUNT_MISMATCH',
  'STATUS_MISMATCH',
  'MISSING_IN_CHANNEL',
  'MISSING_INTERNAL',
  'PENDING_CROSS_DAY',
  'DUPLICATE',
] as const;
export type MatchClass = (typeof MATCH_CLASSES)[number];

/** Which sides a result row holds: both (a pair), only ours (我方有渠道无) or only the channel's (渠道有我方无). */
export type MatchSide = 'BOTH' | 'INTERNAL' | 'CHANNEL';

export type InternalItemKind = 'PAYMENT' | 'REFUND';

/**
 * One succeeded payment or refund as our platform recorded it (from payments.transaction.v1).
 * Money stays a decimal string; `occurredAt` is an ISO instant with an offset.
 */
export interface InternalItem {
  eventId: string;
  kind: InternalItemKind;
  merchantId: string;
  orderNo: string;
  /** Refunds only; the join key for a refund. */
  refundNo: string | null;
  amount: string;
  currency: string;
  occurredAt: string;
}

export interface MatchPolicy {
  /** IANA zone the channel closes its day in. */
  zone: string;
  /** 'HH:mm' local; '00:00' (the default) means the end of the calendar day. */
  cutoffLocalTime?: string;
  /**
   * An item of D paid at most this many minutes before D's cut-off that has no line on D's
   * statement is PENDING_CROSS_DAY rather than MISSING_IN_CHANNEL (零界点). Default 5.
   */
  crossDayWindowMinutes?: number;
  /**
   * How many later runs a pending item may still be matched in; when D + grace is run and the item
   * is still not on a statement it becomes MISSING_IN_CHANNEL. Default 1 (matched by D+1 or flagged
   * on D+1). 0 switches the cross-day rule off.
   */
  crossDayGraceDays?: number;
  /** The channel's fee rate as a decimal string ('0.006'); when set, each line's fee is checked. */
  expectedFeeRate?: string;
  /**
   * Channel status words (upper case) that mean "this succeeded", per line type. Defaults:
   * PAYMENT ['SUCCESS'], REFUND ['SUCCESS', 'REFUND'] (WeChat prints REFUND in 交易状态 of a refund row).
   */
  successStatuses?: Partial<Record<InternalItemKind, readonly string[]>>;
}

export const DEFAULT_CROSS_DAY_WINDOW_MINUTES = 5;
export const DEFAULT_CROSS_DAY_GRACE_DAYS = 1;
/** Limits on configuration (TigerStyle: put a limit on everything). */
export const CROSS_DAY_WINDOW_MINUTES_MAX = 24 * 60;
export const CROSS_DAY_GRACE_DAYS_MAX = 31;
export const DEFAULT_SUCCESS_STATUSES: Readonly<Record<InternalItemKind, readonly string[]>> = {
  PAYMENT: ['SUCCESS'],
  REFUND: ['SUCCESS', 'REFUND'],
};

/** One match run's input: one channel, one business date D. */
export interface MatchInput {
  /** 'YYYY-MM-DD' */
  businessDate: string;
  /** Our items whose business date is D. */
  internalItems: readonly InternalItem[];
  /** Our items of earlier business dates still PENDING_CROSS_DAY (normally D−1's). */
  pendingItems: readonly InternalItem[];
  /** D's statement lines. */
  lines: readonly StatementLine[];
  policy: MatchPolicy;
}

export interface MatchResultRow {
  class: MatchClass;
  side: MatchSide;
  /** The join key: `PAYMENT|<orderNo>` or `REFUND|<orderNo>|<refundNo>` (refund numbers are unique only within an order) (`REFUND?|<orderNo>|line <n>` when unresolved). */
  key: string;
  internal?: InternalItem;
  line?: StatementLine;
  /** One readable line for the finance operator. */
  reason: string;
  /** Channel fee − expected fee (decimal string), present only when they differ. */
  feeDifference?: string;
  /** For an item carried over from an earlier day: the business date it belongs to. */
  originalBusinessDate?: string;
}

export interface MatchRun {
  businessDate: string;
  rows: MatchResultRow[];
  counts: Record<MatchClass, number>;
  internalItemsIn: number;
  linesIn: number;
}

export type MatchPolicyErrorCode = 'MATCHING.INVALID_POLICY';

/** Bad configuration is an operating error (a person fixes the channel's settings), not a bug. */
export class MatchPolicyError extends Error {
  override readonly name = 'MatchPolicyError';

  constructor(
    readonly code: MatchPolicyErrorCode,
    message: string,
  ) {
    super(message);
  }
}
