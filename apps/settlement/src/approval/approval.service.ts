import { Money } from '@app/contracts';
import type { Ledger } from '@app/ledger';
import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { moveRecord } from '../payout/payout.service.js';
import { recordReturnedFunds } from '../settlement/returned-funds.js';
import { SettlementApprovalError } from './approval-error.js';
import {
  listApprovalRecords,
  loadApprovalPolicies,
  policyFor,
  type ApprovalRecordView,
} from './approval-records.js';
import {
  decide,
  type ApprovalAction,
  type ApprovalAuditEntry,
  type ApprovalCommand,
  type ApprovalRecord,
  type ApprovalTransition,
} from './settlement-approval.js';

/**
 * Approve and reject settlement records (结算审核) on the database, following the loop the pure
 * `decide` describes: idempotency key first, decide on the record as loaded, write the transition
 * in one transaction guarded by `version` (optimistic locking), and on a lost race reload and decide
 * again. Refusals are audited (in their own small transaction) and then thrown with their code.
 *
 * Why this holds under concurrency: every transition's UPDATE … WHERE version = $expected is
 * serialised by the row lock; a loser's UPDATE re-checks the version after the winner commits,
 * touches nothing, and the loser's next decision sees the winner's state (NOT_PENDING, or the
 * second approval of two). The payout request's primary key is the record id, so even a bug above
 * could not ask for a record to be paid twice.
 */

/** A record contended this often in one command is refused rather than retried forever. */
export const APPROVAL_DECIDE_ATTEMPTS_MAX = 8;

export interface ApproveOptions {
  by: string;
  idempotencyKey: string;
  /** The version the approver looked at; when the record has moved on, VERSION_CONFLICT. */
  expectedVersion?: number;
}

export interface RejectOptions {
  by: string;
  reason: string;
  idempotencyKey: string;
  expectedVersion?: number;
}

interface StoredCommand {
  request_hash: string;
  outcome: 'APPLIED' | 'REFUSED';
  response: ApprovalRecordView | { code: SettlementApprovalError['code']; message: string };
}

/** Someone else wrote the record (or the key) first: roll back and look again. */
class LostRace extends Error {
  constructor(readonly what: 'VERSION' | 'KEY') {
    super(what);
  }
}

const RECORD_ID = /^[1-9]\d{0,18}$/;

/** Who completes an approved record that pays nothing (audit trail). */
export const NO_PAYOUT_BY = 'system:payout';

export class ApprovalService {
  private readonly now: () => Date;

  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: Ledger,
    options: { now?: () => Date } = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** @throws SettlementApprovalError NOT_FOUND, NOT_PENDING, VERSION_CONFLICT, SELF_APPROVAL, SAME_APPROVER_TWICE, IDEMPOTENCY_CONFLICT */
  approve(recordId: string, options: ApproveOptions): Promise<ApprovalRecordView> {
    return this.command(recordId, 'APPROVE', options);
  }

  /** @throws SettlementApprovalError NOT_FOUND, NOT_PENDING, VERSION_CONFLICT, REASON_REQUIRED, REASON_TOO_LONG, IDEMPOTENCY_CONFLICT */
  reject(recordId: string, options: RejectOptions): Promise<ApprovalRecordView> {
    return this.command(recordId, 'REJECT', options);
  }

  private async command(
    recordId: string,
    kind: ApprovalAction,
    options: { by: string; reason?: string; idempotencyKey: string; expectedVersion?: number },
  ): Promise<ApprovalRecordView> {
    const key = options.idempotencyKey;
    const hash = requestHash(recordId, kind, options);
    const stored = await this.storedCommand(this.dataSource.manager, key);
    if (stored) return replay(stored, hash, key);
    if (!RECORD_ID.test(recordId)) throw notFound(recordId);

    for (let attempt = 1; ; attempt++) {
      const record = await this.loadRecord(recordId);
      const policy = policyFor(await loadApprovalPolicies(this.dataSource), record.currency);
      const command: ApprovalCommand = {
        kind,
        by: options.by,
        at: this.now().toISOString(),
        ...(options.reason === undefined ? {} : { reason: options.reason }),
        ...(options.expectedVersion === undefined ? {} : { expectedVersion: options.expectedVersion }),
      };
      const decision = decide(record, command, policy);
      if (decision.kind === 'REFUSAL' || attempt > APPROVAL_DECIDE_ATTEMPTS_MAX) {
        const refusal =
          decision.kind === 'REFUSAL'
            ? decision
            : {
                code: 'VERSION_CONFLICT' as const,
                message: `the record kept changing under ${APPROVAL_DECIDE_ATTEMPTS_MAX} attempts to ${kind.toLowerCase()} it; reload it and decide again`,
                auditEntry: {
                  ...decision.auditEntry,
                  outcome: 'REFUSED' as const,
                  to: decision.from,
                  refusalCode: 'VERSION_CONFLICT' as const,
                  approvals: record.approvals.length,
                },
              };
        return this.refuse(recordId, key, kind, hash, refusal);
      }
      try {
        return await this.dataSource.transaction((tx) =>
          this.apply(tx, recordId, record, decision, key, kind, hash),
        );
      } catch (error) {
        if (!(error instanceof LostRace)) throw error;
        if (error.what === 'KEY')
          return replay((await this.storedCommand(this.dataSource.manager, key))!, hash, key);
      }
    }
  }

