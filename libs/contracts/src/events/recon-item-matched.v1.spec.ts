import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  UNREADABLE_MESSAGE_VALUES,
  contractSpec,
  itIsRegistered,
  junkOf,
  mutatedEvents,
} from './contract-spec-support.js';
import {
  decodeReconItemMatchedV1,
  parseReconItemMatchedV1,
  reconItemMatchedEventId,
  reconItemMatchedV1Schema,
} from './recon-item-matched.v1.js';

const matched = {
  eventId: '665c62ba-24ee-0d59-8573-2ad7a3e65b00',
  occurredAt: '2026-11-23T02:00:05.123Z',
  matchedBy: 'MATCH_RUN',
  matchRunId: '41',
  channel: 'WECHAT',
  businessDate: '2026-11-22',
  merchantId: 'M00013',
  transaction: {
    eventId: 'e1',
    type: 'PAYMENT_SUCCEEDED',
    orderNo: 'O202611220000000',
    amount: '239.54',
    currency: 'CNY',
    occurredAt: '2026-11-22T13:49:20.000Z',
  },
  statementLine: {
    statementFileId: '7',
    lineNo: 2,
    amount: '239.54',
    fee: '1.44',
    tradeTime: '2026-11-22 21:49:20',
  },
} as const;

const refundTransaction = {
  ...matched.transaction,
  eventId: 'e-RO202611220000011',
  type: 'REFUND_SUCCEEDED',
  refundNo: 'RO202611220000011',
  amount: '57.45',
} as const;

const refund = {
  ...matched,
  transaction: refundTransaction,
  statementLine: { ...matched.statementLine, lineNo: 12, amount: '57.45', fee: '-0.34' },
} as const;

/** Released by finance without a line (e.g. an ADJUSTMENT of a MISSING_IN_CHANNEL item). */
const released = {
  eventId: matched.eventId,
  occurredAt: '2026-11-24T09:30:00+08:00',
  matchedBy: 'DISCREPANCY_RESOLUTION',
  discrepancyId: '1001',
  channel: matched.channel,
  businessDate: matched.businessDate,
  merchantId: matched.merchantId,
  transaction: matched.transaction,
} as const;

const { reasonOf, valueOf, itRejectsEach, itDecodes, itAgreesWithTheFullSchema } = contractSpec({
  parse: parseReconItemMatchedV1,
  decode: decodeReconItemMatchedV1,
  schema: reconItemMatchedV1Schema,
});

function withTransaction(changes: Record<string, unknown>): Record<string, unknown> {
  return { ...matched, transaction: { ...matched.transaction, ...changes } };
}

function withLine(changes: Record<string, unknown>): Record<string, unknown> {
  return { ...matched, statementLine: { ...matched.statementLine, ...changes } };
}

describe('reconItemMatchedEventId', () => {
  it("equals Postgres md5('recon.item-matched.v1:' || channel || ':' || event_id)::uuid", () => {
    // Printed by: psql -c "select md5('recon.item-matched.v1:WECHAT:e1')::uuid"
    expect(reconItemMatchedEventId('WECHAT', 'e1')).toBe('665c62ba-24ee-0d59-8573-2ad7a3e65b00');
    // select md5('recon.item-matched.v1:ALIPAY:e-O202611220000000')::uuid
    expect(reconItemMatchedEventId('ALIPAY', 'e-O202611220000000')).toBe(
      'aac8e820-2581-78f9-4eb2-4e4d16be934f',
    );
  });

  it('is the md5 hex digest of the UTF-8 key, laid out 8-4-4-4-12', () => {
    const hex = createHash('md5').update('recon.item-matched.v1:WECHAT:e1').digest('hex');
    expect(hex).toBe('665c62ba24ee0d5985732ad7a3e65b00');
    expect(reconItemMatchedEventId('WECHAT', 'e1').replaceAll('-', '')).toBe(hex);
    fc.assert(
      fc.property(fc.string({ maxLength: 16 }), fc.string({ maxLength: 40 }), (channel, eventId) => {
        const expected = createHash('md5')
          .update(Buffer.from(`recon.item-matched.v1:${channel}:${eventId}`, 'utf8'))
          .digest('hex')
          .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
        expect(reconItemMatchedEventId(channel, eventId)).toBe(expected);
      }),
    );
  });

  it('is deterministic, and differs per channel and per transaction', () => {
    const id = reconItemMatchedEventId('WECHAT', 'e1');
    expect(reconItemMatchedEventId('WECHAT', 'e1')).toBe(id);
    expect(reconItemMatchedEventId('ALIPAY', 'e1')).not.toBe(id);
    expect(reconItemMatchedEventId('WECHAT', 'e2')).not.toBe(id);
  });

  it('is accepted as eventId although it is no RFC 9562 version-4 uuid', () => {
    const eventId = reconItemMatchedEventId('ALIPAY', 'e-O202611220000000');
    expect(valueOf({ ...matched, eventId }).eventId).toBe(eventId);
  });
});

