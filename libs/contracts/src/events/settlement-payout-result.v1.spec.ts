import { describe, expect, it } from '@jest/globals';
import {
  UNREADABLE_MESSAGE_VALUES,
  contractSpec,
  itIsRegistered,
  junkOf,
  mutatedEvents,
} from './contract-spec-support.js';
import {
  SETTLEMENT_PAYOUT_FAILURE_CODES,
  decodeSettlementPayoutResultV1,
  parseSettlementPayoutResultV1,
  settlementPayoutResultV1Schema,
} from './settlement-payout-result.v1.js';

/** Record 1042's first attempt paid: 9,875.40 CNY. */
const paid = {
  eventId: '3f2b8c1e-6d4a-4e0b-9a7c-1d2e3f4a5b6c',
  occurredAt: '2026-11-24T09:30:07.000+08:00',
  settlementRecordId: '1042',
  attemptId: '1042-1',
  status: 'PAID',
  bankReference: 'ICBC202611240000123',
  amount: '9875.40',
  currency: 'CNY',
} as const;

/** Record 1043's first attempt refused for now by the bank: it did not pay, a retry may. */
const failed = {
  eventId: '7a1c9e2d-0b3f-4c5d-8e6f-9a0b1c2d3e4f',
  occurredAt: '2026-11-24T01:31:00.000Z',
  settlementRecordId: '1043',
  attemptId: '1043-1',
  status: 'FAILED',
  failure: { code: 'BANK_UNAVAILABLE', transient: true, message: '系统繁忙，请稍后再试' },
  amount: '8000.00',
  currency: 'CNY',
} as const;

/** The answer was lost: the bank may have paid. No message from the gateway. */
const timedOut = {
  ...failed,
  eventId: '0c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f',
  failure: { code: 'TIMEOUT', transient: false },
} as const;

const { reasonOf, valueOf, itRejectsEach, itDecodes, itAgreesWithTheFullSchema } = contractSpec({
  parse: parseSettlementPayoutResultV1,
  decode: decodeSettlementPayoutResultV1,
  schema: settlementPayoutResultV1Schema,
});

const withFailure = (changes: Record<string, unknown>) => ({
  ...failed,
  failure: { ...failed.failure, ...changes },
});

describe('settlement.payout-result.v1 failure codes', () => {
  it("are the settlement service's PAYOUT_FAILURE_CODES, in order (payout/payout-attempt.ts)", () => {
    // libs/ may not import apps/: the list is restated here so that a change to either side is a
    // deliberate edit of this line too.
    expect(SETTLEMENT_PAYOUT_FAILURE_CODES).toEqual([
      'ACCOUNT_LIMIT_EXCEEDED',
      'ACCOUNT_CLOSED',
      'ACCOUNT_NOT_FOUND',
      'ACCOUNT_FROZEN',
      'HOLDER_NAME_MISMATCH',
      'BANK_UNAVAILABLE',
      'RATE_LIMITED',
      'TIMEOUT',
    ]);
  });
});

describe('settlement.payout-result.v1 accepts', () => {
  it("a PAID, a FAILED with the bank's words and a TIMEOUT without, kept as sent", () => {
    expect(valueOf(paid)).toEqual(paid);
    expect(valueOf(failed)).toEqual(failed);
    expect(valueOf(timedOut)).toEqual(timedOut);
  });

  it('every failure code, transient or not', () => {
    for (const code of SETTLEMENT_PAYOUT_FAILURE_CODES) {
      for (const transient of [true, false]) {
        expect(valueOf(withFailure({ code, transient })).failure).toEqual({
          code,
          transient,
          message: '系统繁忙，请稍后再试',
        });
      }
    }
  });

  it('JPY without fraction digits, a 64-character reference and a 256-character message with line breaks', () => {
    const jpy = { ...paid, currency: 'JPY', amount: '1500', bankReference: 'R'.repeat(64) };
    expect(valueOf(jpy)).toEqual(jpy);
    const message = `line 1\n${'m'.repeat(249)}`;
    expect(message).toHaveLength(256);
    expect(valueOf(withFailure({ message })).failure?.message).toBe(message);
  });

  it('strips unknown fields at every level without touching the input', () => {
    const input = { ...withFailure({ bankCode: 'E1001' }), extra: 1 };
    const copy = structuredClone(input);
    expect(valueOf(input)).toEqual(failed);
    expect(input).toEqual(copy);
  });
});