  private async apply(
    tx: EntityManager,
    recordId: string,
    record: ApprovalRecord & { merchantId: string },
    decision: ApprovalTransition,
    key: string,
    kind: ApprovalAction,
    hash: string,
  ): Promise<ApprovalRecordView> {
    const updated = await tx.query<{ id: string }[]>(
      `WITH u AS (
         UPDATE settlement.settlement_record SET status = $2, version = $3
         WHERE id = $1 AND version = $4 RETURNING id)
       SELECT id::text FROM u`,
      [recordId, decision.to, decision.versionAfter, decision.expectedVersion],
    );
    if (updated.length === 0) throw new LostRace('VERSION');
    const entry = decision.auditEntry;
    if (kind === 'APPROVE')
      await tx.query(`INSERT INTO settlement.record_approval (record_id, approver, at) VALUES ($1, $2, $3)`, [
        recordId,
        entry.by,
        entry.at,
      ]);
    await this.audit(tx, recordId, entry, key, null);
    const amount = Money.of(record.amount, record.currency);
    for (const effect of decision.effects) {
      if (effect === 'RETURN_TO_SETTLEABLE' && amount.isPositive()) {
        const returned = returnToSettleableEntry(recordId, record.merchantId, amount, entry);
        await this.ledger.post(tx, [returned]);
        // Still the merchant's money: the next settlement record pays it (carried_in).
        await recordReturnedFunds(tx, {
          recordId,
          merchantId: record.merchantId,
          amount,
          cause: 'REJECTED',
          ledgerKey: returned.idempotencyKey,
        });
      }
      // The payout event and the gateway come next; the request row is what they will pick up.
      if (effect === 'REQUEST_PAYOUT' && amount.isPositive())
        await tx.query(
          `INSERT INTO settlement.payout_request
             (record_id, attempt_id, merchant_id, currency, amount, status, requested_by)
           VALUES ($1, $2, $3, $4, $5, 'REQUESTED', $6)`,
          [recordId, `${recordId}-1`, record.merchantId, record.currency, amount.toString(), entry.by],
        );
      // Nothing to transfer (the items netted to zero, or all was carried or held): the record is
      // complete once approved instead of waiting for a payout nobody will ask for.
      if (effect === 'REQUEST_PAYOUT' && amount.isZero())
        await moveRecord(tx, recordId, 'APPROVED', 'PAID', NO_PAYOUT_BY, 'NO_PAYOUT_NEEDED', {
          amount: amount.toString(),
          currency: amount.currency,
        });
    }
    const [view] = await listApprovalRecords(tx, { ids: [recordId] });
    await this.storeCommand(tx, key, recordId, kind, hash, 'APPLIED', view!);
    return view!;
  }

  private async refuse(
    recordId: string,
    key: string,
    kind: ApprovalAction,
    hash: string,
    refusal: { code: SettlementApprovalError['code']; message: string; auditEntry: ApprovalAuditEntry },
  ): Promise<ApprovalRecordView> {
    try {
      await this.dataSource.transaction(async (tx) => {
        await this.audit(tx, recordId, refusal.auditEntry, key, refusal.message);
        await this.storeCommand(tx, key, recordId, kind, hash, 'REFUSED', {
          code: refusal.code,
          message: refusal.message,
        });
      });
    } catch (error) {
      if (!(error instanceof LostRace)) throw error;
      return replay((await this.storedCommand(this.dataSource.manager, key))!, hash, key);
    }
    throw new SettlementApprovalError(refusal.code, refusal.message);
  }