describe('recon.item-matched.v1 accepts', () => {
  it('a matched payment, a matched refund and an item released by a resolution', () => {
    expect(valueOf(matched)).toEqual(matched);
    expect(valueOf(refund)).toEqual(refund);
    expect(valueOf(released)).toEqual(released);
  });

  it('a resolution that released the item with its line', () => {
    const value = valueOf({ ...released, statementLine: matched.statementLine });
    expect(value.statementLine).toEqual(matched.statementLine);
  });

  it('every optional field, kept as sent', () => {
    const full = {
      ...matched,
      transaction: {
        ...matched.transaction,
        channelTxnId: '4200001234202611220000000',
        paymentMethod: 'BALANCE',
        coupon: { amount: '10.00', merchantFunded: '6.00', platformFunded: '4' },
      },
      statementLine: { ...matched.statementLine, channelTxnId: '4200001234202611220000000' },
    };
    expect(valueOf(full)).toEqual(full);
  });

  it('a line without a fee, and fees that are zero or negative', () => {
    const { fee: _, ...lineWithoutFee } = matched.statementLine;
    expect(valueOf({ ...matched, statementLine: lineWithoutFee }).statementLine).not.toHaveProperty('fee');
    expect(valueOf(withLine({ fee: '0.00' })).statementLine?.fee).toBe('0.00');
    expect(valueOf(withLine({ fee: '-0.34' })).statementLine?.fee).toBe('-0.34');
    expect(valueOf(withLine({ fee: '-1' })).statementLine?.fee).toBe('-1');
  });

  it('amounts at or below the currency scale, statement figures included', () => {
    const jpy = {
      ...matched,
      transaction: { ...matched.transaction, amount: '1500', currency: 'JPY' },
      statementLine: { ...matched.statementLine, amount: '1500', fee: '-9' },
    };
    expect(valueOf(jpy).statementLine?.fee).toBe('-9');
    const bhd = {
      ...matched,
      transaction: { ...matched.transaction, amount: '1.250', currency: 'BHD' },
      statementLine: { ...matched.statementLine, amount: '1.25', fee: '-0.004' },
    };
    expect(valueOf(bhd).statementLine?.fee).toBe('-0.004');
  });

  it('the largest bigint id, a leap day and the last second of a day', () => {
    const value = valueOf({
      ...withLine({ statementFileId: '9223372036854775807', tradeTime: '2028-02-29 23:59:59' }),
      matchRunId: '9223372036854775807',
      businessDate: '2028-02-29',
    });
    expect([value.matchRunId, value.statementLine?.statementFileId, value.businessDate]).toEqual([
      '9223372036854775807',
      '9223372036854775807',
      '2028-02-29',
    ]);
  });

  it('strips unknown fields at every level without touching the input', () => {
    const input = {
      ...matched,
      newField: 'x',
      transaction: { ...matched.transaction, metadata: { source: 'app' } },
      statementLine: { ...matched.statementLine, status: 'SUCCESS' },
    };
    const snapshot = structuredClone(input);
    const value = valueOf(input);
    expect(value).not.toHaveProperty('newField');
    expect(value.transaction).not.toHaveProperty('metadata');
    expect(value.statementLine).not.toHaveProperty('status');
    expect(value).toEqual(matched);
    expect(input).toEqual(snapshot);
  });
});

