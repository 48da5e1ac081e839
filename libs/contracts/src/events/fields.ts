import { z } from 'zod';
import { CURRENCY_CODES } from '../currency.js';
import { MoneyError, TimeError, describeValue } from '../errors.js';
import { DECIMAL_STRING_MAX_LENGTH, UNSIGNED_DECIMAL_STRING_PATTERN, parseDecimalString } from '../money.js';
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
