import { formatMinorUnits, Money, invariant } from '@app/contracts';
import { backoffDelayMs, copyText, copyTextField, isUniqueViolation, reserveIds, sleep } from '@app/platform';
import type { EntityManager, QueryRunner } from 'typeorm';
import type { AccountTemplateDefinition, Side } from './chart.js';
import { normalBalance, validateEntry, type EntryDraft, type ValidEntry } from './journal-entry.js';
import { lockBalanceRows } from './balance-locks.js';
import { LedgerError } from './ledger-error.js';

export interface PostedEntry {
  entryId: string;
  idempotencyKey: string;
  /** True when the key had already been posted with the same content: nothing was written. */
  replayed: boolean;
}

export interface LedgerAccount {
  id: string;
  code: string;
  currency: string;
  template: AccountTemplateDefinition;
  normalSide: Side;
}

export interface HoldRequest {
  idempotencyKey: string;
  account: { template: string; owner?: string };
  amount: string;
  currency: string;
  reason?: string;
}

export interface ReversalRequest {
  entryId: string;
  idempotencyKey: string;
  businessRef?: string;
  effectiveAt: string;
  reason: string;
}

export interface LedgerOptions {
  /** Entries per `post` call; larger batches are the caller's to split. */
  batchSizeMax?: number;
  /** Attempts for a batch that hits a deadlock or serialization failure before the error surfaces. */
  conflictAttemptsMax?: number;
}

interface Chart {
  templates: Map<string, AccountTemplateDefinition>;
  normalSideOfSubject: Map<string, Side>;
}

const SIDE_CODE: Record<Side, 'D' | 'C'> = { DEBIT: 'D', CREDIT: 'C' };

/** Entry ids reserved per sequence round trip (a few batches' worth; unused ones are just gaps). */
const ENTRY_ID_RESERVE = 10_000;

/** The fast path met a key that exists already: the attempt is rolled back and run on the slow path. */
class DuplicateOnFastPath extends Error {
  constructor(readonly original: unknown) {
    super('an idempotency key exists already; retrying on the slow path');
  }
}

/** What one batch moves on one account, in minor units of the account's currency. */
interface BalanceDelta {
  account: LedgerAccount;
  debit: bigint;
  credit: bigint;
}

/**
 * The double-entry ledger's write API. Every method works inside the caller's transaction, so a
 * service's own state, its journal entries, inbox and outbox rows commit together; each call
 * runs under a savepoint, so a rejected request changes nothing even if the caller carries on.
 *
 * Throughput without hot-account collapse (ADR 006): postings are COPYed append-only; each account
 * a batch touches gets one aggregated delta row, folded into its balance by `compactBalanceDeltas`,
 * so a hot platform account (fee income, channel receivable) is never locked; only a batch that
 * lowers an account with a floor (a payout from a merchant's settleable) locks that balance row,
 * in account-id order, to check the floor against it.
 */
export class Ledger {
  private chart: Chart | undefined;
  /** Accounts are immutable once committed, so their ids can be cached for the process's life. */
  private readonly accounts = new Map<string, LedgerAccount>();
  /** Accounts created by a transaction not yet known to be committed: never cached. */
  private readonly createdIn = new WeakMap<QueryRunner, Set<string>>();
  private readonly batchSizeMax: number;
  /**
   * Entry ids reserved from the sequence and not used yet. Sequence values are not transactional
   * (a rolled-back batch's ids are simply never used), so ids are taken ENTRY_ID_RESERVE at a time
   * and most batches need no round trip for them.
   */
  private readonly idPool: string[] = [];
  private readonly conflictAttemptsMax: number;

  constructor(options: LedgerOptions = {}) {
    this.batchSizeMax = options.batchSizeMax ?? 10_000;
    this.conflictAttemptsMax = options.conflictAttemptsMax ?? 8;
  }

  /** Posts a batch of entries atomically: all of them take effect, or (on an error) none. */
  async post(tx: EntityManager, drafts: EntryDraft[]): Promise<PostedEntry[]> {
    if (drafts.length === 0) return [];
    if (drafts.length > this.batchSizeMax) {
      throw new LedgerError(
        'LEDGER.BATCH_TOO_LARGE',
        `${drafts.length} entries in one call; at most ${this.batchSizeMax}`,
      );
    }
    const chart = await this.loadChart(tx);
    const entries = drafts.map((d) => validateEntry(d, chart.templates));
    return this.withConflictRetry(tx, 'ledger_post', async (fastPath) => {
      const accounts = await this.resolveAccounts(tx, entries);
      return this.write(tx, fastPath, entries, accounts, new Map());
    });
  }

