import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { contractJsonSchema } from '../json-schema.js';
import { CONTRACTS } from './index.js';
import {
  type SettlementPayoutRequestedV1,
  decodeSettlementPayoutRequestedV1,
  parseSettlementPayoutRequestedV1,
  settlementPayoutRequestedEventId,
  settlementPayoutRequestedV1Schema,
} from './settlement-payout-requested.v1.js';

/** Record 1042's first attempt: 9,875.40 CNY to a corporate account. */
const request = {
  eventId: settlementPayoutRequestedEventId('1042-1'),
  occurredAt: '2026-11-24T01:30:00.000Z',
  settlementRecordId: '1042',
  attemptId: '1042-1',
  attemptNo: 1,
  merchantId: 'M00013',
  amount: '9875.40',
  currency: 'CNY',
  payoutAccount: {
    bank: 'ICBC',
    accountNo: '6222020200112233445',
    holder: '杭州小满餐饮管理有限公司',
    type: 'CORPORATE',
  },
  payoutDueOn: '2026-11-24',
} as const;

/** The second attempt of a record paid to a personal type-II account (Ⅱ类户), with a memo. */
const retry = {
  ...request,
  eventId: settlementPayoutRequestedEventId('1043-2'),
  settlementRecordId: '1043',
  attemptId: '1043-2',
  attemptNo: 2,
  merchantId: 'M00016',
  amount: '8000.00',
  payoutAccount: { bank: 'CMB', accountNo: '6214830100223344', holder: '张三', type: 'PERSONAL_TYPE_II' },
  memo: '结算 2026-11-22 周期 T+1',
} as const;

