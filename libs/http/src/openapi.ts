import { applyDecorators, type INestApplication } from '@nestjs/common';
import { ApiResponse, DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { z } from 'zod';
import type { ApiErrorBody } from './api-error.js';

export const OPENAPI_UI_PATH = 'docs';
export const OPENAPI_JSON_PATH = 'docs-json';

const ERROR_BODY_NOTE =
  'Every error response has the same JSON body: { statusCode, error, message, details? }, where `error` is a stable code to switch on.';

/** Serves the API's OpenAPI document at /docs-json and Swagger UI at /docs. */
export function setupOpenApi(app: INestApplication, api: { title: string; description: string }): void {
  const config = new DocumentBuilder()
    .setTitle(api.title)
    .setDescription(`${api.description} ${ERROR_BODY_NOTE}`)
    .setVersion('1')
    .build();
  SwaggerModule.setup(OPENAPI_UI_PATH, app, () => SwaggerModule.createDocument(app, config), {
    jsonDocumentUrl: OPENAPI_JSON_PATH,
    raw: ['json'],
  });
}

export const ApiErrorSchema = z
  .object({
    statusCode: z.number().int().meta({ example: 422 }),
    error: z.string().meta({ description: 'Stable error code', example: 'STATEMENT.PARSE_ERROR' }),
    message: z
      .string()
      .meta({ example: 'line 5, field amount: "2x.50" is not a decimal amount; nothing imported' }),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'ApiError', description: 'The body of every error response' });

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
