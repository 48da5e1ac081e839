import fc from 'fast-check';
import {
  DEFAULT_ACCOUNT_TEMPLATES,
  DEFAULT_SUBJECTS,
  NORMAL_SIDE_OF_ROOT,
  OWNER_ID_PATTERN,
  accountCodeOf,
  type SubjectRoot,
} from './chart.js';

const ROOTS: SubjectRoot[] = ['ASSET', 'LIABILITY', 'EQUITY', 'INCOME', 'EXPENSE'];
const byCode = new Map(DEFAULT_SUBJECTS.map((s) => [s.code, s]));
const parents = new Set(DEFAULT_SUBJECTS.flatMap((s) => (s.parentCode ? [s.parentCode] : [])));
const template = (code: string) => DEFAULT_ACCOUNT_TEMPLATES.find((t) => t.code === code)!;

/** The path from a subject up to its root; throws on a cycle or a dangling parent. */
function pathToRoot(code: string): string[] {
  const path = [code];
  let current = byCode.get(code);
  while (current?.parentCode) {
    if (path.includes(current.parentCode)) throw new Error(`cycle at ${current.parentCode}`);
    path.push(current.parentCode);
    current = byCode.get(current.parentCode);
  }
  if (!current) throw new Error(`${path.at(-1)} is not a subject`);
  return path;
}

describe('default chart of accounts', () => {
  it('is a tree with exactly the five roots, each named by its own code', () => {
    const roots = DEFAULT_SUBJECTS.filter((s) => s.parentCode === undefined).map((s) => s.code);
    expect(roots.sort()).toEqual([...ROOTS].sort());
    expect(byCode.size).toBe(DEFAULT_SUBJECTS.length); // codes unique
    for (const s of DEFAULT_SUBJECTS) {
      const path = pathToRoot(s.code);
      expect(ROOTS).toContain(path.at(-1));
    }
  });

  it('has codes the migration accepts and a normal side for every root', () => {
    for (const s of DEFAULT_SUBJECTS) expect(s.code).toMatch(/^[A-Z0-9_]{1,32}$/);
    for (const t of DEFAULT_ACCOUNT_TEMPLATES) expect(t.code).toMatch(/^[a-z][a-z0-9_]{0,63}$/);
    expect(NORMAL_SIDE_OF_ROOT).toEqual({
      ASSET: 'DEBIT',
      EXPENSE: 'DEBIT',
      LIABILITY: 'CREDIT',
      EQUITY: 'CREDIT',
      INCOME: 'CREDIT',
    });
  });

  it("puts every template's accounts on a leaf subject", () => {
    for (const t of DEFAULT_ACCOUNT_TEMPLATES) {
      expect({ template: t.code, exists: byCode.has(t.subjectCode) }).toEqual({
        template: t.code,
        exists: true,
      });
      expect({ template: t.code, leaf: !parents.has(t.subjectCode) }).toEqual({
        template: t.code,
        leaf: true,
      });
    }
  });

  it('gives each template a subject of its own, so an account code names one account', () => {
    // accountCodeOf leaves the template out of the code: two templates on one subject would collide.
    const subjects = DEFAULT_ACCOUNT_TEMPLATES.map((t) => t.subjectCode);
    expect(new Set(subjects).size).toBe(subjects.length);
    const codes = DEFAULT_ACCOUNT_TEMPLATES.map((t) => t.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('never gives a hot template a floor or holds', () => {
    const hot = DEFAULT_ACCOUNT_TEMPLATES.filter((t) => t.hot);
    expect(hot.length).toBeGreaterThan(0);
    for (const t of hot) {
      expect({ template: t.code, floor: t.balanceFloor, holds: t.holdsAllowed }).toEqual({
        template: t.code,
        floor: 'NONE',
        holds: false,
      });
    }
  });

  it('floors and holds the merchant accounts money is paid out of', () => {
    for (const code of ['merchant_settleable', 'merchant_in_transit']) {
      expect(template(code)).toMatchObject({
        ownerKind: 'MERCHANT',
        balanceFloor: 'NON_NEGATIVE',
        hot: false,
      });
    }
    // A refund debits merchant pending on its day, possibly after its payment was cleared on.
    expect(template('merchant_pending')).toMatchObject({
      ownerKind: 'MERCHANT',
      balanceFloor: 'NONE',
      holdsAllowed: false,
      hot: false,
    });
    expect(template('merchant_settleable').holdsAllowed).toBe(true);
    const holdable = DEFAULT_ACCOUNT_TEMPLATES.filter((t) => t.holdsAllowed);
    for (const t of holdable) expect(t.balanceFloor).toBe('NON_NEGATIVE');
  });
});

describe('accountCodeOf', () => {
  it('names owned accounts subject:owner and platform-wide accounts by their subject', () => {
    expect(accountCodeOf(template('merchant_settleable'), 'M00042')).toBe('2203:M00042');
    expect(accountCodeOf(template('channel_receivable'), 'WECHAT')).toBe('1122:WECHAT');
    expect(accountCodeOf(template('fee_income'))).toBe('6001');
    // A platform-wide account ignores an owner rather than inventing a code from it.
    expect(accountCodeOf(template('fee_income'), 'M1')).toBe('6001');
  });

  it('is one-to-one over (owned template, valid owner)', () => {
    const owned = DEFAULT_ACCOUNT_TEMPLATES.filter((t) => t.ownerKind !== null);
    const owner = fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/);
    fc.assert(
      fc.property(fc.constantFrom(...owned), owner, fc.constantFrom(...owned), owner, (t1, o1, t2, o2) => {
        expect(OWNER_ID_PATTERN.test(o1)).toBe(true);
        const same = accountCodeOf(t1, o1) === accountCodeOf(t2, o2);
        expect(same).toBe(t1.code === t2.code && o1 === o2);
      }),
    );
  });

  it('accepts owner ids of 1..64 safe characters only', () => {
    expect(OWNER_ID_PATTERN.test('M00042')).toBe(true);
    expect(OWNER_ID_PATTERN.test('a'.repeat(64))).toBe(true);
    for (const bad of ['', 'a'.repeat(65), 'M 1', 'M:1', 'M/1', 'Ｍ1'])
      expect(OWNER_ID_PATTERN.test(bad)).toBe(false);
  });
});
