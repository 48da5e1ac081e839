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

/** A key's tag: which kind of item it names. */
export const TAG_PAYMENT = 0x50; // 'P'
export const TAG_REFUND = 0x52; // 'R'

/** hashOfParts' answer for a key holding a character above U+00FF (not a hash: those are < 2^32). */
const WIDE = 2 ** 32;

/**
 * FNV-1a over a key's bytes — tag, first part's length (2 bytes), first part, second part — read
 * straight from the strings (no key string is built per line), or WIDE when a character does not
 * fit a byte. FNV is cheap and spreads the sequential order numbers channels use; the final mix
 * fixes its weak low bits for keys that differ only at the end.
 */
function hashOfParts(tag: number, first: string, second: string): number {
  let h = Math.imul(0x811c9dc5 ^ tag, 0x01000193);
  h = Math.imul(h ^ (first.length & 0xff), 0x01000193);
  h = Math.imul(h ^ (first.length >>> 8), 0x01000193);
  let wide = 0;
  for (let i = 0; i < first.length; i += 1) {
    const c = first.charCodeAt(i);
    wide |= c;
    h = Math.imul(h ^ c, 0x01000193);
  }
  for (let i = 0; i < second.length; i += 1) {
    const c = second.charCodeAt(i);
    wide |= c;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return wide > 0xff ? WIDE : mix(h);
}

function mix(hash: number): number {
  let h = hash ^ (hash >>> 15);
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

/**
 * An exact (tag, first, second) → small integer table, the keys' bytes in one growing arena:
 * (tag, orderNo, '') for a payment, (tag, orderNo, refundNo) for a refund — refund numbers are
 * unique only within an order, and the stored length of the first part keeps ("AB","C") apart from
 * ("A","BC"). Keys with a character above U+00FF (never seen in order numbers, but a file is not
 * ours) are kept in a Map.
 */
export class KeyTable {
  private slots: Int32Array;
  private mask: number;
  private arena: Uint8Array;
  private arenaUsed = 0;
  private keyStart: Uint32Array;
  private count = 0;
  private readonly wide = new Map<string, number>();
  private readonly wideKeys = new Map<number, [number, string, string]>();

  constructor(expected: number) {
    const capacity = Math.max(16, expected);
    this.slots = new Int32Array(slotCountFor(capacity)).fill(EMPTY);
    this.mask = this.slots.length - 1;
    this.keyStart = new Uint32Array(capacity + 1);
    this.arena = new Uint8Array(Math.max(1024, capacity * 16));
  }

  get size(): number {
    return this.count;
  }

  /** The value stored for the key, or -1. */
  get(tag: number, first: string, second: string): number {
    const hash = hashOfParts(tag, first, second);
    if (hash === WIDE) return this.wide.get(wideKeyOf(tag, first, second)) ?? EMPTY;
    let slot = hash & this.mask;
    for (;;) {
      const value = this.slots[slot]!;
      if (value === EMPTY || this.equals(value, tag, first, second)) return value;
      slot = (slot + 1) & this.mask;
    }
  }

  /** Stores the key → the next value (0, 1, 2 …) and returns it; -1 when the key is already there. */
  add(tag: number, first: string, second: string): number {
    if (first.length > 0xffff) throw new InvariantError(`a join key part of ${first.length} characters`);
    const hash = hashOfParts(tag, first, second);
    if (hash === WIDE) {
      const key = wideKeyOf(tag, first, second);
      if (this.wide.has(key)) return EMPTY;
      const value = this.reserve(0);
      this.wide.set(key, value);
      this.wideKeys.set(value, [tag, first, second]);
      return value;
    }
    let slot = hash & this.mask;
    for (;;) {
      const value = this.slots[slot]!;
      if (value === EMPTY) break;
      if (this.equals(value, tag, first, second)) return EMPTY;
      slot = (slot + 1) & this.mask;
    }
    const value = this.reserve(3 + first.length + second.length);
    let at = this.keyStart[value]!;
    const arena = this.arena;
    arena[at++] = tag;
    arena[at++] = first.length & 0xff;
    arena[at++] = first.length >>> 8;
    for (let i = 0; i < first.length; i += 1) arena[at++] = first.charCodeAt(i);
    for (let i = 0; i < second.length; i += 1) arena[at++] = second.charCodeAt(i);
    this.slots[slot] = value;
    if ((this.count * 4) / 3 > this.slots.length) this.rehash();
    return value;
  }

  /**
   * `add` for a key read as bytes (the loader's COPY output), without building its strings: the
   * parts are bytes[first, firstEnd) and bytes[second, secondEnd), every byte below 0x80 (the caller
   * checks), so they are the strings' characters and hash and compare as `add`'s would.
   */
  addAscii(
    tag: number,
    bytes: Uint8Array,
    first: number,
    firstEnd: number,
    second: number,
    secondEnd: number,
  ): number {
    const firstLength = firstEnd - first;
    if (firstLength > 0xffff) throw new InvariantError(`a join key part of ${firstLength} characters`);
    let h = Math.imul(0x811c9dc5 ^ tag, 0x01000193);
    h = Math.imul(h ^ (firstLength & 0xff), 0x01000193);
    h = Math.imul(h ^ (firstLength >>> 8), 0x01000193);
    for (let i = first; i < firstEnd; i += 1) h = Math.imul(h ^ bytes[i]!, 0x01000193);
    for (let i = second; i < secondEnd; i += 1) h = Math.imul(h ^ bytes[i]!, 0x01000193);
    const length = 3 + firstLength + secondEnd - second;
    let slot = mix(h) & this.mask;
    for (;;) {
      const value = this.slots[slot]!;
      if (value === EMPTY) break;
      if (this.equalsBytes(value, tag, bytes, first, firstEnd, second, secondEnd, length)) return EMPTY;
      slot = (slot + 1) & this.mask;
    }
    const value = this.reserve(length);
    let at = this.keyStart[value]!;
    const arena = this.arena;
    arena[at++] = tag;
    arena[at++] = firstLength & 0xff;
    arena[at++] = firstLength >>> 8;
    for (let i = first; i < firstEnd; i += 1) arena[at++] = bytes[i]!;
    for (let i = second; i < secondEnd; i += 1) arena[at++] = bytes[i]!;
    this.slots[slot] = value;
    if ((this.count * 4) / 3 > this.slots.length) this.rehash();
    return value;
  }

  /** The key stored for a value (for the few items a run describes in words). */
  keyOf(value: number): [tag: number, first: string, second: string] {
    const start = this.keyStart[value]!;
    const end = this.keyStart[value + 1]!;
    if (start === end) return this.wideKeys.get(value)!;
    const firstLength = this.arena[start + 1]! | (this.arena[start + 2]! << 8);
    const text = (from: number, to: number): string =>
      Buffer.from(this.arena.buffer, this.arena.byteOffset + from, to - from).toString('latin1');
    return [this.arena[start]!, text(start + 3, start + 3 + firstLength), text(start + 3 + firstLength, end)];
  }

  /** Appends a key of `length` bytes; its bytes run from keyStart[value] to keyStart[value + 1]. */
  private reserve(length: number): number {
    const value = this.count;
    if (value + 1 === this.keyStart.length) this.keyStart = grow(this.keyStart, value * 2 + 2);
    if (this.arenaUsed + length > this.arena.length) {
      this.arena = grow(this.arena, Math.max(this.arena.length * 2, this.arenaUsed + length));
    }
    this.keyStart[value] = this.arenaUsed;
    this.arenaUsed += length;
    this.keyStart[value + 1] = this.arenaUsed;
    this.count += 1;
    return value;
  }

  private equals(value: number, tag: number, first: string, second: string): boolean {
    let at = this.keyStart[value]!;
    if (this.keyStart[value + 1]! - at !== 3 + first.length + second.length) return false;
    const arena = this.arena;
    if (arena[at] !== tag || arena[at + 1] !== (first.length & 0xff) || arena[at + 2] !== first.length >>> 8)
      return false;
    at += 3;
    for (let i = 0; i < first.length; i += 1) if (arena[at++] !== first.charCodeAt(i)) return false;
    for (let i = 0; i < second.length; i += 1) if (arena[at++] !== second.charCodeAt(i)) return false;
    return true;
  }

  private equalsBytes(
    value: number,
    tag: number,
    bytes: Uint8Array,
    first: number,
    firstEnd: number,
    second: number,
    secondEnd: number,
    length: number,
  ): boolean {
    let at = this.keyStart[value]!;
    if (this.keyStart[value + 1]! - at !== length) return false;
    const arena = this.arena;
    const firstLength = firstEnd - first;
    if (arena[at] !== tag || arena[at + 1] !== (firstLength & 0xff) || arena[at + 2] !== firstLength >>> 8)
      return false;
    at += 3;
    for (let i = first; i < firstEnd; i += 1) if (arena[at++] !== bytes[i]) return false;
    for (let i = second; i < secondEnd; i += 1) if (arena[at++] !== bytes[i]) return false;
    return true;
  }

  /** The stored key's hash, read from the arena. */
  private hashAt(value: number): number {
    const start = this.keyStart[value]!;
    const end = this.keyStart[value + 1]!;
    let h = 0x811c9dc5;
    for (let i = start; i < end; i += 1) h = Math.imul(h ^ this.arena[i]!, 0x01000193);
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

function wideKeyOf(tag: number, first: string, second: string): string {
  return `${tag}|${first.length}|${first}${second}`;
}

/** A power of two with the table at most 3/4 full. */
function slotCountFor(expected: number): number {
  let n = 16;
  while (n * 3 < expected * 4) n *= 2;
  return n;
}

function grow<T extends Uint8Array | Uint16Array | Uint32Array | Int32Array>(array: T, length: number): T {
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

/** `minorUnitsOfText` of the ASCII text bytes[start, end). */
export function minorUnitsOfBytes(
  bytes: Uint8Array,
  start: number,
  end: number,
  scale: number,
): number | undefined {
  let negative = false;
  let i = start;
  if (bytes[i] === 45 /* - */) {
    negative = true;
    i += 1;
  }
  let units = 0;
  let digits = 0;
  let fraction = -1;
  for (; i < end; i += 1) {
    const c = bytes[i]!;
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
  invariant(units <= SAFE, 'an amount beyond 2^53 minor units');
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
 * One of our items as the loader reads it out of COPY's text output, without a string per field:
 * the join key's parts and the amount as byte ranges of one row, every key byte below 0x80 (the
 * loader takes a row with any other byte, or an escape, through `add`). One object, refilled per row.
 */
export interface AsciiInternalItem {
  bytes: Uint8Array;
  id: number;
  refund: boolean;
  orderStart: number;
  orderEnd: number;
  /** Refunds only (an empty range for a payment). */
  refundStart: number;
  refundEnd: number;
  amountStart: number;
  amountEnd: number;
  currency: string;
  inCrossDayWindow: boolean;
  carriedFrom: string | null;
}

/** Amounts at or beyond this many minor units (21 million yuan) are kept apart from the int32 column. */
const AMOUNT_APART = 2 ** 31 - 1;

/**
 * The items of one run, by exact join key. Each item is a number 0…n−1 indexing the arrays below;
 * `pairedLine` is what the matcher writes back (0: no line yet). About 14 bytes an item plus its
 * key: ids as 32 + 16 bits (internal_transaction ids stay below 2^48, asserted), amounts as int32
 * minor units with the rare larger ones in a map.
 */
export class InternalItemIndex {
  readonly keys: KeyTable;
  private idLow: Uint32Array;
  private idHigh: Uint16Array;
  private amounts: Int32Array;
  private readonly largeAmounts = new Map<number, number>();
  private currencyOf: Uint8Array;
  private flags: Uint8Array;
  /** Line paired with the item so far (line numbers start at 1; 0 = none). */
  pairedLine: Int32Array;
  /** The few currencies a channel day holds, by index. */
  readonly currencies: string[] = [];
  readonly scales: number[] = [];
  private readonly carriedFrom = new Map<number, string>();

  constructor(expected: number) {
    const capacity = Math.max(16, expected);
    this.keys = new KeyTable(capacity);
    this.idLow = new Uint32Array(capacity);
    this.idHigh = new Uint16Array(capacity);
    this.amounts = new Int32Array(capacity);
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
    const index =
      item.kind === 'PAYMENT'
        ? this.keys.add(TAG_PAYMENT, item.orderNo, '')
        : this.keys.add(TAG_REFUND, item.orderNo, item.refundNo!);
    if (index === EMPTY)
      throw new InvariantError(
        `two of our items share the join key ${describeKey(item.kind, item.orderNo, item.refundNo)} (the second is #${item.id}); the business key should have refused it at ingest`,
      );
    const currency = this.currencyIndexOf(item.currency);
    const amount = minorUnitsOfText(item.amount, this.scales[currency]!);
    this.store(index, Number(item.id), item.kind === 'REFUND', currency, amount, item, item.amount);
    return index;
  }

  /** `add` for a row read as bytes (see AsciiInternalItem). */
  addAscii(item: AsciiInternalItem): number {
    const b = item.bytes;
    invariant(
      !item.refund || item.refundEnd > item.refundStart,
      () => `internal refund ${item.id} has no refundNo; payments.transaction.v1 requires one`,
    );
    const index = item.refund
      ? this.keys.addAscii(TAG_REFUND, b, item.orderStart, item.orderEnd, item.refundStart, item.refundEnd)
      : this.keys.addAscii(TAG_PAYMENT, b, item.orderStart, item.orderEnd, 0, 0);
    if (index === EMPTY) {
      const text = (from: number, to: number) =>
        Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('latin1');
      throw new InvariantError(
        `two of our items share the join key ${describeKey(item.refund ? 'REFUND' : 'PAYMENT', text(item.orderStart, item.orderEnd), text(item.refundStart, item.refundEnd))} (the second is #${item.id}); the business key should have refused it at ingest`,
      );
    }
    const currency = this.currencyIndexOf(item.currency);
    const amount = minorUnitsOfBytes(b, item.amountStart, item.amountEnd, this.scales[currency]!);
    this.store(index, item.id, item.refund, currency, amount, item, () =>
      Buffer.from(b.buffer, b.byteOffset + item.amountStart, item.amountEnd - item.amountStart).toString(
        'latin1',
      ),
    );
    return index;
  }

  private store(
    index: number,
    id: number,
    refund: boolean,
    currency: number,
    amount: number | undefined,
    item: { inCrossDayWindow: boolean; carriedFrom: string | null; currency: string },
    amountText: string | (() => string),
  ): void {
    if (index === this.idLow.length) this.growTo(index * 2);
    invariant(Number.isSafeInteger(id) && id > 0 && id < 2 ** 48, () => `internal transaction id ${id}`);
    invariant(
      amount !== undefined && amount > 0,
      () =>
        `internal transaction ${id}: amount ${typeof amountText === 'string' ? amountText : amountText()} is not a positive ${item.currency} amount`,
    );
    this.idLow[index] = id % 2 ** 32;
    this.idHigh[index] = Math.floor(id / 2 ** 32);
    if (amount < AMOUNT_APART) {
      this.amounts[index] = amount;
    } else {
      this.amounts[index] = -1;
      this.largeAmounts.set(index, amount);
    }
    this.currencyOf[index] = currency;
    this.flags[index] =
      (refund ? FLAG_REFUND : 0) |
      (item.inCrossDayWindow ? FLAG_IN_WINDOW : 0) |
      (item.carriedFrom === null ? 0 : FLAG_CARRIED);
    if (item.carriedFrom !== null) this.carriedFrom.set(index, item.carriedFrom);
  }

  private currencyIndexOf(code: string): number {
    let currency = this.currencies.indexOf(code);
    if (currency === -1) {
      invariant(this.currencies.length < 255, 'more than 255 currencies in one run');
      currency = this.currencies.push(code) - 1;
      this.scales.push(minorUnitOf(code));
    }
    return currency;
  }

  find(kind: InternalItemKind, orderNo: string, refundNo: string | null): number {
    return kind === 'PAYMENT'
      ? this.keys.get(TAG_PAYMENT, orderNo, '')
      : this.keys.get(TAG_REFUND, orderNo, refundNo ?? '');
  }

  idOf(index: number): string {
    return String(this.idNumberOf(index));
  }

  idNumberOf(index: number): number {
    return this.idHigh[index]! * 2 ** 32 + this.idLow[index]!;
  }

  kindOf(index: number): InternalItemKind {
    return (this.flags[index]! & FLAG_REFUND) !== 0 ? 'REFUND' : 'PAYMENT';
  }

  amountUnitsOf(index: number): number {
    const amount = this.amounts[index]!;
    return amount === -1 ? this.largeAmounts.get(index)! : amount;
  }

  currencyIndexOfItem(index: number): number {
    return this.currencyOf[index]!;
  }

  currencyOfItem(index: number): string {
    return this.currencies[this.currencyOf[index]!]!;
  }

  /** The item's amount as canonical decimal text. */
  amountOf(index: number): string {
    return decimalTextOf(this.amountUnitsOf(index), this.scales[this.currencyOf[index]!]!);
  }

  inCrossDayWindow(index: number): boolean {
    return (this.flags[index]! & FLAG_IN_WINDOW) !== 0;
  }

  carriedFromOf(index: number): string | null {
    return (this.flags[index]! & FLAG_CARRIED) === 0 ? null : this.carriedFrom.get(index)!;
  }

  /** Refunds no line has paired yet, with their order and refund numbers (read back from the keys). */
  *unpairedRefunds(): Generator<{ index: number; orderNo: string; refundNo: string }> {
    for (let index = 0; index < this.size; index += 1) {
      if ((this.flags[index]! & FLAG_REFUND) === 0 || this.pairedLine[index] !== 0) continue;
      const [, orderNo, refundNo] = this.keys.keyOf(index);
      yield { index, orderNo, refundNo };
    }
  }

  private growTo(length: number): void {
    this.idLow = grow(this.idLow, length);
    this.idHigh = grow(this.idHigh, length);
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
