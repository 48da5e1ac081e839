import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { toApiErrorBody } from './http-errors.js';

/** Every error response of the app in one JSON shape: { statusCode, error, message, details? }. */
@Catch()
export class HttpErrorsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<{ method?: string; url?: string }>();
    const response = http.getResponse<{ headersSent?: boolean; destroy?: (error?: Error) => void }>();
    const body = toApiErrorBody(exception);
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
