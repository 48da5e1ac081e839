/**
 * Channel statement files → reconciliation.statement_file / statement_line on the real Postgres:
 * the three sample formats, a repeated import, and files that must leave nothing behind.
 */
import { Decimal } from 'decimal.js';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import {
  StatementParseError,
  StatementImportError,
  StatementImportService,
  DiscrepancyService,
} from '../../apps/reconciliation/src/index.js';
import { formatReport } from '../../apps/cli/src/index.js';
import { Ledger } from '@app/ledger';
import { migrateAll, openDataSource, SAMPLES_DIR, useIsolatedDatabase } from '../support/infra.js';

const sample = (name: string) => path.join(SAMPLES_DIR, name);

describe('statement import (real Postgres)', () => {
  let db: DataSource;
  let service: StatementImportService;
  let tmp: string;

  beforeAll(async () => {
    await useIsolatedDatabase('statement_import');
    await migrateAll();
    db = await openDataSource('reconciliation');
    service = new StatementImportService(db);
    tmp = await mkdtemp(path.join(os.tmpdir(), 'cse-statement-'));
  });

  afterAll(async () => {
    await db?.destroy();
  });

  async function stored(channel: string): Promise<{ files: number; lines: number }> {
    const [row] = await db.query<[{ files: number; lines: number }]>(
      `SELECT (SELECT count(*)::int FROM reconciliation.statement_file WHERE channel = $1) AS files,
              -- The channel's lines, and any line without a file (a half-kept import would leave those).
              (SELECT count(*)::int FROM reconciliation.statement_line l
               WHERE NOT EXISTS (SELECT 1 FROM reconciliation.statement_file f
                                 WHERE f.id = l.statement_file_id AND f.channel <> $1)) AS lines`,
      [channel],
    );
    return row;
  }

  async function failure(attempt: Promise<unknown>): Promise<Error & { code: string }> {
    try {
      await attempt;
    } catch (error) {
      return error as Error & { code: string };
    }
    throw new Error('expected the import to fail');
  }

  it('imports the generic sample: 33 lines whose amounts add up to the file, then refuses the same file', async () => {
    const file = sample('generic-2026-11-22.csv');
    const result = await service.import({
      channel: 'WECHAT',
      format: 'generic',
      filePath: file,
      silent: true,
    });
    expect(result).toMatchObject({
      channel: 'WECHAT',
      businessDate: '2026-11-22',
      format: 'generic',
      lines: 33,
    });

    // Σ amount computed independently from the CSV text.
    const rows = (await readFile(file, 'utf8')).split(/\r?\n/).filter((l) => l.trim() !== '');
    const header = rows[0]!.split(',');
    const amountAt = header.indexOf('amount');
    const expected = rows
      .slice(1)
      .reduce((sum, line) => sum.plus(new Decimal(line.split(',')[amountAt]!)), new Decimal(0));
    const [sums] = await db.query<[{ n: number; amount: string; file_lines: number; totals: unknown }]>(
      `SELECT count(*)::int AS n, sum(l.amount)::text AS amount, f.line_count AS file_lines, f.totals
       FROM reconciliation.statement_line l JOIN reconciliation.statement_file f ON f.id = l.statement_file_id
       WHERE l.statement_file_id = $1 GROUP BY f.id`,
      [result.statementFileId],
    );
    expect(sums.n).toBe(33);
    expect(sums.file_lines).toBe(33);
    expect(new Decimal(sums.amount).equals(expected)).toBe(true);
    expect(sums.totals).toEqual(result.totals);
    const [t] = result.totals;
    expect(new Decimal(t!.paymentAmount).plus(t!.refundAmount).equals(expected)).toBe(true);

    const again = await failure(
      service.import({ channel: 'WECHAT', format: 'generic', filePath: file, silent: true }),
    );
    expect(again).toBeInstanceOf(StatementImportError);
    expect(again.code).toBe('STATEMENT.ALREADY_IMPORTED');
    expect(again.message).toContain(`#${result.statementFileId}`);
    expect(again.message).toMatch(/on \d{4}-\d{2}-\d{2}T/);
    expect(await stored('WECHAT')).toEqual({ files: 1, lines: 33 });
  });

  it('refuses the same file again when matching as it imports, and leaves no second run or line behind', async () => {
    const file = sample('generic-2026-11-23.csv');
    const first = await service.import({
      channel: 'DUP_MATCH',
      format: 'generic',
      filePath: file,
      businessDate: '2026-11-23',
      silent: true,
      match: true,
    });
    expect(first.matchRun).not.toBeNull();
    const runs = async () =>
      (
        await db.query<[{ n: number }]>(
          `SELECT count(*)::int AS n FROM reconciliation.match_run WHERE channel = 'DUP_MATCH'`,
        )
      )[0].n;
    const before = { ...(await stored('DUP_MATCH')), runs: await runs() };
    expect(before.files).toBe(1);
    expect(before.runs).toBe(1);
    // The content hash is read after our side of the day is loaded: the refusal still comes before
    // the first line is written, and the whole transaction (the run's lock and ids) rolls back.
    const again = await failure(
      service.import({
        channel: 'DUP_MATCH',
        format: 'generic',
        filePath: file,
        businessDate: '2026-11-23',
        silent: true,
        match: true,
      }),
    );
    expect(again).toBeInstanceOf(StatementImportError);
    expect(again.code).toBe('STATEMENT.ALREADY_IMPORTED');
    expect(again.message).toContain(`#${first.statementFileId}`);
    expect({ ...(await stored('DUP_MATCH')), runs: await runs() }).toEqual(before);
  });

  it('fails a missing file with the reading error, matching or not, and keeps nothing', async () => {
    for (const match of [false, true]) {
      const missing = await failure(
        service.import({
          channel: 'MISSING_FILE',
          format: 'generic',
          filePath: path.join(tmp, 'no-such-statement.csv'),
          businessDate: '2026-11-22',
          silent: true,
          match,
        }),
      );
      expect(missing.message).toMatch(/ENOENT|no such file/);
    }
    expect(await stored('MISSING_FILE')).toEqual({ files: 0, lines: 0 });
  });

  it('imports the WeChat ALL bill (control totals verified) and the GBK Alipay statement', async () => {
    const wechat = await service.import({
      channel: 'WECHAT_ALL',
      format: 'wechat-all',
      filePath: sample('wechat-all-2026-11-22.csv'),
      silent: true,
    });
    expect(wechat).toMatchObject({ lines: 33, businessDate: '2026-11-22' });
    expect(wechat.totals).toEqual([
      expect.objectContaining({
        currency: 'CNY',
        paymentAmount: '13781.94',
        refundAmount: '494.28',
        fee: '79.72',
      }),
    ]);
    expect(await stored('WECHAT_ALL')).toEqual({ files: 1, lines: 33 });

    const alipay = await service.import({
      channel: 'ALIPAY',
      format: 'alipay',
      filePath: sample('alipay-2026-11-22.csv'),
      silent: true,
    });
    expect(alipay).toMatchObject({ lines: 30, businessDate: '2026-11-22', channel: 'ALIPAY' });
    expect(await stored('ALIPAY')).toEqual({ files: 1, lines: 30 });
    const [one] = await db.query<[{ trade_time: string; currency: string }]>(
      `SELECT to_char(trade_time, 'YYYY-MM-DD HH24:MI:SS') AS trade_time, currency
       FROM reconciliation.statement_line WHERE statement_file_id = $1 AND line_no = 6`,
      [alipay.statementFileId],
    );
    expect(one).toEqual({ trade_time: '2026-11-22 21:49:20', currency: 'CNY' });
  });

  it('keeps nothing of a WeChat bill whose summary total was tampered with (CONTROL_TOTAL_MISMATCH)', async () => {
    const text = await readFile(sample('wechat-all-2026-11-22.csv'), 'utf8');
    const tampered = text.replace('`33,`13781.94,`494.28,', '`33,`13781.95,`494.28,');
    expect(tampered).not.toBe(text);
    const file = path.join(tmp, 'wechat-tampered.csv');
    await writeFile(file, tampered);
    const before = await stored('WECHAT_T');

    const error = await failure(
      service.import({
        channel: 'WECHAT_T',
        format: 'wechat-all',
        filePath: file,
        silent: true,
      }),
    );
    expect(error).toBeInstanceOf(StatementParseError);
    expect(error.code).toBe('STATEMENT.CONTROL_TOTAL_MISMATCH');
    expect(before).toEqual({ files: 0, lines: 0 });
    expect(await stored('WECHAT_T')).toEqual(before);
  });

  it('keeps nothing of a generic file with a malformed amount on line 5, naming the line and field', async () => {
    const lines = (await readFile(sample('generic-2026-11-22.csv'), 'utf8')).split('\n');
    // lines[4] is physical line 5 (the header is line 1): its amount is the fourth column.
    const cells = lines[4]!.split(',');
    cells[3] = `${cells[3]!.slice(0, 1)}x${cells[3]!.slice(2)}`;
    lines[4] = cells.join(',');
    const file = path.join(tmp, 'generic-bad-amount.csv');
    await writeFile(file, lines.join('\n'));
    const before = await stored('GENERIC_BAD');

    // Lines 2..4 are already in the COPY stream when line 5 fails; the aborted COPY and the rollback drop them.
    const error = await failure(
      service.import({
        channel: 'GENERIC_BAD',
        format: 'generic',
        filePath: file,
        silent: true,
      }),
    );
    expect(error).toBeInstanceOf(StatementParseError);
    expect([error.code, (error as StatementParseError).lineNo, (error as StatementParseError).field]).toEqual(
      ['STATEMENT.MALFORMED_LINE', 5, 'amount'],
    );
    expect(error.message).toMatch(/^line 5, field amount: /);
    expect(await stored('GENERIC_BAD')).toEqual(before);
    expect(before).toEqual({ files: 0, lines: 0 });
  });

  it('sets malformed lines aside where the channel is configured for it, and the report lists them', async () => {
    const lines = (await readFile(sample('wechat-all-2026-11-22.csv'), 'utf8')).split('\n');
    lines[3] = lines[3]!.replace('`CNY,`361.62,', '`CNY,`12.3.4,'); // physical line 4: a bad amount
    const file = path.join(tmp, 'wechat-one-bad-line.csv');
    await writeFile(file, lines.join('\n'));
    // Not configured: the import fails as before, keeping nothing.
    const refused = await failure(
      service.import({ channel: 'WX_LENIENT', format: 'wechat-all', filePath: file, silent: true }),
    );
    expect(refused.code).toBe('STATEMENT.MALFORMED_LINE');
    expect(await stored('WX_LENIENT')).toEqual({ files: 0, lines: 0 });

    await db.query(
      `INSERT INTO reconciliation.channel_match_policy (channel, rejected_lines_max) VALUES ('WX_LENIENT', 5)`,
    );
    const result = await service.import({
      channel: 'WX_LENIENT',
      format: 'wechat-all',
      filePath: file,
      silent: true,
    });
    expect(result).toMatchObject({ lines: 32, rejectedLines: 1, businessDate: '2026-11-22' });
    expect(result.controlsUnverified).toMatch(
      /^1 line\(s\) set aside, so the file's own totals cannot be verified/,
    );
    expect(await stored('WX_LENIENT')).toEqual({ files: 1, lines: 32 });
    const report = await new DiscrepancyService(db, new Ledger()).report({
      businessDate: '2026-11-22',
      channel: 'WX_LENIENT',
    });
    expect(report.rejectedLines).toEqual([
      {
        statementFileId: result.statementFileId,
        channel: 'WX_LENIENT',
        lineNo: 4,
        field: 'amount',
        reason: '"12.3.4" is not a decimal amount (column 应结订单金额)',
        text: lines[3],
      },
    ]);
    expect(formatReport(report)).toContain('statement lines set aside at import, not matched (1)');
  });
});