function reasonOf(input: unknown): string {
  const result = parseSettlementPayoutRequestedV1(input);
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.value)}`);
  return result.reason;
}

function valueOf(input: unknown): SettlementPayoutRequestedV1 {
  const result = parseSettlementPayoutRequestedV1(input);
  if (!result.ok) throw new Error(`expected success, got: ${result.reason}`);
  return result.value;
}

const withAccount = (changes: Record<string, unknown>) => ({
  ...request,
  payoutAccount: { ...request.payoutAccount, ...changes },
});

describe('settlementPayoutRequestedEventId', () => {
  it("equals Postgres md5('settlement.payout-requested.v1:' || attempt_id)::uuid", () => {
    // SELECT md5('settlement.payout-requested.v1:1042-1')::uuid
    const hex = createHash('md5').update('settlement.payout-requested.v1:1042-1').digest('hex');
    expect(settlementPayoutRequestedEventId('1042-1').replaceAll('-', '')).toBe(hex);
    expect(settlementPayoutRequestedEventId('1042-1')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
  });

  it('is deterministic and differs per attempt', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 64 }), fc.string({ maxLength: 64 }), (a, b) => {
        expect(settlementPayoutRequestedEventId(a)).toBe(settlementPayoutRequestedEventId(a));
        if (a !== b)
          expect(settlementPayoutRequestedEventId(a)).not.toBe(settlementPayoutRequestedEventId(b));
      }),
    );
    expect(settlementPayoutRequestedEventId('1042-1')).not.toBe(settlementPayoutRequestedEventId('1042-2'));
  });
});

describe('settlement.payout-requested.v1 accepts', () => {
  it('a first attempt, and a retry to a type-II account with a memo, kept as sent', () => {
    expect(valueOf(request)).toEqual(request);
    expect(valueOf(retry)).toEqual(retry);
  });

  it('every account type, the shortest and longest account numbers and a UUID attempt id', () => {
    for (const type of ['CORPORATE', 'PERSONAL_TYPE_I', 'PERSONAL_TYPE_II'])
      expect(valueOf(withAccount({ type })).payoutAccount.type).toBe(type);
    expect(valueOf(withAccount({ accountNo: '12345678' })).payoutAccount.accountNo).toBe('12345678');
    const longest = '1'.repeat(34);
    expect(valueOf(withAccount({ accountNo: longest })).payoutAccount.accountNo).toBe(longest);
    const attemptId = '7f9c2ba4-e88f-4c1a-9d2e-3f1a2b3c4d5e';
    expect(valueOf({ ...request, attemptId }).attemptId).toBe(attemptId);
  });

  it('JPY without fraction digits, the smallest amount, the largest record id and a leap day', () => {
    const jpy = { ...request, currency: 'JPY', amount: '1500' };
    expect(valueOf(jpy)).toEqual(jpy);
    expect(valueOf({ ...request, amount: '0.01' }).amount).toBe('0.01');
    const edge = { ...request, settlementRecordId: '9223372036854775807', payoutDueOn: '2028-02-29' };
    expect(valueOf(edge)).toEqual(edge);
  });

  it('names, memos and bank names in any script, at their longest, inner spaces included', () => {
    const event = {
      ...withAccount({ bank: 'B'.repeat(64), holder: '欧阳 娜娜'.padEnd(128, '娜') }),
      memo: 'm'.repeat(140),
    };
    expect(valueOf(event)).toEqual(event);
  });

  it('strips unknown fields at every level without touching the input', () => {
    const input = { ...withAccount({ branch: 'Hangzhou' }), extra: 1 };
    const copy = structuredClone(input);
    expect(valueOf(input)).toEqual(request);
    expect(input).toEqual(copy);
  });
});

describe('settlement.payout-requested.v1 rejects, naming each bad field in one line', () => {
  it.each<[string, unknown, string]>([
    ['a missing eventId', { ...request, eventId: undefined }, 'eventId: required'],
    [
      'an eventId that is no uuid',
      { ...request, eventId: '1042-1' },
      'eventId: must be a lower-case UUID (8-4-4-4-12 hex digits), got "1042-1"',
    ],
    [
      'occurredAt without offset',
      { ...request, occurredAt: '2026-11-24T09:30:00' },
      `occurredAt: "2026-11-24T09:30:00" has no UTC offset; an instant needs 'Z' or ±HH:mm`,
    ],
    [
      'a record id as a JSON number',
      { ...request, settlementRecordId: 1042 },
      'settlementRecordId: must be a string, got a JSON number (1042)',
    ],
    [
      'a record id with a leading zero',
      { ...request, settlementRecordId: '01042' },
      'settlementRecordId: must be a positive integer in decimal digits without leading zeros, got "01042"',
    ],
    [
      'a record id beyond bigint',
      { ...request, settlementRecordId: '9223372036854775808' },
      'settlementRecordId: "9223372036854775808" is beyond the bigint range (at most 9223372036854775807)',
    ],
    ['a missing attemptId', { ...request, attemptId: undefined }, 'attemptId: required'],
    ['an empty attemptId', { ...request, attemptId: '' }, 'attemptId: must not be empty'],
    [
      'an attemptId longer than the gateway keeps',
      { ...request, attemptId: 'a'.repeat(65) },
      'attemptId: must be 1..64 characters, got 65',
    ],
    [
      'an attemptId with a space',
      { ...request, attemptId: '1042 1' },
      'attemptId: must be visible ASCII without spaces, got "1042 1"',
    ],
    [
      'attemptNo zero',
      { ...request, attemptNo: 0 },
      'attemptNo: must be at least 1 (attempts count from 1), got 0',
    ],
    [
      'attemptNo as a string',
      { ...request, attemptNo: '1' },
      'attemptNo: must be an integer, got a string ("1")',
    ],
    [
      'a fractional attemptNo',
      { ...request, attemptNo: 1.5 },
      'attemptNo: must be an integer, got a JSON number (1.5)',
    ],
    [
      'a merchantId with a space',
      { ...request, merchantId: 'M 13' },
      'merchantId: must be letters, digits, "_" or "-", got "M 13"',
    ],
    [
      'a zero amount',
      { ...request, amount: '0.00' },
      'amount: "0.00" is zero; a non-zero amount is required',
    ],
    [
      'a negative amount',
      { ...request, amount: '-9875.40' },
      'amount: "-9875.40" is negative; amounts on the wire are never negative (the event type carries the direction)',
    ],
    [
      'an amount beyond the CNY scale',
      { ...request, amount: '9875.405' },
      'amount: "9875.405" has 3 fraction digits; CNY allows at most 2',
    ],
    [
      'a fraction of a yen',
      { ...request, currency: 'JPY', amount: '1500.5' },
      'amount: "1500.5" has 1 fraction digit; JPY allows at most 0',
    ],
    [
      'an amount as a JSON number',
      { ...request, amount: 9875.4 },
      'amount: must be a decimal string, got a JSON number (9875.4)',
    ],
    [
      'an unknown currency',
      { ...request, currency: 'RMB' },
      'currency: must be an active ISO 4217 currency code like CNY, got "RMB"',
    ],
    ['a missing payout account', { ...request, payoutAccount: undefined }, 'payoutAccount: required'],
    [
      'a payout account that is a string',
      { ...request, payoutAccount: '6222020200112233445' },
      'payoutAccount: must be an object, got a string ("6222020200112233445")',
    ],
    ['an empty bank', withAccount({ bank: '' }), 'payoutAccount.bank: must not be empty'],
    [
      'a bank name longer than 64',
      withAccount({ bank: 'B'.repeat(65) }),
      'payoutAccount.bank: must be 1..64 characters, got 65',
    ],
    [
      'an account number with spaces, without echoing it',
      withAccount({ accountNo: '6222 0202 0011 2233' }),
      'payoutAccount.accountNo: must be digits only, got a non-digit at character 5',
    ],
    [
      'an account number too short',
      withAccount({ accountNo: '1234567' }),
      'payoutAccount.accountNo: must be 8..34 digits, got 7 characters',
    ],
    [
      'an account number too long',
      withAccount({ accountNo: '1'.repeat(35) }),
      'payoutAccount.accountNo: must be 8..34 digits, got 35 characters',
    ],
    [
      'an account number as a JSON number, without echoing it',
      withAccount({ accountNo: 6222020200112233 }),
      'payoutAccount.accountNo: must be a string of 8..34 digits, got a JSON number',
    ],
    ['a missing holder', withAccount({ holder: undefined }), 'payoutAccount.holder: required'],
    [
      'a holder with a leading space, which the bank would not match',
      withAccount({ holder: ' 张三' }),
      'payoutAccount.holder: must be printable text without line breaks, control characters or leading/trailing spaces',
    ],
    [
      'a holder with a trailing ideographic space',
      withAccount({ holder: '张三\u3000' }),
      'payoutAccount.holder: must be printable text without line breaks, control characters or leading/trailing spaces',
    ],
    [
      'a holder with a tab inside',
      withAccount({ holder: 'Zhang\tSan' }),
      'payoutAccount.holder: must be printable text without line breaks, control characters or leading/trailing spaces',
    ],
    [
      'a holder with a C1 control character',
      withAccount({ holder: 'Zhang\u0085San' }),
      'payoutAccount.holder: must be printable text without line breaks, control characters or leading/trailing spaces',
    ],
    [
      'a holder longer than 128',
      withAccount({ holder: '张'.repeat(129) }),
      'payoutAccount.holder: must be 1..128 characters, got 129',
    ],
    [
      'a holder as a JSON number, without echoing it',
      withAccount({ holder: 7 }),
      'payoutAccount.holder: must be a string, got a JSON number',
    ],
    [
      'an unknown account type',
      withAccount({ type: 'PERSONAL_TYPE_III' }),
      'payoutAccount.type: must be one of CORPORATE, PERSONAL_TYPE_I, PERSONAL_TYPE_II, got "PERSONAL_TYPE_III"',
    ],
    [
      'a due date that does not exist',
      { ...request, payoutDueOn: '2026-02-29' },
      `payoutDueOn: "2026-02-29" is not a date 'YYYY-MM-DD'`,
    ],
    [
      'a due date with a time',
      { ...request, payoutDueOn: '2026-11-24T00:00:00Z' },
      `payoutDueOn: "2026-11-24T00:00:00Z" is not a date 'YYYY-MM-DD'`,
    ],
    [
      'a memo with a line break',
      { ...request, memo: '结算\n2026-11-22' },
      'memo: must be printable text without line breaks, control characters or leading/trailing spaces',
    ],
    [
      'a memo longer than 140',
      { ...request, memo: 'm'.repeat(141) },
      'memo: must be 1..140 characters, got 141',
    ],
    ['a null memo (omit it instead)', { ...request, memo: null }, 'memo: must be a string, got null'],
  ])('%s', (_, input, reason) => {
    expect(reasonOf(input)).toBe(reason);
  });

  it('lists every problem at once, the amount scale included', () => {
    expect(
      reasonOf({
        ...withAccount({ type: 'SAVINGS', accountNo: '62220202x0112233' }),
        merchantId: undefined,
        attemptNo: 0,
        amount: '1.005',
      }),
    ).toBe(
      'attemptNo: must be at least 1 (attempts count from 1), got 0; merchantId: required; payoutAccount.accountNo: must be digits only, got a non-digit at character 9; payoutAccount.type: must be one of CORPORATE, PERSONAL_TYPE_I, PERSONAL_TYPE_II, got "SAVINGS"; amount: "1.005" has 3 fraction digits; CNY allows at most 2',
    );
  });

  it('does not judge the amount without a currency it knows', () => {
    expect(reasonOf({ ...request, currency: 'XXX', amount: '1.005' })).toBe(
      'currency: must be an active ISO 4217 currency code like CNY, got "XXX"',
    );
  });

  it('rejects what is not an object', () => {
    expect(reasonOf(null)).toBe('event: must be a JSON object, got null');
    expect(reasonOf([request])).toBe('event: must be a JSON object, got an array');
  });
});

describe('decodeSettlementPayoutRequestedV1', () => {
  it('decodes a Buffer and a string', () => {
    const line = JSON.stringify(retry);
    expect(decodeSettlementPayoutRequestedV1(Buffer.from(line))).toEqual({ ok: true, value: retry });
    expect(decodeSettlementPayoutRequestedV1(line)).toEqual({ ok: true, value: retry });
  });

  it.each<[string, Buffer | string | null, string | RegExp]>([
    ['a null value (tombstone)', null, 'empty message value (null)'],
    ['an empty buffer', Buffer.alloc(0), 'empty message value'],
    ['truncated JSON', '{"eventId":', /^invalid JSON: /],
    ['bad UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'message value is not valid UTF-8'],
    [
      'a bad field',
      JSON.stringify({ ...request, attemptNo: 0 }),
      'attemptNo: must be at least 1 (attempts count from 1), got 0',
    ],
  ])('reports %s', (_, value, reason) => {
    const result = decodeSettlementPayoutRequestedV1(value);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});

describe('settlement.payout-requested.v1 JSON Schema', () => {
  const contract = CONTRACTS.find((c) => c.topic === 'settlement.payout-requested.v1');

  it('is registered with its name and version', () => {
    expect(contract).toMatchObject({ name: 'SettlementPayoutRequested', version: 1 });
  });

  it('tells the gateway the key, the required fields, the formats and the idempotency rule', () => {
    if (contract === undefined) throw new Error('settlement.payout-requested.v1 is not registered');
    const schema = contractJsonSchema(contract) as {
      $id: string;
      title: string;
      required: string[];
      'x-kafka-key': string;
      'x-rules': string[];
      properties: Record<
        string,
        {
          pattern?: string;
          format?: string;
          maxLength?: number;
          required?: string[];
          properties?: Record<string, { pattern?: string; enum?: string[]; maxLength?: number }>;
        }
      >;
    };
    expect(schema.$id).toBe('urn:clearing-settlement-engine:contract:settlement.payout-requested.v1');
    expect(schema.title).toBe('SettlementPayoutRequested v1');
    expect(schema['x-kafka-key']).toBe('settlementRecordId');
    expect(schema.required).toEqual([
      'eventId',
      'occurredAt',
      'settlementRecordId',
      'attemptId',
      'attemptNo',
      'merchantId',
      'amount',
      'currency',
      'payoutAccount',
      'payoutDueOn',
    ]);
    expect(schema.properties.eventId?.format).toBe('uuid');
    expect(schema.properties.settlementRecordId?.pattern).toBe('^[1-9][0-9]*$');
    expect(schema.properties.attemptId?.maxLength).toBe(64);
    expect(schema.properties.amount?.pattern).toBe('^(0|[1-9]\\d*)(\\.\\d+)?$');
    expect(schema.properties.payoutDueOn?.format).toBe('date');
    expect(schema.properties.memo?.maxLength).toBe(140);
    expect(schema.properties.payoutAccount?.required).toEqual(['bank', 'accountNo', 'holder', 'type']);
    expect(schema.properties.payoutAccount?.properties?.accountNo?.pattern).toBe('^[0-9]{8,34}$');
    expect(schema.properties.payoutAccount?.properties?.holder?.maxLength).toBe(128);
    expect(schema.properties.payoutAccount?.properties?.type?.enum).toEqual([
      'CORPORATE',
      'PERSONAL_TYPE_I',
      'PERSONAL_TYPE_II',
    ]);
    expect(schema['x-rules'].some((rule) => rule.includes('never pay it twice'))).toBe(true);
    expect(schema).not.toHaveProperty('additionalProperties');
  });
});

describe('settlement.payout-requested.v1 fast path', () => {
  const junk = fc.oneof(
    fc.constantFrom(
      undefined,
      null,
      '',
      ' ',
      0,
      1,
      2,
      1.5,
      true,
      [],
      {},
      '0',
      '1042',
      '01042',
      '9223372036854775808',
      '0.00',
      '1.005',
      '1500',
      '-1.00',
      'CNY',
      'JPY',
      'XXX',
      'CORPORATE',
      'PERSONAL_TYPE_II',
      '1234567',
      '12345678',
      '张三',
      ' 张三',
      'a\nb',
      '2026-02-29',
      '2028-02-29',
    ),
    fc.jsonValue({ maxDepth: 1 }),
    fc.string({ maxLength: 8 }),
  );
  const topFields = [...Object.keys(request), 'memo', 'extra'];
  const accountFields = [...Object.keys(request.payoutAccount), 'extra'];
  const mutated = fc
    .record({
      base: fc.constantFrom<Record<string, unknown>>(request, retry),
      top: fc.array(fc.tuple(fc.constantFrom(...topFields), junk), { maxLength: 2 }),
      account: fc.array(fc.tuple(fc.constantFrom(...accountFields), junk), { maxLength: 2 }),
    })
    .map(({ base, top, account }) => {
      const event: Record<string, unknown> = { ...base };
      const acc: Record<string, unknown> = { ...(base.payoutAccount as object) };
      for (const [key, value] of account) acc[key] = value;
      event.payoutAccount = acc;
      for (const [key, value] of top) event[key] = value;
      return event;
    });

  it('agrees with the full schema on every verdict and value', () => {
    let accepted = 0;
    fc.assert(
      fc.property(mutated, (event) => {
        const fast = parseSettlementPayoutRequestedV1(event);
        const full = settlementPayoutRequestedV1Schema.safeParse(event);
        expect(fast.ok).toBe(full.success);
        if (fast.ok) {
          accepted++;
          expect(fast.value).toEqual(full.data);
        } else {
          expect(fast.reason.length).toBeGreaterThan(0);
          expect(fast.reason).not.toContain('\n');
        }
      }),
      { numRuns: 5000 },
    );
    // The mutator leaves roughly a quarter of the events valid (~1,100-1,400 of 5,000); the bound
    // sits far enough below that no seed fails it.
    expect(accepted).toBeGreaterThan(500);
  });
});
