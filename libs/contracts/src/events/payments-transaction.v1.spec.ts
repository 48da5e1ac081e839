import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { EVENT_MAX_BYTES } from './contract.js';
import { SAMPLES_DIR } from '../../../../test/support/samples.js';
import { contractSpec, junkOf, mutatedEvents } from './contract-spec-support.js';
import {
  decodePaymentsTransactionV1,
  parsePaymentsTransactionV1,
  paymentsTransactionV1Schema,
} from './payments-transaction.v1.js';

const samplesDir = SAMPLES_DIR;
const sampleLines = readFileSync(path.join(samplesDir, 'internal-events.jsonl'), 'utf8').trim().split('\n');

const payment = {
  eventId: 'e-O202611220000000',
  type: 'PAYMENT_SUCCEEDED',
  occurredAt: '2026-11-22T13:49:20.000Z',
  merchantId: 'M00013',
  channel: 'WECHAT',
  orderNo: 'O202611220000000',
  amount: '239.54',
  currency: 'CNY',
} as const;

const refund = {
  ...payment,
  eventId: 'e-RO202611220000011',
  type: 'REFUND_SUCCEEDED',
  refundNo: 'RO202611220000011',
  amount: '57.45',
} as const;

const { reasonOf, valueOf, itRejectsEach, itDecodes, itAgreesWithTheFullSchema } = contractSpec({
  parse: parsePaymentsTransactionV1,
  decode: decodePaymentsTransactionV1,
  schema: paymentsTransactionV1Schema,
});

describe('payments.transaction.v1 samples', () => {
  it('decodes every line of the shared sample file', () => {
    expect(sampleLines).toHaveLength(36);
    const types: Record<string, number> = {};
    for (const line of sampleLines) {
      const result = decodePaymentsTransactionV1(Buffer.from(line, 'utf8'));
      if (!result.ok) throw new Error(`${line}\n→ ${result.reason}`);
      types[result.value.type] = (types[result.value.type] ?? 0) + 1;
      expect(result.value).toEqual(JSON.parse(line));
    }
    expect(types).toEqual({ PAYMENT_SUCCEEDED: 33, REFUND_SUCCEEDED: 3 });
  });
});

describe('payments.transaction.v1 accepts', () => {
  it('a payment, a refund and a reversal', () => {
    expect(valueOf(payment)).toEqual(payment);
    expect(valueOf(refund)).toEqual(refund);
    expect(valueOf({ ...payment, type: 'PAYMENT_REVERSED' }).type).toBe('PAYMENT_REVERSED');
  });

  it('amounts at or below the currency scale, in any currency', () => {
    expect(valueOf({ ...payment, amount: '1500', currency: 'JPY' }).amount).toBe('1500');
    expect(valueOf({ ...payment, amount: '1.250', currency: 'BHD' }).amount).toBe('1.250');
    expect(valueOf({ ...payment, amount: '239.5' }).amount).toBe('239.5');
    expect(valueOf({ ...payment, amount: '0.01' }).amount).toBe('0.01');
  });

  it('every optional field, kept as sent', () => {
    const full = {
      ...payment,
      channelTxnId: '4200001234202611220000000',
      paymentMethod: 'BALANCE',
      coupon: { amount: '10.00', merchantFunded: '6.00', platformFunded: '4' },
      metadata: { source: 'app', attempt: 2, vip: true, 'trace.id': 'abc-1' },
    };
    expect(valueOf(full)).toEqual(full);
    expect(
      valueOf({ ...payment, coupon: { amount: '0', merchantFunded: '0.00', platformFunded: '0' } }).coupon,
    ).toEqual({
      amount: '0',
      merchantFunded: '0.00',
      platformFunded: '0',
    });
  });

  it('occurredAt with any explicit offset', () => {
    for (const occurredAt of [
      '2026-11-22T21:49:20+08:00',
      '2026-11-22T13:49:20Z',
      '2026-11-22T21:49:20.123456+0800',
    ]) {
      expect(valueOf({ ...payment, occurredAt }).occurredAt).toBe(occurredAt);
    }
  });

  it('strips unknown fields (forward compatible) without touching the input', () => {
    const input = {
      ...payment,
      newField: 'x',
      coupon: { amount: '1.00', merchantFunded: '1.00', platformFunded: '0', extra: 1 },
    };
    const snapshot = structuredClone(input);
    const value = valueOf(input);
    expect(value).not.toHaveProperty('newField');
    expect(value.coupon).not.toHaveProperty('extra');
    expect(input).toEqual(snapshot);
    expect(value).not.toBe(input);
  });
});

