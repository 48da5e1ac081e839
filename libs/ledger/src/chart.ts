/**
 * Chart of accounts (科目) and account templates (账户模板): pure configuration, no I/O.
 *
 * Subjects form a tree under five roots; each carries the side its balance is normally on.
 * Accounts hang only off leaf subjects and are created on first use through a template, so an
 * account code is never an ad hoc string a service makes up.
 */
export type SubjectRoot = 'ASSET' | 'LIABILITY' | 'EQUITY' | 'INCOME' | 'EXPENSE';
export type Side = 'DEBIT' | 'CREDIT';

export const NORMAL_SIDE_OF_ROOT: Record<SubjectRoot, Side> = {
  ASSET: 'DEBIT',
  EXPENSE: 'DEBIT',
  LIABILITY: 'CREDIT',
  EQUITY: 'CREDIT',
  INCOME: 'CREDIT',
};

export interface SubjectDefinition {
  code: string;
  name: string;
  /** Omitted only for the five roots, whose code is the root name. */
  parentCode?: string;
}

export type OwnerKind = 'MERCHANT' | 'CHANNEL' | 'PAYOUT_ACCOUNT';

export interface AccountTemplateDefinition {
  code: string;
  subjectCode: string;
  /**
   * Null: one platform-wide account (e.g. fee income), whose currency is fixed by its first posting;
   * a second currency needs its own template (multi-currency books are not modelled yet).
   */
  ownerKind: OwnerKind | null;
  /** NON_NEGATIVE: the balance on the subject's normal side, less holds, may never go below zero. */
  balanceFloor: 'NONE' | 'NON_NEGATIVE';
  holdsAllowed: boolean;
  /**
   * Touched by most entries (platform accounts): postings never lock its balance row; balances
   * are kept as per-transaction deltas folded in later (ADR 006). Hot accounts cannot have a floor.
   */
  hot: boolean;
}

/** The default chart seeded by the ledger's first migration; codes follow DESIGN.md §6. */
export const DEFAULT_SUBJECTS: readonly SubjectDefinition[] = [
  { code: 'ASSET', name: 'Assets 资产' },
  { code: 'LIABILITY', name: 'Liabilities 负债' },
  { code: 'EQUITY', name: 'Equity 所有者权益' },
  { code: 'INCOME', name: 'Income 收入' },
  { code: 'EXPENSE', name: 'Expenses 费用' },
  { code: '1002', name: 'Bank deposits 银行存款', parentCode: 'ASSET' },
  { code: '1122', name: 'Channel receivable 应收渠道款', parentCode: 'ASSET' },
  { code: '22', name: 'Payable to merchants 应付商户款', parentCode: 'LIABILITY' },
  { code: '2202', name: 'Merchant pending 商户待清算', parentCode: '22' },
  { code: '2203', name: 'Merchant settleable 商户可结算', parentCode: '22' },
  { code: '2204', name: 'Merchant settlement in transit 商户结算在途', parentCode: '22' },
  { code: '2241', name: 'Suspense, unidentified receipts 待查明款项', parentCode: 'LIABILITY' },
  { code: '4104', name: 'Retained earnings 利润分配', parentCode: 'EQUITY' },
  { code: '6001', name: 'Fee income 手续费收入', parentCode: 'INCOME' },
  { code: '6401', name: 'Channel fee expense 渠道手续费支出', parentCode: 'EXPENSE' },
  { code: '6601', name: 'Marketing expense 营销费用', parentCode: 'EXPENSE' },
];

export const DEFAULT_ACCOUNT_TEMPLATES: readonly AccountTemplateDefinition[] = [
  {
    code: 'bank_deposit',
    subjectCode: '1002',
    ownerKind: 'PAYOUT_ACCOUNT',
    balanceFloor: 'NONE',
    holdsAllowed: false,
    hot: true,
  },
  {
    code: 'channel_receivable',
    subjectCode: '1122',
    ownerKind: 'CHANNEL',
    balanceFloor: 'NONE',
    holdsAllowed: false,
    hot: true,
  },
  {
    code: 'merchant_pending',
    subjectCode: '2202',
    ownerKind: 'MERCHANT',
    // No floor: a refund's T-day entry debits 2202 after its payment may already have been
    // cleared on to 2203; clearing the refund brings 2202 back (migration 1764000000700).
    balanceFloor: 'NONE',
    holdsAllowed: false,
    hot: false,
  },
  {
    code: 'merchant_settleable',
    subjectCode: '2203',
    ownerKind: 'MERCHANT',
    balanceFloor: 'NON_NEGATIVE',
    holdsAllowed: true,
    hot: false,
  },
  {
    code: 'merchant_in_transit',
    subjectCode: '2204',
    ownerKind: 'MERCHANT',
    balanceFloor: 'NON_NEGATIVE',
    holdsAllowed: false,
    hot: false,
  },
  {
    code: 'suspense',
    subjectCode: '2241',
    ownerKind: null,
    balanceFloor: 'NONE',
    holdsAllowed: false,
    hot: true,
  },
  {
    code: 'retained_earnings',
    subjectCode: '4104',
    ownerKind: null,
    balanceFloor: 'NONE',
    holdsAllowed: false,
    hot: true,
  },
  {
    code: 'fee_income',
    subjectCode: '6001',
    ownerKind: null,
    balanceFloor: 'NONE',
    holdsAllowed: false,
    hot: true,
  },
  {
    code: 'channel_fee_expense',
    subjectCode: '6401',
    ownerKind: 'CHANNEL',
    balanceFloor: 'NONE',
    holdsAllowed: false,
    hot: true,
  },
  {
    code: 'marketing_expense',
    subjectCode: '6601',
    ownerKind: null,
    balanceFloor: 'NONE',
    holdsAllowed: false,
    hot: true,
  },
];

/** `2203:M00042` for an owned account, `6001` for a platform-wide one. */
export function accountCodeOf(
  template: Pick<AccountTemplateDefinition, 'subjectCode' | 'ownerKind'>,
  owner?: string,
): string {
  return template.ownerKind === null ? template.subjectCode : `${template.subjectCode}:${owner}`;
}

export const OWNER_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
