import { Writable } from 'node:stream';
import fc from 'fast-check';
import type { EntityManager } from 'typeorm';
import { type CopyTextBatch, copyRowStream, copyTextField, copyTextStream } from './bulk-write.js';

describe('copyTextField', () => {
  it('writes null as \\N and escapes the characters COPY text format gives meaning to', () => {
    expect(copyTextField(null)).toBe('\\N');
    expect(copyTextField(undefined)).toBe('\\N');
    expect(copyTextField('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(copyTextField('100.00')).toBe('100.00');
    expect(copyTextField('\\N')).toBe('\\\\N');
  });

  it('never leaves a raw tab, newline or CR in a field, whatever the input', () => {
    fc.assert(fc.property(fc.string(), (s) => !/[\t\n\r]/.test(copyTextField(s))));
  });

  it('is reversible: unescaping gives back the original text', () => {
    const unescape = (t: string) =>
      t.replace(/\\(.)/g, (_m, c: string) => ({ t: '\t', n: '\n', r: '\r', '\\': '\\' })[c] ?? c);
    fc.assert(fc.property(fc.string(), (s) => unescape(copyTextField(s)) === s));
  });
});

/** A transaction whose connection takes COPY streams and keeps what is written to them. */
function fakeTransaction(active = true): { tx: EntityManager; sql: string[]; chunks: string[] } {
  const sql: string[] = [];
  const chunks: string[] = [];
  const client = {
    query: (copy: { text: string }) => {
      sql.push(copy.text);
      return new Writable({
        write(chunk: Buffer, _encoding, done) {
          chunks.push(chunk.toString('utf8'));
          done();
        },
      });
    },
  };
  const queryRunner = { isTransactionActive: active, connect: () => Promise.resolve(client) };
  return { tx: { queryRunner } as unknown as EntityManager, sql, chunks };
}

async function* from<T>(items: T[], failAfter?: Error): AsyncGenerator<T> {
  for (const item of items) yield await Promise.resolve(item);
  if (failAfter !== undefined) throw failAfter;
}

describe('copyTextStream', () => {
  const rows = (from: number, count: number): CopyTextBatch => ({
    text: Array.from({ length: count }, (_, i) => `${from + i}\tname ${from + i}\n`).join(''),
    rows: count,
  });

  it('writes the batches in order into one COPY, in chunks of at least 64 KiB, counting rows', async () => {
    const { tx, sql, chunks } = fakeTransaction();
    const batches = [rows(0, 3), { text: '', rows: 0 }, rows(3, 5000), rows(5003, 2)];
    const progress: number[] = [];
    const written = await copyTextStream(tx, 's.t', ['id', 'name'], from(batches), (n) => progress.push(n));
    expect(written).toBe(5005);
    expect(sql).toEqual(['COPY s.t (id, name) FROM STDIN']);
    expect(chunks.join('')).toBe(batches.map((b) => b.text).join(''));
    expect(progress).toEqual([5003, 2]); // the small first batch waits for the big one
    expect(chunks[0]!.length).toBeGreaterThanOrEqual(64 * 1024);
  });

  it("refuses a batch whose last row has no newline, and stops on the source's error", async () => {
    const { tx } = fakeTransaction();
    await expect(copyTextStream(tx, 's.t', ['id'], from([{ text: '1\n2', rows: 2 }]))).rejects.toThrow(
      'copyTextStream: a batch of 2 rows does not end in a newline',
    );
    const failure = new Error('line 7: bad');
    await expect(copyTextStream(tx, 's.t', ['id'], from([rows(0, 1)], failure))).rejects.toBe(failure);
  });

  it('runs only inside a transaction', async () => {
    const { tx } = fakeTransaction(false);
    await expect(copyTextStream(tx, 's.t', ['id'], from([rows(0, 1)]))).rejects.toThrow(
      'copyTextStream must run inside a transaction',
    );
  });
});

describe('copyRowStream', () => {
  it('renders each row with copyTextField, one COPY, counting rows', async () => {
    const { tx, sql, chunks } = fakeTransaction();
    const written = await copyRowStream(
      tx,
      's.t',
      ['a', 'b', 'c'],
      from<(string | number | null)[]>([
        [1, 'x\ty', null],
        [2, 'back\\slash', '3.50'],
      ]),
    );
    expect(written).toBe(2);
    expect(sql).toEqual(['COPY s.t (a, b, c) FROM STDIN']);
    expect(chunks.join('')).toBe('1\tx\\ty\t\\N\n2\tback\\\\slash\t3.50\n');
  });

  it('runs only inside a transaction', async () => {
    const { tx } = fakeTransaction(false);
    await expect(copyRowStream(tx, 's.t', ['a'], from([[1]]))).rejects.toThrow(
      'copyRowStream must run inside a transaction',
    );
  });
});
