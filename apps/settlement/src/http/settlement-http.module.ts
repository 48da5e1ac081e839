import { Module, type INestApplication } from '@nestjs/common';
import { APP_FILTER, HttpAdapterHost } from '@nestjs/core';
import { ApiErrorsFilter, DOMAIN_ERROR_MAPPER, setupOpenApi } from '@app/http';
import { Ledger } from '@app/ledger';
import { HTTP_APP_SETUP, PLATFORM_CONFIG, type HttpAppSetup } from '@app/messaging';
import type { PlatformConfig } from '@app/platform';
import { DataSource } from 'typeorm';
import { ApprovalService } from '../approval/approval.service.js';
import { PayoutRetryService } from '../payout/payout-retry.js';
import { PayoutService, payoutServiceOptionsOf } from '../payout/payout.service.js';
import { CycleCloseService } from '../settlement/cycle-close.service.js';
import { CyclesController } from './cycles.controller.js';
import { settlementErrorBody } from './http-errors.js';
import { SettlementRecordsController } from './settlement-records.controller.js';
import { StatementController } from './statement.controller.js';
import { SETTLEMENT_DB } from './tokens.js';

export function setupSettlementOpenApi(app: INestApplication): void {
  setupOpenApi(app, {
    title: 'Settlement service',
    description:
      'Cycle close (结算日终) into settlement records and their approval by platform finance (结算审核, maker-checker).',
  });
}

/**
 * The settlement REST API: thin controllers over ApprovalService and CycleCloseService, built here
 * from the service's DataSource and Ledger; one error body; /docs and /docs-json (HTTP_APP_SETUP).
 */
@Module({
  controllers: [SettlementRecordsController, CyclesController, StatementController],
  providers: [
    { provide: SETTLEMENT_DB, useExisting: DataSource },
    {
      provide: ApprovalService,
      inject: [DataSource, Ledger],
      useFactory: (dataSource: DataSource, ledger: Ledger) => new ApprovalService(dataSource, ledger),
    },
    {
      provide: PayoutRetryService,
      inject: [DataSource, Ledger, PLATFORM_CONFIG],
      useFactory: (dataSource: DataSource, ledger: Ledger, config: PlatformConfig) =>
        new PayoutRetryService(
          dataSource,
          ledger,
          new PayoutService(dataSource, ledger, payoutServiceOptionsOf(config)),
        ),
    },
    {
      provide: CycleCloseService,
      inject: [DataSource, Ledger],
      useFactory: (dataSource: DataSource, ledger: Ledger) => new CycleCloseService(dataSource, ledger),
    },
    {
      provide: APP_FILTER,
      inject: [HttpAdapterHost],
      useFactory: (host: HttpAdapterHost) => new ApiErrorsFilter(host, settlementErrorBody),
    },
    // The same mapping for the command audit: it records what the caller was answered.
    { provide: DOMAIN_ERROR_MAPPER, useValue: settlementErrorBody },
    { provide: HTTP_APP_SETUP, useValue: setupSettlementOpenApi satisfies HttpAppSetup },
  ],
})
export class SettlementHttpModule {}
