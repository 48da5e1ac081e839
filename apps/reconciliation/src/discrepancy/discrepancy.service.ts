import type { Ledger } from '@app/ledger';
import type { DataSource } from 'typeorm';
import type {
  Discrepancy,
  DiscrepancyQuery,
  ReconReport,
  ReconReportQuery,
  ResolveDiscrepancyRequest,
  ResolveDiscrepancyResult,
} from './discrepancy.types.js';

/** Discrepancies (差错): listing, the report, and their resolution by finance. */
export class DiscrepancyService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: Ledger,
  ) {}

  async list(_query: DiscrepancyQuery): Promise<Discrepancy[]> {
    await Promise.resolve([this.dataSource, this.ledger]);
    throw new Error('not implemented yet');
  }

  async get(_id: string): Promise<Discrepancy | null> {
    await Promise.resolve();
    throw new Error('not implemented yet');
  }

  async resolve(_request: ResolveDiscrepancyRequest): Promise<ResolveDiscrepancyResult> {
    await Promise.resolve();
    throw new Error('not implemented yet');
  }

  async report(_query: ReconReportQuery): Promise<ReconReport> {
    await Promise.resolve();
    throw new Error('not implemented yet');
  }
}
