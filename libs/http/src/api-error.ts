import { HttpException, HttpStatus } from '@nestjs/common';

/** The one body every error response of every service API has. */
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

/**
 * A service's own operating errors (its domain's error classes) as response bodies; undefined for
 * anything it does not know, which then gets the generic treatment.
 */
export type DomainErrorMapper = (exception: unknown) => ApiErrorBody | undefined;

/** Codes for the errors Nest and Express raise themselves (unknown route, bad JSON, …). */
const GENERIC_CODE: Partial<Record<number, string>> = {
  400: REQUEST_INVALID,
  404: 'REQUEST.NOT_FOUND',
  405: 'REQUEST.METHOD_NOT_ALLOWED',
  413: 'REQUEST.TOO_LARGE',
  415: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
};

/**
 * Maps what a request failed with to the response body: ApiErrors as they are, the service's
 * domain errors through its mapper, HTTP errors raised by the framework to the same shape, anything
 * else to a 500 that says nothing of the internals (the filter logs it).
 */
export function toApiErrorBody(exception: unknown, domain: DomainErrorMapper): ApiErrorBody {
  if (exception instanceof ApiError) return exception.toBody();
  const mapped = domain(exception);
  if (mapped !== undefined) return mapped;
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