describe('recon.item-matched.v1 rejects, naming each bad field in one line', () => {
  itRejectsEach([
    ['a missing eventId', { ...matched, eventId: undefined }, 'eventId: required'],
    [
      'an eventId that is no uuid',
      { ...matched, eventId: 'e-1' },
      'eventId: must be a lower-case UUID (8-4-4-4-12 hex digits), got "e-1"',
    ],
    [
      'an upper-case uuid (a second spelling of the same id)',
      { ...matched, eventId: '665C62BA-24EE-0D59-8573-2AD7A3E65B00' },
      'eventId: must be a lower-case UUID (8-4-4-4-12 hex digits), got "665C62BA-24EE-0D59-8573-2AD7A3E65B00"',
    ],
    [
      'a uuid without dashes',
      { ...matched, eventId: '665c62ba24ee0d5985732ad7a3e65b00' },
      'eventId: must be a lower-case UUID (8-4-4-4-12 hex digits), got "665c62ba24ee0d5985732ad7a3e65b00"',
    ],
    [
      'occurredAt without offset',
      { ...matched, occurredAt: '2026-11-23T10:00:05' },
      `occurredAt: "2026-11-23T10:00:05" has no UTC offset; an instant needs 'Z' or ±HH:mm`,
    ],
    [
      'an unknown matchedBy',
      { ...matched, matchedBy: 'MANUAL' },
      'matchedBy: must be one of MATCH_RUN, DISCREPANCY_RESOLUTION, got "MANUAL"',
    ],
    [
      'a match run without matchRunId',
      { ...matched, matchRunId: undefined },
      'matchRunId: required when matchedBy is MATCH_RUN',
    ],
    [
      'a match run with a discrepancyId',
      { ...matched, discrepancyId: '5' },
      'discrepancyId: must be absent when matchedBy is MATCH_RUN',
    ],
    [
      'a match run without a statement line',
      { ...matched, statementLine: undefined },
      'statementLine: required when matchedBy is MATCH_RUN',
    ],
    [
      'a resolution without discrepancyId',
      { ...released, discrepancyId: undefined },
      'discrepancyId: required when matchedBy is DISCREPANCY_RESOLUTION',
    ],
    [
      'a resolution with a matchRunId',
      { ...released, matchRunId: '41' },
      'matchRunId: must be absent when matchedBy is DISCREPANCY_RESOLUTION',
    ],
    [
      'matchRunId as a JSON number',
      { ...matched, matchRunId: 41 },
      'matchRunId: must be a string, got a JSON number (41)',
    ],
    [
      'matchRunId with a leading zero',
      { ...matched, matchRunId: '041' },
      'matchRunId: must be a positive integer in decimal digits without leading zeros, got "041"',
    ],
    [
      'matchRunId zero',
      { ...matched, matchRunId: '0' },
      'matchRunId: must be a positive integer in decimal digits without leading zeros, got "0"',
    ],
    [
      'matchRunId of 20 digits',
      { ...matched, matchRunId: '1'.repeat(20) },
      'matchRunId: must be 1..19 characters, got 20',
    ],
    [
      'matchRunId beyond bigint',
      { ...matched, matchRunId: '9223372036854775808' },
      'matchRunId: "9223372036854775808" is beyond the bigint range (at most 9223372036854775807)',
    ],
    [
      'a negative discrepancyId',
      { ...released, discrepancyId: '-5' },
      'discrepancyId: must be a positive integer in decimal digits without leading zeros, got "-5"',
    ],
    [
      'a lower-case channel',
      { ...matched, channel: 'wechat' },
      'channel: must be an upper-case channel code like WECHAT or ALIPAY, got "wechat"',
    ],
    [
      'a business date that is not on the calendar',
      { ...matched, businessDate: '2026-02-29' },
      `businessDate: "2026-02-29" is not a date 'YYYY-MM-DD'`,
    ],
    [
      'a business date with a time',
      { ...matched, businessDate: '2026-11-22T00:00:00Z' },
      `businessDate: "2026-11-22T00:00:00Z" is not a date 'YYYY-MM-DD'`,
    ],
    [
      'a business date as a number',
      { ...matched, businessDate: 20261122 },
      `businessDate: must be a date string 'YYYY-MM-DD', got a JSON number (20261122)`,
    ],
    [
      'a merchantId with a space',
      { ...matched, merchantId: 'M 1' },
      'merchantId: must be letters, digits, "_" or "-", got "M 1"',
    ],
    ['a missing transaction', { ...matched, transaction: undefined }, 'transaction: required'],
    [
      'a transaction that is not an object',
      { ...matched, transaction: 'e1' },
      'transaction: must be an object, got a string ("e1")',
    ],
    [
      'a transaction eventId of 129 characters',
      withTransaction({ eventId: 'e'.repeat(129) }),
      'transaction.eventId: must be 1..128 characters, got 129',
    ],
    [
      'a reversal (never matched into clearing)',
      withTransaction({ type: 'PAYMENT_REVERSED' }),
      'transaction.type: must be one of PAYMENT_SUCCEEDED, REFUND_SUCCEEDED, got "PAYMENT_REVERSED"',
    ],
    [
      'a refund without refundNo',
      { ...refund, transaction: { ...refundTransaction, refundNo: undefined } },
      'transaction.refundNo: required when type is REFUND_SUCCEEDED',
    ],
    [
      'a payment with a refundNo',
      withTransaction({ refundNo: 'R1' }),
      'transaction.refundNo: must be absent when type is PAYMENT_SUCCEEDED',
    ],
    [
      'a transaction amount as a JSON number',
      withTransaction({ amount: 239.54 }),
      'transaction.amount: must be a decimal string, got a JSON number (239.54)',
    ],
    [
      'a zero transaction amount',
      withTransaction({ amount: '0.00' }),
      'transaction.amount: "0.00" is zero; a non-zero amount is required',
    ],
    [
      'a negative transaction amount',
      withTransaction({ amount: '-239.54' }),
      'transaction.amount: "-239.54" is negative; amounts on the wire are never negative (the event type carries the direction)',
    ],
    [
      '"1.005" CNY',
      withTransaction({ amount: '1.005' }),
      'transaction.amount: "1.005" has 3 fraction digits; CNY allows at most 2',
    ],
    [
      'an unknown currency',
      withTransaction({ currency: 'XXX' }),
      'transaction.currency: must be an active ISO 4217 currency code like CNY, got "XXX"',
    ],
    [
      'coupon parts that do not add up',
      withTransaction({ coupon: { amount: '10.00', merchantFunded: '5.00', platformFunded: '3.00' } }),
      'transaction.coupon: merchantFunded 5.00 + platformFunded 3.00 = 8.00, but amount is 10.00; the parts must add up exactly',
    ],
    [
      'a coupon part too precise',
      withTransaction({ coupon: { amount: '1.00', merchantFunded: '1.005', platformFunded: '0' } }),
      'transaction.coupon.merchantFunded: "1.005" has 3 fraction digits; CNY allows at most 2',
    ],
    [
      'a coupon missing a part',
      withTransaction({ coupon: { amount: '1.00', merchantFunded: '1.00' } }),
      'transaction.coupon.platformFunded: required',
    ],
    [
      'a null optional field',
      withTransaction({ channelTxnId: null }),
      'transaction.channelTxnId: must be a string, got null',
    ],
    [
      'a statement line that is null',
      { ...matched, statementLine: null },
      'statementLine: must be an object, got null',
    ],
    [
      'a statementFileId as a JSON number',
      withLine({ statementFileId: 7 }),
      'statementLine.statementFileId: must be a string, got a JSON number (7)',
    ],
    [
      'a line number 0',
      withLine({ lineNo: 0 }),
      'statementLine.lineNo: must be at least 1 (lines count from 1), got 0',
    ],
    [
      'a fractional line number',
      withLine({ lineNo: 2.5 }),
      'statementLine.lineNo: must be an integer, got a JSON number (2.5)',
    ],
    [
      'a line number as a string',
      withLine({ lineNo: '2' }),
      'statementLine.lineNo: must be an integer, got a string ("2")',
    ],
    [
      'a zero line amount',
      withLine({ amount: '0' }),
      'statementLine.amount: "0" is zero; a non-zero amount is required',
    ],
    [
      'a negative line amount',
      withLine({ amount: '-239.54' }),
      'statementLine.amount: "-239.54" is negative; amounts on the wire are never negative (the event type carries the direction)',
    ],
    [
      'a line amount too precise for the currency',
      withLine({ amount: '239.540' }),
      'statementLine.amount: "239.540" has 3 fraction digits; CNY allows at most 2',
    ],
    [
      'a fee as a JSON number',
      withLine({ fee: -0.34 }),
      'statementLine.fee: must be a decimal string, got a JSON number (-0.34)',
    ],
    [
      'a fee with a plus sign',
      withLine({ fee: '+1.44' }),
      `statementLine.fee: "+1.44" is not a plain decimal string (digits with an optional '-' and '.'; no exponent, '+', spaces or leading zeros)`,
    ],
    [
      'a fee in exponent form',
      withLine({ fee: '-1e-2' }),
      `statementLine.fee: "-1e-2" is not a plain decimal string (digits with an optional '-' and '.'; no exponent, '+', spaces or leading zeros)`,
    ],
    [
      'a fee too precise for the currency',
      withLine({ fee: '-0.345' }),
      'statementLine.fee: "-0.345" has 3 fraction digits; CNY allows at most 2',
    ],
    [
      'a fee of 65 characters',
      withLine({ fee: `-${'1'.repeat(64)}` }),
      `statementLine.fee: "-${'1'.repeat(63)}…" is 65 characters long; a decimal string has at most 64`,
    ],
    [
      'a trade time with an offset',
      withLine({ tradeTime: '2026-11-22T21:49:20+08:00' }),
      `statementLine.tradeTime: "2026-11-22T21:49:20+08:00" is not a local date-time 'YYYY-MM-DD HH:mm:ss'`,
    ],
    [
      'a trade time on no calendar day',
      withLine({ tradeTime: '2026-11-31 01:16:07' }),
      `statementLine.tradeTime: "2026-11-31 01:16:07" is not a local date-time 'YYYY-MM-DD HH:mm:ss'`,
    ],
    [
      'a trade time at 24:00',
      withLine({ tradeTime: '2026-11-22 24:00:00' }),
      `statementLine.tradeTime: "2026-11-22 24:00:00" is not a local date-time 'YYYY-MM-DD HH:mm:ss'`,
    ],
    ['a line without tradeTime', withLine({ tradeTime: undefined }), 'statementLine.tradeTime: required'],
  ]);

  it('lists every problem at once, cross-field ones included', () => {
    expect(
      reasonOf({
        ...matched,
        matchRunId: undefined,
        merchantId: undefined,
        transaction: { ...refundTransaction, refundNo: undefined, amount: '1.005' },
        statementLine: { ...matched.statementLine, fee: '-0.345' },
      }),
    ).toBe(
      'merchantId: required; matchRunId: required when matchedBy is MATCH_RUN; transaction.refundNo: required when type is REFUND_SUCCEEDED; transaction.amount: "1.005" has 3 fraction digits; CNY allows at most 2; statementLine.fee: "-0.345" has 3 fraction digits; CNY allows at most 2',
    );
  });

  it('does not judge ids against a matchedBy it does not know, nor amounts without a currency', () => {
    expect(reasonOf({ ...matched, matchedBy: 'MANUAL', discrepancyId: '5' })).toBe(
      'matchedBy: must be one of MATCH_RUN, DISCREPANCY_RESOLUTION, got "MANUAL"',
    );
    expect(
      reasonOf({ ...withLine({ fee: '-0.345' }), transaction: { ...matched.transaction, currency: 'XXX' } }),
    ).toBe('transaction.currency: must be an active ISO 4217 currency code like CNY, got "XXX"');
  });

  it('rejects what is not an object', () => {
    expect(reasonOf(null)).toBe('event: must be a JSON object, got null');
    expect(reasonOf([matched])).toBe('event: must be a JSON object, got an array');
  });
});

