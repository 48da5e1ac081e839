/**
 * Two kinds of failure, never one generic Error for both (see shared STYLE.md):
 * - an operating error is bad input from outside (a publisher, a file, a user); it carries a
 *   stable `code` so callers can branch, count and route it (DLQ, 400) without parsing text;
 * - an invariant violation is a bug in our own code; it must crash loudly, so it has no code
 *   to catch on and nobody should be tempted to handle it.
 */

export type MoneyErrorCode =
  | 'MONEY.NOT_A_STRING'
  | 'MONEY.MALFORMED'
  | 'MONEY.TOO_PRECISE'
  | 'MONEY.TOO_LARGE'
  | 'MONEY.NEGATIVE'
  | 'MONEY.ZERO'
  | 'MONEY.UNKNOWN_CURRENCY';

export class MoneyError extends Error {
  override readonly name = 'MoneyError';

  constructor(
    readonly code: MoneyErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type TimeErrorCode =
  | 'TIME.NOT_A_STRING'
  | 'TIME.MALFORMED_INSTANT'
  | 'TIME.MISSING_OFFSET'
  | 'TIME.INVALID_INSTANT'
  | 'TIME.INVALID_ZONE'
  | 'TIME.INVALID_CUTOFF';

export class TimeError extends Error {
  override readonly name = 'TimeError';

  constructor(
    readonly code: TimeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

export function invariant(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new InvariantError(typeof message === 'string' ? message : message());
  }
}

/** Renders an offending input for an error message without letting a huge value flood a log line. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
