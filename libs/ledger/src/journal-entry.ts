import { hash } from 'node:crypto';
import {
  formatMinorUnits,
  isoInstantToEpochMillis,
  MoneyError,
  parseMinorUnits,
  type Money,
} from '@app/contracts';
import { accountCodeOf, OWNER_ID_PATTERN, type AccountTemplateDefinition, type Side } from './chart.js';
import { LedgerError } from './ledger-error.js';

/** Which account a posting goes to: a declared template plus, for owned accounts, the owner. */
export interface AccountRef {
  template: string;
  owner?: string;
}

export interface PostingDraft {
  account: AccountRef;
  side: Side;
  /** Decimal string at the currency's scale, > 0. */
  amount: string;
  currency: string;
}

export interface EntryDraft {
  /** Unique per entry: a replay with the same content returns the original entry. */
  idempotencyKey: string;
  /** What the entry is about: a transaction id, a settlement record id… */
  businessRef: string;
  /** When it happened in business terms (ISO-8601 with offset); the recorded time is the DB's clock. */
  effectiveAt: string;
  description?: string;
  metadata?: Record<string, unknown>;
  postings: PostingDraft[];
}

/**
 * A validated posting, resolved to its account code and canonical amount. The amount is kept as
 * integer minor units and its canonical text, not a Money: the posting path only adds, compares
 * and prints amounts, and a Decimal per posting was a third of its cost (docs/BENCHMARKS.md).
 */
export interface ValidPosting {
  accountCode: string;
  template: AccountTemplateDefinition;
  owner: string | null;
  side: Side;
  /** Canonical decimal text at the currency's scale, as Money#toString would print it. */
  amount: string;
  /** The same amount in minor units (fen, cents), > 0. */
  units: bigint;
}

export interface ValidEntry {
  draft: EntryDraft;
  currency: string;
  effectiveAt: string;
  postings: ValidPosting[];
  /** Hash of the content (not the key): tells a replay from a different request reusing the key. */
  requestHash: string;
}

export const ENTRY_POSTINGS_MAX = 100;

// Error context is built only when there is an error: validation runs for every entry posted.
const entryName = (draft: EntryDraft) => `entry ${draft.idempotencyKey}`;
const postingName = (draft: EntryDraft, index: number) => `${entryName(draft)}, posting ${index + 1}`;

/**
 * Checks everything that can be checked without the database: ≥ 2 postings, one currency,
 * amounts valid at the currency's minor unit, debits = credits, accounts from declared templates.
 */
