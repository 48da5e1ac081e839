import { HttpException, HttpStatus } from '@nestjs/common';
import { DiscrepancyError, type DiscrepancyErrorCode } from '../discrepancy/discrepancy.types.js';
import { MatchRunError, type MatchRunErrorCode } from '../matching/match-run.service.js';
import { StatementParseError } from '../statement/parsers/index.js';
import {
  StatementImportError,
  type StatementImportErrorCode,
} from '../statement/statement-import.service.js';

/** The one body every error response of the reconciliation API has. */
export interface ApiErrorBody {
  statusCode: number;
  /** A stable code a client can switch on, e.g. STATEMENT.PARSE_ERROR; the message is for people. */
  error: string;
  message: string;
  details?: Record<string, unknown>;
}

/** An error response the edge decided on: status, code, message and optional details. */
export class ApiError extends HttpException {
  constructor(
    status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, status, options);
  }

  toBody(): ApiErrorBody {
    return {
      statusCode: this.getStatus(),
      error: this.code,
      message: this.message,
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

export const REQUEST_INVALID = 'REQUEST.INVALID';

const STATEMENT_IMPORT_STATUS: Record<StatementImportErrorCode, number> = {
  'STATEMENT.ALREADY_IMPORTED': HttpStatus.CONFLICT,
  // The file's lines span several dates (or it has none): the request must name the date.
  'STATEMENT.BUSINESS_DATE_REQUIRED': HttpStatus.UNPROCESSABLE_ENTITY,
  'STATEMENT.INVALID_REQUEST': HttpStatus.BAD_REQUEST,
};

const DISCREPANCY_STATUS: Record<DiscrepancyErrorCode, number> = {
  'DISCREPANCY.NOT_FOUND': HttpStatus.NOT_FOUND,
  'DISCREPANCY.ALREADY_RESOLVED': HttpStatus.CONFLICT,
  'DISCREPANCY.IDEMPOTENCY_CONFLICT': HttpStatus.CONFLICT,
  // The edge has already checked the request's shape: what the service still refuses is a request
  // that is well-formed but cannot apply to this discrepancy (e.g. ADJUST where nothing can be posted).
  'DISCREPANCY.INVALID_REQUEST': HttpStatus.UNPROCESSABLE_ENTITY,
};

const MATCH_RUN_STATUS: Record<MatchRunErrorCode, number> = {
  'MATCH_RUN.INVALID_REQUEST': HttpStatus.BAD_REQUEST,
};

/** Codes for the errors Nest and Express raise themselves (unknown route, bad JSON, …). */
const GENERIC_CODE: Partial<Record<number, string>> = {
  400: REQUEST_INVALID,
  404: 'REQUEST.NOT_FOUND',
  405: 'REQUEST.METHOD_NOT_ALLOWED',
  413: 'REQUEST.TOO_LARGE',
  415: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
};

/**
 * Maps what a request failed with to the response body: the domain's operating errors to their
 * 4xx, HTTP errors raised by the framework to the same shape, anything else to a 500 that says
 * nothing of the internals (the caller logs it).
 */
export function toApiErrorBody(exception: unknown): ApiErrorBody {
  if (exception instanceof ApiError) return exception.toBody();
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
  if (exception instanceof HttpException) {
    const statusCode = exception.getStatus();
    return { statusCode, error: genericCode(statusCode), message: httpExceptionMessage(exception) };
  }
  // Express's body parser raises http-errors (not HttpExceptions) for a malformed or oversized body.
  const clientError = exposedClientError(exception);
  if (clientError !== undefined)
    return {
      statusCode: clientError.status,
      error: genericCode(clientError.status),
      message: clientError.message,
    };
  return { statusCode: HttpStatus.INTERNAL_SERVER_ERROR, error: 'INTERNAL', message: 'internal error' };
}

function genericCode(status: number): string {
  return GENERIC_CODE[status] ?? (status >= 500 ? 'INTERNAL' : `HTTP.${status}`);
}

function httpExceptionMessage(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.map(String).join('; ');
  return typeof message === 'string' ? message : exception.message;
}

function exposedClientError(exception: unknown): { status: number; message: string } | undefined {
  if (typeof exception !== 'object' || exception === null) return undefined;
  const { status, expose, message } = exception as { status?: unknown; expose?: unknown; message?: unknown };
  if (typeof status !== 'number' || status < 400 || status > 499 || expose !== true) return undefined;
  return { status, message: typeof message === 'string' ? message : 'bad request' };
}