describe('payments.transaction.v1 rejects, naming each bad field in one line', () => {
  itRejectsEach([
    [
      'amount as a JSON number',
      { ...payment, amount: 239.54 },
      'amount: must be a decimal string, got a JSON number (239.54)',
    ],
    ['a missing merchantId', { ...payment, merchantId: undefined }, 'merchantId: required'],
    [
      'a refund without refundNo',
      { ...refund, refundNo: undefined },
      'refundNo: required when type is REFUND_SUCCEEDED',
    ],
    [
      'a payment with a refundNo',
      { ...payment, refundNo: 'R1' },
      'refundNo: must be absent when type is PAYMENT_SUCCEEDED',
    ],
    [
      'a reversal with a refundNo',
      { ...payment, type: 'PAYMENT_REVERSED', refundNo: 'R1' },
      'refundNo: must be absent when type is PAYMENT_REVERSED',
    ],
    [
      'coupon parts that do not add up',
      { ...payment, coupon: { amount: '10.00', merchantFunded: '5.00', platformFunded: '3.00' } },
      'coupon: merchantFunded 5.00 + platformFunded 3.00 = 8.00, but amount is 10.00; the parts must add up exactly',
    ],
    [
      'coupon parts off by one fen',
      { ...payment, coupon: { amount: '10.00', merchantFunded: '5.00', platformFunded: '5.01' } },
      'coupon: merchantFunded 5.00 + platformFunded 5.01 = 10.01, but amount is 10.00; the parts must add up exactly',
    ],
    [
      '"1.005" CNY',
      { ...payment, amount: '1.005' },
      'amount: "1.005" has 3 fraction digits; CNY allows at most 2',
    ],
    [
      '"100.5" JPY',
      { ...payment, amount: '100.5', currency: 'JPY' },
      'amount: "100.5" has 1 fraction digit; JPY allows at most 0',
    ],
    [
      '"1e3"',
      { ...payment, amount: '1e3' },
      `amount: "1e3" is not a plain decimal string (digits with an optional '-' and '.'; no exponent, '+', spaces or leading zeros)`,
    ],
    [
      'an empty amount',
      { ...payment, amount: '' },
      `amount: "" is not a plain decimal string (digits with an optional '-' and '.'; no exponent, '+', spaces or leading zeros)`,
    ],
    [
      '"-1.00"',
      { ...payment, amount: '-1.00' },
      'amount: "-1.00" is negative; amounts on the wire are never negative (the event type carries the direction)',
    ],
    [
      'a zero amount',
      { ...payment, amount: '0.00' },
      'amount: "0.00" is zero; a non-zero amount is required',
    ],
    [
      'an unknown currency',
      { ...payment, currency: 'XXX' },
      'currency: must be an active ISO 4217 currency code like CNY, got "XXX"',
    ],
    [
      'a lower-case currency',
      { ...payment, currency: 'cny' },
      'currency: must be an active ISO 4217 currency code like CNY, got "cny"',
    ],
    [
      'occurredAt without offset',
      { ...payment, occurredAt: '2026-11-22T21:49:20' },
      `occurredAt: "2026-11-22T21:49:20" has no UTC offset; an instant needs 'Z' or ±HH:mm`,
    ],
    [
      'an impossible occurredAt',
      { ...payment, occurredAt: '2026-02-30T00:00:00Z' },
      'occurredAt: "2026-02-30T00:00:00Z" is not a calendar date',
    ],
    [
      'occurredAt as epoch millis',
      { ...payment, occurredAt: 1763819360000 },
      'occurredAt: must be an ISO-8601 date-time string, got a JSON number (1763819360000)',
    ],
    [
      'an unknown type',
      { ...payment, type: 'PAYMENT_FAILED' },
      'type: must be one of PAYMENT_SUCCEEDED, REFUND_SUCCEEDED, PAYMENT_REVERSED, got "PAYMENT_FAILED"',
    ],
    ['an empty eventId', { ...payment, eventId: '' }, 'eventId: must not be empty'],
    [
      'an eventId of 129 characters',
      { ...payment, eventId: 'e'.repeat(129) },
      'eventId: must be 1..128 characters, got 129',
    ],
    [
      'a merchantId with a space',
      { ...payment, merchantId: 'M 1' },
      'merchantId: must be letters, digits, "_" or "-", got "M 1"',
    ],
    [
      'a lower-case channel',
      { ...payment, channel: 'wechat' },
      'channel: must be an upper-case channel code like WECHAT or ALIPAY, got "wechat"',
    ],
    ['a null optional field', { ...payment, channelTxnId: null }, 'channelTxnId: must be a string, got null'],
    [
      'a coupon part too precise',
      { ...payment, coupon: { amount: '1.00', merchantFunded: '1.005', platformFunded: '0' } },
      'coupon.merchantFunded: "1.005" has 3 fraction digits; CNY allows at most 2',
    ],
    [
      'a coupon missing a part',
      { ...payment, coupon: { amount: '1.00', merchantFunded: '1.00' } },
      'coupon.platformFunded: required',
    ],
    [
      'a coupon that is not an object',
      { ...payment, coupon: '1.00' },
      'coupon: must be an object, got a string ("1.00")',
    ],
    [
      'too many metadata keys',
      { ...payment, metadata: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i])) },
      'metadata: has 33 keys; at most 32 allowed',
    ],
  ]);

  it('lists every problem at once, cross-field ones included', () => {
    expect(reasonOf({ ...payment, amount: 239.54, merchantId: undefined })).toBe(
      'merchantId: required; amount: must be a decimal string, got a JSON number (239.54)',
    );
    expect(reasonOf({ ...refund, merchantId: undefined, refundNo: undefined, amount: '1.005' })).toBe(
      'merchantId: required; refundNo: required when type is REFUND_SUCCEEDED; amount: "1.005" has 3 fraction digits; CNY allows at most 2',
    );
  });

  it('does not judge refundNo against a type it does not know', () => {
    expect(reasonOf({ ...payment, type: 'REFUND', refundNo: 'R1' })).toBe(
      'type: must be one of PAYMENT_SUCCEEDED, REFUND_SUCCEEDED, PAYMENT_REVERSED, got "REFUND"',
    );
  });

  it('rejects what is not an object', () => {
    expect(reasonOf(null)).toBe('event: must be a JSON object, got null');
    expect(reasonOf([payment])).toBe('event: must be a JSON object, got an array');
    expect(reasonOf('{}')).toBe('event: must be a JSON object, got a string ("{}")');
  });

  it.each<[string, unknown, string]>([
    [
      'a key not starting with a letter',
      { _private: 'x' },
      'metadata._private: key "_private" must start with a letter and use letters, digits, "_", ".", ":" or "-" (at most 64)',
    ],
    [
      'a nested object',
      { nested: { a: 1 } },
      'metadata.nested: must be a string, number or boolean, got an object',
    ],
    ['a null value', { a: null }, 'metadata.a: must be a string, number or boolean, got null'],
    ['a long string', { long: 'x'.repeat(257) }, 'metadata.long: must be at most 256 characters, got 257'],
    [
      'an array',
      [],
      'metadata: must be an object of string keys to string, number or boolean values, got an array',
    ],
  ])('reports metadata with %s', (_, metadata, reason) => {
    expect(reasonOf({ ...payment, metadata })).toBe(reason);
  });

  it('drops a "__proto__" metadata key instead of letting it reach a prototype', () => {
    const input = JSON.parse(`{"metadata":{"__proto__":{"polluted":1},"k":"v"}}`) as object;
    const value = valueOf({ ...payment, ...input });
    expect(value.metadata).toEqual({ k: 'v' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('caps a long list of problems', () => {
    const everythingWrong = Object.fromEntries(Object.keys(payment).map((key) => [key, 1]));
    const metadata = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, null]));
    const reason = reasonOf({ ...everythingWrong, metadata });
    expect(reason.split('; ')).toHaveLength(11);
    expect(reason).toMatch(/; and \d+ more$/);
  });
});

