/** Expected ledger failures: bad requests a caller can correct. Broken invariants throw InvariantError instead. */
export type LedgerErrorCode =
  | 'LEDGER.TOO_FEW_POSTINGS'
  | 'LEDGER.UNBALANCED'
  | 'LEDGER.CURRENCY_MIXED'
  | 'LEDGER.CURRENCY_MISMATCH'
  | 'LEDGER.INVALID_AMOUNT'
  | 'LEDGER.UNKNOWN_TEMPLATE'
  | 'LEDGER.INVALID_OWNER'
  | 'LEDGER.UNKNOWN_ACCOUNT'
  | 'LEDGER.UNKNOWN_ENTRY'
  | 'LEDGER.INVALID_EFFECTIVE_TIME'
  | 'LEDGER.INVALID_BUSINESS_REF'
  | 'LEDGER.IDEMPOTENCY_CONFLICT'
  | 'LEDGER.INSUFFICIENT_FUNDS'
  | 'LEDGER.HOLDS_NOT_ALLOWED'
  | 'LEDGER.HOLD_EXCEEDS_AVAILABLE'
  | 'LEDGER.UNKNOWN_HOLD'
  | 'LEDGER.HOLD_ALREADY_RESOLVED'
  | 'LEDGER.HOLD_COMMIT_MISMATCH'
  | 'LEDGER.ALREADY_REVERSED'
  | 'LEDGER.CANNOT_REVERSE_REVERSAL'
  | 'LEDGER.BATCH_TOO_LARGE';

export class LedgerError extends Error {
  override readonly name = 'LedgerError';

  constructor(
    readonly code: LedgerErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}
