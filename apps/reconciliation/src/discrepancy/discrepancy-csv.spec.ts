import { describe, expect, it } from '@jest/globals';
import { parseCsv } from '../../../../test/support/csv-reader.js';
import fc from 'fast-check';
import {
  DISCREPANCY_CSV_COLUMNS,
  csvCell,
  csvMoney,
  discrepanciesCsvString,
  discrepanciesToCsv,
} from './discrepancy-csv.js';
import type { Discrepancy } from './discrepancy.types.js';

const DANGEROUS = ['=', '+', '-', '@', '\t', '\r'];

const discrepancy: Discrepancy = {
  id: '17',
  channel: 'WECHAT',
  businessDate: '2026-11-22',
  detectedOn: '2026-11-22',
  class: 'AMOUNT_MISMATCH',
  side: 'BOTH',
  itemType: 'PAYMENT',
  eventId: 'e-O202611220000003',
  statementFileId: '3',
  lineNo: 5,
  merchantId: 'M00013',
  orderNo: 'O202611220000003',
  refundNo: null,
  internalAmount: '100.00',
  channelAmount: '99.90',
  currency: 'CNY',
  feeDifference: '-0.06',
  reason: 'amount 100.00 (ours) ≠ 99.90 (channel)',
  status: 'OPEN',
  resolution: null,
  resolutionNote: null,
  resolvedBy: null,
  resolvedAt: null,
  journalEntryId: null,
  pendingAdjustment: null,
  adjustmentConfirmedBy: null,
  openedAt: '2026-11-23T02:00:05.123Z',
  lastMatchRunId: '41',
};

const MONEY_COLUMNS: ReadonlySet<number> = new Set(
  (['internal_amount', 'channel_amount', 'fee_difference'] as const).map((column) =>
    DISCREPANCY_CSV_COLUMNS.indexOf(column),
  ),
);

const HEADER =
  'id,channel,business_date,detected_on,class,side,status,resolution,merchant_id,order_no,refund_no,event_id,statement_file_id,line_no,currency,internal_amount,channel_amount,fee_difference,reason,resolution_note,resolved_by,resolved_at,journal_entry_id,opened_at,adjustment_pending_by,adjustment_pending_amount,adjustment_confirmed_by\r\n';

describe('csvCell and csvMoney', () => {
  it('are the shared writers of @app/platform (tested there), re-exported', () => {
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvMoney('-0.06')).toBe('-0.06');
  });
});

