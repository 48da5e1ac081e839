import { HttpStatus } from '@nestjs/common';
import type { ApiErrorBody, DomainErrorMapper } from '@app/http';
import { DiscrepancyError, type DiscrepancyErrorCode } from '../discrepancy/discrepancy.types.js';
import { MatchRunError, type MatchRunErrorCode } from '../matching/match-run.service.js';
import { StatementParseError } from '../statement/parsers/index.js';
import {
  StatementImportError,
  type StatementImportErrorCode,
} from '../statement/statement-import.service.js';

const STATEMENT_IMPORT_STATUS: Record<StatementImportErrorCode, number> = {
  'STATEMENT.ALREADY_IMPORTED': HttpStatus.CONFLICT,
  // The file's lines span several dates (or it has none): the request must name the date.
  'STATEMENT.BUSINESS_DATE_REQUIRED': HttpStatus.UNPROCESSABLE_ENTITY,
  'STATEMENT.INVALID_REQUEST': HttpStatus.BAD_REQUEST,
  // Authenticated, allowed to import, not allowed to supersede what is there.
  'STATEMENT.REPLACEMENT_FORBIDDEN': HttpStatus.FORBIDDEN,
};

const DISCREPANCY_STATUS: Record<DiscrepancyErrorCode, number> = {
  'DISCREPANCY.NOT_FOUND': HttpStatus.NOT_FOUND,
  'DISCREPANCY.ALREADY_RESOLVED': HttpStatus.CONFLICT,
  'DISCREPANCY.IDEMPOTENCY_CONFLICT': HttpStatus.CONFLICT,
  // Authenticated and holding recon.resolve, but the maker is not the checker of their own adjustment.
  'DISCREPANCY.SELF_CONFIRMATION': HttpStatus.FORBIDDEN,
  'DISCREPANCY.ADJUSTMENT_PENDING': HttpStatus.CONFLICT,
  'DISCREPANCY.NO_PENDING_ADJUSTMENT': HttpStatus.CONFLICT,
  'DISCREPANCY.ADJUSTMENT_STALE': HttpStatus.CONFLICT,
  // The edge has already checked the request's shape: what the service still refuses is a request
  // that is well-formed but cannot apply to this discrepancy (e.g. ADJUST where nothing can be posted).
  'DISCREPANCY.INVALID_REQUEST': HttpStatus.UNPROCESSABLE_ENTITY,
};

const MATCH_RUN_STATUS: Record<MatchRunErrorCode, number> = {
  'MATCH_RUN.INVALID_REQUEST': HttpStatus.BAD_REQUEST,
};

/** The reconciliation domain's operating errors as response bodies (the rest is @app/http's). */
export const reconciliationErrorBody: DomainErrorMapper = (exception): ApiErrorBody | undefined => {
  if (exception instanceof StatementParseError)
    return {
      statusCode: HttpStatus.UNPROCESSABLE_ENTITY,
      error: 'STATEMENT.PARSE_ERROR',
      message: `${exception.message}; nothing imported`,
      details: {
        code: exception.code,
        line: exception.lineNo,
        field: exception.field,
        detail: exception.detail,
      },
    };
  if (exception instanceof StatementImportError)
    return {
      statusCode: STATEMENT_IMPORT_STATUS[exception.code],
      error: exception.code,
      message: exception.message,
      ...(exception.earlier === null ? {} : { details: { earlier: exception.earlier } }),
    };
  if (exception instanceof DiscrepancyError)
    return {
      statusCode: DISCREPANCY_STATUS[exception.code],
      error: exception.code,
      message: exception.message,
    };
  if (exception instanceof MatchRunError)
    return {
      statusCode: MATCH_RUN_STATUS[exception.code],
      error: exception.code,
      message: exception.message,
    };
  return undefined;
};
