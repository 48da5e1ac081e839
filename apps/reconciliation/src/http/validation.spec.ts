import { describe, expect, it } from '@jest/globals';
import { DiscrepancyListQuerySchema, ResolveDiscrepancyRequestSchema } from './api-schemas.js';
import { ApiError } from './http-errors.js';
import { BusinessDateSchema, ChannelSchema, parseInput } from './validation.js';

describe('edge validation', () => {
  it('accepts real calendar dates only', () => {
    const valid = ['2026-11-22', '2024-02-29', '2000-02-29'];
    const invalid = ['2026-02-29', '1900-02-29', '2026-11-31', '2026-13-01', '2026-1-2', '20261122', ''];
    expect(valid.filter((d) => BusinessDateSchema.safeParse(d).success)).toEqual(valid);
    expect(invalid.filter((d) => BusinessDateSchema.safeParse(d).success)).toEqual([]);
  });

  it('accepts channel codes of 1 to 32 A-Z, 0-9 and _', () => {
    expect(['WECHAT', 'ALIPAY_2', 'X'.repeat(32)].every((c) => ChannelSchema.safeParse(c).success)).toBe(
      true,
    );
    expect(['wechat', '', 'X'.repeat(33), 'WE-CHAT'].some((c) => ChannelSchema.safeParse(c).success)).toBe(
      false,
    );
  });

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
