import { SettlementApprovalError } from './approval-error.js';
import { Money } from '@app/contracts';
import type { EntityManager } from 'typeorm';
import { maskAccountNo, type PayoutAccountType } from '../payout/payout-account.js';
import type { Approval, ApprovalPolicy, SettlementRecordStatus } from './settlement-approval.js';
import { approvalsRequiredFor } from './settlement-approval.js';

type Db = Pick<EntityManager, 'query'>;

/** Where the money goes, as much of it as an approver needs to check it against the contract. */
export interface PayeeAccountView {
  bank: string;
  /** Masked (****1234): the approver recognises the account, logs and screens do not carry it. */
  accountNo: string;
  holder: string;
  type: PayoutAccountType;
}

/** A settlement record as an approver (复核人) sees it: the figures, the payee, who approved so far. */
export interface ApprovalRecordView {
  id: string;
  merchantId: string;
  cycleKey: string;
  currency: string;
  firstBusinessDate: string;
  lastBusinessDate: string;
  closesOn: string;
  payoutDueOn: string;
  itemsCount: number;
  itemsNet: string;
  carriedIn: string;
  reserveHeld: string;
  reserveReleased: string;
  carryForward: string;
  /** What the merchant is paid if approved (结算金额), after reserve and carry-forward. */
  netPayout: string;
  /** Null when the merchant has no payout account on file: approving it cannot pay anyone yet. */
  payeeAccount: PayeeAccountView | null;
  status: SettlementRecordStatus;
  version: number;
  submittedBy: string;
  adjustedBy: string[];
  approvals: Approval[];
  approvalsRequired: number;
  journalEntryId: string | null;
  createdAt: string;
}

export interface ApprovalItemView {
  transactionEventId: string;
  channel: string;
  type: string;
  businessDate: string;
  gross: string;
  fee: string;
  channelCost: string;
  net: string;
}

export interface ApprovalAuditView {
  at: string;
  by: string;
  action: string;
  fromStatus: string | null;
  toStatus: string | null;
  reason: string | null;
  detail: Record<string, unknown> | null;
}

export interface ApprovalRecordDetail extends ApprovalRecordView {
  items: ApprovalItemView[];
  audit: ApprovalAuditView[];
}

export interface ApprovalRecordFilter {
  ids?: readonly string[];
  /** closes_on */
  date?: string;
  merchantId?: string;
  status?: string;
  limit?: number;
}

export const APPROVAL_LIST_LIMIT_DEFAULT = 1_000;

const ISO_UTC = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/** The dual-approval threshold of every currency that has one. */
export async function loadApprovalPolicies(db: Db): Promise<Map<string, ApprovalPolicy>> {
  const rows = await db.query<{ currency: string; above: string }[]>(
    `SELECT currency::text AS currency, dual_approval_above::text AS above FROM settlement.approval_policy`,
  );
  return new Map(rows.map((r) => [r.currency, { dualApprovalAbove: r.above }]));
}

/** The policy a record's currency is approved under; a currency without one is a setup error. */
export function policyFor(policies: Map<string, ApprovalPolicy>, currency: string): ApprovalPolicy {
  const policy = policies.get(currency);
  if (!policy)
    throw new SettlementApprovalError(
      'NO_APPROVAL_POLICY',
      `no approval policy for ${currency}: settlement.approval_policy needs its two-approver threshold before ${currency} records can be approved or rejected; nothing was changed`,
    );
  return policy;
}

function payeeOf(raw: unknown): PayeeAccountView | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const a = raw as Record<string, unknown>;
  if (typeof a.accountNo !== 'string') return null;
  return {
    bank: typeof a.bank === 'string' ? a.bank : '',
    accountNo: maskAccountNo(a.accountNo),
    holder: typeof a.holder === 'string' ? a.holder : '',
    type: a.type as PayoutAccountType,
  };
}

