/**
 * A reference model of the ledger for property tests: plain maps and Decimal, no SQL, no batching,
 * no hot-account deltas. It predicts the outcome of each operation the way the rules read in
 * DESIGN.md §6, and the test compares it with what the real ledger did.
 */
import { MoneyDecimal } from '@app/contracts';
import type { Decimal } from 'decimal.js';
import {
  DEFAULT_ACCOUNT_TEMPLATES,
  DEFAULT_SUBJECTS,
  NORMAL_SIDE_OF_ROOT,
  accountCodeOf,
  type AccountTemplateDefinition,
  type EntryDraft,
  type LedgerErrorCode,
  type Side,
  type SubjectRoot,
} from '@app/ledger';

export interface ModelAccount {
  code: string;
  template: AccountTemplateDefinition;
  normalSide: Side;
  debit: Decimal;
  credit: Decimal;
  held: Decimal;
}

export interface ModelPosting {
  code: string;
  side: Side;
  amount: Decimal;
}

export interface ModelEntry {
  id: string;
  key: string;
  draft: EntryDraft;
  postings: ModelPosting[];
  /** The entry this one reverses, if it is a reversal. */
  reverses: string | null;
  /** Set once a reversal of this entry has been posted. */
  reversedBy: string | null;
  /** For a reversal: the request that made it, to replay it. */
  reversal?: { reason: string; effectiveAt: string };
  /** For a hold commit: the hold it committed, to replay the commit. */
  holdId?: string;
}

export interface ModelHold {
  id: string;
  key: string;
  code: string;
  amount: Decimal;
  currency: string;
  resolved: boolean;
  account: { template: string; owner?: string };
}

export type Outcome = { ok: true } | { ok: false; code: LedgerErrorCode };

const TEMPLATES = new Map(DEFAULT_ACCOUNT_TEMPLATES.map((t) => [t.code, t]));

function rootOf(code: string): SubjectRoot {
  let s = DEFAULT_SUBJECTS.find((x) => x.code === code);
  while (s?.parentCode) {
    const parent = s.parentCode;
    s = DEFAULT_SUBJECTS.find((x) => x.code === parent);
  }
  return s!.code as SubjectRoot;
}

export function templateOf(code: string): AccountTemplateDefinition {
  const t = TEMPLATES.get(code);
  if (!t) throw new Error(`model: no template ${code}`);
  return t;
}

export function codeOf(account: { template: string; owner?: string }): string {
  return accountCodeOf(templateOf(account.template), account.owner);
}

export const ZERO: Decimal = new MoneyDecimal(0);

export class LedgerModel {
  readonly accounts = new Map<string, ModelAccount>();
  readonly entries: ModelEntry[] = [];
  readonly holds: ModelHold[] = [];

  account(ref: { template: string; owner?: string }): ModelAccount {
    const code = codeOf(ref);
    let a = this.accounts.get(code);
    if (!a) {
      const template = templateOf(ref.template);
      a = {
        code,
        template,
        normalSide: NORMAL_SIDE_OF_ROOT[rootOf(template.subjectCode)],
        debit: ZERO,
        credit: ZERO,
        held: ZERO,
      };
      this.accounts.set(code, a);
    }
    return a;
  }

  /** Starts the model from the book as it is (totals already proven against the postings). */
  load(ref: { template: string; owner?: string }, debit: string, credit: string, held: string): void {
    const a = this.account(ref);
    a.debit = new MoneyDecimal(debit);
    a.credit = new MoneyDecimal(credit);
    a.held = new MoneyDecimal(held);
  }

  /** Normal-side balance (what the account is worth on its own side). */
  balance(ref: { template: string; owner?: string }): Decimal {
    const a = this.accounts.get(codeOf(ref));
    if (!a) return ZERO;
    return a.normalSide === 'DEBIT' ? a.debit.minus(a.credit) : a.credit.minus(a.debit);
  }

  /** Balance less holds: what a floor or a new hold may use. */
  available(ref: { template: string; owner?: string }): Decimal {
    const held = this.accounts.get(codeOf(ref))?.held ?? ZERO;
    return this.balance(ref).minus(held);
  }

  static postingsOf(draft: EntryDraft): ModelPosting[] {
    return draft.postings.map((p) => ({
      code: codeOf(p.account),
      side: p.side,
      amount: new MoneyDecimal(p.amount),
    }));
  }

  /**
   * Applies a batch of (already valid) postings if no floored account would end below zero
   * available; otherwise changes nothing. `releasing` lets a hold commit free its amount first.
   */
  tryApply(
    drafts: EntryDraft[],
    releasing?: ModelHold,
  ): { ok: true } | { ok: false; code: 'LEDGER.INSUFFICIENT_FUNDS' } {
    const after = new Map<string, { debit: Decimal; credit: Decimal; held: Decimal; a: ModelAccount }>();
    for (const d of drafts) {
      for (const p of d.postings) {
        const a = this.account(p.account);
        const row = after.get(a.code) ?? { debit: a.debit, credit: a.credit, held: a.held, a };
        if (p.side === 'DEBIT') row.debit = row.debit.plus(p.amount);
        else row.credit = row.credit.plus(p.amount);
        after.set(a.code, row);
      }
    }
    if (releasing) {
      const row = after.get(releasing.code);
      if (row) row.held = row.held.minus(releasing.amount);
    }
    for (const { debit, credit, held, a } of after.values()) {
      if (a.template.balanceFloor !== 'NON_NEGATIVE') continue;
      const balance = a.normalSide === 'DEBIT' ? debit.minus(credit) : credit.minus(debit);
      if (balance.minus(held).lt(0)) return { ok: false, code: 'LEDGER.INSUFFICIENT_FUNDS' };
    }
    for (const { debit, credit, held, a } of after.values()) {
      a.debit = debit;
      a.credit = credit;
      a.held = held;
    }
    if (releasing) releasing.resolved = true;
    return { ok: true };
  }

  record(entry: ModelEntry): void {
    this.entries.push(entry);
    if (entry.reverses) {
      const original = this.entries.find((e) => e.id === entry.reverses);
      if (original) original.reversedBy = entry.id;
    }
  }

  /** The reversing draft's postings for an entry: the same postings, sides swapped. */
  static mirrored(entry: ModelEntry): EntryDraft['postings'] {
    return entry.draft.postings.map((p) => ({ ...p, side: p.side === 'DEBIT' ? 'CREDIT' : 'DEBIT' }));
  }

  /** Per account code: debit, credit and held totals as canonical strings, zero accounts left out. */
  totals(codes?: Iterable<string>): Map<string, { debit: string; credit: string; held: string }> {
    const result = new Map<string, { debit: string; credit: string; held: string }>();
    for (const code of codes ?? this.accounts.keys()) {
      const a = this.accounts.get(code);
      if (!a || (a.debit.isZero() && a.credit.isZero() && a.held.isZero())) continue;
      result.set(code, { debit: a.debit.toFixed(), credit: a.credit.toFixed(), held: a.held.toFixed() });
    }
    return result;
  }
}
