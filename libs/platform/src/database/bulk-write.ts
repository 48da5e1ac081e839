import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyStreamFrom } from 'pg-copy-streams';
import type { EntityManager } from 'typeorm';

/** A value as COPY's text format wants it: null is \N; backslash, tab, newline and CR escaped. */
export function copyTextField(value: string | number | bigint | boolean | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  const text = String(value);
  return NEEDS_ESCAPE.test(text) ? text.replace(ESCAPABLE, (c) => ESCAPES[c]!) : text;
}
const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPABLE = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * A field of COPY's text format read back: \N is null, backslash escapes as Postgres writes them
 * (and as copyTextField writes them).
 */
export function copyTextValue(field: string): string | null {
  if (field === '\\N') return null;
  if (!field.includes('\\')) return field;
  return field.replace(/\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|(.))/g, (_, octal, hex, c) => {
    if (octal !== undefined) return String.fromCharCode(Number.parseInt(octal as string, 8));
    if (hex !== undefined) return String.fromCharCode(Number.parseInt(hex as string, 16));
    const escapes: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
    return escapes[c as string] ?? (c as string);
  });
}

type CopyValue = string | number | bigint | boolean | null | undefined;

/**
 * Bulk-loads rows with COPY FROM STDIN inside the caller's transaction: several times faster than
 * an INSERT of the same rows (see docs/BENCHMARKS.md). COPY has no ON CONFLICT; callers that may
 * meet duplicates run it under `withSavepoint` and fall back to an INSERT … ON CONFLICT.
 */
export async function copyRows(
  tx: EntityManager,
  qualifiedTable: string,
  columns: readonly string[],
  rows: readonly (readonly CopyValue[])[],
): Promise<void> {
  if (rows.length === 0) return;
  let text = '';
  for (const row of rows) {
    for (let i = 0; i < row.length; i += 1) text += (i === 0 ? '' : '\t') + copyTextField(row[i]);
    text += '\n';
  }
  await copyText(tx, qualifiedTable, columns, text);
}

/**
 * COPYs rows the caller has already rendered in COPY's text format (tab-separated fields, one
 * line per row, escaped as `copyTextField` does): for hot paths whose fields need no escaping.
 */
export async function copyText(
  tx: EntityManager,
  qualifiedTable: string,
  columns: readonly string[],
  text: string,
): Promise<void> {
  if (text.length === 0) return;
  await copyFrom(tx, 'COPY', qualifiedTable, columns, [text]);
}

/**
 * Streams rows into one COPY FROM STDIN inside the caller's transaction: the producer (a parser)
 * and Postgres work at the same time, and memory holds one ~64 KiB chunk whatever the row count.
 * An error thrown by `rows` aborts the COPY (and so the transaction): nothing is half loaded.
 * @returns the number of rows written
 */
export async function copyRowStream(
  tx: EntityManager,
  qualifiedTable: string,
  columns: readonly string[],
  rows: AsyncIterable<readonly CopyValue[]>,
  onRows?: (count: number) => void,
): Promise<number> {
  async function* batches(): AsyncGenerator<CopyTextBatch> {
    for await (const row of rows) {
      let text = '';
      for (let i = 0; i < row.length; i += 1) text += (i === 0 ? '' : '\t') + copyTextField(row[i]);
      yield { text: `${text}\n`, rows: 1 };
    }
  }
  return copyBatches(tx, 'copyRowStream', qualifiedTable, columns, batches(), onRows);
}

/** A run of rows rendered as `copyText` takes them, as text or as its UTF-8 bytes (CopyRowBuilder). */
export interface CopyTextBatch {
  text: string | Buffer;
  rows: number;
}

/**
 * Renders COPY text rows straight into bytes, for hot paths where a string per row, then its
 * encoding, cost more than the row (the statement import's 10M lines): fields are written a
 * character at a time, tabs and newlines added, escaping only what `copyTextField` escapes.
 */
export class CopyRowBuilder {
  private buffer: Buffer;
  private at = 0;
  private fieldsInRow = 0;

  constructor(capacity = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(capacity);
  }

  get byteLength(): number {
    return this.at;
  }

  /** Free text (escaped), or null (\N). */
  text(value: string | null): this {
    this.separate();
    if (value === null) return this.bytes(0x5c, 0x4e);
    this.room(value.length * 3);
    const buffer = this.buffer;
    let at = this.at;
    for (let i = 0; i < value.length; i += 1) {
      const c = value.charCodeAt(i);
      if (c >= 0x80 || c === 0x5c || c === 0x09 || c === 0x0a || c === 0x0d) return this.rest(value, i, at);
      buffer[at++] = c;
    }
    this.at = at;
    return this;
  }