describe('decodePaymentsTransactionV1', () => {
  itDecodes(payment, [
    ['a null value (tombstone)', null, 'empty message value (null)'],
    ['an undefined value', undefined, 'empty message value (null)'],
    ['an empty buffer', Buffer.alloc(0), 'empty message value'],
    ['an empty string', '', 'empty message value'],
    ['truncated JSON', '{"eventId":"e-1","amount":', /^invalid JSON: /],
    ['not JSON at all', 'hello', /^invalid JSON: Unexpected token 'h', "hello" is not valid JSON$/],
    ['bad UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'message value is not valid UTF-8'],
    [
      'an oversized value',
      Buffer.alloc(EVENT_MAX_BYTES + 1, 0x20),
      `message value is ${EVENT_MAX_BYTES + 1} bytes; at most ${EVENT_MAX_BYTES} allowed`,
    ],
    ['valid JSON of the wrong shape', '[]', 'event: must be a JSON object, got an array'],
    [
      'amount as a number',
      JSON.stringify({ ...payment, amount: 239.54 }),
      'amount: must be a decimal string, got a JSON number (239.54)',
    ],
  ]);

  it('keeps an invalid-JSON reason short and on one line', () => {
    const result = decodePaymentsTransactionV1(`{"a":"${'x'.repeat(10_000)}`);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason.length).toBeLessThanOrEqual(220);
      expect(result.reason).not.toContain('\n');
    }
  });
});

