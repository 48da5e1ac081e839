import { Money } from '@app/contracts';
import fc from 'fast-check';
import { DEFAULT_ACCOUNT_TEMPLATES, accountCodeOf, type Side } from './chart.js';
import {
  canonicalContent,
  ENTRY_POSTINGS_MAX,
  normalBalance,
  validateEntry,
  type EntryDraft,
  type PostingDraft,
} from './journal-entry.js';
import { LedgerError, type LedgerErrorCode } from './ledger-error.js';

const KNOWN_HASH = 'o0AsWtLLm8-NfX_s1FXkwkHv3w8eG5vgP9XjNRcrEH8';
const TEMPLATES = new Map(DEFAULT_ACCOUNT_TEMPLATES.map((t) => [t.code, t]));
const CURRENCIES = ['CNY', 'JPY', 'BHD'] as const;
type Currency = (typeof CURRENCIES)[number];
/** Fraction digits of each test currency; "one minor unit" is 10^-scale. */
const SCALE: Record<Currency, number> = { CNY: 2, JPY: 0, BHD: 3 };
const OTHER: Record<Currency, Currency> = { CNY: 'JPY', JPY: 'BHD', BHD: 'CNY' };

const ownerArb = fc.stringMatching(/^[A-Za-z0-9_.-]{1,16}$/);
const accountArb = fc
  .tuple(fc.constantFrom(...DEFAULT_ACCOUNT_TEMPLATES), ownerArb)
  .map(([t, owner]) => (t.ownerKind === null ? { template: t.code } : { template: t.code, owner }));

/**
 * A balanced entry of 2–10 postings at the minor unit: random debits and credits, then the smaller
 * side's last posting makes up the difference, so no posting is ever zero.
 */
