/**
 * Test helpers for the parser specs (not exported from index.ts): byte sources cut into chunks of
 * chosen sizes, a GBK encoder for writing fixtures, error capture.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TextDecoder } from 'node:util';
import { SAMPLES_DIR } from '../../../../../test/support/samples.js';
import type { StatementLine } from '../statement-line.js';
import {
  StatementParseError,
  type StatementParser,
  type StatementSummary,
  readStatement,
} from './statement-parser.js';

export function sampleBytes(name: string): Buffer {
  return readFileSync(path.join(SAMPLES_DIR, name));
}

/** The bytes as one chunk, or cut at the given sizes (cycled) — the same file either way. */
export async function* chunked(bytes: Uint8Array, sizes: readonly number[] = []): AsyncGenerator<Uint8Array> {
  // Each chunk arrives after a real await, as from a stream.
  if (sizes.length === 0) {
    yield await Promise.resolve(bytes);
    return;
  }
  let at = 0;
  for (let i = 0; at < bytes.length; i += 1) {
    const size = Math.max(1, sizes[i % sizes.length]!);
    // A copy, so a parser keeping a reference to a chunk cannot pass by accident.
    yield await Promise.resolve(Uint8Array.from(bytes.subarray(at, at + size)));
    at += size;
  }
}

export async function parseAll(
  parser: StatementParser,
  bytes: Uint8Array,
  sizes?: readonly number[],
): Promise<{ lines: StatementLine[]; summary: StatementSummary }> {
  return readStatement(parser.parse(chunked(bytes, sizes)));
}

export async function parseError(parser: StatementParser, bytes: Uint8Array): Promise<StatementParseError> {
  try {
    await parseAll(parser, bytes);
  } catch (error) {
    if (error instanceof StatementParseError) return error;
    throw error;
  }
  throw new Error('expected a StatementParseError, the parse succeeded');
}

let gbkTable: Map<string, number[]> | undefined;

/** Node has no GBK encoder; invert the decoder over the two-byte range (enough for the fixtures). */
export function gbkEncode(text: string): Buffer {
  if (gbkTable === undefined) {
    gbkTable = new Map();
    const decoder = new TextDecoder('gbk', { fatal: true });
    for (let lead = 0x81; lead <= 0xfe; lead += 1) {
      for (let trail = 0x40; trail <= 0xfe; trail += 1) {
        if (trail === 0x7f) continue;
        try {
          const char = decoder.decode(Uint8Array.of(lead, trail));
          if (!gbkTable.has(char)) gbkTable.set(char, [lead, trail]);
        } catch {
          // not a two-byte GBK code
        }
      }
    }
  }
  const out: number[] = [];
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code < 0x80) out.push(code);
    else {
      const bytes = gbkTable.get(char);
      if (bytes === undefined) throw new Error(`no GBK code for ${char}`);
      out.push(...bytes);
    }
  }
  return Buffer.from(out);
}

export function gbkDecode(bytes: Uint8Array): string {
  return new TextDecoder('gbk', { fatal: true }).decode(bytes);
}
