import { describe, expect, it } from '@jest/globals';
import { NotFoundException } from '@nestjs/common';
import { MoneyError } from '@app/contracts';
import { FeeError } from '../fees/fee.types.js';
import { CreateFeeRuleRequestSchema, FeeQuoteRequestSchema } from './api-schemas.js';
import { ApiError, parseInput, toApiErrorBody as toBody } from '@app/http';
import { clearingErrorBody } from './http-errors.js';

const toApiErrorBody = (e: unknown) => toBody(e, clearingErrorBody);

describe('clearing API errors', () => {
  it('maps each fee error code to its status, with the code as the error', () => {
    const bodies = (['FEES.INVALID_RULE', 'FEES.INVALID_INPUT', 'FEES.NO_RULE', 'FEES.OVERLAP'] as const).map(
      (code) => toApiErrorBody(new FeeError(code, 'why')),
    );
    expect(bodies.map((b) => [b.error, b.statusCode, b.message])).toEqual([
      ['FEES.INVALID_RULE', 422, 'why'],
      ['FEES.INVALID_INPUT', 422, 'why'],
      ['FEES.NO_RULE', 404, 'why'],
      ['FEES.OVERLAP', 409, 'why'],
    ]);
  });

  it('gives framework errors and money errors the same shape, and hides anything else behind a 500', () => {
    expect(toApiErrorBody(new NotFoundException('Cannot GET /nowhere'))).toEqual({
      statusCode: 404,
      error: 'REQUEST.NOT_FOUND',
      message: 'Cannot GET /nowhere',
    });
    expect(toApiErrorBody(new MoneyError('MONEY.TOO_PRECISE', '"1.001" has 3 fraction digits'))).toEqual({
      statusCode: 422,
      error: 'MONEY.TOO_PRECISE',
      message: '"1.001" has 3 fraction digits',
    });
    expect(toApiErrorBody(new Error('connection to 10.0.0.7 refused'))).toEqual({
      statusCode: 500,
      error: 'INTERNAL',
      message: 'internal error',
    });
  });

  it('refuses a rule draft without an explicit scope, naming every bad field in one 400', () => {
    let error: unknown;
    try {
      parseInput(CreateFeeRuleRequestSchema, {
        currency: 'cny',
        formula: { kind: 'PERCENTAGE', rate: '0.6%' },
        refundPolicy: 'PRO_RATA',
        effectiveFrom: '2027-01-01 00:00',
        actor: 'finance.li',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ApiError);
    const body = (error as ApiError).toBody();
    expect(body.statusCode).toBe(400);
    expect((body.details?.issues as { field: string }[]).map((i) => i.field)).toEqual([
      'scope',
      'currency',
      'formula.rate',
      'effectiveFrom',
    ]);
  });

  it('reads a quote request: amounts are decimal strings, never JSON numbers', () => {
    const request = {
      merchantId: 'M00001',
      channel: 'WECHAT',
      amount: '90.00',
      currency: 'CNY',
      coupon: { amount: '10.00', merchantFunded: '4.00', platformFunded: '6.00' },
    };
    expect(parseInput(FeeQuoteRequestSchema, request)).toEqual(request);
    expect(FeeQuoteRequestSchema.safeParse({ ...request, amount: 90 }).success).toBe(false);
    expect(FeeQuoteRequestSchema.safeParse({ ...request, amount: '9e1' }).success).toBe(false);
    expect(FeeQuoteRequestSchema.safeParse({ ...request, fee: '1.00' }).success).toBe(false);
  });
});
