import { z } from 'zod';
import { CURRENCY_CODES } from '../currency.js';
import { MoneyError, TimeError, describeValue } from '../errors.js';
import {
  DECIMAL_STRING_MAX_LENGTH,
  DECIMAL_STRING_PATTERN,
  UNSIGNED_DECIMAL_STRING_PATTERN,
  parseDecimalString,
} from '../money.js';
import { ISO_INSTANT_MAX_LENGTH, isoInstantToEpochMillis } from '../business-date.js';

/**
 * Field builders shared by every event contract, so the same field means the same rule (and the
 * same error text) on every topic. Each message is written for the publisher reading a DLQ header.
 */

type RawIssue = z.core.$ZodRawIssue;

/** Names the JSON type actually received, which is what a publisher needs to find its bug. */
export function describeJsonType(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'an array';
  switch (typeof input) {
    case 'number':
      return `a JSON number (${describeValue(input)})`;
    case 'string':
      return `a string (${describeValue(input)})`;
    case 'boolean':
      return `a boolean (${describeValue(input)})`;
    case 'object':
      return 'an object';
    default:
      return describeValue(input);
  }
}

export function typeError(expected: string): (issue: RawIssue) => string {
  return (issue) =>
    issue.input === undefined ? 'required' : `must be ${expected}, got ${describeJsonType(issue.input)}`;
}

function lengthError(min: number, max: number): (issue: RawIssue) => string {
  return (issue) => {
    const length = typeof issue.input === 'string' ? [...issue.input].length : 0;
    return length === 0 && min > 0 ? 'must not be empty' : `must be ${min}..${max} characters, got ${length}`;
  };
}

export interface TextFieldSpec {
  min: number;
  max: number;
  pattern?: RegExp;
  /** How the pattern reads in words, for the error message. */
  patternHint?: string;
  description: string;
}

export function textField(spec: TextFieldSpec) {
  const lengthMessage = lengthError(spec.min, spec.max);
  let field = z
    .string({ error: typeError('a string') })
    // abort: a string of the wrong length gets one message, not a second one from the pattern.
    .min(spec.min, { error: lengthMessage, abort: true })
    .max(spec.max, { error: lengthMessage, abort: true });
  if (spec.pattern !== undefined) {
    const hint = spec.patternHint ?? `/${spec.pattern.source}/`;
    field = field.regex(spec.pattern, {
      error: (issue) => `must be ${hint}, got ${describeValue(issue.input)}`,
    });
  }
  return field.describe(spec.description);
}

/** Visible ASCII without spaces: identifiers that travel through CSV statements and headers. */
export const VISIBLE_ASCII = /^[!-~]+$/;

export function identifierField(max: number, description: string) {
  return textField({
    min: 1,
    max,
    pattern: VISIBLE_ASCII,
    patternHint: 'visible ASCII without spaces',
    description,
  });
}

export const merchantIdField = textField({
  min: 1,
  max: 64,
  pattern: /^[A-Za-z0-9_-]+$/,
  patternHint: 'letters, digits, "_" or "-"',
  description: 'Merchant the item belongs to; also the Kafka message key.',
});

export const channelField = textField({
  min: 1,
  max: 32,
  pattern: /^[A-Z][A-Z0-9_]*$/,
  patternHint: 'an upper-case channel code like WECHAT or ALIPAY',
  description:
    'Payment channel code (WECHAT, ALIPAY, UNIONPAY, …): which statement this item is reconciled against.',
});

const UNSIGNED_DECIMAL_RE = new RegExp(UNSIGNED_DECIMAL_STRING_PATTERN);

/** The field-level message for an amount that is not an unsigned plain decimal string. */
function amountSyntaxError(issue: RawIssue): string {
  try {
    parseDecimalString(issue.input);
  } catch (error) {
    if (error instanceof MoneyError) return error.message;
    throw error;
  }
  return `${describeValue(issue.input)} is negative; amounts on the wire are never negative (the event type carries the direction)`;
}

/**
 * Syntax only; the scale depends on the currency, so each contract checks it at object level with
 * Money.parse. The pattern is here so the JSON Schema shows publishers the exact format.
 */
export function amountField(description: string) {
  return z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? 'required'
          : `must be a decimal string, got ${describeJsonType(issue.input)}`,
    })
    .max(DECIMAL_STRING_MAX_LENGTH, { error: (issue) => amountSyntaxError(issue) })
    .regex(UNSIGNED_DECIMAL_RE, { error: amountSyntaxError })
    .describe(description);
}

export const currencyField = z
  .enum(CURRENCY_CODES, {
    error: (issue) =>
      issue.input === undefined
        ? 'required'
        : `must be an active ISO 4217 currency code like CNY, got ${describeValue(issue.input)}`,
  })
  .describe('ISO 4217 currency code (upper case). Every amount in the event is in this currency.');

export function instantField(description: string) {
  return z
    .string({ error: typeError('an ISO-8601 date-time string') })
    .max(ISO_INSTANT_MAX_LENGTH, {
      error: (issue) => `is longer than ${ISO_INSTANT_MAX_LENGTH} characters: ${describeValue(issue.input)}`,
    })
    .check((payload) => {
      try {
        isoInstantToEpochMillis(payload.value);
      } catch (error) {
        if (!(error instanceof TimeError)) throw error;
        payload.issues.push({ code: 'custom', message: error.message, input: payload.value, continue: true });
      }
    })
    .meta({ format: 'date-time', description });
}

const SIGNED_DECIMAL_RE = new RegExp(DECIMAL_STRING_PATTERN);

/**
 * A decimal string that may be negative: for figures whose sign is part of the fact (a channel fee
 * returned on a refund), where amountField would refuse "-0.30". Syntax only, like amountField;
 * the contract checks the currency scale at object level with Money.validate(allowNegative).
 */
