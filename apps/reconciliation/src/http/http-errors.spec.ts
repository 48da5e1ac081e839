import { describe, expect, it } from '@jest/globals';
import { NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import { DiscrepancyError } from '../discrepancy/discrepancy.types.js';
import { MatchRunError } from '../matching/match-run.service.js';
import { StatementParseError } from '../statement/parsers/index.js';
import { StatementImportError } from '../statement/statement-import.service.js';
import { ApiError, toApiErrorBody as toBody } from '@app/http';
import { reconciliationErrorBody } from './http-errors.js';

const toApiErrorBody = (e: unknown) => toBody(e, reconciliationErrorBody);

describe('toApiErrorBody', () => {
  it('gives a parse error 422 STATEMENT.PARSE_ERROR with its code, line and field', () => {
    const error = new StatementParseError(
      'STATEMENT.MALFORMED_LINE',
      5,
      'amount',
      '"9x3.95" is not a decimal amount',
    );
    expect(toApiErrorBody(error)).toEqual({
      statusCode: 422,
      error: 'STATEMENT.PARSE_ERROR',
      message: 'line 5, field amount: "9x3.95" is not a decimal amount; nothing imported',
      details: {
        code: 'STATEMENT.MALFORMED_LINE',
        line: 5,
        field: 'amount',
        detail: '"9x3.95" is not a decimal amount',
      },
    });
  });

  it('maps the import, match-run and discrepancy error codes to their statuses', () => {
    const earlier = { statementFileId: '1', importedAt: '2026-11-23T02:00:00Z', businessDate: '2026-11-22' };
    expect(toApiErrorBody(new StatementImportError('STATEMENT.ALREADY_IMPORTED', 'again', earlier))).toEqual({
      statusCode: 409,
      error: 'STATEMENT.ALREADY_IMPORTED',
      message: 'again',
      details: { earlier },
    });
    const statuses = [
      new StatementImportError('STATEMENT.BUSINESS_DATE_REQUIRED', 'x'),
      new StatementImportError('STATEMENT.INVALID_REQUEST', 'x'),
      new MatchRunError('MATCH_RUN.INVALID_REQUEST', 'x'),
      new DiscrepancyError('DISCREPANCY.NOT_FOUND', 'x'),
      new DiscrepancyError('DISCREPANCY.ALREADY_RESOLVED', 'x'),
      new DiscrepancyError('DISCREPANCY.IDEMPOTENCY_CONFLICT', 'x'),
      new DiscrepancyError('DISCREPANCY.INVALID_REQUEST', 'x'),
    ].map((error) => [error.code, toApiErrorBody(error).statusCode]);
    expect(statuses).toEqual([
      ['STATEMENT.BUSINESS_DATE_REQUIRED', 422],
      ['STATEMENT.INVALID_REQUEST', 400],
      ['MATCH_RUN.INVALID_REQUEST', 400],
      ['DISCREPANCY.NOT_FOUND', 404],
      ['DISCREPANCY.ALREADY_RESOLVED', 409],
      ['DISCREPANCY.IDEMPOTENCY_CONFLICT', 409],
      ['DISCREPANCY.INVALID_REQUEST', 422],
    ]);
  });

  it('gives framework and body-parser errors the same shape, and hides what an unexpected error says', () => {
    expect(
      toApiErrorBody(new ApiError(413, 'STATEMENT.FILE_TOO_LARGE', 'too large', { limitBytes: 10 })),
    ).toEqual({
      statusCode: 413,
      error: 'STATEMENT.FILE_TOO_LARGE',
      message: 'too large',
      details: { limitBytes: 10 },
    });
    expect(toApiErrorBody(new NotFoundException('Cannot GET /x'))).toEqual({
      statusCode: 404,
      error: 'REQUEST.NOT_FOUND',
      message: 'Cannot GET /x',
    });
    expect(toApiErrorBody(new PayloadTooLargeException())).toEqual({
      statusCode: 413,
      error: 'REQUEST.TOO_LARGE',
      message: 'Payload Too Large',
    });
    const bodyParserError = Object.assign(new SyntaxError('Unexpected end of JSON input'), {
      status: 400,
      expose: true,
    });
    expect(toApiErrorBody(bodyParserError)).toEqual({
      statusCode: 400,
      error: 'REQUEST.INVALID',
      message: 'Unexpected end of JSON input',
    });
    expect(toApiErrorBody(new Error('password=secret in a connection string'))).toEqual({
      statusCode: 500,
      error: 'INTERNAL',
      message: 'internal error',
    });
  });
});
