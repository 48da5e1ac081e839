import type { z } from 'zod';
import { describeValue } from '../errors.js';

/**
 * What every consumer gets back from decoding a message: a typed value, or ONE line saying what is
 * wrong that can go into a DLQ header and a log as it is. Never throws on bad input — bad input is
 * an operating error the caller routes, not an exception.
 */
export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Kafka's default max.message.bytes is ~1 MiB; an event is a few hundred bytes. 64 KiB leaves room
 * for metadata while bounding the work one poison message can cause.
 */
export const EVENT_MAX_BYTES = 64 * 1024;
/** A reason goes into a Kafka header and a log line; past this many issues the rest is noise. */
export const REASON_MAX_ISSUES = 10;
const JSON_ERROR_MAX_CHARS = 200;

// fatal: a byte sequence that is not UTF-8 is rejected instead of becoming U+FFFD, which would
// otherwise slip through as a "valid" order number that matches nothing.
const utf8 = new TextDecoder('utf-8', { fatal: true });

function pathOf(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'event';
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** `amount: must be a decimal string, got a JSON number (239.54); merchantId: required` */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const issue of issues) {
    const line = `${pathOf(issue.path)}: ${issue.message}`;
    if (seen.has(line)) continue;
    seen.add(line);
    lines.push(line);
  }
  if (lines.length > REASON_MAX_ISSUES) {
    const more = lines.length - REASON_MAX_ISSUES;
    return `${lines.slice(0, REASON_MAX_ISSUES).join('; ')}; and ${more} more`;
  }
  return lines.join('; ');
}

export function parseWith<S extends z.ZodType>(schema: S, input: unknown): DecodeResult<z.output<S>> {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, reason: formatIssues(result.error.issues) };
}

/** Bytes off the wire (a Kafka message value) to a validated event, via the contract's parse function. */
export function decodeWith<T>(
  parse: (input: unknown) => DecodeResult<T>,
  value: Uint8Array | string | null | undefined,
): DecodeResult<T> {
  if (value === null || value === undefined) return { ok: false, reason: 'empty message value (null)' };
  const size = typeof value === 'string' ? value.length : value.byteLength;
  if (size === 0) return { ok: false, reason: 'empty message value' };
  // For a string this bounds UTF-16 units, not bytes; close enough for a guard against abuse.
  if (size > EVENT_MAX_BYTES) {
    return { ok: false, reason: `message value is ${size} bytes; at most ${EVENT_MAX_BYTES} allowed` };
  }
  let text: string;
  if (typeof value === 'string') {
    text = value;
  } else {
    try {
      text = utf8.decode(value);
    } catch {
      return { ok: false, reason: 'message value is not valid UTF-8' };
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : describeValue(error);
    const clipped =
      message.length > JSON_ERROR_MAX_CHARS ? `${message.slice(0, JSON_ERROR_MAX_CHARS)}…` : message;
    return { ok: false, reason: `invalid JSON: ${clipped}` };
  }
  return parse(json);
}