describe('payments.transaction.v1 fast path', () => {
  const junk = junkOf(
    [
      undefined,
      null,
      '',
      ' ',
      0,
      1,
      -1,
      239.54,
      true,
      [],
      {},
      '1.005',
      '0',
      '0.00',
      '-1.00',
      '1e3',
      '100',
      '10.00',
      'CNY',
      'JPY',
      'XXX',
      'REFUND_SUCCEEDED',
      'PAYMENT_REVERSED',
      '2026-11-22T21:49:20',
      'R1',
      'M 1',
    ],
    { jsonMaxDepth: 2 },
  );
  const coupon = fc.oneof(
    fc.record({
      amount: fc.constantFrom('10.00', '10', '0'),
      merchantFunded: fc.constantFrom('6.00', '10', '0', '6.005'),
      platformFunded: fc.constantFrom('4.00', '0', '4', '-4'),
    }),
    junk,
  );
  const mutated = mutatedEvents({
    bases: [payment, refund, { ...payment, currency: 'JPY', amount: '1500' }],
    junk,
    fields: [...Object.keys(refund), 'channelTxnId', 'paymentMethod', 'metadata', 'extra'],
    maxChanges: 3,
    // The coupon, when there is one, is a well-formed one or junk, set after the field changes.
    replacements: { coupon: fc.option(coupon, { nil: undefined }) },
  });

  itAgreesWithTheFullSchema(mutated, { numRuns: 5000, minAccepted: 300 });

  it('parses 100k sample events well under a second', () => {
    const events = sampleLines.map((line) => JSON.parse(line) as unknown);
    const buffers = sampleLines.map((line) => Buffer.from(line, 'utf8'));
    for (let i = 0; i < 20_000; i++) parsePaymentsTransactionV1(events[i % events.length]); // warm up the JIT
    let ok = 0;
    const started = performance.now();
    for (let i = 0; i < 100_000; i++) if (parsePaymentsTransactionV1(events[i % events.length]).ok) ok++;
    const parseMs = performance.now() - started;
    const decodeStarted = performance.now();
    for (let i = 0; i < 100_000; i++) if (decodePaymentsTransactionV1(buffers[i % buffers.length]).ok) ok++;
    const decodeMs = performance.now() - decodeStarted;
    console.log(
      `payments.transaction.v1: 100k parses in ${parseMs.toFixed(0)} ms; 100k decodes (bytes → event) in ${decodeMs.toFixed(0)} ms`,
    );
    expect(ok).toBe(200_000);
    expect(parseMs).toBeLessThan(1000);
    expect(decodeMs).toBeLessThan(2000); // JSON.parse and UTF-8 included; slower under jest's vm than in production
  });
});
