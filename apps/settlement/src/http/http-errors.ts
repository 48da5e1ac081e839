import { HttpStatus } from '@nestjs/common';
import type { ApiErrorBody, DomainErrorMapper } from '@app/http';
import { MoneyError, TimeError } from '@app/contracts';
import { SettlementApprovalError, type SettlementApprovalErrorCode } from '../approval/approval-error.js';
import { SettlementError } from '../domain.js';
import { PayoutRetryError, type PayoutRetryErrorCode } from '../payout/payout-retry.js';
import { SettlementCloseBusyError } from '../settlement/cycle-close.service.js';
import { StatementInvariantError } from '../statement/merchant-statement.js';

const APPROVAL_STATUS: Record<SettlementApprovalErrorCode, number> = {
  NOT_FOUND: HttpStatus.NOT_FOUND,
  // Maker-checker: the caller is not allowed to approve this record, whatever they send.
  SELF_APPROVAL: HttpStatus.FORBIDDEN,
  SAME_APPROVER_TWICE: HttpStatus.FORBIDDEN,
  NOT_PENDING: HttpStatus.CONFLICT,
  VERSION_CONFLICT: HttpStatus.CONFLICT,
  IDEMPOTENCY_CONFLICT: HttpStatus.CONFLICT,
  REASON_REQUIRED: HttpStatus.UNPROCESSABLE_ENTITY,
  REASON_TOO_LONG: HttpStatus.UNPROCESSABLE_ENTITY,
  // The platform's configuration lacks the currency's threshold: nothing the caller can change.
  NO_APPROVAL_POLICY: HttpStatus.CONFLICT,
};

// A retry that cannot be carried out is a conflict with the record's or the ledger's state.
const PAYOUT_RETRY_STATUS: Record<PayoutRetryErrorCode, number> = {
  NOT_FOUND: HttpStatus.NOT_FOUND,
  NOT_RETRYABLE: HttpStatus.CONFLICT,
  INSUFFICIENT_SETTLEABLE: HttpStatus.CONFLICT,
  PAYOUT_ACCOUNT_INVALID: HttpStatus.CONFLICT,
  IDEMPOTENCY_CONFLICT: HttpStatus.CONFLICT,
  REASON_REQUIRED: HttpStatus.UNPROCESSABLE_ENTITY,
};

/** Settlement's operating errors as response bodies (the rest is @app/http's). */
export const settlementErrorBody: DomainErrorMapper = (exception): ApiErrorBody | undefined => {
  if (exception instanceof SettlementApprovalError)
    return {
      statusCode: APPROVAL_STATUS[exception.code],
      error: `SETTLEMENT.${exception.code}`,
      message: exception.message,
    };
  if (exception instanceof PayoutRetryError)
    return {
      statusCode: PAYOUT_RETRY_STATUS[exception.code],
      error: `SETTLEMENT.${exception.code}`,
      message: exception.message,
    };
  // Our data broke an invariant: nothing the caller can change, and finance must look at it.
  if (exception instanceof StatementInvariantError)
    return {
      statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
      error: 'SETTLEMENT.STATEMENT_INCONSISTENT',
      message: exception.message,
    };
  if (exception instanceof SettlementCloseBusyError)
    return { statusCode: HttpStatus.CONFLICT, error: 'SETTLEMENT.CLOSE_BUSY', message: exception.message };
  if (
    exception instanceof SettlementError ||
    exception instanceof MoneyError ||
    exception instanceof TimeError
  )
    return {
      statusCode: HttpStatus.UNPROCESSABLE_ENTITY,
      error: exception.code,
      message: exception.message,
    };
  return undefined;
};
