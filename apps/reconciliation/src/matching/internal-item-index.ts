import { InvariantError, invariant, minorUnitOf } from '@app/contracts';
import type { InternalItemKind } from './match.types.js';

/**
 * Our side of one match run, held compactly enough for a 10M-item day (ADR 013): typed arrays
 * instead of an object per item, and the join keys as bytes in one arena behind an
 * open-addressing table. About 45 bytes an item plus its key, where a Map of objects took ~300.
 *
 * Keys are exact (the bytes are compared on every probe), never a fingerprint: a collision
 * would pair a line with someone else's payment.
 */

/** One of our items as the run's loader hands it over (internal_transaction, plus what the run computed). */
export interface IndexedInternalItem {
  /** internal_transaction.id */
  id: string;
  kind: InternalItemKind;
  orderNo: string;
  /** Refunds only. */
  refundNo: string | null;
  /** Exact decimal text (numeric::text), at most the currency's fraction digits. */
  amount: string;
  currency: string;
  /** An item of D paid within the cross-day window before D's cut-off. */
  inCrossDayWindow: boolean;
  /** An item carried from an earlier run: its own business date ('YYYY-MM-DD'); else null. */
  carriedFrom: string | null;
}

const EMPTY = -1;
const FLAG_REFUND = 1;
const FLAG_IN_WINDOW = 2;
const FLAG_CARRIED = 4;
/** Largest id / minor-unit amount a float64 holds exactly. */
const SAFE = Number.MAX_SAFE_INTEGER;

/**
 * A key as one string: 'P' + orderNo for a payment, 'R' + (orderNo length as one char) + orderNo +
 * refundNo for a refund — refund numbers are unique only within an order, and the length keeps
 * ("AB","C") apart from ("A","BC").
 */
export function itemKeyOf(kind: InternalItemKind, orderNo: string, refundNo: string | null): string {
  return kind === 'PAYMENT'
    ? `P${orderNo}`
    : `R${String.fromCharCode(orderNo.length)}${orderNo}${refundNo ?? ''}`;
}

/** FNV-1a over UTF-16 code units: cheap, and spreads the sequential order numbers channels use. */
function hashOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix(h);
}