describe('discrepanciesToCsv', () => {
  it('has the agreed header, in order', () => {
    expect(DISCREPANCY_CSV_COLUMNS.join(',') + '\r\n').toBe(HEADER);
    expect(DISCREPANCY_CSV_COLUMNS).toHaveLength(27);
  });

  it('writes one CRLF line per discrepancy, money as numbers and the negative fee difference unguarded', () => {
    const resolved: Discrepancy = {
      ...discrepancy,
      id: '18',
      class: 'MISSING_IN_CHANNEL',
      side: 'INTERNAL',
      statementFileId: null,
      lineNo: null,
      channelAmount: null,
      feeDifference: null,
      refundNo: 'RO202611220000011',
      reason: '我方有渠道无: "refund" not on the statement, see line 3',
      status: 'RESOLVED',
      resolution: 'WRITE_OFF',
      resolutionNote: '=1+1 渠道确认未退款\n已关闭',
      resolvedBy: '@ops-zhang',
      resolvedAt: '2026-11-24T01:30:00.000Z',
    };
    const lines = [...discrepanciesToCsv([discrepancy, resolved])];
    expect(lines).toEqual([
      HEADER,
      '17,WECHAT,2026-11-22,2026-11-22,AMOUNT_MISMATCH,BOTH,OPEN,,M00013,O202611220000003,,e-O202611220000003,3,5,CNY,100.00,99.90,-0.06,amount 100.00 (ours) ≠ 99.90 (channel),,,,,2026-11-23T02:00:05.123Z,,,\r\n',
      '18,WECHAT,2026-11-22,2026-11-22,MISSING_IN_CHANNEL,INTERNAL,RESOLVED,WRITE_OFF,M00013,O202611220000003,RO202611220000011,e-O202611220000003,,,CNY,100.00,,,"我方有渠道无: ""refund"" not on the statement, see line 3","\'=1+1 渠道确认未退款\n已关闭",\'@ops-zhang,2026-11-24T01:30:00.000Z,,2026-11-23T02:00:05.123Z,,,\r\n',
    ]);
    const records = parseCsv(lines.join(''));
    expect(records).toHaveLength(3);
    const row = Object.fromEntries(DISCREPANCY_CSV_COLUMNS.map((column, i) => [column, records[2]?.[i]]));
    expect(row).toMatchObject({
      reason: '我方有渠道无: "refund" not on the statement, see line 3',
      resolution_note: "'=1+1 渠道确认未退款\n已关闭",
      resolved_by: "'@ops-zhang",
      internal_amount: '100.00',
      channel_amount: '',
      line_no: '',
    });
    expect(records[1]?.[DISCREPANCY_CSV_COLUMNS.indexOf('fee_difference')]).toBe('-0.06');
  });

  it('shows who proposed an adjustment still waiting for a second person, and who confirmed one', () => {
    const waiting: Discrepancy = {
      ...discrepancy,
      pendingAdjustment: {
        proposalId: '1',
        proposedBy: 'finance.zhou',
        proposedAt: '2026-11-23T03:00:00.000Z',
        note: 'channel confirmed',
        class: 'AMOUNT_MISMATCH',
        amount: '12000.00',
        currency: 'CNY',
        confirmationAbove: '10000.00',
        effect: 'POST',
        postings: [],
        releasesToClearing: true,
      },
    };
    const confirmed: Discrepancy = {
      ...discrepancy,
      status: 'RESOLVED',
      adjustmentConfirmedBy: 'finance.qian',
    };
    const [, first, second] = parseCsv([...discrepanciesToCsv([waiting, confirmed])].join(''));
    expect(first?.slice(-3)).toEqual(['finance.zhou', '12000.00', '']);
    expect(second?.slice(-3)).toEqual(['', '', 'finance.qian']);
  });

  it('is lazy: it reads rows only as lines are taken, so 10k rows stream', () => {
    let produced = 0;
    function* rows(): Generator<Discrepancy> {
      for (let i = 1; i <= 10_000; i++) {
        produced++;
        yield { ...discrepancy, id: String(i) };
      }
    }
    const csv = discrepanciesToCsv(rows());
    expect(csv.next().value).toBe(HEADER);
    expect(produced).toBe(0);
    expect(csv.next().value).toMatch(/^1,WECHAT,/);
    expect(produced).toBe(1);
    let lines = 2;
    for (const line of csv) {
      lines++;
      expect(line.endsWith('\r\n')).toBe(true);
    }
    expect([lines, produced]).toEqual([10_001, 10_000]);
  });

  it('survives any text in every text column: 27 fields per record, values back as written', () => {
    const text = fc.string({ unit: fc.constantFrom(...DANGEROUS, '\n', '"', ',', 'x', '差') });
    const nullable = fc.option(text, { nil: null });
    const row = fc
      .record({
        orderNo: text,
        reason: text,
        merchantId: nullable,
        resolutionNote: nullable,
        resolvedBy: nullable,
      })
      .map((changes): Discrepancy => ({ ...discrepancy, ...changes }));
    fc.assert(
      fc.property(fc.array(row, { maxLength: 5 }), (rows) => {
        const records = parseCsv(discrepanciesCsvString(rows));
        expect(records).toHaveLength(rows.length + 1);
        rows.forEach((original, i) => {
          const record = records[i + 1] ?? [];
          expect(record).toHaveLength(27);
          const back = (value: string | null) =>
            value === null ? '' : DANGEROUS.includes(value.charAt(0)) ? `'${value}` : value;
          expect(record[DISCREPANCY_CSV_COLUMNS.indexOf('order_no')]).toBe(back(original.orderNo));
          expect(record[DISCREPANCY_CSV_COLUMNS.indexOf('reason')]).toBe(back(original.reason));
          expect(record[DISCREPANCY_CSV_COLUMNS.indexOf('merchant_id')]).toBe(back(original.merchantId));
          expect(record[DISCREPANCY_CSV_COLUMNS.indexOf('resolution_note')]).toBe(
            back(original.resolutionNote),
          );
          expect(record[DISCREPANCY_CSV_COLUMNS.indexOf('resolved_by')]).toBe(back(original.resolvedBy));
          record.forEach((field, column) => {
            if (MONEY_COLUMNS.has(column)) expect(field).toMatch(/^(-?\d+(\.\d+)?)?$/);
            else expect(DANGEROUS).not.toContain(field.charAt(0));
          });
        });
      }),
      { numRuns: 500 },
    );
  });
});

describe('discrepanciesCsvString', () => {
  it('joins the lines, with a UTF-8 BOM only when asked', () => {
    const plain = discrepanciesCsvString([discrepancy]);
    expect(plain.startsWith('id,channel,')).toBe(true);
    expect(plain.split('\r\n')).toHaveLength(3);
    const withBom = discrepanciesCsvString([discrepancy], { bom: true });
    expect(withBom).toBe(`\uFEFF${plain}`);
    expect([...Buffer.from(withBom, 'utf8').subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(Buffer.from(withBom, 'utf8').toString('utf8')).toContain('≠');
  });

  it('writes only the header for no rows', () => {
    expect(discrepanciesCsvString([])).toBe(HEADER);
  });
});
