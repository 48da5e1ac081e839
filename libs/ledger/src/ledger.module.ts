import { Global, Injectable, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BalanceDeltaCompactor } from './balance-delta-compactor.js';
import { Ledger, type LedgerOptions } from './ledger.js';
import {
  accountBalance,
  accountStatement,
  compactBalanceDeltas,
  trialBalance,
  type AccountBalance,
  type AccountBalanceOptions,
  type AccountStatement,
  type CompactionOptions,
  type CompactionResult,
  type StatementOptions,
  type TrialBalance,
  type TrialBalanceOptions,
} from './ledger-queries.js';

/**
 * The ledger's read side bound to the service's DataSource. For reads inside a service's own
 * transaction (its uncommitted postings included), call the functions of ledger-queries.ts with
 * the transaction's EntityManager instead.
 */
@Injectable()
export class LedgerReader {
  constructor(private readonly dataSource: DataSource) {}

  accountBalance(accountCode: string, options?: AccountBalanceOptions): Promise<AccountBalance> {
    return accountBalance(this.dataSource, accountCode, options);
  }

  accountStatement(accountCode: string, options?: StatementOptions): Promise<AccountStatement> {
    return accountStatement(this.dataSource, accountCode, options);
  }

  trialBalance(options?: TrialBalanceOptions): Promise<TrialBalance> {
    return trialBalance(this.dataSource, options);
  }

  compactBalanceDeltas(options?: CompactionOptions): Promise<CompactionResult> {
    return compactBalanceDeltas(this.dataSource, options);
  }
}

/** The ledger's providers: the Ledger with the given posting limits, its reader, its compactor. */
function ledgerProviders(options: LedgerOptions): Provider[] {
  return [
    { provide: Ledger, useFactory: () => new Ledger(options) },
    LedgerReader,
    {
      provide: BalanceDeltaCompactor,
      inject: [DataSource],
      useFactory: (ds: DataSource) => new BalanceDeltaCompactor(ds),
    },
  ];
}

const LEDGER_EXPORTS = [Ledger, LedgerReader, BalanceDeltaCompactor];

/**
 * One `Ledger` per process (it caches the chart and committed account ids), a `LedgerReader` and
 * the `BalanceDeltaCompactor`, for every module of the app. The DataSource is the one
 * ServiceRuntimeModule provides.
 */
@Global()
@Module({ providers: ledgerProviders({}), exports: LEDGER_EXPORTS })
export class LedgerModule {
  /** The same module with non-default posting limits. */
  static forRoot(options: LedgerOptions = {}): DynamicModule {
    return {
      module: LedgerModule,
      global: true,
      providers: ledgerProviders(options),
      exports: LEDGER_EXPORTS,
    };
  }
}