export function signedAmountField(description: string) {
  const syntaxError = (issue: RawIssue): string => {
    try {
      parseDecimalString(issue.input);
    } catch (error) {
      if (error instanceof MoneyError) return error.message;
      throw error;
    }
    // Unreachable: both checks use the same pattern and length bound as parseDecimalString.
    return `${describeValue(issue.input)} is not a plain decimal string`;
  };
  return z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? 'required'
          : `must be a decimal string, got ${describeJsonType(issue.input)}`,
    })
    .max(DECIMAL_STRING_MAX_LENGTH, { error: syntaxError })
    .regex(SIGNED_DECIMAL_RE, { error: syntaxError })
    .describe(description);
}

/**
 * Lower case only, and any version nibble: ids derived with Postgres `md5(...)::uuid` are not
 * RFC 9562 version 4 (zod's z.uuid() would refuse them), and one spelling per id keeps inbox
 * deduplication, which compares strings, from seeing one id as two.
 */
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function uuidField(description: string) {
  return z
    .string({ error: typeError('a string') })
    .regex(UUID_RE, {
      error: (issue) =>
        `must be a lower-case UUID (8-4-4-4-12 hex digits), got ${describeValue(issue.input)}`,
    })
    .meta({ format: 'uuid', description });
}

/** Postgres bigint: the largest id an identity column can hand out. */
export const BIGINT_ID_MAX = '9223372036854775807';

/**
 * A Postgres bigint id as a string (a JSON number loses digits past 2^53). No sign, no leading
 * zeros: one spelling per id, so ids compare as strings.
 */
export function bigintIdField(description: string) {
  return textField({
    min: 1,
    max: BIGINT_ID_MAX.length,
    pattern: /^[1-9][0-9]*$/,
    patternHint: 'a positive integer in decimal digits without leading zeros',
    description,
  }).check((payload) => {
    const value = payload.value;
    // Same length, digits only: string order is numeric order.
    if (value.length === BIGINT_ID_MAX.length && /^[0-9]+$/.test(value) && value > BIGINT_ID_MAX) {
      payload.issues.push({
        code: 'custom',
        message: `${describeValue(value)} is beyond the bigint range (at most ${BIGINT_ID_MAX})`,
        input: value,
        continue: true,
      });
    }
  });
}

const ISO_DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const LOCAL_DATE_TIME_RE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

function isCalendarDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days =
    month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return day <= days;
}

/** A business date (账期日) 'YYYY-MM-DD' that exists on the calendar: "2026-02-30" is refused. */
export function businessDateField(description: string) {
  return z
    .string({ error: typeError("a date string 'YYYY-MM-DD'") })
    .check((payload) => {
      const m = ISO_DATE_RE.exec(payload.value);
      if (m === null || !isCalendarDate(Number(m[1]), Number(m[2]), Number(m[3]))) {
        payload.issues.push({
          code: 'custom',
          message: `${describeValue(payload.value)} is not a date 'YYYY-MM-DD'`,
          input: payload.value,
          continue: true,
        });
      }
    })
    .meta({ format: 'date', pattern: ISO_DATE_RE.source, description });
}

/**
 * A channel's local wall-clock time as its statement prints it, 'YYYY-MM-DD HH:mm:ss' without an
 * offset (the channel calendar's zone gives it one). Must be a real date and clock time.
 */
export function localDateTimeField(description: string) {
  return z
    .string({ error: typeError("a date-time string 'YYYY-MM-DD HH:mm:ss'") })
    .check((payload) => {
      const m = LOCAL_DATE_TIME_RE.exec(payload.value);
      const valid =
        m !== null &&
        isCalendarDate(Number(m[1]), Number(m[2]), Number(m[3])) &&
        Number(m[4]) <= 23 &&
        Number(m[5]) <= 59 &&
        Number(m[6]) <= 59;
      if (!valid) {
        payload.issues.push({
          code: 'custom',
          message: `${describeValue(payload.value)} is not a local date-time 'YYYY-MM-DD HH:mm:ss'`,
          input: payload.value,
          continue: true,
        });
      }
    })
    .meta({ pattern: LOCAL_DATE_TIME_RE.source, description });
}

/**
 * The JSON type received, without the value: for fields whose value must not be copied into a DLQ
 * reason or a log (an account number, a person's name).
 */
export function describeJsonKind(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'an array';
  switch (typeof input) {
    case 'number':
      return 'a JSON number';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'an object';
    default:
      return `a ${typeof input}`;
  }
}

// Control characters (C0, DEL, C1) spelled as \x ranges rather than \p{Cc}: the pattern is
// published in the JSON Schema, and validators outside JavaScript (Python's re) lack \p{…}.
const PRINTABLE_TEXT_RE =
  // eslint-disable-next-line no-control-regex
  /^[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f\u2028\u2029]*[^\s\x00-\x1f\x7f-\x9f])?$/;

/**
 * Text for people and banks (an account holder's name, a bank's name, a payout memo): any script,
 * but no control characters or line breaks, and no leading or trailing white space — a bank
 * compares the holder name as sent, so " 张三" is a different name (户名不符). The message never
 * repeats the value: it may be a person's name.
 */
export function printableTextField(max: number, description: string) {
  const kindError = (issue: RawIssue) =>
    issue.input === undefined ? 'required' : `must be a string, got ${describeJsonKind(issue.input)}`;
  const lengthMessage = lengthError(1, max);
  return z
    .string({ error: kindError })
    .min(1, { error: lengthMessage, abort: true })
    .max(max, { error: lengthMessage, abort: true })
    .regex(PRINTABLE_TEXT_RE, {
      error: 'must be printable text without line breaks, control characters or leading/trailing spaces',
    })
    .describe(description);
}