describe('decodeReconItemMatchedV1', () => {
  itDecodes(matched, [
    ...UNREADABLE_MESSAGE_VALUES,
    [
      'a bad field',
      JSON.stringify({ ...matched, matchRunId: 41 }),
      'matchRunId: must be a string, got a JSON number (41)',
    ],
  ]);
});

describe('recon.item-matched.v1 JSON Schema', () => {
  const jsonSchema = itIsRegistered('recon.item-matched.v1', { name: 'ReconItemMatched', version: 1 });

  it('tells publishers the required fields, the id and money formats and the conditional rules', () => {
    const schema = jsonSchema() as {
      $id: string;
      title: string;
      required: string[];
      allOf: unknown[];
      'x-rules': string[];
      properties: Record<
        string,
        {
          pattern?: string;
          format?: string;
          required?: string[];
          allOf?: unknown[];
          properties?: Record<string, { pattern?: string; enum?: string[] }>;
        }
      >;
    };
    expect(schema.$id).toBe('urn:clearing-settlement-engine:contract:recon.item-matched.v1');
    expect(schema.title).toBe('ReconItemMatched v1');
    expect(schema.required).toEqual([
      'eventId',
      'occurredAt',
      'matchedBy',
      'channel',
      'businessDate',
      'merchantId',
      'transaction',
    ]);
    expect(schema.properties.eventId?.format).toBe('uuid');
    expect(schema.properties.businessDate?.format).toBe('date');
    expect(schema.properties.matchRunId?.pattern).toBe('^[1-9][0-9]*$');
    expect(schema.properties.transaction?.required).toEqual([
      'eventId',
      'type',
      'orderNo',
      'amount',
      'currency',
      'occurredAt',
    ]);
    expect(schema.properties.transaction?.properties?.type?.enum).toEqual([
      'PAYMENT_SUCCEEDED',
      'REFUND_SUCCEEDED',
    ]);
    expect(schema.properties.transaction?.allOf).toHaveLength(1);
    expect(schema.properties.statementLine?.required).toEqual([
      'statementFileId',
      'lineNo',
      'amount',
      'tradeTime',
    ]);
    expect(schema.properties.statementLine?.properties?.amount?.pattern).toBe('^(0|[1-9]\\d*)(\\.\\d+)?$');
    expect(schema.properties.statementLine?.properties?.fee?.pattern).toBe('^-?(0|[1-9]\\d*)(\\.\\d+)?$');
    expect(schema.allOf).toHaveLength(2);
    expect(schema['x-rules'].length).toBeGreaterThan(5);
    expect(schema).not.toHaveProperty('additionalProperties');
  });
});

