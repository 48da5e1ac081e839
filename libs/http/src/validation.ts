import {
  HttpStatus,
  StandardSchemaValidationPipe,
  type StandardSchemaValidationPipeOptions,
} from '@nestjs/common';
import { z } from 'zod';
import { ApiError, REQUEST_INVALID } from './api-error.js';

/**
 * Input checked at the edge with zod. The same schemas are the OpenAPI description of the
 * parameters (Nest hands them to the pipe and to @nestjs/swagger as Standard Schemas).
 */

export const CHANNEL_PATTERN = /^[A-Z0-9_]{1,32}$/;

export const ChannelSchema = z
  .string()
  .regex(CHANNEL_PATTERN, 'must be 1 to 32 characters of A-Z, 0-9 and _')
  .meta({ description: 'Payment channel code', example: 'WECHAT' });

export const BusinessDateSchema = z.iso
  .date({ message: 'must be a real calendar date YYYY-MM-DD' })
  .meta({ description: 'Business date (YYYY-MM-DD, the channel’s day)', example: '2026-11-22' });

/** A bigint id as decimal digits (bigint ids travel as strings). */
export const IdSchema = z
  .string()
  .regex(/^[1-9]\d{0,18}$/, 'must be a positive integer id')
  .meta({ example: '42' });

export interface InputIssue {
  field: string;
  message: string;
}

export function invalidRequest(issues: InputIssue[]): ApiError {
  return new ApiError(
    HttpStatus.BAD_REQUEST,
    REQUEST_INVALID,
    issues.map((i) => (i.field === '' ? i.message : `${i.field}: ${i.message}`)).join('; '),
    { issues },
  );
}

/** Standard Schema's issue type, as Nest's pipe hands it over. */
type SchemaIssue = Parameters<
  NonNullable<StandardSchemaValidationPipeOptions['exceptionFactory']>
>[0][number];

export function toInputIssues(issues: readonly SchemaIssue[]): InputIssue[] {
  return issues.map((issue) => ({
    field: (issue.path ?? [])
      .map((segment) => String(typeof segment === 'object' ? segment.key : segment))
      .join('.'),
    message: issue.message,
  }));
}

/** Validates the parameters that carry a `schema` (@Body/@Query/@Param) and answers 400 REQUEST.INVALID. */
export const schemaValidationPipe = new StandardSchemaValidationPipe({
  exceptionFactory: (issues) => invalidRequest(toInputIssues(issues)),
});

/** For input that does not come through a parameter decorator (multipart fields, headers). */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, field?: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw invalidRequest(
    toInputIssues(result.error.issues).map((issue) =>
      field === undefined
        ? issue
        : { ...issue, field: issue.field === '' ? field : `${field}.${issue.field}` },
    ),
  );
}
