import { Writable } from 'node:stream';
import type { EntityManager } from 'typeorm';
import fc from 'fast-check';
import {
  type CopyTextBatch,
  CopyRowBuilder,
  copyRowStream,
  copyTextField,
  copyTextStream,
  copyTextValue,
} from './bulk-write.js';

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

describe('CopyRowBuilder', () => {
  type Field =
    | { kind: 'text'; value: string | null }
    | { kind: 'plain'; value: string }
    | { kind: 'int'; value: number };
  const fieldArb: fc.Arbitrary<Field> = fc.oneof(
    fc.record({ kind: fc.constant('text' as const), value: fc.option(fc.string({ unit: 'binary' })) }),
    fc.record({
      kind: fc.constant('text' as const),
      value: fc.constantFrom('a\tb', '\\N', 'x\ny\r', '订单-é', '😀\\', ''),
    }),
    fc.record({
      kind: fc.constant('plain' as const),
      value: fc.oneof(fc.stringMatching(/^[0-9A-Z.: -]{0,20}$/), fc.string()),
    }),
    fc.record({ kind: fc.constant('int' as const), value: fc.nat() }),
  );

  it('writes the bytes copyTextField would, field by field, across growth', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fieldArb, { minLength: 1, maxLength: 8 }), { maxLength: 40 }), (rows) => {
        const builder = new CopyRowBuilder(16);
        let expected = '';
        for (const row of rows) {
          for (const f of row) {
            if (f.kind === 'text') builder.text(f.value);
            else if (f.kind === 'plain') builder.plain(f.value);
            else builder.int(f.value);
          }
          builder.endRow();
          expected += `${row.map((f) => copyTextField(f.value)).join('\t')}\n`;
        }
        const bytes = builder.take();
        expect(bytes.toString('utf8')).toBe(expected);
        expect(bytes.equals(Buffer.from(expected, 'utf8'))).toBe(true);
        expect(builder.byteLength).toBe(0);
        // Read back, every text field is what went in.
        rows.forEach((row, r) => {
          const fields = expected.split('\n')[r]!.split('\t').map(copyTextValue);
          expect(fields).toEqual(row.map((f) => (f.kind === 'int' ? String(f.value) : f.value)));
        });
      }),
    );
  });

  it('refuses a negative or fractional int and a take inside a row', () => {
    expect(() => new CopyRowBuilder().int(-1)).toThrow('CopyRowBuilder.int: -1');
    expect(() => new CopyRowBuilder().int(1.5)).toThrow('CopyRowBuilder.int: 1.5');
    expect(() => new CopyRowBuilder().null().take()).toThrow('CopyRowBuilder.take inside a row');
  });
});

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

  it('passes byte batches through in order, after the text gathered before them', async () => {
    const { tx, chunks } = fakeTransaction();
    const bytes = new CopyRowBuilder().int(7).text('seven').endRow().int(8).null().endRow().take();
    const progress: number[] = [];
    const written = await copyTextStream(
      tx,
      's.t',
      ['id', 'name'],
      from([rows(0, 2), { text: bytes, rows: 2 }, rows(9, 1)]),
      (n) => progress.push(n),
    );
    expect(written).toBe(5);
    expect(chunks.map((c) => c.toString()).join('')).toBe(
      '0\tname 0\n1\tname 1\n7\tseven\n8\t\\N\n9\tname 9\n',
    );
    expect(progress).toEqual([4, 1]);
    await expect(
      copyTextStream(tx, 's.t', ['id'], from([{ text: Buffer.from('1\n2'), rows: 2 }])),
    ).rejects.toThrow('copyTextStream: a batch of 2 rows does not end in a newline');
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
