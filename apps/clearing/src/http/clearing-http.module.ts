import { Module } from '@nestjs/common';
import { APP_FILTER, HttpAdapterHost } from '@nestjs/core';
import { ApiErrorsFilter, DOMAIN_ERROR_MAPPER, setupOpenApi } from '@app/http';
import type { INestApplication } from '@nestjs/common';
import { HTTP_APP_SETUP, type HttpAppSetup } from '@app/messaging';
import { DataSource } from 'typeorm';
import { FeeRulesService } from '../fees/fee-rules.service.js';
import { FeeQuoteController } from './fee-quote.controller.js';
import { FeeRuleController } from './fee-rule.controller.js';
import { clearingErrorBody } from './http-errors.js';

/**
 * The clearing REST API: fee rules and the fee quote, thin controllers over FeeRulesService built
 * here from the service's DataSource. Gives every error response one JSON shape; serves /docs and
 * /docs-json through setupOpenApi, which bootstrapService applies (HTTP_APP_SETUP).
 */
export function setupClearingOpenApi(app: INestApplication): void {
  setupOpenApi(app, {
    title: 'Clearing service',
    description:
      'Fee rules (手续费规则) as versioned configuration, the fee quote (清分试算) and internal reconciliation (内部对账).',
  });
}

@Module({
  controllers: [FeeRuleController, FeeQuoteController],
  providers: [
    {
      provide: FeeRulesService,
      inject: [DataSource],
      useFactory: (dataSource: DataSource) => new FeeRulesService(dataSource),
    },
    {
      provide: APP_FILTER,
      inject: [HttpAdapterHost],
      useFactory: (host: HttpAdapterHost) => new ApiErrorsFilter(host, clearingErrorBody),
    },
    // The same mapping for the command audit: it records what the caller was answered.
    { provide: DOMAIN_ERROR_MAPPER, useValue: clearingErrorBody },
    { provide: HTTP_APP_SETUP, useValue: setupClearingOpenApi satisfies HttpAppSetup },
  ],
  exports: [FeeRulesService],
})
export class ClearingHttpModule {}