describe('settlement.payout-result.v1 rejects, naming each bad field in one line', () => {
  itRejectsEach([
    ['a missing eventId', { ...paid, eventId: undefined }, 'eventId: required'],
    [
      'an upper-case eventId (a second spelling of the same id)',
      { ...paid, eventId: '3F2B8C1E-6D4A-4E0B-9A7C-1D2E3F4A5B6C' },
      'eventId: must be a lower-case UUID (8-4-4-4-12 hex digits), got "3F2B8C1E-6D4A-4E0B-9A7C-1D2E3F4A5B6C"',
    ],
    [
      'occurredAt without offset',
      { ...paid, occurredAt: '2026-11-24 09:30:07' },
      `occurredAt: "2026-11-24 09:30:07" has no UTC offset; an instant needs 'Z' or ±HH:mm`,
    ],
    [
      'a record id as a JSON number',
      { ...paid, settlementRecordId: 1042 },
      'settlementRecordId: must be a string, got a JSON number (1042)',
    ],
    ['a missing attemptId', { ...paid, attemptId: undefined }, 'attemptId: required'],
    [
      'an attemptId longer than 64',
      { ...paid, attemptId: 'a'.repeat(65) },
      'attemptId: must be 1..64 characters, got 65',
    ],
    [
      'an unknown status',
      { ...paid, status: 'PENDING' },
      'status: must be one of PAID, FAILED, got "PENDING"',
    ],
    [
      'PAID without a bank reference',
      { ...paid, bankReference: undefined },
      'bankReference: required when status is PAID',
    ],
    [
      'PAID with a failure',
      { ...paid, failure: failed.failure },
      'failure: must be absent when status is PAID',
    ],
    [
      'FAILED without a failure',
      { ...failed, failure: undefined },
      'failure: required when status is FAILED',
    ],
    [
      'FAILED with a bank reference',
      { ...failed, bankReference: 'ICBC202611240000123' },
      'bankReference: must be absent when status is FAILED',
    ],
    [
      'a bank reference longer than 64',
      { ...paid, bankReference: 'R'.repeat(65) },
      'bankReference: must be 1..64 characters, got 65',
    ],
    [
      'a bank reference with a space',
      { ...paid, bankReference: 'ICBC 123' },
      'bankReference: must be visible ASCII without spaces, got "ICBC 123"',
    ],
    [
      'a null bank reference (omit it instead)',
      { ...paid, bankReference: null },
      'bankReference: must be a string, got null',
    ],
    [
      'a failure code the settlement service does not know',
      withFailure({ code: 'REJECTED_BY_BANK' }),
      'failure.code: must be one of ACCOUNT_LIMIT_EXCEEDED, ACCOUNT_CLOSED, ACCOUNT_NOT_FOUND, ACCOUNT_FROZEN, HOLDER_NAME_MISMATCH, BANK_UNAVAILABLE, RATE_LIMITED, TIMEOUT, got "REJECTED_BY_BANK"',
    ],
    ['a failure without a code', withFailure({ code: undefined }), 'failure.code: required'],
    ['a failure without transient', withFailure({ transient: undefined }), 'failure.transient: required'],
    [
      'transient as a string',
      withFailure({ transient: 'true' }),
      'failure.transient: must be a boolean, got a string ("true")',
    ],
    [
      'an empty message (omit it instead)',
      withFailure({ message: '' }),
      'failure.message: must not be empty',
    ],
    [
      'a message longer than 256',
      withFailure({ message: 'm'.repeat(257) }),
      'failure.message: must be 1..256 characters, got 257',
    ],
    [
      'a failure that is a string',
      { ...failed, failure: 'BANK_UNAVAILABLE' },
      'failure: must be an object, got a string ("BANK_UNAVAILABLE")',
    ],
    ['a zero amount', { ...paid, amount: '0.00' }, 'amount: "0.00" is zero; a non-zero amount is required'],
    [
      'an amount beyond the CNY scale',
      { ...paid, amount: '9875.401' },
      'amount: "9875.401" has 3 fraction digits; CNY allows at most 2',
    ],
    [
      'an amount as a JSON number',
      { ...paid, amount: 9875.4 },
      'amount: must be a decimal string, got a JSON number (9875.4)',
    ],
    ['a missing currency', { ...paid, currency: undefined }, 'currency: required'],
  ]);

  it('lists every problem at once, cross-field ones included', () => {
    expect(
      reasonOf({
        ...failed,
        settlementRecordId: undefined,
        bankReference: 'ICBC202611240000123',
        failure: { code: 'OTHER', transient: true },
        amount: '1.005',
      }),
    ).toBe(
      'settlementRecordId: required; failure.code: must be one of ACCOUNT_LIMIT_EXCEEDED, ACCOUNT_CLOSED, ACCOUNT_NOT_FOUND, ACCOUNT_FROZEN, HOLDER_NAME_MISMATCH, BANK_UNAVAILABLE, RATE_LIMITED, TIMEOUT, got "OTHER"; bankReference: must be absent when status is FAILED; amount: "1.005" has 3 fraction digits; CNY allows at most 2',
    );
  });

  it('does not judge presence against a status it does not know, nor the amount without a currency', () => {
    expect(reasonOf({ ...paid, status: 'UNKNOWN', failure: failed.failure })).toBe(
      'status: must be one of PAID, FAILED, got "UNKNOWN"',
    );
    expect(reasonOf({ ...paid, currency: 'XXX', amount: '1.005' })).toBe(
      'currency: must be an active ISO 4217 currency code like CNY, got "XXX"',
    );
  });

  it('rejects what is not an object', () => {
    expect(reasonOf(null)).toBe('event: must be a JSON object, got null');
    expect(reasonOf('PAID')).toBe('event: must be a JSON object, got a string ("PAID")');
  });
});

