import { describe, expect, it } from '@jest/globals';
import {
  merchantStatementCsv,
  StatementInvariantError,
  type StatementItem,
  type StatementRecord,
} from './merchant-statement.js';

const record: StatementRecord = {
  id: '7',
  merchantId: 'M_A',
  currency: 'CNY',
  itemsCount: 4,
  itemsNet: '60.00',
  carriedIn: '-30.00',
  reserveHeld: '2.90',
  reserveReleased: '0.00',
  amount: '27.10',
  carryForward: '0.00',
};

const item = (over: Partial<StatementItem>): StatementItem => ({
  eventId: '00000000-0000-0000-0000-000000000001',
  transactionEventId: 'tx-1',
  type: 'PAYMENT',
  businessDate: '2026-09-28',
  orderNo: 'O-1',
  refundNo: null,
  couponMerchantFunded: '2.00',
  couponPlatformFunded: '3.00',
  channel: 'WECHAT',
  gross: '100.00',
  fee: '1.00',
  net: '99.00',
  ...over,
});

async function* of<T>(values: T[]): AsyncGenerator<T> {
  for (const value of values) yield value;
}

async function collect(lines: AsyncIterable<string>): Promise<string> {
  let csv = '';
  for await (const line of lines) csv += line;
  return csv;
}

const ITEMS = [
  item({}),
  item({
    transactionEventId: '=HYPERLINK("http://evil.example","x")',
    orderNo: '@SUM(A1)',
    couponMerchantFunded: '0.00',
    couponPlatformFunded: '0.00',
    gross: '1.00',
    fee: '0.01',
    net: '0.99',
  }),
  item({
    transactionEventId: '+1',
    type: 'REFUND',
    refundNo: '-R1',
    couponMerchantFunded: null,
    couponPlatformFunded: null,
    gross: '-40.00',
    fee: '-0.01',
    net: '-39.99',
  }),
  item({
    transactionEventId: 'tx-legacy',
    orderNo: null,
    couponMerchantFunded: null,
    couponPlatformFunded: null,
    gross: '0.00',
    fee: '0.00',
    net: '0.00',
  }),
];

describe('merchantStatementCsv', () => {
  it('writes a BOM and header, one line per item with guarded text and numeric negative money, then the totals', async () => {
    const csv = await collect(merchantStatementCsv(of(ITEMS), record));
    expect(csv.split('\r\n')).toEqual([
      '\uFEFFline,business_date,type,order_no,refund_no,coupon_merchant,coupon_platform,transaction_event_id,event_id,channel,currency,gross,fee,net',
      'ITEM,2026-09-28,PAYMENT,O-1,,2.00,3.00,tx-1,00000000-0000-0000-0000-000000000001,WECHAT,CNY,100.00,1.00,99.00',
      `ITEM,2026-09-28,PAYMENT,'@SUM(A1),,0.00,0.00,"'=HYPERLINK(""http://evil.example"",""x"")",00000000-0000-0000-0000-000000000001,WECHAT,CNY,1.00,0.01,0.99`,
      "ITEM,2026-09-28,REFUND,O-1,'-R1,,,'+1,00000000-0000-0000-0000-000000000001,WECHAT,CNY,-40.00,-0.01,-39.99",
      'ITEM,2026-09-28,PAYMENT,,,,,tx-legacy,00000000-0000-0000-0000-000000000001,WECHAT,CNY,0.00,0.00,0.00',
      'ITEMS_TOTAL,,,,,,,,,,CNY,61.00,1.00,60.00',
      'CARRIED_IN,,,,,,,,,,CNY,,,-30.00',
      'RESERVE_HELD,,,,,,,,,,CNY,,,2.90',
      'RESERVE_RELEASED,,,,,,,,,,CNY,,,0.00',
      'CARRY_FORWARD,,,,,,,,,,CNY,,,0.00',
      'PAYABLE_AMOUNT,,,,,,,,,,CNY,,,27.10',
      '',
    ]);
  });

  it.each(['=1', '+1', '-1', '@x', '\tx', '\rx'])('escapes a text cell starting with %j', async (ref) => {
    for (const over of [{ transactionEventId: ref }, { orderNo: ref }, { refundNo: ref }]) {
      const csv = await collect(
        merchantStatementCsv(of([item({ ...over, net: '60.00' })]), {
          ...record,
          itemsCount: 1,
        }),
      );
      const line = csv.split('\r\n')[1]!;
      expect(line).toContain(`'${ref}`);
    }
  });

  it('refuses to write totals when Σ item net is not the record’s items_net', async () => {
    const lines: string[] = [];
    await expect(async () => {
      for await (const line of merchantStatementCsv(of(ITEMS), { ...record, itemsNet: '59.01' }))
        lines.push(line);
    }).rejects.toThrow(StatementInvariantError);
    expect(lines).toHaveLength(5);
    await expect(
      collect(merchantStatementCsv(of(ITEMS.slice(1)), { ...record, itemsNet: '-39.00' })),
    ).rejects.toThrow(/its 3 item\(s\) net -39.00, the record says 4 item\(s\) net -39.00/);
  });
});
