import { Module, type INestApplication } from '@nestjs/common';
import { APP_FILTER, HttpAdapterHost } from '@nestjs/core';
import { ApiErrorsFilter, DOMAIN_ERROR_MAPPER, setupOpenApi } from '@app/http';
import { MulterModule } from '@nestjs/platform-express';
import { Ledger } from '@app/ledger';
import { HTTP_APP_SETUP, PLATFORM_CONFIG, type HttpAppSetup } from '@app/messaging';
import type { PlatformConfig } from '@app/platform';
import type { Server } from 'node:http';
import { DataSource } from 'typeorm';
import { DiscrepancyService } from '../discrepancy/discrepancy.service.js';
import { MatchRunService } from '../matching/match-run.service.js';
import { StatementImportService } from '../statement/statement-import.service.js';
import { DiscrepancyController } from './discrepancy.controller.js';
import { reconciliationErrorBody } from './http-errors.js';
import { MatchRunController } from './match-run.controller.js';
import { ReportController } from './report.controller.js';
import { StatementController } from './statement.controller.js';
import { StatementUploads } from './statement-upload.js';

/**
 * Node cuts a request it has not fully received within `requestTimeout` (default 5 minutes); a 1 GB
 * statement over a slow link needs longer. Slow headers stay bounded by `headersTimeout`.
 */
export const STATEMENT_UPLOAD_REQUEST_TIMEOUT_MS = 60 * 60 * 1000;

/** What the API needs of the app before it listens: its OpenAPI document and UI, and the upload timeout. */
export function setupReconciliationHttp(app: INestApplication): void {
  setupOpenApi(app, {
    title: 'Reconciliation service',
    description:
      'Channel statement import, match runs (对账), the discrepancy report (差错报表) and the resolution of discrepancies.',
  });
  (app.getHttpServer() as Server).requestTimeout = STATEMENT_UPLOAD_REQUEST_TIMEOUT_MS;
}

/** The upload root and limit, shared by the multer options and the upload interceptor. */
@Module({
  providers: [
    {
      provide: StatementUploads,
      inject: [PLATFORM_CONFIG],
      useFactory: (config: PlatformConfig) => StatementUploads.create(config.statementUploadMaxBytes),
    },
  ],
  exports: [StatementUploads],
})
class StatementUploadsModule {}

/**
 * The reconciliation REST API: thin controllers over the framework-free services, which are built
 * here from the service's DataSource. Gives every error response one JSON shape; serves /docs and
 * /docs-json through setupReconciliationHttp, which bootstrapService applies (HTTP_APP_SETUP).
 */
@Module({
  imports: [
    StatementUploadsModule,
    MulterModule.registerAsync({
      imports: [StatementUploadsModule],
      inject: [StatementUploads],
      useFactory: (uploads: StatementUploads) => uploads.multerOptions(),
    }),
  ],
  controllers: [StatementController, MatchRunController, ReportController, DiscrepancyController],
  providers: [
    {
      provide: StatementImportService,
      inject: [DataSource],
      useFactory: (dataSource: DataSource) => new StatementImportService(dataSource),
    },
    {
      provide: MatchRunService,
      inject: [DataSource],
      useFactory: (dataSource: DataSource) => new MatchRunService(dataSource),
    },
    {
      provide: DiscrepancyService,
      // The app's one Ledger when LedgerModule is there (it caches the chart for the process).
      inject: [DataSource, { token: Ledger, optional: true }],
      useFactory: (dataSource: DataSource, ledger: Ledger | undefined) =>
        new DiscrepancyService(dataSource, ledger ?? new Ledger()),
    },
    {
      provide: APP_FILTER,
      inject: [HttpAdapterHost],
      useFactory: (host: HttpAdapterHost) => new ApiErrorsFilter(host, reconciliationErrorBody),
    },
    // The same mapping for the command audit: it records what the caller was answered.
    { provide: DOMAIN_ERROR_MAPPER, useValue: reconciliationErrorBody },
    { provide: HTTP_APP_SETUP, useValue: setupReconciliationHttp satisfies HttpAppSetup },
  ],
})
export class ReconciliationHttpModule {}
