import { describe, expect, it } from '@jest/globals';
import { BusinessDateSchema, ChannelSchema } from './validation.js';

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
});
