/**
 * An operating error in settlement's domain rules: terms that cannot be configured, an amount or a
 * cycle key that cannot be read, a late item with no open cycle in reach. The code is stable (for
 * HTTP 400 / dead-lettering); the message names the field and the value. Broken invariants in our
 * own arithmetic are InvariantError (@app/contracts) instead, and must crash.
 */
export type SettlementErrorCode =
  | 'SETTLEMENT.INVALID_TERMS'
  | 'SETTLEMENT.INVALID_INPUT'
  | 'SETTLEMENT.INVALID_CYCLE_KEY'
  | 'SETTLEMENT.NO_OPEN_CYCLE';

export class SettlementError extends Error {
  override readonly name = 'SettlementError';

  constructor(
    readonly code: SettlementErrorCode,
    message: string,
  ) {
    super(message);
  }
}