const balancedEntryArb: fc.Arbitrary<EntryDraft & { currency: Currency }> = fc
  .record({
    currency: fc.constantFrom(...CURRENCIES),
    legs: fc.array(fc.record({ account: accountArb, units: fc.bigInt({ min: 1n, max: 10n ** 12n }) }), {
      minLength: 2,
      maxLength: 10,
    }),
    debitCount: fc.nat(),
    order: fc.array(fc.nat(), { minLength: 10, maxLength: 10 }),
    key: fc.string({ minLength: 1, maxLength: 40 }),
    businessRef: fc.string({ minLength: 1, maxLength: 40 }),
    effectiveAt: fc
      .date({
        min: new Date('2000-01-01T00:00:00Z'),
        max: new Date('2099-12-31T00:00:00Z'),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString()),
    description: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
  })
  .map(({ currency, legs, debitCount, order, key, businessRef, effectiveAt, description }) => {
    const debits = 1 + (debitCount % (legs.length - 1));
    const sides: Side[] = legs.map((_, i) => (i < debits ? 'DEBIT' : 'CREDIT'));
    const units = legs.map((l) => l.units);
    const sum = (side: Side) => units.reduce((s, u, i) => (sides[i] === side ? s + u : s), 0n);
    const gap = sum('DEBIT') - sum('CREDIT');
    if (gap > 0n) units[legs.length - 1]! += gap;
    else units[debits - 1]! -= gap;
    const postings: PostingDraft[] = legs.map((l, i) => ({
      account: l.account,
      side: sides[i]!,
      amount: Money.fromMinorUnits(units[i]!, currency).toString(),
      currency,
    }));
    // Shuffle so debits and credits interleave (Fisher–Yates driven by the generated numbers).
    for (let i = postings.length - 1; i > 0; i -= 1) {
      const j = order[i]! % (i + 1);
      [postings[i], postings[j]] = [postings[j]!, postings[i]!];
    }
    return {
      currency,
      idempotencyKey: key,
      businessRef,
      effectiveAt,
      ...(description === undefined ? {} : { description }),
      postings,
    };
  });

const clone = <T>(value: T): T => structuredClone(value);

function ledgerError(fn: () => unknown): LedgerError {
  try {
    fn();
  } catch (error) {
    if (error instanceof LedgerError) return error;
    throw error;
  }
  throw new Error('expected a LedgerError');
}

function expectRejected(draft: EntryDraft, code: LedgerErrorCode, ...mentions: string[]): LedgerError {
  const error = ledgerError(() => validateEntry(draft, TEMPLATES));
  expect(error.code).toBe(code);
  expect(error.message.startsWith(`${code}: `)).toBe(true);
  for (const m of mentions) expect(error.message).toContain(m);
  return error;
}

/** Adds `units` minor units to posting `i` (keeping its currency's scale). */
function bump(draft: EntryDraft, i: number, units: bigint): void {
  const p = draft.postings[i]!;
  p.amount = Money.parse(p.amount, p.currency).plus(Money.fromMinorUnits(units, p.currency)).toString();
}

/** A small entry whose amounts are spelled two ways ('10.5', '10.50'). */
const spelledDraft = (): EntryDraft => ({
  idempotencyKey: 'k1',
  businessRef: 'T1',
  effectiveAt: '2026-11-22T10:00:00+08:00',
  postings: [
    {
      account: { template: 'channel_receivable', owner: 'WECHAT' },
      side: 'DEBIT',
      amount: '10.5',
      currency: 'CNY',
    },
    {
      account: { template: 'merchant_pending', owner: 'M1' },
      side: 'CREDIT',
      amount: '10.50',
      currency: 'CNY',
    },
  ],
});

const pick = (draft: EntryDraft, n: number) => n % draft.postings.length;

describe('validateEntry accepts balanced entries', () => {
  it('resolves every posting to its account code and canonical amount', () => {
    fc.assert(
      fc.property(balancedEntryArb, (draft) => {
        const valid = validateEntry(draft, TEMPLATES);
        expect(valid.currency).toBe(draft.currency);
        expect(valid.postings).toHaveLength(draft.postings.length);
        let debits = Money.zero(draft.currency);
        let credits = Money.zero(draft.currency);
        valid.postings.forEach((p, i) => {
          const d = draft.postings[i]!;
          expect(p.accountCode).toBe(accountCodeOf(TEMPLATES.get(d.account.template)!, d.account.owner));
          expect(p.owner).toBe(d.account.owner ?? null);
          expect(p.side).toBe(d.side);
          expect(p.amount).toBe(d.amount);
          expect(p.units).toBe(Money.parse(d.amount, draft.currency).toMinorUnits());
          if (p.side === 'DEBIT') debits = debits.plus(Money.parse(p.amount, draft.currency));
          else credits = credits.plus(Money.parse(p.amount, draft.currency));
        });
        expect(debits.equals(credits)).toBe(true);
        expect(new Date(valid.effectiveAt).getTime()).toBe(new Date(draft.effectiveAt).getTime());
      }),
    );
  });

  it('hashes the content, not the key: same content, same hash', () => {
    fc.assert(
      fc.property(balancedEntryArb, fc.string({ minLength: 1, maxLength: 40 }), (draft, otherKey) => {
        const hash = validateEntry(draft, TEMPLATES).requestHash;
        expect(validateEntry(clone(draft), TEMPLATES).requestHash).toBe(hash);
        expect(validateEntry({ ...clone(draft), idempotencyKey: otherKey }, TEMPLATES).requestHash).toBe(
          hash,
        );
        expect(hash).toMatch(/^[A-Za-z0-9_-]{43}$/); // sha-256, base64url
      }),
    );
  });

  it('hashes the instant, not its spelling, and the amount, not its spelling', () => {
    const draft = spelledDraft();
    const hash = validateEntry(draft, TEMPLATES).requestHash;
    const respelled = clone(draft);
    respelled.effectiveAt = '2026-11-22T02:00:00.000Z';
    respelled.postings[0]!.amount = '10.50';
    expect(validateEntry(respelled, TEMPLATES).requestHash).toBe(hash);
  });

  it('changes the hash when any amount changes by one minor unit', () => {
    fc.assert(
      fc.property(balancedEntryArb, fc.nat(), fc.nat(), (draft, a, b) => {
        const hash = validateEntry(draft, TEMPLATES).requestHash;
        // One debit and one credit up by a minor unit: still balanced, different content.
        const changed = clone(draft);
        const debits = changed.postings.flatMap((p, i) => (p.side === 'DEBIT' ? [i] : []));
        const credits = changed.postings.flatMap((p, i) => (p.side === 'CREDIT' ? [i] : []));
        bump(changed, debits[a % debits.length]!, 1n);
        bump(changed, credits[b % credits.length]!, 1n);
        expect(validateEntry(changed, TEMPLATES).requestHash).not.toBe(hash);
      }),
    );
  });

  it('changes the hash when the business reference, time, side or account changes', () => {
    fc.assert(
      fc.property(balancedEntryArb, (draft) => {
        const hash = validateEntry(draft, TEMPLATES).requestHash;
        const variants: EntryDraft[] = [
          { ...clone(draft), businessRef: `${draft.businessRef}x` },
          { ...clone(draft), effectiveAt: new Date(new Date(draft.effectiveAt).getTime() + 1).toISOString() },
          { ...clone(draft), description: `${draft.description ?? ''}!` },
          { ...clone(draft), metadata: { note: 1 } },
          {
            ...clone(draft),
            postings: draft.postings.map((p) => ({ ...p, side: p.side === 'DEBIT' ? 'CREDIT' : 'DEBIT' })),
          },
        ];
        // Owners in the generator are at most 16 characters: this account never occurs there.
        const renamed = clone(draft);
        renamed.postings[0]!.account = { template: 'merchant_pending', owner: 'NOT_A_GENERATED_OWNER' };
        variants.push(renamed);
        for (const v of variants) expect(validateEntry(v, TEMPLATES).requestHash).not.toBe(hash);
      }),
    );
  });
});

describe('the request hash covers exactly the JSON.stringify form stored hashes were computed from', () => {
  // Free text with quotes, backslashes, control characters, astral and lone surrogates.
  const textArb = fc.string({ unit: 'binary', maxLength: 30 });
  it('canonicalContent = JSON.stringify([businessRef, effectiveAt, description, metadata, postings])', () => {
    fc.assert(
      fc.property(
        balancedEntryArb,
        textArb,
        fc.option(textArb, { nil: undefined }),
        fc.option(fc.dictionary(textArb, fc.jsonValue()), { nil: undefined }),
        (draft, businessRef, description, metadata) => {
          const changed: EntryDraft = {
            ...clone(draft),
            businessRef: businessRef || 'x',
            description,
            metadata,
          };
          const valid = validateEntry(changed, TEMPLATES);
          const expected = JSON.stringify([
            changed.businessRef,
            valid.effectiveAt,
            changed.description ?? null,
            changed.metadata ?? null,
            valid.postings.map((p) => [p.accountCode, p.side, p.amount, valid.currency]),
          ]);
          expect(canonicalContent(changed, valid.currency, valid.effectiveAt, valid.postings)).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keeps the hash of a known entry', () => {
    // Computed by the createHash/JSON.stringify version before the posting path was rewritten:
    // a replay of an entry posted then must still be recognised.
    const draft: EntryDraft = {
      ...spelledDraft(),
      description: 'a "quoted" \\ note',
      metadata: { a: [1, 'b'] },
    };
    expect(validateEntry(draft, TEMPLATES).requestHash).toBe(KNOWN_HASH);
  });
});

describe('validateEntry rejects bad shapes with a code and names what is wrong', () => {
  it('fewer than 2 postings, or more than the limit', () => {
    fc.assert(
      fc.property(balancedEntryArb, (draft) => {
        expectRejected(
          { ...draft, postings: draft.postings.slice(0, 1) },
          'LEDGER.TOO_FEW_POSTINGS',
          `entry ${draft.idempotencyKey}`,
          'got 1',
        );
        expectRejected({ ...draft, postings: [] }, 'LEDGER.TOO_FEW_POSTINGS', 'got 0');
      }),
    );
    const many = Array.from({ length: ENTRY_POSTINGS_MAX + 1 }, (_, i) => i);
    expectRejected(
      {
        idempotencyKey: 'k',
        businessRef: 'b',
        effectiveAt: '2026-11-22T10:00:00Z',
        postings: many.map((i) => ({
          account: { template: 'fee_income' },
          side: i === 0 ? 'DEBIT' : 'CREDIT',
          amount: i === 0 ? String(ENTRY_POSTINGS_MAX) : '1',
          currency: 'JPY',
        })),
      },
      'LEDGER.TOO_FEW_POSTINGS',
      `got ${ENTRY_POSTINGS_MAX + 1}`,
    );
  });

  it('unbalanced by one minor unit, either way', () => {
    fc.assert(
      fc.property(balancedEntryArb, fc.nat(), fc.boolean(), (draft, n, up) => {
        const bad = clone(draft);
        const i = pick(bad, n);
        // Down on a posting of exactly one minor unit would make it zero: go up there instead.
        const units =
          up || Money.parse(bad.postings[i]!.amount, bad.currency).toMinorUnits() === 1n ? 1n : -1n;
        bump(bad, i, units);
        const error = expectRejected(
          bad,
          'LEDGER.UNBALANCED',
          `entry ${draft.idempotencyKey}`,
          draft.currency,
        );
        expect(error.message).toMatch(/debits \d+(\.\d+)? ≠ credits \d+(\.\d+)?/);
      }),
    );
  });

  it('a posting in another currency', () => {
    fc.assert(
      fc.property(balancedEntryArb, fc.nat(), (draft, n) => {
        const bad = clone(draft);
        const i = 1 + (n % (bad.postings.length - 1)); // posting 1 sets the entry's currency
        const other = OTHER[draft.currency];
        bad.postings[i] = { ...bad.postings[i]!, currency: other, amount: '1' };
        expectRejected(bad, 'LEDGER.CURRENCY_MIXED', `posting ${i + 1}`, other, draft.currency);
      }),
    );
  });

  it('an unknown template', () => {
    fc.assert(
      fc.property(balancedEntryArb, fc.nat(), fc.stringMatching(/^[a-z_]{1,20}$/), (draft, n, name) => {
        fc.pre(!TEMPLATES.has(name));
        const bad = clone(draft);
        const i = pick(bad, n);
        bad.postings[i]!.account = { template: name, owner: 'M1' };
        expectRejected(bad, 'LEDGER.UNKNOWN_TEMPLATE', `posting ${i + 1}`, `"${name}"`);
      }),
    );
  });

  it('an owner missing on an owned account, or given to a platform-wide one', () => {
    const owned = DEFAULT_ACCOUNT_TEMPLATES.filter((t) => t.ownerKind !== null);
    const platform = DEFAULT_ACCOUNT_TEMPLATES.filter((t) => t.ownerKind === null);
    fc.assert(
      fc.property(
        balancedEntryArb,
        fc.nat(),
        fc.constantFrom(...owned),
        fc.constantFrom(...platform),
        fc.constantFrom(undefined, '', 'M 1', 'M:1', 'x'.repeat(65)),
        (draft, n, ownedTemplate, platformTemplate, badOwner) => {
          const i = pick(draft, n);
          const missing = clone(draft);
          missing.postings[i]!.account =
            badOwner === undefined
              ? { template: ownedTemplate.code }
              : { template: ownedTemplate.code, owner: badOwner };
          expectRejected(
            missing,
            'LEDGER.INVALID_OWNER',
            `posting ${i + 1}`,
            ownedTemplate.code,
            ownedTemplate.ownerKind!,
          );
          const extra = clone(draft);
          extra.postings[i]!.account = { template: platformTemplate.code, owner: 'M1' };
          expectRejected(extra, 'LEDGER.INVALID_OWNER', `posting ${i + 1}`, platformTemplate.code, '"M1"');
        },
      ),
    );
  });

  it('an amount finer than the minor unit, a JSON number, zero, negative or malformed', () => {
    const finer: Record<Currency, string> = { CNY: '1.005', JPY: '1.5', BHD: '1.0005' };
    fc.assert(
      fc.property(
        balancedEntryArb,
        fc.nat(),
        fc.constantFrom<unknown>('finer', 12.5, 100, '0', '0.00', '-1', '1e3', ' 1', '01', '', null),
        (draft, n, amount) => {
          const bad = clone(draft);
          const i = pick(bad, n);
          (bad.postings[i] as { amount: unknown }).amount =
            amount === 'finer' ? finer[draft.currency] : amount;
          const error = expectRejected(
            bad,
            'LEDGER.INVALID_AMOUNT',
            `entry ${draft.idempotencyKey}, posting ${i + 1}`,
          );
          if (typeof amount === 'number') expect(error.message).toContain('JSON number');
        },
      ),
    );
  });

  it('"1.005" CNY names the posting and the rule', () => {
    const draft: EntryDraft = {
      idempotencyKey: 'pay-1',
      businessRef: 'T1',
      effectiveAt: '2026-11-22T10:00:00+08:00',
      postings: [
        {
          account: { template: 'channel_receivable', owner: 'WECHAT' },
          side: 'DEBIT',
          amount: '1.01',
          currency: 'CNY',
        },
        {
          account: { template: 'merchant_pending', owner: 'M1' },
          side: 'CREDIT',
          amount: '1.005',
          currency: 'CNY',
        },
      ],
    };
    const error = expectRejected(
      draft,
      'LEDGER.INVALID_AMOUNT',
      'entry pay-1, posting 2',
      '"1.005"',
      'CNY allows at most 2',
    );
    expect(error).toBeInstanceOf(LedgerError);
    const zero = clone(draft);
    zero.postings[1]!.amount = '0.00';
    expectRejected(zero, 'LEDGER.INVALID_AMOUNT', 'posting 2', 'zero');
    const number = clone(draft);
    (number.postings[0] as { amount: unknown }).amount = 1.01;
    expectRejected(number, 'LEDGER.INVALID_AMOUNT', 'posting 1', 'JSON number');
  });

  it('a side that is neither DEBIT nor CREDIT', () => {
    fc.assert(
      fc.property(
        balancedEntryArb,
        fc.nat(),
        fc.constantFrom('debit', 'D', '', 'CREDITS'),
        (draft, n, side) => {
          const bad = clone(draft);
          const i = pick(bad, n);
          (bad.postings[i] as { side: string }).side = side;
          expectRejected(bad, 'LEDGER.INVALID_AMOUNT', `posting ${i + 1}`, 'side');
        },
      ),
    );
  });

  it('an effective time that is not an ISO instant with an offset', () => {
    fc.assert(
      fc.property(
        balancedEntryArb,
        fc.constantFrom<unknown>(
          '2026-11-22',
          '2026-02-30T10:00:00Z',
          '2026-11-22T24:00:00Z',
          '2026-11-22 10:00:00',
          'yesterday',
          '',
          1764000000000,
          null,
        ),
        (draft, effectiveAt) => {
          expectRejected(
            { ...draft, effectiveAt: effectiveAt as string },
            'LEDGER.INVALID_EFFECTIVE_TIME',
            `entry ${draft.idempotencyKey}`,
            'effectiveAt',
          );
        },
      ),
    );
  });

  it('an idempotency key that is empty or too long', () => {
    fc.assert(
      fc.property(balancedEntryArb, fc.constantFrom('', 'k'.repeat(201)), (draft, key) => {
        expectRejected({ ...draft, idempotencyKey: key }, 'LEDGER.IDEMPOTENCY_CONFLICT', '1..200');
      }),
    );
  });

  it('reports the first bad posting when several are bad', () => {
    fc.assert(
      fc.property(balancedEntryArb, (draft) => {
        const bad = clone(draft);
        const last = bad.postings.length - 1;
        bad.postings[last]!.amount = '0';
        bad.postings[0]!.account = { template: 'no_such_template' };
        expectRejected(bad, 'LEDGER.UNKNOWN_TEMPLATE', 'posting 1');
      }),
    );
  });
});

describe('normalBalance', () => {
  it('is debit − credit on the debit side and credit − debit on the credit side', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        (d, c) => {
          const debit = Money.fromMinorUnits(d, 'CNY');
          const credit = Money.fromMinorUnits(c, 'CNY');
          expect(normalBalance('DEBIT', debit, credit).toMinorUnits()).toBe(d - c);
          expect(normalBalance('CREDIT', debit, credit).toMinorUnits()).toBe(c - d);
        },
      ),
    );
  });
});

describe('the balanced-entry generator', () => {
  it('yields both sides, amounts at the currency scale', () => {
    fc.assert(
      fc.property(balancedEntryArb, (draft) => {
        expect(draft.postings.some((p) => p.side === 'DEBIT')).toBe(true);
        expect(draft.postings.some((p) => p.side === 'CREDIT')).toBe(true);
        const scale = SCALE[draft.currency];
        for (const p of draft.postings) expect((p.amount.split('.')[1] ?? '').length).toBe(scale);
      }),
    );
  });
});
