import { InvariantError, invariant, minorUnitOf } from '@app/contracts';
import { MessageChannel } from 'node:worker_threads';
import type { InternalItemKind } from './match.types.js';

/**
 * Our side of one match run, held compactly enough for a 10M-item day (ADR 013): one record per
 * item, its figures and its join key's bytes side by side, in 1 MiB pages, behind an
 * open-addressing table. A line's lookup touches the table's slot and the item's record (two cache
 * misses), where parallel arrays per field took one miss per field; a key is compared exactly,
 * byte for byte, never only by a fingerprint: a collision would pair a line with someone else's
 * payment. The slot's 4 hash bits only spare most of the records a probe would otherwise read.
 */

/**
 * Frees array buffers' memory now instead of at the next full collection, which Node 20 offers no
 * direct way to do (no `ArrayBuffer.prototype.transfer`): a buffer transferred in a message is
 * detached here (every view of it reads as empty), its memory goes with the message, and closing
 * the channel discards the message undelivered. The caller must hold no view it will read again.
 */
export function freeNow(buffers: readonly ArrayBufferLike[]): void {
  // Not `instanceof ArrayBuffer`: a buffer from another realm (a vm context, as under Jest) fails
  // it. A SharedArrayBuffer cannot be transferred and is left alone.
  const transferable = [...new Set(buffers)].filter(
    (b): b is ArrayBuffer => Object.prototype.toString.call(b) === '[object ArrayBuffer]' && b.byteLength > 0,
  );
  if (transferable.length === 0) return;
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(null, transferable);
  port1.close();
  port2.close();
}

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

const NONE = -1;
const FLAG_REFUND = 1;
const FLAG_IN_WINDOW = 2;
const FLAG_CARRIED = 4;
/** The key holds a character above U+00FF: kept in a Map, not as bytes. */
const FLAG_WIDE = 8;
/** Largest id / minor-unit amount a float64 holds exactly. */
const SAFE = Number.MAX_SAFE_INTEGER;

/** A key's tag: which kind of item it names (hashed with the key). */
const TAG_PAYMENT = 0x50; // 'P'
const TAG_REFUND = 0x52; // 'R'

/** hashOfParts' answer for a key holding a character above U+00FF (not a hash: those are < 2^32). */
const WIDE = 2 ** 32;
/**
 * findAll's mark, in its Uint32Array of hashes, for a line it looks up the slow way. A real hash can
 * equal it: that line just takes the slow way too.
 */
const WIDE_MARK = 0xffffffff;

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

/** hashOfParts of parts given as bytes: bytes[from, from + firstLength) and the next secondLength. */
function hashOfBytes(
  tag: number,
  bytes: Uint8Array,
  from: number,
  firstLength: number,
  length: number,
): number {
  let h = Math.imul(0x811c9dc5 ^ tag, 0x01000193);
  h = Math.imul(h ^ (firstLength & 0xff), 0x01000193);
  h = Math.imul(h ^ (firstLength >>> 8), 0x01000193);
  for (let i = from; i < from + length; i += 1) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return mix(h);
}

