import { Money, principalKey } from '@app/contracts';
import { Ledger, LedgerError, type EntryDraft } from '@app/ledger';
import { copyRows, reserveIds } from '@app/platform';
import type { DataSource, EntityManager } from 'typeorm';
import {
  addCalendarDays,
  BusinessCalendar,
  cycleByKey,
  cycleForLateItem,
  cycleOf,
  releasableReserves,
  reserveReleaseDate,
  settlementAmount,
  SettlementError,
  toEpochDay,
  type SettlementAmount,
  type SettlementCycle,
  type SettlementTerms,
} from '../domain.js';
import { consumeReturns, openReturnsOf, sumReturns } from './returned-funds.js';
import { loadBusinessCalendar, loadMerchantTerms } from './settlement-config.js';

/**
 * Cycle close (结算日终): turns every merchant's unsettled cleared items whose cycle closes on a date
 * into settlement records (PENDING_APPROVAL), each with its ledger entry Dr 2203 merchant settleable
 * / Cr 2204 merchant settlement in transit for the payable amount (DESIGN §6) and its rolling
 * reserve held on 2203.
 *
 * Which items: an item belongs to the cycle of its business date under its merchant's terms
 * (cycleOf). If that cycle closes on `date` and has no record yet, the item goes there. If its
 * cycle closed earlier (a record exists, or its close date has passed: a late item, or a close run
 * that was missed), it goes to the first cycle after it that is still open (cycleForLateItem),
 * never into a closed one — and is taken now only if that cycle closes on `date`. So every record
 * a close creates has closes_on = `date`, and closing `date` twice creates nothing new: the cycle
 * keys are taken (UNIQUE) and the items assigned.
 *
 * Amounts: settlementAmount over the items' nets, the merchant's previous record's carry-forward
 * (per currency) and the reserves whose release date has come. A merchant with no items still gets
 * a record when a reserve is released to it, or when its carry-forward has become payable (its
 * minimum was lowered); a carry-forward that would only be carried again creates nothing.
 *
 * Transactions: merchants in batches (`merchantsPerTransaction`, default 1,000), each batch all or
 * nothing. When the ledger (or a settlement rule) refuses part of a batch — a merchant's settleable
 * cannot cover its payable because a refund of a later cycle cleared first, say — the batch is
 * halved until the merchant at fault stands alone: it is held back (a `close_exception` row and
 * `merchantsHeldBack` in the result, its items wait for the next close as late items) and every
 * other merchant closes. Other errors (database down, a broken invariant) still fail the close.
 * Within a batch: items assigned by one set-based UPDATE whose RETURNING gives the sums the record is
 * built from (an item committed by the consumer meanwhile is either in both or in neither), records
 * and audit rows by COPY, entries by Ledger.post in chunks of 10,000.
 *
 * Concurrency: a session advisory lock per date (`settlement-close:<date>`) makes a second close of
 * the same date fail fast instead of racing the first; each batch also takes a transaction lock
 * (`settlement-close`) so closes of two different dates never build two records from the same
 * previous carry-forward at once. The consumer takes neither: it only inserts items, and the
 * UPDATE … WHERE settlement_record_id IS NULL decides which close an item lands in.
 */

export const CLOSE_SUBMITTER = 'system:cycle-close';
export const CLOSE_MERCHANTS_PER_TRANSACTION = 1_000;
const ENTRIES_PER_POST = 10_000;
/** Far enough back to find the cycle closing on a date for T+30, monthly and a long holiday. */
const CLOSING_CYCLE_LOOKBACK_DAYS = 120;

export interface CloseOptions {
  /**
   * Who closes: the maker of every record the close creates (maker-checker: they may not approve
   * them) and the `by` of their CREATED audit rows. The scheduler closes as `system:scheduler`,
   * a person as their authenticated principal.
   */
  by: string;
}

export interface CurrencyTotals {
  currency: string;
  records: number;
  items: number;
  itemsNet: string;
  payable: string;
  carryForward: string;
  reserveHeld: string;
  reserveReleased: string;
}

