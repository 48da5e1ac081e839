import type { MatchClass, MatchSide } from '../matching/match.types.js';

/**
 * A discrepancy (差错) is a reconciliation item that did not match. PENDING_CROSS_DAY is not one
 * yet (零界点: it waits for the next day's statement) and MATCHED never is.
 */
export const DISCREPANCY_CLASSES = [
  'AMOUNT_MISMATCH',
  'STATUS_MISMATCH',
  'MISSING_IN_CHANNEL',
  'MISSING_INTERNAL',
  'DUPLICATE',
] as const satisfies readonly MatchClass[];
export type DiscrepancyClass = (typeof DISCREPANCY_CLASSES)[number];

export const DISCREPANCY_STATUSES = ['OPEN', 'RESOLVED'] as const;
export type DiscrepancyStatus = (typeof DISCREPANCY_STATUSES)[number];

/**
 * REMATCH: a later match run found the item matched (late arrival), recorded by `system`.
 * ADJUSTMENT: finance corrected the books with a journal entry (and, where our transaction stands,
 * released the item to clearing). WRITE_OFF: closed with a reason, no entry, never cleared.
 */
export const DISCREPANCY_RESOLUTIONS = ['REMATCH', 'ADJUSTMENT', 'WRITE_OFF'] as const;
export type DiscrepancyResolution = (typeof DISCREPANCY_RESOLUTIONS)[number];

/** What a person may do to an OPEN discrepancy (REMATCH is the match run's alone). */
export const DISCREPANCY_ACTIONS = ['ADJUST', 'WRITE_OFF'] as const;
export type DiscrepancyAction = (typeof DISCREPANCY_ACTIONS)[number];

export interface Discrepancy {
  /** bigint as a string. */
  id: string;
  channel: string;
  /** The item's own business date (for an item carried over from an earlier day, that day). */
  businessDate: string;
  /** Business date of the match run that opened it. */
  detectedOn: string;
  class: DiscrepancyClass;
  side: MatchSide;
  /** A payment or a refund (our transaction's type, else the statement line's). */
  itemType: 'PAYMENT' | 'REFUND';
  /** Our transaction, when we have one. */
  eventId: string | null;
  /** The statement line, when the channel has one. */
  statementFileId: string | null;
  lineNo: number | null;
  merchantId: string | null;
  orderNo: string;
  refundNo: string | null;
  /** Decimal strings; null on the side that has no item. */
  internalAmount: string | null;
  channelAmount: string | null;
  currency: string;
  /** Channel fee − expected fee, when the fee check found a difference. */
  feeDifference: string | null;
  reason: string;
  status: DiscrepancyStatus;
  resolution: DiscrepancyResolution | null;
  resolutionNote: string | null;
  /** Who resolved it (an operator id, or `system` for REMATCH) and when (ISO UTC). */
  resolvedBy: string | null;
  resolvedAt: string | null;
  /** The ledger entry an ADJUSTMENT posted. */
  journalEntryId: string | null;
  /**
   * An adjustment above the currency's threshold waiting for a second person (the discrepancy
   * stays OPEN meanwhile, nothing is posted); null when none is pending.
   */
  pendingAdjustment: PendingAdjustment | null;
  /** The second person who confirmed the ADJUSTMENT (resolvedBy proposed it); null otherwise. */
  adjustmentConfirmedBy: string | null;
  openedAt: string;
  /** The latest match run that saw the item (bigint as a string). */
  lastMatchRunId: string;
}

/** What a pending adjustment would post once confirmed, as proposed. */
export interface PendingAdjustment {
  /** bigint as a string. */
  proposalId: string;
  /** The principal who proposed it (the ADJUST): the one person who cannot confirm it. */
  proposedBy: string;
  proposedAt: string;
  note: string;
  /** The class it was proposed for: a match run that reclassifies the item makes it stale. */
  class: DiscrepancyClass;
  /** What it moves between us and the channel, a decimal string, and the threshold it exceeds. */
  amount: string;
  currency: string;
  confirmationAbove: string;
  /** POST: the postings below; REVERSE_T_DAY_ENTRY: our transaction's T-day entry is reversed. */
  effect: 'POST' | 'REVERSE_T_DAY_ENTRY';
  postings: PendingPosting[];
  /** Whether confirming it releases our transaction to clearing. */
  releasesToClearing: boolean;
}

