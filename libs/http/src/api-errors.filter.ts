import { Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { toApiErrorBody, type DomainErrorMapper } from './api-error.js';

/**
 * Every error response of an app in one JSON shape: { statusCode, error, message, details? }.
 * Register per app with its domain mapper:
 * `{ provide: APP_FILTER, inject: [HttpAdapterHost], useFactory: (h) => new ApiErrorsFilter(h, mapper) }`.
 */
export class ApiErrorsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly domain: DomainErrorMapper,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<{ method?: string; url?: string }>();
    const response = http.getResponse<{ headersSent?: boolean; destroy?: (error?: Error) => void }>();
    const body = toApiErrorBody(exception, this.domain);
    if (body.statusCode >= 500)
      this.logger.error(
        `${request.method} ${request.url} failed`,
        exception instanceof Error ? exception.stack : String(exception),
      );
    // A body already under way (a download) cannot turn into an error: cut it so the client sees it fail.
    if (response.headersSent === true) {
      response.destroy?.();
      return;
    }
    this.adapterHost.httpAdapter.reply(response, body, body.statusCode);
  }
}
