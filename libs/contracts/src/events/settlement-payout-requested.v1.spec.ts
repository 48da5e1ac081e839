import { describe, expect, it } from '@jest/globals';
import {
  UNREADABLE_MESSAGE_VALUES,
  contractSpec,
  expectMd5Uuid,
  expectOneEventIdPerKey,
  itIsRegistered,
  junkOf,
  mutatedEvents,
} from './contract-spec-support.js';
import {
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

const { reasonOf, valueOf, itRejectsEach, itDecodes, itAgreesWithTheFullSchema } = contractSpec({
  parse: parseSettlementPayoutRequestedV1,
  decode: decodeSettlementPayoutRequestedV1,
  schema: settlementPayoutRequestedV1Schema,
});

const withAccount = (changes: Record<string, unknown>) => ({
  ...request,
  payoutAccount: { ...request.payoutAccount, ...changes },
});

describe('settlementPayoutRequestedEventId', () => {
  it("equals Postgres md5('settlement.payout-requested.v1:' || attempt_id)::uuid", () => {
    // SELECT md5('settlement.payout-requested.v1:1042-1')::uuid
    expectMd5Uuid(settlementPayoutRequestedEventId('1042-1'), 'settlement.payout-requested.v1:1042-1');
  });

  it('is deterministic and differs per attempt', () => {
    expectOneEventIdPerKey(settlementPayoutRequestedEventId, 64);
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
  itRejectsEach([
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
  ]);

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
  itDecodes(retry, [
    ...UNREADABLE_MESSAGE_VALUES,
    [
      'a bad field',
      JSON.stringify({ ...request, attemptNo: 0 }),
      'attemptNo: must be at least 1 (attempts count from 1), got 0',
    ],
  ]);
});

describe('settlement.payout-requested.v1 JSON Schema', () => {
  const jsonSchema = itIsRegistered('settlement.payout-requested.v1', {
    name: 'SettlementPayoutRequested',
    version: 1,
  });

  it('tells the gateway the key, the required fields, the formats and the idempotency rule', () => {
    const schema = jsonSchema() as {
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
  const junk = junkOf(
    [
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
    ],
    { jsonMaxDepth: 1 },
  );
  const mutated = mutatedEvents({
    bases: [request, retry],
    junk,
    fields: [...Object.keys(request), 'memo', 'extra'],
    maxChanges: 2,
    nested: [
      { key: 'payoutAccount', fields: [...Object.keys(request.payoutAccount), 'extra'], maxChanges: 2 },
    ],
  });

  // The mutator leaves roughly a quarter of the events valid (~1,100-1,400 of 5,000); the bound
  // sits far enough below that no seed fails it.
  itAgreesWithTheFullSchema(mutated, { numRuns: 5000, minAccepted: 500 });
});