/** A merchant left out of a close because the ledger or a settlement rule refused its part. */
export interface HeldBackMerchant {
  merchantId: string;
  code: string;
  message: string;
}

export interface CloseResult {
  date: string;
  recordsCreated: number;
  itemsSettled: number;
  /** Records that closed on this date before this run (a re-run finds them). */
  recordsAlreadyClosed: number;
  merchantsExamined: number;
  totals: CurrencyTotals[];
  /** Merchants whose records this run could not create (also in settlement.close_exception). */
  merchantsHeldBack: HeldBackMerchant[];
  /** True when this run created nothing: the date was already closed (or had nothing to close). */
  nothingNew: boolean;
}

export class SettlementCloseBusyError extends Error {
  override readonly name = 'SettlementCloseBusyError';
}

interface Plan {
  merchantId: string;
  currency: string;
  terms: SettlementTerms;
  cycle: SettlementCycle;
  dates: string[];
  recordId?: string;
}

interface Built {
  plan: Plan & { recordId: string };
  items: number;
  amount: SettlementAmount;
  released: { recordId: string; holdId: string; amount: string }[];
  releaseOn: string | null;
}

interface OutstandingHold {
  record_id: string;
  merchant_id: string;
  currency: string;
  amount: string;
  release_on: string;
  ledger_hold_id: string;
}

const keyOf = (...parts: string[]) => parts.join('\u0000');