/** Settlement records with what an approver needs, oldest close first. */
export async function listApprovalRecords(
  db: Db,
  filter: ApprovalRecordFilter = {},
): Promise<ApprovalRecordView[]> {
  const rows = await db.query<Record<string, unknown>[]>(
    `SELECT r.id::text, r.merchant_id, r.cycle_key, r.currency::text AS currency,
            to_char(r.first_business_date, 'YYYY-MM-DD') AS first_business_date,
            to_char(r.last_business_date, 'YYYY-MM-DD') AS last_business_date,
            to_char(r.closes_on, 'YYYY-MM-DD') AS closes_on, to_char(r.payout_due_on, 'YYYY-MM-DD') AS payout_due_on,
            r.items_count, r.items_net::text, r.carried_in::text, r.reserve_held::text, r.reserve_released::text,
            r.amount::text, r.carry_forward::text, r.status, r.version, r.submitted_by, r.adjusted_by,
            r.journal_entry_id::text, to_char(r.created_at AT TIME ZONE 'UTC', ${ISO_UTC}) AS created_at,
            t.payout_account,
            coalesce((SELECT json_agg(json_build_object('by', a.approver,
                                      'at', to_char(a.at AT TIME ZONE 'UTC', ${ISO_UTC})) ORDER BY a.at, a.approver)
                      FROM settlement.record_approval a WHERE a.record_id = r.id), '[]') AS approvals
     FROM settlement.settlement_record r
     LEFT JOIN settlement.merchant_terms t ON t.merchant_id = r.merchant_id
     WHERE ($1::bigint[] IS NULL OR r.id = ANY($1)) AND ($2::date IS NULL OR r.closes_on = $2)
       AND ($3::text IS NULL OR r.merchant_id = $3) AND ($4::text IS NULL OR r.status = $4)
     ORDER BY r.closes_on, r.merchant_id, r.currency, r.id
     LIMIT $5`,
    [
      filter.ids ?? null,
      filter.date ?? null,
      filter.merchantId ?? null,
      filter.status ?? null,
      filter.limit ?? APPROVAL_LIST_LIMIT_DEFAULT,
    ],
  );
  const policies = rows.length === 0 ? new Map() : await loadApprovalPolicies(db);
  return rows.map((r) => {
    const currency = r.currency as string;
    const money = (v: unknown) => Money.of(v as string, currency);
    const policy = policies.get(currency) as ApprovalPolicy | undefined;
    return {
      id: r.id as string,
      merchantId: r.merchant_id as string,
      cycleKey: r.cycle_key as string,
      currency,
      firstBusinessDate: r.first_business_date as string,
      lastBusinessDate: r.last_business_date as string,
      closesOn: r.closes_on as string,
      payoutDueOn: r.payout_due_on as string,
      itemsCount: r.items_count as number,
      itemsNet: money(r.items_net).toString(),
      carriedIn: money(r.carried_in).toString(),
      reserveHeld: money(r.reserve_held).toString(),
      reserveReleased: money(r.reserve_released).toString(),
      carryForward: money(r.carry_forward).toString(),
      netPayout: money(r.amount).toString(),
      payeeAccount: payeeOf(r.payout_account),
      status: r.status as SettlementRecordStatus,
      version: r.version as number,
      submittedBy: r.submitted_by as string,
      adjustedBy: r.adjusted_by as string[],
      approvals: r.approvals as Approval[],
      // Without a policy the record cannot be approved at all; 1 is what the list can honestly say.
      approvalsRequired: policy ? approvalsRequiredFor(money(r.amount), policy) : 1,
      journalEntryId: r.journal_entry_id as string | null,
      createdAt: r.created_at as string,
    };
  });
}

/** One record with its cleared items and its whole audit trail; null when there is no such record. */
export async function getApprovalRecord(db: Db, id: string): Promise<ApprovalRecordDetail | null> {
  const [record] = await listApprovalRecords(db, { ids: [id] });
  if (!record) return null;
  const money = (v: string) => Money.of(v, record.currency).toString();
  const items = await db.query<Record<string, string>[]>(
    `SELECT transaction_event_id, channel, type, to_char(business_date, 'YYYY-MM-DD') AS business_date,
            gross::text, fee::text, channel_cost::text, net::text
     FROM settlement.cleared_item WHERE settlement_record_id = $1
     ORDER BY business_date, transaction_event_id`,
    [id],
  );
  const audit = await db.query<Record<string, unknown>[]>(
    `SELECT to_char(at AT TIME ZONE 'UTC', ${ISO_UTC}) AS at, by, action, from_status, to_status, reason, detail
     FROM settlement.record_audit WHERE record_id = $1 ORDER BY id`,
    [id],
  );
  return {
    ...record,
    items: items.map((i) => ({
      transactionEventId: i.transaction_event_id!,
      channel: i.channel!,
      type: i.type!,
      businessDate: i.business_date!,
      gross: money(i.gross!),
      fee: money(i.fee!),
      channelCost: money(i.channel_cost!),
      net: money(i.net!),
    })),
    audit: audit.map((a) => ({
      at: a.at as string,
      by: a.by as string,
      action: a.action as string,
      fromStatus: a.from_status as string | null,
      toStatus: a.to_status as string | null,
      reason: a.reason as string | null,
      detail: a.detail as Record<string, unknown> | null,
    })),
  };
}