  /**
   * A value the caller knows holds no character COPY escapes and nothing beyond ASCII: digits,
   * codes, canonical amounts and times. Checked all the same; anything else goes through `text`.
   */
  plain(value: string): this {
    this.separate();
    this.room(value.length);
    const buffer = this.buffer;
    let at = this.at;
    for (let i = 0; i < value.length; i += 1) {
      const c = value.charCodeAt(i);
      if (c >= 0x80 || c < 0x20 || c === 0x5c) return this.rest(value, i, at);
      buffer[at++] = c;
    }
    this.at = at;
    return this;
  }

  /** A non-negative integer. */
  int(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`CopyRowBuilder.int: ${value}`);
    this.separate();
    this.room(16);
    let digits = 1;
    for (let v = value; v >= 10; v = Math.floor(v / 10)) digits += 1;
    let at = this.at + digits;
    this.at = at;
    let v = value;
    do {
      this.buffer[--at] = 48 + (v % 10);
      v = Math.floor(v / 10);
    } while (v > 0);
    return this;
  }

  null(): this {
    this.separate();
    return this.bytes(0x5c, 0x4e);
  }

  endRow(): this {
    this.room(1);
    this.buffer[this.at++] = 0x0a;
    this.fieldsInRow = 0;
    return this;
  }

  /** The rows so far; the builder starts afresh (the bytes handed out are never written again). */
  take(): Buffer {
    if (this.fieldsInRow !== 0) throw new Error('CopyRowBuilder.take inside a row');
    const taken = this.buffer.subarray(0, this.at);
    this.buffer = Buffer.allocUnsafe(Math.max(this.buffer.length - this.at, 4096, this.at));
    this.at = 0;
    return taken;
  }

  /** Rare: value[i…] escaped and encoded the general way, from byte `at` on. */
  private rest(value: string, i: number, at: number): this {
    this.at = at;
    const tail = copyTextField(value.slice(i));
    this.room(tail.length * 3);
    this.at += this.buffer.write(tail, this.at, 'utf8');
    return this;
  }

  private separate(): void {
    if (this.fieldsInRow++ > 0) {
      this.room(1);
      this.buffer[this.at++] = 0x09;
    }
  }

  private bytes(a: number, b: number): this {
    this.room(2);
    this.buffer[this.at++] = a;
    this.buffer[this.at++] = b;
    return this;
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.at + bytes));
    this.buffer.copy(bigger, 0, 0, this.at);
    this.buffer = bigger;
  }
}

/**
 * `copyRowStream` for producers that hand over rows a batch at a time and render them themselves
 * (as `copyText` takes them), e.g. a parser's lines of one source chunk rendered in one synchronous
 * loop: an async hop and generic rendering per row cost as much as parsing the row. Same guarantees:
 * one COPY, memory bounded by a batch, an error thrown by `batches` aborts it.
 * @returns the number of rows written
 */
export async function copyTextStream(
  tx: EntityManager,
  qualifiedTable: string,
  columns: readonly string[],
  batches: AsyncIterable<CopyTextBatch>,
  onRows?: (count: number) => void,
): Promise<number> {
  return copyBatches(tx, 'copyTextStream', qualifiedTable, columns, batches, onRows);
}

/** The two streams' common loop: batches gathered into ~64 KiB chunks of one COPY. */
async function copyBatches(
  tx: EntityManager,
  caller: string,
  qualifiedTable: string,
  columns: readonly string[],
  batches: AsyncIterable<CopyTextBatch>,
  onRows?: (count: number) => void,
): Promise<number> {
  let written = 0;
  async function* chunks(): AsyncGenerator<string | Buffer> {
    let text = '';
    let pending = 0;
    for await (const batch of batches) {
      if (batch.rows === 0) continue;
      // A batch not ending its last row would run it into the next batch's first.
      const last =
        typeof batch.text === 'string'
          ? batch.text.charCodeAt(batch.text.length - 1)
          : batch.text[batch.text.length - 1];
      if (last !== 0x0a)
        throw new Error(`${caller}: a batch of ${batch.rows} rows does not end in a newline`);
      if (typeof batch.text !== 'string') {
        // Bytes go as they are, after the text gathered before them.
        if (pending > 0) yield text;
        yield batch.text;
        written += pending + batch.rows;
        onRows?.(pending + batch.rows);
        text = '';
        pending = 0;
        continue;
      }
      text += batch.text;
      pending += batch.rows;
      if (text.length >= COPY_CHUNK_CHARS) {
        yield text;
        written += pending;
        onRows?.(pending);
        text = '';
        pending = 0;
      }
    }
    if (pending > 0) {
      yield text;
      written += pending;
      onRows?.(pending);
    }
  }
  await copyFrom(tx, caller, qualifiedTable, columns, chunks());
  return written;
}
const COPY_CHUNK_CHARS = 64 * 1024;

