import { validateEntry, DEFAULT_ACCOUNT_TEMPLATES, type EntryDraft } from '@app/ledger';
const T = new Map(DEFAULT_ACCOUNT_TEMPLATES.map((t) => [t.code, t]));
const N = 200_000;
const drafts: EntryDraft[] = [];
for (let i = 0; i < N; i++) {
  const g = 200 + ((i * 7919) % 999800); const f = Math.max(1, Math.floor(g * 6 / 1000)); const n = g - f;
  const t = (x: number) => `${Math.floor(x / 100)}.${String(x % 100).padStart(2, '0')}`;
  drafts.push({ idempotencyKey: `bench:${i}`, businessRef: `T${i}`, effectiveAt: new Date(Date.parse('2026-11-22T00:00:00+08:00') + (i % 86400) * 1000).toISOString(),
    postings: [
      { account: { template: 'channel_receivable', owner: 'WECHAT' }, side: 'DEBIT', amount: t(g), currency: 'CNY' },
      { account: { template: 'merchant_settleable', owner: `M${String(i % 10000).padStart(5, '0')}` }, side: 'CREDIT', amount: t(n), currency: 'CNY' },
      { account: { template: 'fee_income' }, side: 'CREDIT', amount: t(f), currency: 'CNY' },
    ] });
}
for (let round = 0; round < 5; round++) {
  const t0 = process.hrtime.bigint();
  let h = 0;
  for (const d of drafts) h += validateEntry(d, T).requestHash.length;
  console.log('validate µs/entry', (Number(process.hrtime.bigint() - t0) / 1e3 / N).toFixed(2), h);
}