/** A final mix: FNV's low bits are weak for keys that differ only at the end. */
function mix(hash: number): number {
  let h = hash ^ (hash >>> 15);
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

/**
 * An exact string → small integer table with its keys in one growing byte arena. Keys holding a
 * character above U+00FF (never seen in order numbers, but a file is not ours) are kept in a Map.
 */
export class KeyTable {
  private slots: Int32Array;
  private mask: number;
  private arena: Uint8Array;
  private arenaUsed = 0;
  private keyStart: Uint32Array;
  private keyLength: Uint16Array;
  private count = 0;
  private readonly wide = new Map<string, number>();

  constructor(expected: number) {
    const capacity = Math.max(16, expected);
    this.slots = new Int32Array(slotCountFor(capacity)).fill(EMPTY);
    this.mask = this.slots.length - 1;
    this.keyStart = new Uint32Array(capacity);
    this.keyLength = new Uint16Array(capacity);
    this.arena = new Uint8Array(Math.max(1024, capacity * 16));
  }

  get size(): number {
    return this.count;
  }

  /** The value stored for `key`, or -1. */
  get(key: string): number {
    if (!isNarrow(key)) return this.wide.get(key) ?? EMPTY;
    let slot = hashOf(key) & this.mask;
    for (;;) {
      const value = this.slots[slot]!;
      if (value === EMPTY || this.equals(value, key)) return value;
      slot = (slot + 1) & this.mask;
    }
  }

  /** Stores `key` → the next value (0, 1, 2 …) and returns it; -1 when the key is already there. */
  add(key: string): number {
    if (!isNarrow(key)) {
      if (this.wide.has(key)) return EMPTY;
      const value = this.reserve(0);
      this.wide.set(key, value);
      return value;
    }
    invariant(key.length <= 0xffff, () => `a join key of ${key.length} characters`);
    let slot = hashOf(key) & this.mask;
    for (;;) {
      const value = this.slots[slot]!;
      if (value === EMPTY) break;
      if (this.equals(value, key)) return EMPTY;
      slot = (slot + 1) & this.mask;
    }
    const value = this.reserve(key.length);
    const start = this.keyStart[value]!;
    for (let i = 0; i < key.length; i += 1) this.arena[start + i] = key.charCodeAt(i);
    this.slots[slot] = value;
    if ((this.count * 4) / 3 > this.slots.length) this.rehash();
    return value;
  }

  /** The key stored for a value (slow path: only for the few items a run describes in words). */
  keyOf(value: number): string {
    // Narrow keys are never empty (they start with the kind), so length 0 marks a wide one.
    if (this.keyLength[value] === 0) for (const [key, v] of this.wide) if (v === value) return key;
    const start = this.keyStart[value]!;
    return Buffer.from(this.arena.buffer, this.arena.byteOffset + start, this.keyLength[value]).toString(
      'latin1',
    );
  }

  private reserve(length: number): number {
    const value = this.count;
    if (value === this.keyStart.length) {
      this.keyStart = grow(this.keyStart, value * 2);
      this.keyLength = grow(this.keyLength, value * 2);
    }
    if (this.arenaUsed + length > this.arena.length) {
      this.arena = grow(this.arena, Math.max(this.arena.length * 2, this.arenaUsed + length));
    }
    this.keyStart[value] = this.arenaUsed;
    this.keyLength[value] = length;
    this.arenaUsed += length;
    this.count += 1;
    return value;
  }

  private equals(value: number, key: string): boolean {
    if (this.keyLength[value] !== key.length) return false;
    const start = this.keyStart[value]!;
    const arena = this.arena;
    for (let i = 0; i < key.length; i += 1) if (arena[start + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  /** hashOf(key) of a stored key, read from the arena. */
  private hashAt(value: number): number {
    const start = this.keyStart[value]!;
    const end = start + this.keyLength[value]!;
    let h = 0x811c9dc5;
    for (let i = start; i < end; i += 1) {
      h ^= this.arena[i]!;
      h = Math.imul(h, 0x01000193);
    }
    return mix(h);
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2).fill(EMPTY);
    const mask = slots.length - 1;
    for (const value of this.slots) {
      if (value === EMPTY) continue;
      let slot = this.hashAt(value) & mask;
      while (slots[slot] !== EMPTY) slot = (slot + 1) & mask;
      slots[slot] = value;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

function isNarrow(key: string): boolean {
  for (let i = 0; i < key.length; i += 1) if (key.charCodeAt(i) > 0xff) return false;
  return true;
}

/** A power of two with the table at most 3/4 full. */
function slotCountFor(expected: number): number {
  let n = 16;
  while (n * 3 < expected * 4) n *= 2;
  return n;
}

function grow<T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(
  array: T,
  length: number,
): T {
  const bigger = new (array.constructor as new (n: number) => T)(length);
  bigger.set(array);
  return bigger;
}

/**
 * Exact minor units of a decimal text at `scale` fraction digits ("12.3" at 2 → 1230), as a JS
 * number: exact because it is an integer below 2^53, which is asserted. Undefined when the text
 * has more (non-zero) fraction digits than the scale, or is not a plain decimal.
 */
export function minorUnitsOfText(text: string, scale: number): number | undefined {
  let negative = false;
  let i = 0;
  if (text.charCodeAt(0) === 45 /* - */) {
    negative = true;
    i = 1;
  }
  let units = 0;
  let digits = 0;
  let fraction = -1;
  for (; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (fraction !== -1) return undefined;
      fraction = 0;
      continue;
    }
    if (c < 48 || c > 57) return undefined;
    if (fraction !== -1) {
      if (fraction === scale) {
        if (c !== 48) return undefined;
        continue;
      }
      fraction += 1;
    }
    units = units * 10 + (c - 48);
    digits += 1;
  }
  if (digits === 0) return undefined;
  for (let f = Math.max(fraction, 0); f < scale; f += 1) units *= 10;
  invariant(units <= SAFE, () => `amount ${text} is beyond 2^53 minor units`);
  return negative ? -units : units;
}

/** Minor units back to the canonical decimal text at the currency's scale. */
export function decimalTextOf(units: number, scale: number): string {
  const negative = units < 0;
  const digits = String(Math.abs(units)).padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

/**
 * The items of one run, by exact join key. Each item is a number 0…n−1 indexing the arrays below;
 * `pairedLine` is what the matcher writes back (0: no line yet).
 */
export class InternalItemIndex {
  readonly keys: KeyTable;
  private ids: Float64Array;
  private amounts: Float64Array;
  private currencyOf: Uint8Array;
  private flags: Uint8Array;
  /** Line paired with the item so far (line numbers start at 1; 0 = none). */
  pairedLine: Int32Array;
  /** The few currencies a channel day holds, by index. */
  readonly currencies: string[] = [];
  readonly scales: number[] = [];
  private readonly carriedFrom = new Map<number, string>();
  /** Refund numbers of refunds, for pairing lines that name none. */
  private readonly refundNos = new Map<number, string>();

  constructor(expected: number) {
    const capacity = Math.max(16, expected);
    this.keys = new KeyTable(capacity);
    this.ids = new Float64Array(capacity);
    this.amounts = new Float64Array(capacity);
    this.currencyOf = new Uint8Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.pairedLine = new Int32Array(capacity);
  }

  get size(): number {
    return this.keys.size;
  }

  /**
   * @throws InvariantError when two of our items share a join key: ingest's business key refuses
   *   the second, so two here means the loader is broken, and pairing either would be a guess.
   */
  add(item: IndexedInternalItem): number {
    invariant(
      item.kind === 'PAYMENT' || (item.refundNo !== null && item.refundNo !== ''),
      () => `internal refund ${item.id} has no refundNo; payments.transaction.v1 requires one`,
    );
    const index = this.keys.add(itemKeyOf(item.kind, item.orderNo, item.refundNo));
    if (index === EMPTY)
      throw new InvariantError(
        `two of our items share the join key ${describeKey(item.kind, item.orderNo, item.refundNo)} (the second is #${item.id}); the business key should have refused it at ingest`,
      );
    if (index === this.ids.length) this.growTo(index * 2);
    const id = Number(item.id);
    invariant(Number.isSafeInteger(id) && id > 0, () => `internal transaction id ${item.id}`);
    let currency = this.currencies.indexOf(item.currency);
    if (currency === -1) {
      invariant(this.currencies.length < 255, 'more than 255 currencies in one run');
      currency = this.currencies.push(item.currency) - 1;
      this.scales.push(minorUnitOf(item.currency));
    }
    const amount = minorUnitsOfText(item.amount, this.scales[currency]!);
    invariant(
      amount !== undefined && amount > 0,
      () =>
        `internal transaction ${item.id}: amount ${item.amount} is not a positive ${item.currency} amount`,
    );
    this.ids[index] = id;
    this.amounts[index] = amount;
    this.currencyOf[index] = currency;
    this.flags[index] =
      (item.kind === 'REFUND' ? FLAG_REFUND : 0) |
      (item.inCrossDayWindow ? FLAG_IN_WINDOW : 0) |
      (item.carriedFrom === null ? 0 : FLAG_CARRIED);
    if (item.carriedFrom !== null) this.carriedFrom.set(index, item.carriedFrom);
    if (item.kind === 'REFUND') this.refundNos.set(index, item.refundNo!);
    return index;
  }

  find(kind: InternalItemKind, orderNo: string, refundNo: string | null): number {
    return this.keys.get(itemKeyOf(kind, orderNo, refundNo));
  }

  idOf(index: number): string {
    return String(this.ids[index]);
  }

  kindOf(index: number): InternalItemKind {
    return (this.flags[index]! & FLAG_REFUND) !== 0 ? 'REFUND' : 'PAYMENT';
  }

  amountUnitsOf(index: number): number {
    return this.amounts[index]!;
  }

  currencyOfItem(index: number): string {
    return this.currencies[this.currencyOf[index]!]!;
  }

  /** The item's amount as canonical decimal text. */
  amountOf(index: number): string {
    return decimalTextOf(this.amounts[index]!, this.scales[this.currencyOf[index]!]!);
  }

  inCrossDayWindow(index: number): boolean {
    return (this.flags[index]! & FLAG_IN_WINDOW) !== 0;
  }

  carriedFromOf(index: number): string | null {
    return this.carriedFrom.get(index) ?? null;
  }

  refundNoOf(index: number): string | null {
    return this.refundNos.get(index) ?? null;
  }

  /** Every refund, with its order number (read back from the key). */
  *refunds(): Generator<{ index: number; orderNo: string; refundNo: string }> {
    for (const [index, refundNo] of this.refundNos) {
      const key = this.keys.keyOf(index);
      const orderLength = key.charCodeAt(1);
      yield { index, orderNo: key.slice(2, 2 + orderLength), refundNo };
    }
  }

  private growTo(length: number): void {
    this.ids = grow(this.ids, length);
    this.amounts = grow(this.amounts, length);
    this.currencyOf = grow(this.currencyOf, length);
    this.flags = grow(this.flags, length);
    this.pairedLine = grow(this.pairedLine, length);
  }
}

/** The key as people read it (the same text `classify` puts in its rows and reasons). */
export function describeKey(kind: InternalItemKind, orderNo: string, refundNo: string | null): string {
  return kind === 'PAYMENT' ? `PAYMENT|${orderNo}` : `REFUND|${orderNo}|${refundNo ?? ''}`;
}