async function copyFrom(
  tx: EntityManager,
  caller: string,
  qualifiedTable: string,
  columns: readonly string[],
  chunks: Iterable<string | Buffer> | AsyncIterable<string | Buffer>,
): Promise<void> {
  const runner = tx.queryRunner;
  if (!runner?.isTransactionActive) throw new Error(`${caller} must run inside a transaction`);
  const client = (await runner.connect()) as { query: (stream: unknown) => NodeJS.WritableStream };
  const sql = `COPY ${qualifiedTable} (${columns.join(', ')}) FROM STDIN`;
  await pipeline(Readable.from(chunks), client.query(copyStreamFrom(sql)));
}

export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  return e?.code === '23505' || e?.driverError?.code === '23505';
}

/**
 * Runs `fast` under a savepoint; if it hits a unique violation, rolls back to the savepoint (the
 * transaction stays usable) and runs `slow`, which must handle duplicates itself.
 */
export async function fastPathUnlessDuplicate<T>(
  tx: EntityManager,
  fast: () => Promise<T>,
  slow: () => Promise<T>,
): Promise<T> {
  await tx.query('SAVEPOINT bulk_fast_path');
  try {
    const result = await fast();
    await tx.query('RELEASE SAVEPOINT bulk_fast_path');
    return result;
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    await tx.query('ROLLBACK TO SAVEPOINT bulk_fast_path');
    return slow();
  }
}

/** Sequences by "table.column", resolved once per process (they change only by migration). */
const sequences = new Map<string, { name: string; block: number }>();

/**
 * Takes `count` ids from the sequence behind `qualifiedTable`.`column`, for rows about to be
 * COPYed (COPY returns nothing, so the ids are known beforehand). The sequence is named literally:
 * `nextval(pg_get_serial_sequence(…))` would look it up again for every row, 15× slower.
 *
 * A sequence whose increment is k > 1 hands out blocks: each `nextval` v owns the ids v … v+k−1
 * (no other caller can get any of them), so a batch of n rows costs ⌈n/k⌉ calls instead of n. The
 * ids of a block's unused tail are simply never used.
 */
export async function reserveIds(
  tx: EntityManager,
  qualifiedTable: string,
  column: string,
  count: number,
): Promise<string[]> {
  if (count === 0) return [];
  const key = `${qualifiedTable}.${column}`;
  let sequence = sequences.get(key);
  if (sequence === undefined) {
    const [row] = await tx.query<{ name: string | null; increment: string | null }[]>(
      `SELECT s.name, q.increment_by::text AS increment
       FROM (SELECT pg_get_serial_sequence($1, $2) AS name) s
       LEFT JOIN pg_sequences q ON q.schemaname || '.' || q.sequencename = s.name`,
      [qualifiedTable, column],
    );
    if (!row?.name || !/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/.test(row.name))
      throw new Error(`${key} has no sequence of a plain name (got ${String(row?.name)})`);
    const block = Number(row.increment);
    if (!Number.isSafeInteger(block) || block < 1 || block > 1_000_000)
      throw new Error(
        `${key}: sequence ${row.name} has increment ${String(row.increment)}; ids need 1 … 1,000,000`,
      );
    sequences.set(key, (sequence = { name: row.name, block }));
  }
  const { name, block } = sequence;
  const rows = await tx.query<{ id: string }[]>(
    `SELECT nextval('${name}'::regclass)::text AS id FROM generate_series(1, $1)`,
    [Math.ceil(count / block)],
  );
  if (block === 1) return rows.map((r) => r.id);
  const ids: string[] = [];
  for (const { id } of rows) {
    const start = BigInt(id);
    for (let i = 0; i < block && ids.length < count; i += 1) ids.push(String(start + BigInt(i)));
  }
  return ids;
}
