import { Money, describeValue, invariant } from '@app/contracts';

/**
 * The bank account a merchant is paid into (结算账户), and the inflow limits a payout must respect.
 *
 * Account types follow the PBoC classification of personal bank accounts (个人银行账户分类):
 * - CORPORATE (对公账户): no inflow limit from us;
 * - PERSONAL_TYPE_I (Ⅰ类户): a full account, no inflow limit;
 * - PERSONAL_TYPE_II (Ⅱ类户): money coming in from accounts other than the holder's bound
 *   Ⅰ类户 is capped at 10,000.00 CNY a day and 200,000.00 CNY a year. A payout from the platform
 *   is such an inflow, so it must fit or fail clearly before it is sent.
 * Ⅲ类户 (a small-value wallet-like account) is not a payout destination and is not modelled.
 */
export const PAYOUT_ACCOUNT_TYPES = ['CORPORATE', 'PERSONAL_TYPE_I', 'PERSONAL_TYPE_II'] as const;
export type PayoutAccountType = (typeof PAYOUT_ACCOUNT_TYPES)[number];

export interface PayoutAccount {
  /** The bank's code or name as the payout gateway knows it (e.g. 'ICBC'). */
  bank: string;
  accountNo: string;
  /** The account holder's name; banks refuse a payout whose name does not match (户名不符). */
  holder: string;
  type: PayoutAccountType;
}

/** Ⅱ类户 inflow limits (非绑定账户转入): CNY only, inclusive — exactly 10,000.00 in a day is allowed. */
export const TYPE_II_INFLOW_LIMITS = Object.freeze({
  currency: 'CNY',
  daily: '10000.00',
  yearly: '200000.00',
});

export type InflowLimitPeriod = 'DAILY' | 'YEARLY';

/**
 * What has already come into the account in the bank's current day and year (Asia/Shanghai
 * calendar days): the caller sums the payouts it has PAID or has in flight to this account.
 * Inflows from elsewhere are invisible to us; when they push the account over, the bank refuses
 * with ACCOUNT_LIMIT_EXCEEDED and the payout fails through the gateway instead.
 */
export interface InflowSoFar {
  receivedToday: Money;
  /** Includes `receivedToday`. */
  receivedThisYear: Money;
}

export interface InflowLimitFigures {
  period: InflowLimitPeriod;
  limit: Money;
  received: Money;
  /** What the account can still take in this period before this payout (never negative). */
  room: Money;
}

export type InflowCheck =
  | {
      ok: true;
      /** The limits that applied (none for corporate and type-I accounts), with the room before this payout. */
      limits: readonly InflowLimitFigures[];
    }
  | {
      ok: false;
      code: 'INFLOW_LIMIT_EXCEEDED';
      /** Every limit the payout would break, daily first. */
      exceeded: readonly InflowLimitFigures[];
      message: string;
    }
  | {
      ok: false;
      code: 'CURRENCY_NOT_ACCEPTED';
      message: string;
    };

/** Enough to recognise the account in a message or a log without writing the number out in full. */
export function maskAccountNo(accountNo: string): string {
  return accountNo.length <= 4 ? '****' : `****${accountNo.slice(-4)}`;
}

const TYPE_LABEL: Readonly<Record<PayoutAccountType, string>> = {
  CORPORATE: 'corporate account',
  PERSONAL_TYPE_I: 'personal type-I account',
  PERSONAL_TYPE_II: 'personal type-II account (Ⅱ类户)',
};

/**
 * Whether a payout of `amount` fits the account's inflow limits. Pure; the figures in the answer
 * are Money in the payout currency.
 * @throws InvariantError when amount is not positive, the figures are negative or in another
 *   currency, or today's inflow exceeds the year's (the caller summed them wrongly)
 */
export function checkInflowLimits(account: PayoutAccount, amount: Money, soFar: InflowSoFar): InflowCheck {
  invariant(
    (PAYOUT_ACCOUNT_TYPES as readonly unknown[]).includes(account.type),
    () =>
      `payout account type ${describeValue(account.type)} is not one of ${PAYOUT_ACCOUNT_TYPES.join(', ')}`,
  );
  invariant(amount.isPositive(), () => `a payout amount must be positive, got ${amount.toString()}`);
  if (account.type !== 'PERSONAL_TYPE_II') return { ok: true, limits: [] };

  const where = `${TYPE_LABEL[account.type]} ${maskAccountNo(account.accountNo)} at ${account.bank}`;
  if (amount.currency !== TYPE_II_INFLOW_LIMITS.currency) {
    return {
      ok: false,
      code: 'CURRENCY_NOT_ACCEPTED',
      message: `a ${amount.currency} payout cannot go to ${where}: it takes CNY only`,
    };
  }
  // Money's own currency check makes a non-CNY figure an InvariantError here.
  invariant(
    !soFar.receivedToday.isNegative() && !soFar.receivedThisYear.isNegative(),
    () =>
      `inflow so far cannot be negative: today ${soFar.receivedToday.toString()}, this year ${soFar.receivedThisYear.toString()}`,
  );
  invariant(
    !soFar.receivedToday.greaterThan(soFar.receivedThisYear),
    () =>
      `inflow today (${soFar.receivedToday.toString()}) cannot exceed inflow this year (${soFar.receivedThisYear.toString()})`,
  );

  const figures = (period: InflowLimitPeriod, limitText: string, received: Money): InflowLimitFigures => {
    const limit = Money.of(limitText, amount.currency);
    const left = limit.minus(received);
    return { period, limit, received, room: left.isNegative() ? Money.zero(amount.currency) : left };
  };
  const limits = [
    figures('DAILY', TYPE_II_INFLOW_LIMITS.daily, soFar.receivedToday),
    figures('YEARLY', TYPE_II_INFLOW_LIMITS.yearly, soFar.receivedThisYear),
  ];
  const exceeded = limits.filter((f) => amount.greaterThan(f.room));
  if (exceeded.length === 0) return { ok: true, limits };

  const describe = (f: InflowLimitFigures): string => {
    const [name, period] = f.period === 'DAILY' ? ['daily', 'today'] : ['yearly', 'this year'];
    return `the ${name} inflow limit of ${f.limit.toString()} CNY (${f.received.toString()} already received ${period}, ${f.room.toString()} left)`;
  };
  return {
    ok: false,
    code: 'INFLOW_LIMIT_EXCEEDED',
    exceeded,
    message: `a payout of ${amount.toString()} CNY to ${where} exceeds ${exceeded.map(describe).join(' and ')}`,
  };
}