  /** A reversing entry: every posting of the original with its side swapped, linked to it. */
  async reverse(tx: EntityManager, request: ReversalRequest): Promise<PostedEntry> {
    const chart = await this.loadChart(tx);
    if (!isRowId(request.entryId))
      throw new LedgerError('LEDGER.UNKNOWN_ENTRY', `no journal entry ${request.entryId}`);
    const [original] = await tx.query<
      { id: string; business_ref: string; reverses_entry_id: string | null }[]
    >('SELECT id, business_ref, reverses_entry_id FROM ledger.journal_entry WHERE id = $1', [
      request.entryId,
    ]);
    if (!original) throw new LedgerError('LEDGER.UNKNOWN_ENTRY', `no journal entry ${request.entryId}`);
    if (original.reverses_entry_id !== null) {
      throw new LedgerError(
        'LEDGER.CANNOT_REVERSE_REVERSAL',
        `entry ${request.entryId} is itself a reversal`,
      );
    }
    const postings = await tx.query<
      { template_code: string; owner_id: string | null; side: 'D' | 'C'; amount: string; currency: string }[]
    >(
      `SELECT a.template_code, a.owner_id, p.side, p.amount::text AS amount, p.currency
       FROM ledger.posting p JOIN ledger.account a ON a.id = p.account_id
       WHERE p.entry_id = $1 ORDER BY p.line`,
      [request.entryId],
    );
    const draft: EntryDraft = {
      idempotencyKey: request.idempotencyKey,
      businessRef: request.businessRef ?? original.business_ref,
      effectiveAt: request.effectiveAt,
      description: `reversal of entry ${request.entryId}: ${request.reason}`,
      metadata: { reversesEntryId: request.entryId, reason: request.reason },
      postings: postings.map((p) => ({
        account: { template: p.template_code, ...(p.owner_id === null ? {} : { owner: p.owner_id }) },
        side: p.side === 'D' ? 'CREDIT' : 'DEBIT',
        amount: Money.of(p.amount, p.currency).toString(),
        currency: p.currency,
      })),
    };
    const entry = validateEntry(draft, chart.templates);
    const [posted] = await this.withConflictRetry(tx, 'ledger_reverse', async (fastPath) => {
      const accounts = await this.resolveAccounts(tx, [entry]);
      return this.write(
        tx,
        fastPath,
        [entry],
        accounts,
        new Map([[entry.draft.idempotencyKey, request.entryId]]),
      );
    });
    return posted!;
  }

