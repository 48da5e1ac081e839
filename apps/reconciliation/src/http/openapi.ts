import { applyDecorators, type INestApplication } from '@nestjs/common';
import { ApiResponse, DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ApiErrorSchema } from './api-schemas.js';
import type { ApiErrorBody } from './http-errors.js';

export const OPENAPI_UI_PATH = 'docs';
export const OPENAPI_JSON_PATH = 'docs-json';

/** Serves the API's OpenAPI document at /docs-json and Swagger UI at /docs. */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Reconciliation service')
    .setDescription(
      'Channel statement import, match runs (对账), the discrepancy report (差错报表) and the resolution ' +
        'of discrepancies. Every error response has the same JSON body: { statusCode, error, message, details? }, ' +
        'where `error` is a stable code to switch on.',
    )
    .setVersion('1')
    .build();
  SwaggerModule.setup(OPENAPI_UI_PATH, app, () => SwaggerModule.createDocument(app, config), {
    jsonDocumentUrl: OPENAPI_JSON_PATH,
    raw: ['json'],
  });
}

/** One documented error response: the statuses an endpoint answers with and an example body of each case. */
export interface DocumentedError {
  status: number;
  description: string;
  examples: Omit<ApiErrorBody, 'statusCode'>[];
}

/** Documents an endpoint's error responses, all with the ApiError body. */
export function ApiErrors(...errors: DocumentedError[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...errors.map(({ status, description, examples }) =>
      ApiResponse({
        status,
        description,
        standardSchema: ApiErrorSchema,
        examples: Object.fromEntries(
          examples.map((example) => [
            example.error,
            { summary: example.error, value: { statusCode: status, ...example } },
          ]),
        ),
      }),
    ),
  );
}

export const invalidRequestExample = (field: string, message: string): Omit<ApiErrorBody, 'statusCode'> => ({
  error: 'REQUEST.INVALID',
  message: `${field}: ${message}`,
  details: { issues: [{ field, message }] },
});