describe('recon.item-matched.v1 fast path', () => {
  const junk = junkOf(
    [
      undefined,
      null,
      '',
      0,
      1,
      -1,
      2.5,
      true,
      [],
      {},
      '0',
      '41',
      '041',
      '9223372036854775808',
      '1.005',
      '0.00',
      '-0.34',
      '-0.345',
      '+1',
      'CNY',
      'JPY',
      'XXX',
      'MATCH_RUN',
      'DISCREPANCY_RESOLUTION',
      'REFUND_SUCCEEDED',
      'PAYMENT_REVERSED',
      '2026-02-29',
      '2026-11-22 24:00:00',
      'R1',
    ],
    { jsonMaxDepth: 2 },
  );
  const mutated = mutatedEvents({
    bases: [matched, refund, released],
    junk,
    fields: [...Object.keys(matched), 'discrepancyId', 'extra'],
    maxChanges: 2,
    nested: [
      {
        key: 'transaction',
        fields: [...Object.keys(refundTransaction), 'coupon', 'channelTxnId', 'paymentMethod'],
        maxChanges: 2,
      },
      // A released item has no line of its own: a changed line starts from the matched one.
      {
        key: 'statementLine',
        fields: [...Object.keys(matched.statementLine), 'channelTxnId'],
        maxChanges: 2,
        from: matched.statementLine,
      },
    ],
  });

  // Enough valid events to mean something (the mutator leaves ~6% valid, so ~300 of 5,000 on
  // average; the bound sits well below that so a random seed cannot fail it).
  itAgreesWithTheFullSchema(mutated, { numRuns: 5000, minAccepted: 150 });
});