function mix(hash: number): number {
  let h = hash ^ (hash >>> 15);
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

function wideKeyOf(tag: number, first: string, second: string): string {
  return `${tag}|${first.length}|${first}${second}`;
}

// A record: 5 int32 words, then the key's bytes (first part, second part), padded to 8 bytes. Its
// reference is its page (high bits) and its offset in 8-byte units (low PAGE_BITS bits).
const PAGE_BITS = 17;
const PAGE_UNITS = 1 << PAGE_BITS; // 1 MiB
const UNIT_MASK = PAGE_UNITS - 1;
const W_PAIRED_LINE = 0;
const W_AMOUNT = 1;
const W_ID_LOW = 2;
/** id's high 16 bits | flags << 16 | currency << 24 */
const W_META = 3;
/** key length in bytes | first part's length << 16 */
const W_KEY = 4;
const HEADER_BYTES = 20;
/** Slots hold ref + 1 in their low 28 bits (0 = empty) and 4 bits of the key's hash above. */
const REF_BITS = 28;
const REF_MASK = (1 << REF_BITS) - 1;
const MAX_PAGES = (REF_MASK - 1) >>> PAGE_BITS;
/** Amounts at or beyond this many minor units (21 million yuan) are kept apart from the int32 field. */
const AMOUNT_APART = 2 ** 31 - 1;

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

/**
 * `minorUnitsOfText` of the ASCII text bytes[start, end): the same steps over bytes, for the loader,
 * which reads 10M amounts without making a string of each (a test holds the two to the same answer,
 * undefined included, for any input).
 */
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

/**
 * The items of one run, by exact join key. An item is named by its record's reference (a
 * non-negative number; `first`/`next` walk them in the order they were added); `pairedLine` is what
 * the matcher writes back (0: no line yet). About 20 bytes an item plus its key, padded to 8; the
 * table adds 4–8 bytes an item.
 */
export class InternalItemIndex {
  private readonly words: Int32Array[] = [];
  private readonly bytes: Uint8Array[] = [];
  /** Units used in each page. */
  private readonly pageUsed: number[] = [];
  private released = false;
  /** findAll's scratch: the batch's hashes and first probed slots. */
  private hashes = new Uint32Array(0);
  private slotsOf = new Int32Array(0);
  /** Records addAscii stored whose keys are not in the table yet. */
  private readonly pendingHashes = new Uint32Array(4096);
  private readonly pendingRefs = new Int32Array(4096);
  private pending = 0;
  private slots: Uint32Array;
  private mask: number;
  private count = 0;
  private readonly wide = new Map<string, number>();
  private readonly wideKeys = new Map<number, [string, string]>();
  private readonly largeAmounts = new Map<number, number>();
  private readonly carriedFrom = new Map<number, string>();
  /** The few currencies a channel day holds, by index. */
  readonly currencies: string[] = [];
  readonly scales: number[] = [];

  /** `expected`: how many items to make room for before the table first grows. */
  constructor(expected = 1024) {
    let n = 16;
    while (n * 3 < expected * 4) n *= 2;
    this.slots = new Uint32Array(n);
    this.mask = n - 1;
  }

  get size(): number {
    return this.count;
  }

  /**
   * @throws InvariantError when two of our items share a join key: ingest's business key refuses
   *   the second, so two here means the loader is broken, and pairing either would be a guess.
   */
  add(item: IndexedInternalItem): number {
    this.flushAdded();
    const refund = item.kind === 'REFUND';
    invariant(
      !refund || (item.refundNo !== null && item.refundNo !== ''),
      () => `internal refund ${item.id} has no refundNo; payments.transaction.v1 requires one`,
    );
    const first = item.orderNo;
    const second = refund ? item.refundNo! : '';
    const tag = refund ? TAG_REFUND : TAG_PAYMENT;
    const hash = hashOfParts(tag, first, second);
    const duplicate = (): InvariantError =>
      new InvariantError(
        `two of our items share the join key ${describeKey(item.kind, item.orderNo, item.refundNo)} (the second is #${item.id}); the business key should have refused it at ingest`,
      );
    let ref: number;
    if (hash === WIDE) {
      const key = wideKeyOf(tag, first, second);
      if (this.wide.has(key)) throw duplicate();
      ref = this.append(0);
      this.wide.set(key, ref);
      this.wideKeys.set(ref, [first, second]);
    } else {
      if (this.findSlot(hash, refund, first, second) !== NONE) throw duplicate();
      ref = this.append(first.length + second.length);
      const page = this.bytes[ref >>> PAGE_BITS]!;
      let at = ((ref & UNIT_MASK) << 3) + HEADER_BYTES;
      for (let i = 0; i < first.length; i += 1) page[at++] = first.charCodeAt(i);
      for (let i = 0; i < second.length; i += 1) page[at++] = second.charCodeAt(i);
      this.setKeyLengths(ref, first.length, second.length);
    }
    const currency = this.currencyIndexOf(item.currency);
    const amount = minorUnitsOfText(item.amount, this.scales[currency]!);
    this.store(ref, Number(item.id), refund, hash === WIDE, currency, amount, item, item.amount);
    // After store: a rehash reads the record's flags.
    if (hash !== WIDE) this.insert(hash, ref);
    return ref;
  }

  /**
   * `add` for a row read as bytes (see AsciiInternalItem). The record is stored at once; its key
   * enters the table at the next `flushAdded` (the loader calls it per chunk): a chunk's keys
   * inserted in one tight loop let the CPU overlap their cache misses.
   */
  addAscii(item: AsciiInternalItem): number {
    const b = item.bytes;
    invariant(
      !item.refund || item.refundEnd > item.refundStart,
      () => `internal refund ${item.id} has no refundNo; payments.transaction.v1 requires one`,
    );
    const firstLength = item.orderEnd - item.orderStart;
    const secondLength = item.refund ? item.refundEnd - item.refundStart : 0;
    const ref = this.append(firstLength + secondLength);
    const page = this.bytes[ref >>> PAGE_BITS]!;
    const from = ((ref & UNIT_MASK) << 3) + HEADER_BYTES;
    let at = from;
    for (let i = item.orderStart; i < item.orderEnd; i += 1) page[at++] = b[i]!;
    for (let i = item.refundStart; i < item.refundStart + secondLength; i += 1) page[at++] = b[i]!;
    this.setKeyLengths(ref, firstLength, secondLength);
    const currency = this.currencyIndexOf(item.currency);
    const amount = minorUnitsOfBytes(b, item.amountStart, item.amountEnd, this.scales[currency]!);
    this.store(ref, item.id, item.refund, false, currency, amount, item, () =>
      Buffer.from(b.buffer, b.byteOffset + item.amountStart, item.amountEnd - item.amountStart).toString(
        'latin1',
      ),
    );
    if (this.pending === this.pendingRefs.length) this.flushAdded();
    this.pendingHashes[this.pending] = hashOfBytes(
      item.refund ? TAG_REFUND : TAG_PAYMENT,
      page,
      from,
      firstLength,
      firstLength + secondLength,
    );
    this.pendingRefs[this.pending] = ref;
    this.pending += 1;
    return ref;
  }

  /**
   * Enters the keys of the records `addAscii` stored since the last call.
   * @throws InvariantError when a key is already there (see `add`).
   */
  flushAdded(): void {
    const n = this.pending;
    if (n === 0) return;
    // The pending records are the last ones appended: a rehash enters only those before them.
    if (this.count * 4 > this.slots.length * 3) this.rehash(this.pendingRefs[0]);
    this.pending = 0;
    const slots = this.slots;
    const mask = this.mask;
    for (let i = 0; i < n; i += 1) {
      const ref = this.pendingRefs[i]!;
      const hash = this.pendingHashes[i]!;
      const tag = hash >>> REF_BITS;
      let slot = hash & mask;
      for (;;) {
        const entry = slots[slot]!;
        if (entry === 0) break;
        if (entry >>> REF_BITS === tag && this.sameKey(ref, (entry & REF_MASK) - 1))
          throw new InvariantError(
            `two of our items share the join key ${describeKey(this.kindOf(ref), ...this.keyOf(ref))} (the second is #${this.idOf(ref)}); the business key should have refused it at ingest`,
          );
        slot = (slot + 1) & mask;
      }
      slots[slot] = ((tag << REF_BITS) | (ref + 1)) >>> 0;
    }
  }

  /**
   * Gives the records and the table back to the system (a 10M-item day holds ~380 MB) at once, for a
   * run whose pairing is done while it still writes what is not a line: dropped, they would wait
   * for a full collection, and until then the run's last writes came on top of them (the import's
   * peak RSS). Only `size` answers after this.
   */
  release(): void {
    freeNow([...this.words.map((w) => w.buffer), this.slots.buffer, this.slotsOf.buffer]);
    this.words.length = 0;
    this.bytes.length = 0;
    this.pageUsed.length = 0;
    this.slots = new Uint32Array(16);
    this.slotsOf = new Int32Array(0);
    this.mask = 15;
    this.released = true;
  }

  /** The item with the join key, or -1. */
  find(kind: InternalItemKind, orderNo: string, refundNo: string | null): number {
    const refund = kind === 'REFUND';
    const second = refund ? (refundNo ?? '') : '';
    const tag = refund ? TAG_REFUND : TAG_PAYMENT;
    const hash = hashOfParts(tag, orderNo, second);
    invariant(
      !this.released && this.pending === 0,
      'InternalItemIndex.find after release or before flushAdded',
    );
    if (hash === WIDE) return this.wide.get(wideKeyOf(tag, orderNo, second)) ?? NONE;
    return this.findSlot(hash, refund, orderNo, second);
  }

  /**
   * `find` for a batch of lines, in three passes (hash every key, then probe, then compare) so the
   * cache misses of different lines overlap. A refund line naming no refund number gets -1.
   */
  findAll(
    lines: readonly { type: InternalItemKind; orderNo: string; refundNo: string | null }[],
  ): Int32Array {
    invariant(
      !this.released && this.pending === 0,
      'InternalItemIndex.findAll after release or before flushAdded',
    );
    const n = lines.length;
    if (this.hashes.length < n) {
      this.hashes = new Uint32Array(n);
      this.slotsOf = new Int32Array(n);
    }
    const hashes = this.hashes;
    const found = new Int32Array(n);
    for (let i = 0; i < n; i += 1) {
      const line = lines[i]!;
      const refund = line.type === 'REFUND';
      if (refund && (line.refundNo === null || line.refundNo === '')) {
        hashes[i] = WIDE_MARK;
        continue;
      }
      const hash = hashOfParts(refund ? TAG_REFUND : TAG_PAYMENT, line.orderNo, refund ? line.refundNo! : '');
      hashes[i] = hash === WIDE ? WIDE_MARK : hash;
    }
    // The first slot whose hash bits agree (or the empty one ending the run): one read per line here.
    const slots = this.slots;
    const mask = this.mask;
    const slotsOf = this.slotsOf;
    for (let i = 0; i < n; i += 1) {
      const hash = hashes[i]!;
      if (hash === WIDE_MARK) continue;
      const tag = hash >>> REF_BITS;
      let slot = hash & mask;
      let entry = slots[slot]!;
      while (entry !== 0 && entry >>> REF_BITS !== tag) {
        slot = (slot + 1) & mask;
        entry = slots[slot]!;
      }
      slotsOf[i] = slot;
    }
    for (let i = 0; i < n; i += 1) {
      const line = lines[i]!;
      const hash = hashes[i]!;
      if (hash === WIDE_MARK) {
        const refund = line.type === 'REFUND';
        found[i] =
          refund && (line.refundNo === null || line.refundNo === '')
            ? NONE
            : this.find(line.type, line.orderNo, line.refundNo);
        continue;
      }
      found[i] = this.probeFrom(
        slotsOf[i]!,
        hash,
        line.type === 'REFUND',
        line.orderNo,
        line.type === 'REFUND' ? line.refundNo! : '',
      );
    }
    return found;
  }

  /** The first item added, or -1 when there is none. */
  first(): number {
    invariant(!this.released, 'InternalItemIndex used after release');
    return this.count === 0 ? NONE : 0;
  }

  /** The item added after `ref`, or -1. */
  next(ref: number): number {
    const page = ref >>> PAGE_BITS;
    const offset =
      (ref & UNIT_MASK) + this.unitsOf(this.words[page]![((ref & UNIT_MASK) << 1) + W_KEY]! & 0xffff);
    if (offset < this.pageUsed[page]!) return (page << PAGE_BITS) | offset;
    return page + 1 < this.words.length ? (page + 1) << PAGE_BITS : NONE;
  }

  pairedLineOf(ref: number): number {
    return this.words[ref >>> PAGE_BITS]![((ref & UNIT_MASK) << 1) + W_PAIRED_LINE]!;
  }

  setPairedLine(ref: number, lineNo: number): void {
    this.words[ref >>> PAGE_BITS]![((ref & UNIT_MASK) << 1) + W_PAIRED_LINE] = lineNo;
  }

  idOf(ref: number): string {
    return String(this.idNumberOf(ref));
  }

  private idNumberOf(ref: number): number {
    const words = this.words[ref >>> PAGE_BITS]!;
    const w = (ref & UNIT_MASK) << 1;
    return (words[w + W_META]! & 0xffff) * 2 ** 32 + (words[w + W_ID_LOW]! >>> 0);
  }

  kindOf(ref: number): InternalItemKind {
    return (this.flagsOf(ref) & FLAG_REFUND) !== 0 ? 'REFUND' : 'PAYMENT';
  }

  amountUnitsOf(ref: number): number {
    const amount = this.words[ref >>> PAGE_BITS]![((ref & UNIT_MASK) << 1) + W_AMOUNT]!;
    return amount === -1 ? this.largeAmounts.get(ref)! : amount;
  }

  private currencyIndexOfItem(ref: number): number {
    return this.words[ref >>> PAGE_BITS]![((ref & UNIT_MASK) << 1) + W_META]! >>> 24;
  }

  currencyOfItem(ref: number): string {
    return this.currencies[this.currencyIndexOfItem(ref)]!;
  }

  /** The item's amount as canonical decimal text. */
  amountOf(ref: number): string {
    return decimalTextOf(this.amountUnitsOf(ref), this.scales[this.currencyIndexOfItem(ref)]!);
  }

  inCrossDayWindow(ref: number): boolean {
    return (this.flagsOf(ref) & FLAG_IN_WINDOW) !== 0;
  }

  carriedFromOf(ref: number): string | null {
    return (this.flagsOf(ref) & FLAG_CARRIED) === 0 ? null : this.carriedFrom.get(ref)!;
  }

  /** The key's parts: order number, and refund number ('' for a payment). */
  keyOf(ref: number): [first: string, second: string] {
    if ((this.flagsOf(ref) & FLAG_WIDE) !== 0) return this.wideKeys.get(ref)!;
    const page = this.bytes[ref >>> PAGE_BITS]!;
    const lengths = this.words[ref >>> PAGE_BITS]![((ref & UNIT_MASK) << 1) + W_KEY]!;
    const from = page.byteOffset + ((ref & UNIT_MASK) << 3) + HEADER_BYTES;
    const firstLength = lengths >>> 16;
    const text = (start: number, length: number): string =>
      Buffer.from(page.buffer, start, length).toString('latin1');
    return [text(from, firstLength), text(from + firstLength, (lengths & 0xffff) - firstLength)];
  }

  /** Refunds no line has paired yet, with their order and refund numbers (read back from the keys). */
  *unpairedRefunds(): Generator<{ index: number; orderNo: string; refundNo: string }> {
    for (let ref = this.first(); ref !== NONE; ref = this.next(ref)) {
      if ((this.flagsOf(ref) & FLAG_REFUND) === 0 || this.pairedLineOf(ref) !== 0) continue;
      const [orderNo, refundNo] = this.keyOf(ref);
      yield { index: ref, orderNo, refundNo };
    }
  }

  // -------------------------------------------------------------------------------------------

  private flagsOf(ref: number): number {
    return (this.words[ref >>> PAGE_BITS]![((ref & UNIT_MASK) << 1) + W_META]! >>> 16) & 0xff;
  }

  private unitsOf(keyLength: number): number {
    return (HEADER_BYTES + keyLength + 7) >>> 3;
  }

  /** Room for a record with a key of `keyLength` bytes; returns its reference. */
  private append(keyLength: number): number {
    invariant(!this.released, 'InternalItemIndex used after release');
    invariant(keyLength <= 0xffff, () => `a join key of ${keyLength} bytes`);
    const units = this.unitsOf(keyLength);
    if (this.words.length === 0 || this.pageUsed[this.words.length - 1]! + units > PAGE_UNITS) {
      invariant(
        this.words.length < MAX_PAGES,
        () => `the internal item index is full at ${this.count} items (${MAX_PAGES} MiB of records)`,
      );
      const buffer = new ArrayBuffer(PAGE_UNITS * 8);
      this.words.push(new Int32Array(buffer));
      this.bytes.push(new Uint8Array(buffer));
      this.pageUsed.push(0);
    }
    const page = this.words.length - 1;
    const ref = (page << PAGE_BITS) | this.pageUsed[page]!;
    this.pageUsed[page]! += units;
    this.count += 1;
    return ref;
  }

  private setKeyLengths(ref: number, firstLength: number, secondLength: number): void {
    this.words[ref >>> PAGE_BITS]![((ref & UNIT_MASK) << 1) + W_KEY] =
      (firstLength + secondLength) | (firstLength << 16);
  }

  private store(
    ref: number,
    id: number,
    refund: boolean,
    wide: boolean,
    currency: number,
    amount: number | undefined,
    item: { inCrossDayWindow: boolean; carriedFrom: string | null; currency: string },
    amountText: string | (() => string),
  ): void {
    invariant(Number.isSafeInteger(id) && id > 0 && id < 2 ** 48, () => `internal transaction id ${id}`);
    invariant(
      amount !== undefined && amount > 0,
      () =>
        `internal transaction ${id}: amount ${typeof amountText === 'string' ? amountText : amountText()} is not a positive ${item.currency} amount`,
    );
    const words = this.words[ref >>> PAGE_BITS]!;
    const w = (ref & UNIT_MASK) << 1;
    if (amount < AMOUNT_APART) {
      words[w + W_AMOUNT] = amount;
    } else {
      words[w + W_AMOUNT] = -1;
      this.largeAmounts.set(ref, amount);
    }
    words[w + W_ID_LOW] = id % 2 ** 32;
    const flags =
      (refund ? FLAG_REFUND : 0) |
      (item.inCrossDayWindow ? FLAG_IN_WINDOW : 0) |
      (item.carriedFrom === null ? 0 : FLAG_CARRIED) |
      (wide ? FLAG_WIDE : 0);
    words[w + W_META] = Math.floor(id / 2 ** 32) | (flags << 16) | (currency << 24);
    if (item.carriedFrom !== null) this.carriedFrom.set(ref, item.carriedFrom);
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

  /** Whether two records hold the same key (and kind). */
  private sameKey(a: number, b: number): boolean {
    const wa = this.words[a >>> PAGE_BITS]!;
    const wb = this.words[b >>> PAGE_BITS]!;
    const ia = (a & UNIT_MASK) << 1;
    const ib = (b & UNIT_MASK) << 1;
    if (wa[ia + W_KEY] !== wb[ib + W_KEY]) return false;
    if ((((wa[ia + W_META]! ^ wb[ib + W_META]!) >>> 16) & FLAG_REFUND) !== 0) return false;
    const ba = this.bytes[a >>> PAGE_BITS]!;
    const bb = this.bytes[b >>> PAGE_BITS]!;
    const length = wa[ia + W_KEY]! & 0xffff;
    const fa = (ia << 2) + HEADER_BYTES;
    const fb = (ib << 2) + HEADER_BYTES;
    for (let i = 0; i < length; i += 1) if (ba[fa + i] !== bb[fb + i]) return false;
    return true;
  }

  /** The record with the key given as strings, or -1. */
  private findSlot(hash: number, refund: boolean, first: string, second: string): number {
    return this.probeFrom(hash & this.mask, hash, refund, first, second);
  }

  /** findSlot's probe, from `slot` on. */
  private probeFrom(start: number, hash: number, refund: boolean, first: string, second: string): number {
    const tag = hash >>> REF_BITS;
    const length = first.length + second.length;
    let slot = start;
    for (;;) {
      const entry = this.slots[slot]!;
      if (entry === 0) return NONE;
      if (entry >>> REF_BITS === tag) {
        const ref = (entry & REF_MASK) - 1;
        const page = ref >>> PAGE_BITS;
        const w = (ref & UNIT_MASK) << 1;
        const words = this.words[page]!;
        if (
          words[w + W_KEY] === (length | (first.length << 16)) &&
          ((words[w + W_META]! >>> 16) & FLAG_REFUND) === (refund ? FLAG_REFUND : 0)
        ) {
          const bytes = this.bytes[page]!;
          let at = (w << 2) + HEADER_BYTES;
          let same = true;
          for (let i = 0; same && i < first.length; i += 1) same = bytes[at++] === first.charCodeAt(i);
          for (let i = 0; same && i < second.length; i += 1) same = bytes[at++] === second.charCodeAt(i);
          if (same) return ref;
        }
      }
      slot = (slot + 1) & this.mask;
    }
  }

  private insert(hash: number, ref: number): void {
    let slot = hash & this.mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
    this.slots[slot] = (((hash >>> REF_BITS) << REF_BITS) | (ref + 1)) >>> 0;
    if (this.count * 4 > this.slots.length * 3) this.rehash();
  }

  /**
   * A table twice the size (or more), filled by walking the records in order (sequential reads),
   * up to `until` (a record not entered yet) when given.
   */
  private rehash(until = NONE): void {
    let size = this.slots.length * 2;
    while (this.count * 4 > size * 3) size *= 2;
    const slots = new Uint32Array(size);
    const mask = slots.length - 1;
    for (let ref = this.first(); ref !== NONE && ref !== until; ref = this.next(ref)) {
      const words = this.words[ref >>> PAGE_BITS]!;
      const w = (ref & UNIT_MASK) << 1;
      const flags = (words[w + W_META]! >>> 16) & 0xff;
      if ((flags & FLAG_WIDE) !== 0) continue;
      const lengths = words[w + W_KEY]!;
      const hash = hashOfBytes(
        (flags & FLAG_REFUND) !== 0 ? TAG_REFUND : TAG_PAYMENT,
        this.bytes[ref >>> PAGE_BITS]!,
        (w << 2) + HEADER_BYTES,
        lengths >>> 16,
        lengths & 0xffff,
      );
      let slot = hash & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = (((hash >>> REF_BITS) << REF_BITS) | (ref + 1)) >>> 0;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

/** The key as people read it (the same text `classify` puts in its rows and reasons). */
export function describeKey(kind: InternalItemKind, orderNo: string, refundNo: string | null): string {
  return kind === 'PAYMENT' ? `PAYMENT|${orderNo}` : `REFUND|${orderNo}|${refundNo ?? ''}`;
}