  /** Freezes part of an account's available balance (冻结). */
  async placeHold(tx: EntityManager, request: HoldRequest): Promise<{ holdId: string; replayed: boolean }> {
    const chart = await this.loadChart(tx);
    const template = chart.templates.get(request.account.template);
    if (!template)
      throw new LedgerError('LEDGER.UNKNOWN_TEMPLATE', `no account template "${request.account.template}"`);
    if (!template.holdsAllowed)
      throw new LedgerError('LEDGER.HOLDS_NOT_ALLOWED', `${template.code} accounts take no holds`);
    let amount: Money;
    try {
      // A hold is a sum too (a cycle's reserve): bounded by what Money holds, as postings are.
      amount = Money.parse(request.amount, request.currency, { allowZero: false, sum: true });
    } catch (error) {
      throw new LedgerError(
        'LEDGER.INVALID_AMOUNT',
        `hold ${request.idempotencyKey}: ${(error as Error).message}`,
      );
    }
    return this.withConflictRetry(tx, 'ledger_hold', async () => {
      const [existing] = await tx.query<
        { id: string; account_code: string; amount: string; currency: string }[]
      >(
        `SELECT h.id, a.code AS account_code, h.amount::text AS amount, h.currency
         FROM ledger.hold h JOIN ledger.account a ON a.id = h.account_id WHERE h.idempotency_key = $1`,
        [request.idempotencyKey],
      );
      const account = await this.accountFor(tx, template, request.account.owner, request.currency);
      if (existing) return replayedHold(existing, account, amount, request.idempotencyKey);
      if (account.currency !== amount.currency) {
        throw new LedgerError(
          'LEDGER.CURRENCY_MISMATCH',
          `hold ${request.idempotencyKey}: account ${account.code} holds ${account.currency}, the hold is ${amount.currency}`,
        );
      }
      await lockBalanceRows(tx, [account.id]);
      const available = this.available(account, await this.lockedBalance(tx, account.id));
      if (available.lessThan(amount)) {
        throw new LedgerError(
          'LEDGER.HOLD_EXCEEDS_AVAILABLE',
          `hold of ${amount.toString()} ${amount.currency} on ${account.code} exceeds its available ${available.toString()}`,
        );
      }
      const [hold] = await tx.query<{ id: string }[]>(
        `INSERT INTO ledger.hold (idempotency_key, account_id, amount, currency, reason) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
        [request.idempotencyKey, account.id, amount.toString(), amount.currency, request.reason ?? null],
      );
      if (!hold) {
        // A concurrent request with this key committed since our look-up (a redelivery racing the
        // first delivery): answer as if we had seen its hold first.
        const [raced] = await tx.query<
          { id: string; account_code: string; amount: string; currency: string }[]
        >(
          `SELECT h.id, a.code AS account_code, h.amount::text AS amount, h.currency
           FROM ledger.hold h JOIN ledger.account a ON a.id = h.account_id WHERE h.idempotency_key = $1`,
          [request.idempotencyKey],
        );
        invariant(
          raced !== undefined,
          () => `hold key ${request.idempotencyKey} conflicted but is not visible`,
        );
        return replayedHold(raced, account, amount, request.idempotencyKey);
      }
      await tx.query(
        'UPDATE ledger.account_balance SET held_total = held_total + $2, updated_at = now() WHERE account_id = $1',
        [account.id, amount.toString()],
      );
      return { holdId: hold.id, replayed: false };
    });
  }

  /** Gives a held amount back to the account's available balance. */
  async releaseHold(tx: EntityManager, holdId: string): Promise<void> {
    await this.withConflictRetry(tx, 'ledger_release', async () => {
      await this.resolveHold(tx, holdId, 'RELEASED', null);
    });
  }

  /**
   * Consumes a hold by posting `entry` (which moves the held money, e.g. settleable → in transit)
   * in the same step: the held amount stops counting as held exactly when the entry takes it.
   */
  async commitHold(tx: EntityManager, holdId: string, entry: EntryDraft): Promise<PostedEntry> {
    const chart = await this.loadChart(tx);
    const valid = validateEntry(entry, chart.templates);
    if (!isRowId(holdId)) throw new LedgerError('LEDGER.UNKNOWN_HOLD', `no hold ${holdId}`);
    const [hold] = await tx.query<{ account_code: string; amount: string; currency: string }[]>(
      `SELECT a.code AS account_code, h.amount::text AS amount, h.currency
       FROM ledger.hold h JOIN ledger.account a ON a.id = h.account_id WHERE h.id = $1`,
      [holdId],
    );
    if (!hold) throw new LedgerError('LEDGER.UNKNOWN_HOLD', `no hold ${holdId}`);
    // The entry must take exactly the held money out of the held account, or the hold would
    // stop protecting funds that are still there.
    const held = Money.of(hold.amount, hold.currency);
    const heldUnits = held.toMinorUnits();
    const takesHeld =
      valid.currency === held.currency &&
      valid.postings.some(
        (p) => p.accountCode === hold.account_code && p.side === 'DEBIT' && p.units === heldUnits,
      );
    if (!takesHeld) {
      throw new LedgerError(
        'LEDGER.HOLD_COMMIT_MISMATCH',
        `entry ${entry.idempotencyKey} must debit ${hold.account_code} with the held ${held.toString()} ${held.currency}`,
      );
    }
    const [posted] = await this.withConflictRetry(tx, 'ledger_commit_hold', async (fastPath) => {
      const accounts = await this.resolveAccounts(tx, [valid]);
      const result = await this.write(tx, fastPath, [valid], accounts, new Map(), async (entryIds) => {
        await this.resolveHold(tx, holdId, 'COMMITTED', entryIds.get(valid.draft.idempotencyKey)!);
      });
      if (result[0]!.replayed) {
        // A replay answers only for the hold that entry committed, never for another one.
        const [resolution] = await tx.query<{ entry_id: string | null }[]>(
          'SELECT entry_id::text FROM ledger.hold_resolution WHERE hold_id = $1',
          [holdId],
        );
        if (resolution?.entry_id !== result[0]!.entryId) {
          throw new LedgerError(
            'LEDGER.IDEMPOTENCY_CONFLICT',
            `entry key ${valid.draft.idempotencyKey} is entry ${result[0]!.entryId}, which did not commit hold ${holdId}`,
          );
        }
      }
      return result;
    });
    return posted!;
  }

  /** The account's id, creating it (and its balance row) on first use. */
  async accountFor(
    tx: EntityManager,
    template: AccountTemplateDefinition,
    owner: string | undefined,
    currency: string,
  ): Promise<LedgerAccount> {
    const code = template.ownerKind === null ? template.subjectCode : `${template.subjectCode}:${owner}`;
    const found = await this.ensureAccounts(
      tx,
      new Map([[code, { template, owner: owner ?? null, currency }]]),
    );
    return found.get(code)!;
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * Writes the entries not posted before. On the fast path the journal rows go by COPY, and a key
   * that exists already (a replay, or a racing transaction) fails it with a unique violation:
   * `DuplicateOnFastPath` makes withConflictRetry roll the attempt back to its savepoint and run it
   * again on the slow path, an INSERT … ON CONFLICT that sorts replays from conflicts. One savepoint
   * serves both, where the fast path used to take its own: two round trips fewer per batch.
   */
  private async write(
    tx: EntityManager,
    fastPath: boolean,
    entries: ValidEntry[],
    accounts: Map<string, LedgerAccount>,
    reverses: Map<string, string>,
    beforeBalances?: (entryIds: Map<string, string>) => Promise<void>,
  ): Promise<PostedEntry[]> {
    // Two drafts with one key in a batch: the second is a replay of the first (or a conflict).
    const byKey = new Map<string, ValidEntry>();
    for (const e of entries) {
      const first = byKey.get(e.draft.idempotencyKey);
      if (first && first.requestHash !== e.requestHash) {
        throw new LedgerError(
          'LEDGER.IDEMPOTENCY_CONFLICT',
          `key ${e.draft.idempotencyKey} appears twice in the batch with different content`,
        );
      }
      if (!first) byKey.set(e.draft.idempotencyKey, e);
    }
    const keys = [...byKey.keys()];
    const entryIds = new Map<string, string>();
    const replayed = new Set<string>();
    const recordReplays = (rows: { id: string; idempotency_key: string; request_hash: string }[]) => {
      for (const row of rows) {
        const entry = byKey.get(row.idempotency_key)!;
        if (row.request_hash !== entry.requestHash) {
          throw new LedgerError(
            'LEDGER.IDEMPOTENCY_CONFLICT',
            `key ${row.idempotency_key} was already posted as entry ${row.id} with different content`,
          );
        }
        entryIds.set(row.idempotency_key, row.id);
        replayed.add(row.idempotency_key);
      }
    };
    // No look-up of the keys first: a replay is rare, and the COPY below meets it as a unique
    // violation and the attempt is run again on the slow path, which sorts replays from conflicts.
    let fresh = keys.map((k) => byKey.get(k)!);
    if (fresh.length > 0) {
      const ids = await this.entryIds(tx, fresh.length);
      fresh.forEach((e, i) => entryIds.set(e.draft.idempotencyKey, ids[i]!));
      const columns = [
        'id',
        'idempotency_key',
        'request_hash',
        'business_ref',
        'description',
        'reverses_entry_id',
        'effective_at',
        'metadata',
      ];
      try {
        if (fastPath) {
          let text = '';
          for (const e of fresh) {
            // Built as COPY text directly: ids, hashes and instants need no escaping, and only
            // the caller's free text goes through copyTextField.
            const key = e.draft.idempotencyKey;
            const metadata = e.draft.metadata === undefined ? null : JSON.stringify(e.draft.metadata);
            text += `${entryIds.get(key)!}\t${copyTextField(key)}\t${e.requestHash}\t${copyTextField(e.draft.businessRef)}\t${copyTextField(e.draft.description)}\t${reverses.get(key) ?? '\\N'}\t${e.effectiveAt}\t${copyTextField(metadata)}\n`;
          }
          await copyText(tx, 'ledger.journal_entry', columns, text);
        } else {
          // Another transaction posted one of these keys (or this is a replay): keep what is new,
          // treat the rest as replays (or conflicts).
          const inserted = await tx.query<{ idempotency_key: string }[]>(
            `INSERT INTO ledger.journal_entry (${columns.join(', ')})
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::timestamptz[], $8::jsonb[])
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key`,
            transpose(
              fresh.map((e) => [
                entryIds.get(e.draft.idempotencyKey)!,
                e.draft.idempotencyKey,
                e.requestHash,
                e.draft.businessRef,
                e.draft.description ?? null,
                reverses.get(e.draft.idempotencyKey) ?? null,
                e.effectiveAt,
                e.draft.metadata === undefined ? null : JSON.stringify(e.draft.metadata),
              ]),
              columns.length,
            ),
          );
          const insertedKeys = new Set(inserted.map((r) => r.idempotency_key));
          const raced = fresh
            .filter((e) => !insertedKeys.has(e.draft.idempotencyKey))
            .map((e) => e.draft.idempotencyKey);
          recordReplays(
            await tx.query(
              'SELECT id, idempotency_key, request_hash FROM ledger.journal_entry WHERE idempotency_key = ANY($1)',
              [raced],
            ),
          );
          fresh = fresh.filter((e) => insertedKeys.has(e.draft.idempotencyKey));
        }
      } catch (error) {
        if (isUniqueViolation(error)) {
          const constraint =
            (error as { constraint?: string }).constraint ??
            (error as { driverError?: { constraint?: string } }).driverError?.constraint ??
            '';
          if (/reverses_entry_id/.test(constraint)) {
            throw new LedgerError(
              'LEDGER.ALREADY_REVERSED',
              `entry ${[...reverses.values()].join(', ')} has already been reversed`,
            );
          }
          if (fastPath) throw new DuplicateOnFastPath(error);
        }
        throw error;
      }

      // The posting rows go straight to COPY text: every field is digits, a side letter, a
      // currency code or an ISO instant, so nothing needs escaping, and no row arrays are built.
      let postingText = '';
      const deltas = new Map<string, BalanceDelta>();
      for (const e of fresh) {
        const entryId = entryIds.get(e.draft.idempotencyKey)!;
        const tail = `\t${e.currency}\t${e.effectiveAt}\n`;
        for (let index = 0; index < e.postings.length; index += 1) {
          const p = e.postings[index]!;
          const account = accounts.get(p.accountCode)!;
          postingText += `${entryId}\t${index + 1}\t${account.id}\t${SIDE_CODE[p.side]}\t${p.amount}\t${account.template.hot ? 't' : 'f'}${tail}`;
          const delta = deltas.get(account.id);
          if (delta === undefined) {
            deltas.set(
              account.id,
              p.side === 'DEBIT'
                ? { account, debit: p.units, credit: 0n }
                : { account, debit: 0n, credit: p.units },
            );
          } else if (p.side === 'DEBIT') delta.debit += p.units;
          else delta.credit += p.units;
        }
      }
      await copyText(
        tx,
        'ledger.posting',
        ['entry_id', 'line', 'account_id', 'side', 'amount', 'hot_account', 'currency', 'effective_at'],
        postingText,
      );
      // Only for entries written now: a replayed commit of a hold already consumed it.
      if (beforeBalances && fresh.length > 0) await beforeBalances(entryIds);
      await this.applyDeltas(tx, [...deltas.values()]);
    }
    return entries.map((e) => ({
      entryId: entryIds.get(e.draft.idempotencyKey)!,
      idempotencyKey: e.draft.idempotencyKey,
      replayed: replayed.has(e.draft.idempotencyKey) || byKey.get(e.draft.idempotencyKey) !== e,
    }));
  }

  private async entryIds(tx: EntityManager, count: number): Promise<string[]> {
    while (this.idPool.length < count) {
      const reserved = await reserveIds(
        tx,
        'ledger.journal_entry',
        'id',
        Math.max(count - this.idPool.length, ENTRY_ID_RESERVE),
      );
      for (const id of reserved) this.idPool.push(id);
    }
    // Taken after the last await: a concurrent batch of this Ledger cannot get the same ids.
    return this.idPool.splice(0, count);
  }

  /**
   * What a batch moves on each account reaches its balance in one of two ways (ADR 006). A move
   * that cannot break a floor (the account has none, or the batch raises it on its normal side) is
   * appended to `balance_delta`: no lock, no row update, so merchants being credited never queue
   * behind each other and the hot accounts are never locked at all. A move that lowers an account
   * with a floor locks its balance row and is checked against the balance row plus the deltas
   * pending for it, then written to the row. Pending deltas are only ever raises of such an account,
   * so the check can only be too cautious about funds still in flight, never too generous.
   */
  private async applyDeltas(tx: EntityManager, deltas: BalanceDelta[]): Promise<void> {
    const appended: BalanceDelta[] = [];
    const guarded: BalanceDelta[] = [];
    for (const d of deltas) {
      if (d.account.template.balanceFloor === 'NON_NEGATIVE' && lowers(d)) guarded.push(d);
      else appended.push(d);
    }
    if (appended.length > 0) {
      await tx.query(
        'INSERT INTO ledger.balance_delta (account_id, debit, credit) SELECT * FROM unnest($1::bigint[], $2::numeric[], $3::numeric[])',
        [
          arrayLiteral(appended, (d) => d.account.id),
          arrayLiteral(appended, (d) => formatMinorUnits(d.debit, d.account.currency)),
          arrayLiteral(appended, (d) => formatMinorUnits(d.credit, d.account.currency)),
        ],
      );
    }
    if (guarded.length === 0) return;
    await lockBalanceRows(
      tx,
      guarded.map((d) => d.account.id),
    );
    // The floor is checked in the same statement, and only rows that break it come back. Its
    // snapshot is taken after the locks above: a compaction that folded some of these deltas has
    // either committed (they are in the row, gone from the table) or not (still in the table, not
    // yet in the row), so none is counted twice or missed.
    const [result] = await tx.query<
      {
        updated: number;
        below: { account_id: string; debit_total: string; credit_total: string; held_total: string }[];
      }[]
    >(
      `WITH moves AS (
         SELECT * FROM unnest($1::bigint[], $2::numeric[], $3::numeric[], $4::text[]) AS d(account_id, debit, credit, normal_side)
       ), pending AS (
         SELECT account_id, sum(debit) AS debit, sum(credit) AS credit FROM ledger.balance_delta
         WHERE account_id = ANY($1::bigint[]) GROUP BY account_id
       ), updated AS (
         UPDATE ledger.account_balance b
         SET debit_total = b.debit_total + m.debit, credit_total = b.credit_total + m.credit, updated_at = now()
         FROM moves m
         WHERE b.account_id = m.account_id
         RETURNING b.account_id, b.debit_total, b.credit_total, b.held_total
       ), totals AS (
         SELECT u.account_id, m.normal_side, u.held_total,
                u.debit_total + coalesce(p.debit, 0) AS debit_total,
                u.credit_total + coalesce(p.credit, 0) AS credit_total
         FROM updated u JOIN moves m USING (account_id) LEFT JOIN pending p USING (account_id)
       )
       SELECT (SELECT count(*) FROM updated)::int AS updated,
              coalesce((SELECT json_agg(json_build_object('account_id', t.account_id::text,
                  'debit_total', t.debit_total::text, 'credit_total', t.credit_total::text,
                  'held_total', t.held_total::text))
                FROM totals t
                WHERE CASE t.normal_side WHEN 'DEBIT' THEN t.debit_total - t.credit_total
                                         ELSE t.credit_total - t.debit_total END - t.held_total < 0), '[]'::json) AS below`,
      [
        arrayLiteral(guarded, (d) => d.account.id),
        arrayLiteral(guarded, (d) => formatMinorUnits(d.debit, d.account.currency)),
        arrayLiteral(guarded, (d) => formatMinorUnits(d.credit, d.account.currency)),
        arrayLiteral(guarded, (d) => d.account.normalSide),
      ],
    );
    invariant(
      result?.updated === guarded.length,
      () => `balance rows missing: updated ${result?.updated} of ${guarded.length}`,
    );
    const byId = new Map(guarded.map((d) => [d.account.id, d.account]));
    const [row] = result.below;
    if (row) {
      const account = byId.get(row.account_id)!;
      const available = this.available(account, row);
      // Pair assertion: SQL and Money agree that this account broke its floor.
      invariant(
        available.isNegative(),
        () => `floor check disagrees for ${account.code}: ${available.toString()}`,
      );
      throw new LedgerError(
        'LEDGER.INSUFFICIENT_FUNDS',
        `${account.code} would fall to ${available.toString()} ${account.currency} available (held ${Money.of(row.held_total, account.currency).toString()}); its balance may not go below zero`,
      );
    }
  }

  private available(
    account: LedgerAccount,
    row: { debit_total: string; credit_total: string; held_total: string },
  ): Money {
    const posted = normalBalance(
      account.normalSide,
      Money.of(row.debit_total, account.currency),
      Money.of(row.credit_total, account.currency),
    );
    return posted.minus(Money.of(row.held_total, account.currency));
  }

  /**
   * A locked account's balance row plus its pending deltas. A separate statement from the lock, so
   * its snapshot sees any compaction that committed while we waited for the lock.
   */
  private async lockedBalance(tx: EntityManager, accountId: string) {
    const [row] = await tx.query<{ debit_total: string; credit_total: string; held_total: string }[]>(
      `SELECT (b.debit_total + coalesce(d.debit, 0))::text AS debit_total,
              (b.credit_total + coalesce(d.credit, 0))::text AS credit_total, b.held_total::text AS held_total
       FROM ledger.account_balance b
       LEFT JOIN LATERAL (
         SELECT sum(debit) AS debit, sum(credit) AS credit FROM ledger.balance_delta WHERE account_id = b.account_id
       ) d ON true
       WHERE b.account_id = $1`,
      [accountId],
    );
    invariant(row !== undefined, () => `account ${accountId} has no balance row`);
    return row;
  }

  private async resolveHold(
    tx: EntityManager,
    holdId: string,
    kind: 'RELEASED' | 'COMMITTED',
    entryId: string | null,
  ): Promise<void> {
    if (!isRowId(holdId)) throw new LedgerError('LEDGER.UNKNOWN_HOLD', `no hold ${holdId}`);
    const [hold] = await tx.query<{ id: string; account_id: string; amount: string }[]>(
      'SELECT id, account_id::text, amount::text FROM ledger.hold WHERE id = $1',
      [holdId],
    );
    if (!hold) throw new LedgerError('LEDGER.UNKNOWN_HOLD', `no hold ${holdId}`);
    await lockBalanceRows(tx, [hold.account_id]);
    const inserted = await tx.query<{ hold_id: string }[]>(
      `INSERT INTO ledger.hold_resolution (hold_id, kind, entry_id) VALUES ($1, $2, $3) ON CONFLICT (hold_id) DO NOTHING RETURNING hold_id`,
      [holdId, kind, entryId],
    );
    if (inserted.length === 0)
      throw new LedgerError(
        'LEDGER.HOLD_ALREADY_RESOLVED',
        `hold ${holdId} was already released or committed`,
      );
    await tx.query(
      'UPDATE ledger.account_balance SET held_total = held_total - $2, updated_at = now() WHERE account_id = $1',
      [hold.account_id, hold.amount],
    );
  }

  private async resolveAccounts(
    tx: EntityManager,
    entries: ValidEntry[],
  ): Promise<Map<string, LedgerAccount>> {
    const wanted = new Map<
      string,
      { template: AccountTemplateDefinition; owner: string | null; currency: string }
    >();
    for (const e of entries) {
      for (const p of e.postings) {
        if (!wanted.has(p.accountCode))
          wanted.set(p.accountCode, { template: p.template, owner: p.owner, currency: e.currency });
      }
    }
    const accounts = await this.ensureAccounts(tx, wanted);
    for (const e of entries) {
      for (const p of e.postings) {
        const account = accounts.get(p.accountCode)!;
        if (account.currency !== e.currency) {
          throw new LedgerError(
            'LEDGER.CURRENCY_MISMATCH',
            `entry ${e.draft.idempotencyKey}: account ${account.code} holds ${account.currency}, posting is ${e.currency}`,
          );
        }
      }
    }
    return accounts;
  }

  private async ensureAccounts(
    tx: EntityManager,
    wanted: Map<string, { template: AccountTemplateDefinition; owner: string | null; currency: string }>,
  ): Promise<Map<string, LedgerAccount>> {
    const chart = await this.loadChart(tx);
    const result = new Map<string, LedgerAccount>();
    const missing: string[] = [];
    for (const code of wanted.keys()) {
      const cached = this.accounts.get(code);
      if (cached) result.set(code, cached);
      else missing.push(code);
    }
    if (missing.length === 0) return result;
    const runner = tx.queryRunner!;
    const createdHere = this.createdIn.get(runner) ?? new Set<string>();
    const created = await tx.query<{ id: string; code: string }[]>(
      `INSERT INTO ledger.account (code, currency, template_code, subject_code, owner_id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
       ON CONFLICT (code) DO NOTHING RETURNING id::text, code`,
      [
        missing,
        missing.map((c) => wanted.get(c)!.currency),
        missing.map((c) => wanted.get(c)!.template.code),
        missing.map((c) => wanted.get(c)!.template.subjectCode),
        missing.map((c) => wanted.get(c)!.owner),
      ],
    );
    if (created.length > 0) {
      await tx.query('INSERT INTO ledger.account_balance (account_id) SELECT unnest($1::bigint[])', [
        created.map((r) => r.id),
      ]);
      for (const r of created) createdHere.add(r.code);
      this.createdIn.set(runner, createdHere);
    }
    const rows = await tx.query<
      { id: string; code: string; currency: string; template_code: string; subject_code: string }[]
    >(
      'SELECT id::text, code, currency, template_code, subject_code FROM ledger.account WHERE code = ANY($1)',
      [missing],
    );
    for (const r of rows) {
      const template = chart.templates.get(r.template_code)!;
      const account: LedgerAccount = {
        id: r.id,
        code: r.code,
        currency: r.currency,
        template,
        normalSide: chart.normalSideOfSubject.get(r.subject_code)!,
      };
      result.set(r.code, account);
      // Only what another, committed transaction created is safe to remember: ours may roll back.
      if (!createdHere.has(r.code)) this.accounts.set(r.code, account);
    }
    invariant(
      result.size === wanted.size,
      () => `accounts not resolved: ${[...wanted.keys()].filter((c) => !result.has(c)).join(', ')}`,
    );
    return result;
  }

  private async loadChart(tx: EntityManager): Promise<Chart> {
    if (this.chart) return this.chart;
    const subjects = await tx.query<{ code: string; normal_side: Side }[]>(
      'SELECT code, normal_side FROM ledger.subject',
    );
    const templates = await tx.query<
      {
        code: string;
        subject_code: string;
        owner_kind: AccountTemplateDefinition['ownerKind'];
        balance_floor: 'NONE' | 'NON_NEGATIVE';
        holds_allowed: boolean;
        hot: boolean;
      }[]
    >(
      'SELECT code, subject_code, owner_kind, balance_floor, holds_allowed, hot FROM ledger.account_template',
    );
    this.chart = {
      normalSideOfSubject: new Map(subjects.map((s) => [s.code, s.normal_side])),
      templates: new Map(
        templates.map((t) => [
          t.code,
          {
            code: t.code,
            subjectCode: t.subject_code,
            ownerKind: t.owner_kind,
            balanceFloor: t.balance_floor,
            holdsAllowed: t.holds_allowed,
            hot: t.hot,
          },
        ]),
      ),
    };
    return this.chart;
  }

  /**
   * Runs `work` under a savepoint: any failure rolls back to it, so nothing of a rejected request
   * remains in the caller's transaction. Deadlocks and serialization failures are retried here and
   * never reach the caller unless they persist.
   */
  private async withConflictRetry<T>(
    tx: EntityManager,
    savepoint: string,
    work: (fastPath: boolean) => Promise<T>,
  ): Promise<T> {
    let fastPath = true;
    for (let attempt = 1; ; attempt += 1) {
      await tx.query(`SAVEPOINT ${savepoint}`);
      try {
        const result = await work(fastPath);
        await tx.query(`RELEASE SAVEPOINT ${savepoint}`);
        return result;
      } catch (error) {
        await tx.query(`ROLLBACK TO SAVEPOINT ${savepoint}`);
        if (error instanceof DuplicateOnFastPath) {
          // Not a conflict: the same attempt again, on the path that handles existing keys.
          fastPath = false;
          attempt -= 1;
          continue;
        }
        const code =
          (error as { code?: string; driverError?: { code?: string } }).driverError?.code ??
          (error as { code?: string }).code;
        if ((code === '40P01' || code === '40001') && attempt < this.conflictAttemptsMax) {
          await sleep(backoffDelayMs(attempt, { initialDelayMs: 5, maxDelayMs: 200 }));
          continue;
        }
        throw error;
      }
    }
  }
}

/** A bigint row id as the API takes it: anything else names no row (and would be a raw SQL error). */
function isRowId(id: string): boolean {
  return /^[1-9]\d{0,18}$/.test(id) && BigInt(id) <= 9223372036854775807n;
}

/** The answer to a hold key seen before: the same hold is a replay, anything else a conflict. */
function replayedHold(
  existing: { id: string; account_code: string; amount: string; currency: string },
  account: LedgerAccount,
  amount: Money,
  key: string,
): { holdId: string; replayed: boolean } {
  if (
    existing.account_code !== account.code ||
    existing.currency !== amount.currency ||
    !Money.of(existing.amount, existing.currency).equals(amount)
  ) {
    throw new LedgerError('LEDGER.IDEMPOTENCY_CONFLICT', `hold key ${key} was used for a different hold`);
  }
  return { holdId: existing.id, replayed: true };
}

/**
 * A Postgres array literal of values that need no quoting (ids, canonical amounts, side names):
 * the driver would otherwise escape every element of a 1,000-element parameter one by one.
 */
function arrayLiteral<T>(items: readonly T[], value: (item: T) => string): string {
  let text = '{';
  for (let i = 0; i < items.length; i += 1) text += (i === 0 ? '' : ',') + value(items[i]!);
  return `${text}}`;
}

/** The batch takes the account down on its normal side (the side its balance is kept on). */
function lowers(d: BalanceDelta): boolean {
  return d.account.normalSide === 'DEBIT' ? d.credit > d.debit : d.debit > d.credit;
}

function transpose(rows: unknown[][], width: number): unknown[][] {
  const columns: unknown[][] = Array.from({ length: width }, () => []);
  for (const row of rows) row.forEach((v, i) => columns[i]!.push(v));
  return columns;
}