describe('decodeSettlementPayoutResultV1', () => {
  itDecodes(failed, [
    ...UNREADABLE_MESSAGE_VALUES,
    [
      'a bad field',
      JSON.stringify({ ...paid, bankReference: undefined }),
      'bankReference: required when status is PAID',
    ],
  ]);
});

describe('settlement.payout-result.v1 JSON Schema', () => {
  const jsonSchema = itIsRegistered('settlement.payout-result.v1', {
    name: 'SettlementPayoutResult',
    version: 1,
  });

  it('tells the gateway the key, the required fields, the codes and the presence rules by status', () => {
    const schema = jsonSchema() as {
      title: string;
      required: string[];
      allOf: unknown[];
      'x-kafka-key': string;
      'x-rules': string[];
      properties: Record<
        string,
        {
          pattern?: string;
          format?: string;
          enum?: string[];
          maxLength?: number;
          required?: string[];
          properties?: Record<string, { enum?: string[]; type?: string; maxLength?: number }>;
        }
      >;
    };
    expect(schema.title).toBe('SettlementPayoutResult v1');
    expect(schema['x-kafka-key']).toBe('settlementRecordId');
    expect(schema.required).toEqual([
      'eventId',
      'occurredAt',
      'settlementRecordId',
      'attemptId',
      'status',
      'amount',
      'currency',
    ]);
    expect(schema.properties.status?.enum).toEqual(['PAID', 'FAILED']);
    expect(schema.properties.bankReference?.maxLength).toBe(64);
    expect(schema.properties.failure?.required).toEqual(['code', 'transient']);
    expect(schema.properties.failure?.properties?.code?.enum).toEqual([...SETTLEMENT_PAYOUT_FAILURE_CODES]);
    expect(schema.properties.failure?.properties?.transient?.type).toBe('boolean');
    expect(schema.properties.failure?.properties?.message?.maxLength).toBe(256);
    expect(schema.properties.amount?.pattern).toBe('^(0|[1-9]\\d*)(\\.\\d+)?$');
    expect(schema.allOf).toEqual([
      {
        if: { properties: { status: { const: 'PAID' } }, required: ['status'] },
        then: { required: ['bankReference'] },
        else: { not: { required: ['bankReference'] } },
      },
      {
        if: { properties: { status: { const: 'FAILED' } }, required: ['status'] },
        then: { required: ['failure'] },
        else: { not: { required: ['failure'] } },
      },
    ]);
    expect(schema['x-rules'].length).toBeGreaterThan(5);
    expect(schema).not.toHaveProperty('additionalProperties');
  });
});

describe('settlement.payout-result.v1 fast path', () => {
  const junk = junkOf(
    [
      undefined,
      null,
      '',
      0,
      1,
      true,
      false,
      'true',
      [],
      {},
      '1042',
      '01042',
      '0.00',
      '1.005',
      '1500',
      'CNY',
      'JPY',
      'XXX',
      'PAID',
      'FAILED',
      'TIMEOUT',
      'OTHER',
      'ICBC 1',
      'R1',
      { code: 'RATE_LIMITED', transient: true },
      { code: 'OTHER', transient: true },
    ],
    { jsonMaxDepth: 1 },
  );
  // A PAID base has no failure to mutate; a top-level change may still add one.
  const mutated = mutatedEvents({
    bases: [paid, failed, timedOut],
    junk,
    fields: [...Object.keys(paid), 'failure', 'extra'],
    maxChanges: 2,
    nested: [{ key: 'failure', fields: ['code', 'transient', 'message', 'extra'], maxChanges: 2 }],
  });

  // The mutator leaves roughly a quarter of the events valid (~1,100-1,400 of 5,000); the bound
  // sits far enough below that no seed fails it.
  itAgreesWithTheFullSchema(mutated, { numRuns: 5000, minAccepted: 500 });
});
