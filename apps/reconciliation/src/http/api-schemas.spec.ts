import { ApiError, parseInput } from '@app/http';
import { describe, expect, it } from '@jest/globals';
import { DiscrepancyListQuerySchema, ResolveDiscrepancyRequestSchema } from './api-schemas.js';

describe('reconciliation request schemas', () => {
  it('reads the list query: limit as an integer within 1..10000, unknown parameters refused', () => {
    expect(parseInput(DiscrepancyListQuerySchema, { limit: '25', status: 'OPEN' })).toEqual({
      limit: 25,
      status: 'OPEN',
    });
    for (const query of [{ limit: '0' }, { limit: '10001' }, { limit: '2.5' }, { chanel: 'WECHAT' }])
      expect(DiscrepancyListQuerySchema.safeParse(query).success).toBe(false);
  });

  it('refuses a resolve request without a reason, naming every bad field in one 400', () => {
    let error: unknown;
    try {
      parseInput(ResolveDiscrepancyRequestSchema, { action: 'DELETE', actor: 'finance li', note: '  ' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ApiError);
    const body = (error as ApiError).toBody();
    expect(body.statusCode).toBe(400);
    expect(body.error).toBe('REQUEST.INVALID');
    expect((body.details?.issues as { field: string }[]).map((i) => i.field)).toEqual([
      'action',
      'actor',
      'note',
    ]);
  });
});