export class CycleCloseService {
  private readonly merchantsPerTransaction: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: Ledger,
    options: { merchantsPerTransaction?: number; now?: () => Date } = {},
  ) {
    this.merchantsPerTransaction = options.merchantsPerTransaction ?? CLOSE_MERCHANTS_PER_TRANSACTION;
    this.now = options.now ?? (() => new Date());
  }

  private readonly now: () => Date;

  /**
   * Closes every cycle that closes on `date` (a business date 'YYYY-MM-DD').
   * @throws SettlementError SETTLEMENT.INVALID_INPUT for a malformed date, or a date that has not
   *   begun in the calendar's zone (closing it would settle cycles early and pay them at once)
   * @throws SettlementCloseBusyError when the same date is being closed by someone else right now
   */
  async close(date: string, options: CloseOptions): Promise<CloseResult> {
    try {
      toEpochDay(date, 'date');
    } catch (error) {
      throw new SettlementError('SETTLEMENT.INVALID_INPUT', (error as Error).message);
    }
    const lock = this.dataSource.createQueryRunner();
    await lock.connect();
    try {
      const [got] = (await lock.query('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [
        `settlement-close:${date}`,
      ])) as { ok: boolean }[];
      if (!got?.ok)
        throw new SettlementCloseBusyError(`${date} is being closed by another run; try again when it ends`);
      try {
        return await this.closeLocked(date, options);
      } finally {
        await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [`settlement-close:${date}`]);
      }
    } finally {
      await lock.release();
    }
  }

  private async closeLocked(date: string, options: CloseOptions): Promise<CloseResult> {
    const calendar = await loadBusinessCalendar(this.dataSource);
    const today = calendar.businessDateOf(this.now());
    if (date > today)
      throw new SettlementError(
        'SETTLEMENT.INVALID_INPUT',
        `date: ${date} has not begun yet (today's business date is ${today} in ${calendar.zone}); a cycle is closed on or after its closing day, never before`,
      );
    const [before] = await this.dataSource.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM settlement.settlement_record WHERE closes_on = $1',
      [date],
    );
    const merchants = (
      await this.dataSource.query<{ merchant_id: string }[]>(
        `SELECT merchant_id FROM settlement.cleared_item WHERE settlement_record_id IS NULL AND business_date <= $1
         UNION
         SELECT merchant_id FROM settlement.reserve_hold WHERE released_by_record_id IS NULL AND release_on <= $1
         UNION
         SELECT merchant_id FROM settlement.returned_funds WHERE consumed_by_record_id IS NULL
         UNION
         SELECT merchant_id FROM (
           SELECT DISTINCT ON (merchant_id, currency) merchant_id, carry_forward FROM settlement.settlement_record
           ORDER BY merchant_id, currency, id DESC) latest
         WHERE carry_forward <> 0
         ORDER BY 1`,
        [date],
      )
    ).map((r) => r.merchant_id);

    const totals = new Map<string, { records: number; items: number; sums: Record<string, Money> }>();
    let recordsCreated = 0;
    let itemsSettled = 0;
    const heldBack: HeldBackMerchant[] = [];
    for (let i = 0; i < merchants.length; i += this.merchantsPerTransaction) {
      const batch = merchants.slice(i, i + this.merchantsPerTransaction);
      const built = await this.closeIsolating(batch, date, calendar, options, heldBack);
      for (const b of built) {
        recordsCreated += 1;
        itemsSettled += b.items;
        const a = b.amount;
        const t = totals.get(a.currency) ?? { records: 0, items: 0, sums: {} };
        t.records += 1;
        t.items += b.items;
        for (const field of [
          'itemsNet',
          'payable',
          'carryForward',
          'reserveHeld',
          'reserveReleased',
        ] as const)
          t.sums[field] = (t.sums[field] ?? Money.zero(a.currency)).plus(Money.of(a[field], a.currency));
        totals.set(a.currency, t);
      }
    }
    const money = (t: { sums: Record<string, Money> }, field: string, currency: string) =>
      (t.sums[field] ?? Money.zero(currency)).toString();
    return {
      date,
      recordsCreated,
      itemsSettled,
      recordsAlreadyClosed: before!.n,
      merchantsExamined: merchants.length,
      totals: [...totals.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([currency, t]) => ({
          currency,
          records: t.records,
          items: t.items,
          itemsNet: money(t, 'itemsNet', currency),
          payable: money(t, 'payable', currency),
          carryForward: money(t, 'carryForward', currency),
          reserveHeld: money(t, 'reserveHeld', currency),
          reserveReleased: money(t, 'reserveReleased', currency),
        })),
      merchantsHeldBack: heldBack,
      nothingNew: recordsCreated === 0,
    };
  }

  /**
   * One batch in one transaction; a refusal by the ledger or the settlement rules splits it in two
   * and tries each half on its own, down to the single merchant at fault, which is held back.
   * A rare event costs ~log2(batch) extra transactions; nothing of a failed attempt is kept.
   */
  private async closeIsolating(
    merchants: string[],
    date: string,
    calendar: BusinessCalendar,
    options: CloseOptions,
    heldBack: HeldBackMerchant[],
  ): Promise<Built[]> {
    try {
      return await this.dataSource.transaction((tx) =>
        this.closeBatch(tx, merchants, date, calendar, options),
      );
    } catch (error) {
      if (!(error instanceof LedgerError || error instanceof SettlementError)) throw error;
      if (merchants.length === 1) {
        const merchantId = merchants[0]!;
        await this.dataSource.query(
          `INSERT INTO settlement.close_exception (closes_on, merchant_id, code, message, by)
           VALUES ($1, $2, $3, $4, $5)`,
          [date, merchantId, error.code, error.message, options.by],
        );
        heldBack.push({ merchantId, code: error.code, message: error.message });
        return [];
      }
      const half = Math.ceil(merchants.length / 2);
      const first = await this.closeIsolating(merchants.slice(0, half), date, calendar, options, heldBack);
      const second = await this.closeIsolating(merchants.slice(half), date, calendar, options, heldBack);
      return [...first, ...second];
    }
  }

  private async closeBatch(
    tx: EntityManager,
    merchants: string[],
    date: string,
    calendar: BusinessCalendar,
    options: CloseOptions,
  ): Promise<Built[]> {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['settlement-close']);
    const termsOf = await loadMerchantTerms(tx, merchants);
    const groups = await tx.query<{ merchant_id: string; currency: string; business_date: string }[]>(
      `SELECT merchant_id, currency::text AS currency, to_char(business_date, 'YYYY-MM-DD') AS business_date
       FROM settlement.cleared_item
       WHERE settlement_record_id IS NULL AND merchant_id = ANY($1) AND business_date <= $2
       GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      [merchants, date],
    );
    const earliest = groups.reduce((min, g) => (g.business_date < min ? g.business_date : min), date);
    const recorded = new Set(
      (
        await tx.query<{ merchant_id: string; currency: string; cycle_key: string }[]>(
          `SELECT merchant_id, currency::text AS currency, cycle_key FROM settlement.settlement_record
           WHERE merchant_id = ANY($1) AND closes_on >= $2`,
          [merchants, earliest],
        )
      ).map((r) => keyOf(r.merchant_id, r.currency, r.cycle_key)),
    );
    const latest = await tx.query<{ merchant_id: string; currency: string; carry_forward: string }[]>(
      `SELECT DISTINCT ON (merchant_id, currency) merchant_id, currency::text AS currency,
              carry_forward::text AS carry_forward
       FROM settlement.settlement_record WHERE merchant_id = ANY($1)
       ORDER BY merchant_id, currency, id DESC`,
      [merchants],
    );
    const carried = new Map(latest.map((r) => [keyOf(r.merchant_id, r.currency), r.carry_forward]));
    // Funds a rejection or a failed payout put back in settleable are carried in like a
    // carry-forward: the merchant's first record of this close pays them.
    const returns = sumReturns(await openReturnsOf(tx, merchants), (m, c) => keyOf(m, c));
    for (const [k, r] of returns)
      carried.set(
        k,
        Money.of(carried.get(k) ?? '0', r.total.currency)
          .plus(r.total)
          .toString(),
      );
    const returnsTakenBy = new Map<string, string>();
    const holds = await tx.query<OutstandingHold[]>(
      `SELECT record_id::text, merchant_id, currency::text AS currency, amount::text AS amount,
              to_char(release_on, 'YYYY-MM-DD') AS release_on, ledger_hold_id::text
       FROM settlement.reserve_hold WHERE merchant_id = ANY($1) AND released_by_record_id IS NULL
       ORDER BY reserve_hold.merchant_id, reserve_hold.release_on, reserve_hold.record_id`,
      [merchants],
    );
    const holdsOf = new Map<string, OutstandingHold[]>();
    for (const h of holds) {
      const k = keyOf(h.merchant_id, h.currency);
      holdsOf.set(k, [...(holdsOf.get(k) ?? []), h]);
    }

    // ---- where each (merchant, currency, business date) goes -----------------------------------
    const cycles = new CycleMemo(calendar);
    const plans = new Map<string, Plan>();
    const planFor = (
      merchantId: string,
      currency: string,
      terms: SettlementTerms,
      cycle: SettlementCycle,
    ) => {
      const k = keyOf(merchantId, currency, cycle.key);
      let plan = plans.get(k);
      if (!plan) plans.set(k, (plan = { merchantId, currency, terms, cycle, dates: [] }));
      return plan;
    };
    for (const g of groups) {
      const terms = termsOf.get(g.merchant_id)!;
      const natural = cycles.of(terms, g.business_date);
      if (natural.closesOn > date) continue;
      const isClosed = (key: string) =>
        recorded.has(keyOf(g.merchant_id, g.currency, key)) || cycles.byKey(terms, key).closesOn < date;
      const target = isClosed(natural.key)
        ? cycleForLateItem({ naturalCycleKey: natural.key, isClosed, terms, calendar })
        : natural;
      if (target.closesOn !== date) continue; // waits for the open cycle it belongs to
      planFor(g.merchant_id, g.currency, terms, target).dates.push(g.business_date);
    }
    // Merchants with nothing cleared but a carry-forward or a reserve coming due.
    for (const k of new Set([...carried.keys(), ...holdsOf.keys()])) {
      const [merchantId, currency] = k.split('\u0000') as [string, string];
      if ([...plans.values()].some((p) => p.merchantId === merchantId && p.currency === currency)) continue;
      const terms = termsOf.get(merchantId);
      if (!terms) continue;
      const cycle = cycles.closingOn(terms, date);
      if (cycle && !recorded.has(keyOf(merchantId, currency, cycle.key)))
        planFor(merchantId, currency, terms, cycle);
    }
    const ordered = [...plans.values()].sort(
      (a, b) =>
        a.merchantId.localeCompare(b.merchantId) ||
        a.currency.localeCompare(b.currency) ||
        a.cycle.firstBusinessDate.localeCompare(b.cycle.firstBusinessDate),
    );
    if (ordered.length === 0) return [];

    // ---- assign the items; their sums come back from the same statement ------------------------
    const ids = await reserveIds(tx, 'settlement.settlement_record', 'id', ordered.length);
    ordered.forEach((p, i) => (p.recordId = ids[i]!));
    const assignments = ordered.flatMap((p) =>
      p.dates.map((d) => [p.merchantId, p.currency, d, p.recordId!]),
    );
    const sums = new Map<string, { n: number; net: string }>();
    if (assignments.length > 0) {
      const rows = await tx.query<{ record_id: string; n: number; net: string }[]>(
        `WITH assigned AS (
           UPDATE settlement.cleared_item ci SET settlement_record_id = p.record_id
           FROM unnest($1::text[], $2::text[], $3::date[], $4::bigint[]) AS p(merchant_id, currency, business_date, record_id)
           WHERE ci.settlement_record_id IS NULL AND ci.merchant_id = p.merchant_id
             AND ci.currency = p.currency AND ci.business_date = p.business_date
           RETURNING ci.settlement_record_id, ci.net)
         SELECT settlement_record_id::text AS record_id, count(*)::int AS n, sum(net)::text AS net
         FROM assigned GROUP BY 1`,
        [0, 1, 2, 3].map((c) => assignments.map((a) => a[c])),
      );
      for (const r of rows) sums.set(r.record_id, { n: r.n, net: r.net });
    }

    // ---- amounts, carried per merchant and currency from one record to the next ---------------
    const built: Built[] = [];
    for (const plan of ordered as (Plan & { recordId: string })[]) {
      const mc = keyOf(plan.merchantId, plan.currency);
      const outstanding = (holdsOf.get(mc) ?? []).map((h) => ({
        amount: h.amount,
        releaseOn: h.release_on,
        h,
      }));
      const release = releasableReserves(outstanding, plan.cycle.closesOn, plan.currency);
      const stillHeld = (release.stillHeld as typeof outstanding).map((o) => o.h);
      const releasedHolds = outstanding.map((o) => o.h).filter((h) => !stillHeld.includes(h));
      const sum = sums.get(plan.recordId);
      const sameCurrency = plan.terms.currency === plan.currency;
      const amount = settlementAmount({
        currency: plan.currency,
        items: sum ? [{ net: sum.net }] : [],
        carriedForward: carried.get(mc) ?? '0',
        reserve: plan.terms.reserve ?? null,
        reserveReleasedNow: release.released,
        // Terms name one currency; another currency's records pay any positive amount.
        minimumPayout: sameCurrency ? plan.terms.minimumPayout : '0',
      });
      const nothingMoves =
        !sum && releasedHolds.length === 0 && Money.of(amount.payable, plan.currency).isZero();
      if (nothingMoves) continue; // a carry-forward that would only be carried again
      holdsOf.set(mc, stillHeld);
      carried.set(mc, amount.carryForward);
      if (returns.has(mc) && !returnsTakenBy.has(mc)) returnsTakenBy.set(mc, plan.recordId);
      const held = Money.of(amount.reserveHeld, plan.currency);
      built.push({
        plan,
        items: sum?.n ?? 0,
        amount,
        released: releasedHolds.map((h) => ({
          recordId: h.record_id,
          holdId: h.ledger_hold_id,
          amount: h.amount,
        })),
        releaseOn:
          held.isPositive() && plan.terms.reserve
            ? reserveReleaseDate(plan.cycle.closesOn, plan.terms.reserve.holdDays, calendar)
            : null,
      });
    }
    if (built.length === 0) return [];

    // ---- the ledger: releases first, then the payable entries, then the new holds --------------
    for (const b of built) for (const r of b.released) await this.ledger.releaseHold(tx, r.holdId);
    const effectiveAt = calendar.businessDateBounds(date).start.toISO();
    const drafts: { recordId: string; draft: EntryDraft }[] = built
      .filter((b) => Money.of(b.amount.payable, b.plan.currency).isPositive())
      .map((b) => ({ recordId: b.plan.recordId, draft: settlementEntry(b, effectiveAt) }));
    const entryIds = new Map<string, string>();
    for (let i = 0; i < drafts.length; i += ENTRIES_PER_POST) {
      const chunk = drafts.slice(i, i + ENTRIES_PER_POST);
      const posted = await this.ledger.post(
        tx,
        chunk.map((d) => d.draft),
      );
      posted.forEach((p, j) => entryIds.set(chunk[j]!.recordId, p.entryId));
    }
    const holdIds = new Map<string, string>();
    for (const b of built) {
      if (b.releaseOn === null) continue;
      const { holdId } = await this.ledger.placeHold(tx, {
        idempotencyKey: `settlement-reserve:${b.plan.recordId}`,
        account: { template: 'merchant_settleable', owner: b.plan.merchantId },
        amount: b.amount.reserveHeld,
        currency: b.plan.currency,
        reason: `rolling reserve of settlement record ${b.plan.recordId} until ${b.releaseOn}`,
      });
      holdIds.set(b.plan.recordId, holdId);
    }

    // ---- the records, their audit rows and reserves -------------------------------------------
    await copyRows(
      tx,
      'settlement.settlement_record',
      [
        'id',
        'merchant_id',
        'cycle_key',
        'currency',
        'first_business_date',
        'last_business_date',
        'closes_on',
        'payout_due_on',
        'items_count',
        'items_net',
        'carried_in',
        'reserve_held',
        'reserve_released',
        'amount',
        'carry_forward',
        'status',
        'version',
        'submitted_by',
        'journal_entry_id',
      ],
      built.map((b) => [
        b.plan.recordId,
        b.plan.merchantId,
        b.plan.cycle.key,
        b.plan.currency,
        b.plan.cycle.firstBusinessDate,
        b.plan.cycle.lastBusinessDate,
        b.plan.cycle.closesOn,
        b.plan.cycle.payoutDueOn,
        b.items,
        b.amount.itemsNet,
        b.amount.carriedForward,
        b.amount.reserveHeld,
        b.amount.reserveReleased,
        b.amount.payable,
        b.amount.carryForward,
        'PENDING_APPROVAL',
        1,
        principalKey(options.by),
        entryIds.get(b.plan.recordId) ?? null,
      ]),
    );
    await copyRows(
      tx,
      'settlement.record_audit',
      ['record_id', 'by', 'action', 'from_status', 'to_status', 'detail'],
      built.map((b) => [
        b.plan.recordId,
        options.by,
        'CREATED',
        null,
        'PENDING_APPROVAL',
        JSON.stringify({
          cycleKey: b.plan.cycle.key,
          itemsCount: b.items,
          ...b.amount,
          journalEntryId: entryIds.get(b.plan.recordId) ?? null,
          reserveReleasedFrom: b.released.map((r) => r.recordId),
          returnedFundsFrom:
            returnsTakenBy.get(keyOf(b.plan.merchantId, b.plan.currency)) === b.plan.recordId
              ? returns.get(keyOf(b.plan.merchantId, b.plan.currency))!.returns.map((r) => r.record_id)
              : [],
        }),
      ]),
    );
    const newHolds = built.filter((b) => holdIds.has(b.plan.recordId));
    await copyRows(
      tx,
      'settlement.reserve_hold',
      ['record_id', 'merchant_id', 'currency', 'amount', 'ledger_hold_id', 'release_on'],
      newHolds.map((b) => [
        b.plan.recordId,
        b.plan.merchantId,
        b.plan.currency,
        b.amount.reserveHeld,
        holdIds.get(b.plan.recordId)!,
        b.releaseOn,
      ]),
    );
    await consumeReturns(
      tx,
      [...returnsTakenBy].flatMap(([mc, recordId]) =>
        returns.get(mc)!.returns.map((r) => ({ returnId: r.id, byRecordId: recordId })),
      ),
      'NEXT_RECORD',
      new Date().toISOString(),
    );
    const releases = built.flatMap((b) => b.released.map((r) => [r.recordId, b.plan.recordId]));
    if (releases.length > 0) {
      await tx.query(
        `UPDATE settlement.reserve_hold h SET released_by_record_id = r.by_record
         FROM unnest($1::bigint[], $2::bigint[]) AS r(record_id, by_record)
         WHERE h.record_id = r.record_id AND h.released_by_record_id IS NULL`,
        [releases.map((r) => r[0]), releases.map((r) => r[1])],
      );
    }
    return built;
  }
}

function settlementEntry(b: Built, effectiveAt: string): EntryDraft {
  const { plan, amount } = b;
  return {
    idempotencyKey: `settlement:${plan.recordId}`,
    businessRef: `settlement:${plan.recordId}`,
    effectiveAt,
    description: `settlement record ${plan.recordId} ${plan.merchantId} ${plan.cycle.key}`,
    metadata: { recordId: plan.recordId, merchantId: plan.merchantId, cycleKey: plan.cycle.key },
    postings: [
      {
        account: { template: 'merchant_settleable', owner: plan.merchantId },
        side: 'DEBIT',
        amount: amount.payable,
        currency: plan.currency,
      },
      {
        account: { template: 'merchant_in_transit', owner: plan.merchantId },
        side: 'CREDIT',
        amount: amount.payable,
        currency: plan.currency,
      },
    ],
  };
}

/** Cycles computed once per rule and date: 100,000 merchants share a handful of terms. */
class CycleMemo {
  private readonly byDate = new Map<string, SettlementCycle>();
  private readonly byCycleKey = new Map<string, SettlementCycle>();
  private readonly closing = new Map<string, SettlementCycle | null>();

  constructor(private readonly calendar: BusinessCalendar) {}

  of(terms: SettlementTerms, businessDate: string): SettlementCycle {
    const k = keyOf(JSON.stringify(terms.cycle), businessDate);
    let cycle = this.byDate.get(k);
    if (!cycle) this.byDate.set(k, (cycle = cycleOf(businessDate, terms, this.calendar)));
    return cycle;
  }

  byKey(terms: SettlementTerms, key: string): SettlementCycle {
    const k = keyOf(JSON.stringify(terms.cycle), key);
    let cycle = this.byCycleKey.get(k);
    if (!cycle) this.byCycleKey.set(k, (cycle = cycleByKey(key, terms, this.calendar)));
    return cycle;
  }

  /** The cycle that closes on `date` under `terms`, if one does (the earliest, if several). */
  closingOn(terms: SettlementTerms, date: string): SettlementCycle | null {
    const k = keyOf(JSON.stringify(terms.cycle), date);
    if (this.closing.has(k)) return this.closing.get(k)!;
    let found: SettlementCycle | null = null;
    for (let back = CLOSING_CYCLE_LOOKBACK_DAYS; back >= 1 && found === null; back--) {
      const cycle = this.of(terms, addCalendarDays(date, -back));
      if (cycle.closesOn === date) found = cycle;
    }
    this.closing.set(k, found);
    return found;
  }
}