  private async audit(
    tx: EntityManager,
    recordId: string,
    entry: ApprovalAuditEntry,
    key: string,
    message: string | null,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO settlement.record_audit (record_id, at, by, action, from_status, to_status, reason, detail)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        recordId,
        entry.at,
        entry.by,
        entry.action,
        entry.from,
        entry.to,
        entry.reason,
        JSON.stringify({
          outcome: entry.outcome,
          refusalCode: entry.refusalCode,
          approvals: entry.approvals,
          approvalsRequired: entry.approvalsRequired,
          idempotencyKey: key,
          ...(message === null ? {} : { message }),
        }),
      ],
    );
  }

  /** Inserted last in the command's transaction; a key taken meanwhile rolls the whole command back. */
  private async storeCommand(
    tx: EntityManager,
    key: string,
    recordId: string,
    kind: ApprovalAction,
    hash: string,
    outcome: 'APPLIED' | 'REFUSED',
    response: StoredCommand['response'],
  ): Promise<void> {
    const inserted = await tx.query<{ key: string }[]>(
      `INSERT INTO settlement.command_idempotency (key, record_id, command, request_hash, outcome, response)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING RETURNING key`,
      [key, recordId, kind, hash, outcome, JSON.stringify(response)],
    );
    if (inserted.length === 0) throw new LostRace('KEY');
  }

  private async storedCommand(db: Pick<EntityManager, 'query'>, key: string): Promise<StoredCommand | null> {
    const [row] = await db.query<StoredCommand[]>(
      `SELECT request_hash, outcome, response FROM settlement.command_idempotency WHERE key = $1`,
      [key],
    );
    return row ?? null;
  }

  private async loadRecord(recordId: string): Promise<ApprovalRecord & { merchantId: string }> {
    const [row] = await this.dataSource.query<
      {
        status: ApprovalRecord['status'];
        version: number;
        amount: string;
        currency: string;
        submitted_by: string;
        adjusted_by: string[];
        merchant_id: string;
        approvals: { by: string; at: string }[];
      }[]
    >(
      `SELECT r.status, r.version, r.amount::text, r.currency::text AS currency, r.submitted_by, r.adjusted_by,
              r.merchant_id,
              coalesce((SELECT json_agg(json_build_object('by', a.approver,
                                        'at', to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
                                        ORDER BY a.at, a.approver)
                        FROM settlement.record_approval a WHERE a.record_id = r.id), '[]') AS approvals
       FROM settlement.settlement_record r WHERE r.id = $1`,
      [recordId],
    );
    if (!row) throw notFound(recordId);
    return {
      status: row.status,
      version: row.version,
      amount: Money.of(row.amount, row.currency).toString(),
      currency: row.currency,
      submittedBy: row.submitted_by,
      adjustedBy: row.adjusted_by,
      approvals: row.approvals,
      merchantId: row.merchant_id,
    };
  }
}

function notFound(recordId: string): SettlementApprovalError {
  return new SettlementApprovalError('NOT_FOUND', `no settlement record ${recordId}`);
}

function requestHash(
  recordId: string,
  kind: ApprovalAction,
  options: { by: string; reason?: string; expectedVersion?: number },
): string {
  const canonical = JSON.stringify([
    recordId,
    kind,
    options.by,
    options.reason ?? null,
    options.expectedVersion ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** The first answer to a key, again: the stored record view, or the stored refusal thrown again. */
function replay(stored: StoredCommand, hash: string, key: string): ApprovalRecordView {
  if (stored.request_hash !== hash)
    throw new SettlementApprovalError(
      'IDEMPOTENCY_CONFLICT',
      `Idempotency-Key "${key}" was already used for a different request; use a new key for a new command`,
    );
  if (stored.outcome === 'REFUSED') {
    const refusal = stored.response as { code: SettlementApprovalError['code']; message: string };
    throw new SettlementApprovalError(refusal.code, refusal.message);
  }
  return stored.response as ApprovalRecordView;
}

/** Rejected: the payable amount leaves 2204 in transit and is settleable again (Dr 2204 / Cr 2203). */
function returnToSettleableEntry(
  recordId: string,
  merchantId: string,
  amount: Money,
  entry: ApprovalAuditEntry,
) {
  return {
    idempotencyKey: `settlement-reject:${recordId}`,
    businessRef: `settlement:${recordId}`,
    effectiveAt: entry.at,
    description: `settlement record ${recordId} rejected by ${entry.by}: amount back to settleable`,
    metadata: { recordId, merchantId, rejectedBy: entry.by, reason: entry.reason },
    postings: [
      {
        account: { template: 'merchant_in_transit', owner: merchantId },
        side: 'DEBIT' as const,
        amount: amount.toString(),
        currency: amount.currency,
      },
      {
        account: { template: 'merchant_settleable', owner: merchantId },
        side: 'CREDIT' as const,
        amount: amount.toString(),
        currency: amount.currency,
      },
    ],
  };
}
