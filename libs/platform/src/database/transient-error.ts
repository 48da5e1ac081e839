/**
 * Tells a transient database failure (retry the same work later) from a permanent one (the work
 * itself is wrong). Getting this wrong either way is costly: a permanent error treated as transient
 * blocks a partition forever; a transient one treated as permanent dead-letters good events.
 */
const TRANSIENT_SQLSTATE_PREFIXES = [
  '08', // connection exception
  '53', // insufficient resources (too many connections, out of memory, disk full)
  '57P', // admin/crash shutdown, cannot connect now
  '58', // system error (I/O)
];
const TRANSIENT_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '25P03', // idle_in_transaction_session_timeout
]);
const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
]);
const TRANSIENT_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end',
  'terminating connection',
  'the database system is starting up',
  'the database system is shutting down',
];

export function isTransientDatabaseError(error: unknown): boolean {
  for (const candidate of causeChain(error)) {
    const code = (candidate as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_NODE_CODES.has(code)) return true;
      if (code.length === 5 && TRANSIENT_SQLSTATE_PREFIXES.some((p) => code.startsWith(p))) return true;
    }
    const message = (candidate as { message?: unknown }).message;
    if (typeof message === 'string' && TRANSIENT_MESSAGES.some((m) => message.includes(m))) return true;
  }
  return false;
}

/** TypeORM wraps driver errors (`driverError`), AggregateError carries several (`errors`). */
function* causeChain(error: unknown, depth = 0): Generator<object> {
  if (error === null || typeof error !== 'object' || depth > 5) return;
  yield error;
  const e = error as { driverError?: unknown; cause?: unknown; errors?: unknown };
  yield* causeChain(e.driverError, depth + 1);
  yield* causeChain(e.cause, depth + 1);
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* causeChain(inner, depth + 1);
}