export interface PendingPosting {
  /** Account template, with its owner when it has one (`channel_receivable:WECHAT`, `suspense`). */
  account: string;
  side: 'DEBIT' | 'CREDIT';
  amount: string;
}

export interface ResolveDiscrepancyRequest {
  discrepancyId: string;
  action: DiscrepancyAction;
  /** Operator id, 1..64 characters: recorded as resolvedBy. */
  actor: string;
  /** Why, 1..500 characters: recorded as resolutionNote. */
  note: string;
  /** A replay with the same key returns the first result (HTTP `Idempotency-Key`). */
  idempotencyKey: string;
}

export interface ResolveDiscrepancyResult {
  discrepancy: Discrepancy;
  /** True when the idempotency key had already resolved this discrepancy: nothing new was done. */
  replayed: boolean;
  /** True when the resolution released our transaction to clearing (recon.item-matched.v1). */
  releasedToClearing: boolean;
  /**
   * True when the ADJUST was above the threshold: nothing was posted, the discrepancy is OPEN with
   * its pendingAdjustment, and another person must confirm it (confirmAdjustment).
   */
  confirmationRequired: boolean;
}

/** A second person confirms (posts) or rejects another person's pending adjustment. */
export interface AdjustmentDecisionRequest {
  discrepancyId: string;
  /** The authenticated principal deciding. */
  actor: string;
  /** Why: optional to confirm, required (1..500 characters) to reject. */
  note?: string;
  idempotencyKey: string;
}

export interface DiscrepancyQuery {
  businessDate?: string;
  channel?: string;
  status?: DiscrepancyStatus;
  class?: DiscrepancyClass;
  /** Default 1,000, at most 10,000. */
  limit?: number;
  /** Keyset pagination: ids greater than this. */
  afterId?: string;
  /** true: only those with an adjustment waiting for a second person; false: only those without. */
  awaitingConfirmation?: boolean;
}

export interface MatchRunSummary {
  matchRunId: string;
  channel: string;
  businessDate: string;
  statementFileId: string | null;
  counts: Record<MatchClass, number>;
  finishedAt: string;
}

/** One row of the report's summary: per channel and class, open and resolved counts and sums. */
export interface DiscrepancySummaryRow {
  channel: string;
  class: DiscrepancyClass;
  open: number;
  resolved: number;
  currency: string;
  /** Σ internal and Σ channel amounts of the class's discrepancies, decimal strings. */
  internalAmount: string;
  channelAmount: string;
}

export interface ReconReportQuery {
  businessDate: string;
  /** All channels when absent. */
  channel?: string;
}

/** The discrepancy report (差错报表) of a business date: runs, summary by class and channel, detail. */
export interface ReconReport {
  businessDate: string;
  channel: string | null;
  /** The latest match run of each channel for the date. */
  runs: MatchRunSummary[];
  summary: DiscrepancySummaryRow[];
  /** Every discrepancy detected on the date, ordered by channel, class, id. */
  discrepancies: Discrepancy[];
  /** Lines of the date's statement files set aside at import as malformed (never matched). */
  rejectedLines: RejectedStatementLine[];
}

export interface RejectedStatementLine {
  statementFileId: string;
  channel: string;
  lineNo: number;
  field: string | null;
  reason: string;
  text: string;
}

export type DiscrepancyErrorCode =
  | 'DISCREPANCY.NOT_FOUND'
  | 'DISCREPANCY.ALREADY_RESOLVED'
  | 'DISCREPANCY.INVALID_REQUEST'
  | 'DISCREPANCY.IDEMPOTENCY_CONFLICT'
  /** The proposer of a pending adjustment tried to confirm it: another person must (403). */
  | 'DISCREPANCY.SELF_CONFIRMATION'
  /** An adjustment is waiting for confirmation: confirm or reject it before anything else (409). */
  | 'DISCREPANCY.ADJUSTMENT_PENDING'
  /** Confirm or reject, but no adjustment of this discrepancy is waiting (409). */
  | 'DISCREPANCY.NO_PENDING_ADJUSTMENT'
  /** The discrepancy changed since the adjustment was proposed: reject it and propose again (409). */
  | 'DISCREPANCY.ADJUSTMENT_STALE';

/** A request finance can fix (a 4xx): the message says what and why. */
export class DiscrepancyError extends Error {
  override readonly name = 'DiscrepancyError';

  constructor(
    readonly code: DiscrepancyErrorCode,
    message: string,
  ) {
    super(message);
  }
}