export function validateEntry(
  draft: EntryDraft,
  templates: ReadonlyMap<string, AccountTemplateDefinition>,
): ValidEntry {
  if (
    typeof draft.idempotencyKey !== 'string' ||
    draft.idempotencyKey.length === 0 ||
    draft.idempotencyKey.length > 200
  ) {
    throw new LedgerError('LEDGER.IDEMPOTENCY_CONFLICT', `idempotency key must be 1..200 characters`);
  }
  if (
    typeof draft.businessRef !== 'string' ||
    draft.businessRef.length === 0 ||
    draft.businessRef.length > 200
  ) {
    throw new LedgerError(
      'LEDGER.INVALID_BUSINESS_REF',
      `${entryName(draft)}: businessRef must be 1..200 characters`,
    );
  }
  if (
    !Array.isArray(draft.postings) ||
    draft.postings.length < 2 ||
    draft.postings.length > ENTRY_POSTINGS_MAX
  ) {
    throw new LedgerError(
      'LEDGER.TOO_FEW_POSTINGS',
      `${entryName(draft)}: needs between 2 and ${ENTRY_POSTINGS_MAX} postings, got ${draft.postings?.length ?? 0}`,
    );
  }
  let effectiveAt: string;
  try {
    // The canonical UTC form luxon's toISO() gave (same text for every instant the parser accepts;
    // the request hash depends on it), without building a DateTime per entry.
    effectiveAt = new Date(isoInstantToEpochMillis(draft.effectiveAt)).toISOString();
  } catch (error) {
    throw new LedgerError(
      'LEDGER.INVALID_EFFECTIVE_TIME',
      `${entryName(draft)}: effectiveAt ${(error as Error).message}`,
    );
  }
  const currency = draft.postings[0]!.currency;
  const postings: ValidPosting[] = [];
  let debits = 0n;
  let credits = 0n;
  for (let i = 0; i < draft.postings.length; i += 1) {
    const p = draft.postings[i]!;
    if (p.currency !== currency) {
      throw new LedgerError(
        'LEDGER.CURRENCY_MIXED',
        `${postingName(draft, i)}: currency ${p.currency} in a ${currency} entry; one currency per entry`,
      );
    }
    const template = templates.get(p.account?.template);
    if (!template)
      throw new LedgerError(
        'LEDGER.UNKNOWN_TEMPLATE',
        `${postingName(draft, i)}: no account template "${p.account?.template}"`,
      );
    const owner = p.account.owner ?? null;
    if (template.ownerKind === null ? owner !== null : owner === null || !OWNER_ID_PATTERN.test(owner)) {
      throw new LedgerError(
        'LEDGER.INVALID_OWNER',
        template.ownerKind === null
          ? `${postingName(draft, i)}: ${template.code} is platform-wide and takes no owner, got "${owner}"`
          : `${postingName(draft, i)}: ${template.code} needs a ${template.ownerKind} owner id, got ${owner === null ? 'none' : `"${owner}"`}`,
      );
    }
    if (p.side !== 'DEBIT' && p.side !== 'CREDIT') {
      throw new LedgerError(
        'LEDGER.INVALID_AMOUNT',
        `${postingName(draft, i)}: side must be DEBIT or CREDIT, got "${String(p.side)}"`,
      );
    }
    let amount: { units: bigint; text: string };
    try {
      // A posting may be a sum (a cycle's payable, a merchant's returned funds): the ledger takes
      // what Money holds; one item's bound is enforced where items enter, not here.
      amount = parseMinorUnits(p.amount, p.currency, { allowZero: false, sum: true });
    } catch (error) {
      if (error instanceof MoneyError)
        throw new LedgerError('LEDGER.INVALID_AMOUNT', `${postingName(draft, i)}: ${error.message}`);
      throw error;
    }
    if (p.side === 'DEBIT') debits += amount.units;
    else credits += amount.units;
    postings.push({
      accountCode: accountCodeOf(template, owner ?? undefined),
      template,
      owner,
      side: p.side,
      amount: amount.text,
      units: amount.units,
    });
  }
  if (debits === 0n || credits === 0n || debits !== credits) {
    throw new LedgerError(
      'LEDGER.UNBALANCED',
      `${entryName(draft)}: debits ${debits === 0n ? '0' : formatMinorUnits(debits, currency)} ≠ credits ${credits === 0n ? '0' : formatMinorUnits(credits, currency)} ${currency}`,
    );
  }
  return {
    draft,
    currency,
    effectiveAt,
    postings,
    requestHash: requestHashOf(draft, currency, effectiveAt, postings),
  };
}

function requestHashOf(
  draft: EntryDraft,
  currency: string,
  effectiveAt: string,
  postings: ValidPosting[],
): string {
  return hash('sha256', canonicalContent(draft, currency, effectiveAt, postings), 'base64url');
}

/**
 * What the request hash covers, as the text `JSON.stringify([businessRef, effectiveAt,
 * description ?? null, metadata ?? null, [[accountCode, side, amount, currency], …]])` — the form
 * every stored hash was computed from, so it must never change. Built by hand: account codes
 * (subject code + owner id), sides, canonical amounts, currency codes and ISO instants contain
 * nothing JSON escapes, so only the caller's free text goes through JSON.stringify. A property
 * test holds it to the JSON.stringify form.
 */
export function canonicalContent(
  draft: EntryDraft,
  currency: string,
  effectiveAt: string,
  postings: readonly ValidPosting[],
): string {
  let text = `[${JSON.stringify(draft.businessRef)},"${effectiveAt}",${
    draft.description === undefined ? 'null' : JSON.stringify(draft.description)
  },${draft.metadata === undefined ? 'null' : JSON.stringify(draft.metadata)},[`;
  for (let i = 0; i < postings.length; i += 1) {
    const p = postings[i]!;
    text += `${i === 0 ? '' : ','}["${p.accountCode}","${p.side}","${p.amount}","${currency}"]`;
  }
  return `${text}]]`;
}

/** The normal-side balance of an account from its debit and credit totals. */
export function normalBalance(normalSide: Side, debitTotal: Money, creditTotal: Money): Money {
  return normalSide === 'DEBIT' ? debitTotal.minus(creditTotal) : creditTotal.minus(debitTotal);
}
