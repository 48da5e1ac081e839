import {
  Access,
  ApiErrors,
  Caller,
  invalidRequest,
  invalidRequestExample,
  parseInput,
  ROLE,
  type AccessRequest,
  type Principal,
} from '@app/http';
import { Body, Controller, Post, UploadedFile, UseInterceptors } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import {
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiOperation,
  ApiTags,
  type SchemaObject,
} from '@nestjs/swagger';
import { z } from 'zod';
import { StatementImportService, type StatementImportResult } from '../statement/statement-import.service.js';
import { StatementImportResultSchema, StatementUploadFieldsSchema } from './api-schemas.js';
import { StatementUploadInterceptor } from './statement-upload.js';

/** The multipart body: the file, then the fields as StatementUploadFieldsSchema describes them. */
const UPLOAD_BODY_SCHEMA: SchemaObject = (() => {
  const fields = z.toJSONSchema(StatementUploadFieldsSchema, { target: 'openapi-3.0', io: 'input' });
  return {
    type: 'object',
    required: ['file', ...(fields.required ?? [])],
    properties: {
      file: {
        type: 'string',
        format: 'binary',
        description:
          'The statement file. Streamed to disk, at most STATEMENT_UPLOAD_MAX_BYTES (default 4 GiB: a 10M-line WeChat bill is ~2.2 GB). ' +
          'Send the other fields before it: they are checked once the whole body has arrived.',
      },
      ...(fields.properties as Record<string, SchemaObject>),
    },
  };
})();

@ApiTags('statements')
@Controller('statements')
export class StatementController {
  constructor(private readonly statements: StatementImportService) {}

  @Post()
  // Checked by the guard before multer reads a byte of the upload.
  @Access.command(ROLE.importStatement, 'STATEMENT_IMPORT', statementTarget)
  @UseInterceptors(StatementUploadInterceptor, FileInterceptor('file'))
  @ApiOperation({
    summary: 'Import a channel statement file',
    description:
      'Parses the file as a stream and stores its lines in one transaction: a file with a bad line, a ' +
      'control total that does not add up or the wrong encoding leaves nothing behind. The same content ' +
      'imported again for the channel is refused. Without businessDate, every line must fall on one date.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ schema: UPLOAD_BODY_SCHEMA })
  @ApiCreatedResponse({ description: 'Imported', standardSchema: StatementImportResultSchema })
  @ApiErrors(
    {
      status: 400,
      description: 'A field is missing or invalid, or there is no file',
      examples: [invalidRequestExample('channel', 'must be 1 to 32 characters of A-Z, 0-9 and _')],
    },
    {
      status: 403,
      description:
        'The channel and date already have a statement and the caller lacks recon.statement-replace (or any other refusal of the caller)',
      examples: [
        {
          error: 'STATEMENT.REPLACEMENT_FORBIDDEN',
          message:
            'WECHAT 2026-11-22 already has statement file #1 (uploaded by ops.zhang); superseding it needs the role recon.statement-replace; nothing imported',
        },
      ],
    },
    {
      status: 409,
      description: 'The same content was already imported for the channel',
      examples: [
        {
          error: 'STATEMENT.ALREADY_IMPORTED',
          message:
            'generic-2026-11-22.csv: the same content was already imported for WECHAT as statement file #1 on 2026-11-23T02:00:00Z (business date 2026-11-22)',
          details: {
            earlier: { statementFileId: '1', importedAt: '2026-11-23T02:00:00Z', businessDate: '2026-11-22' },
          },
        },
      ],
    },
    {
      status: 413,
      description: 'The file is larger than the upload limit',
      examples: [
        {
          error: 'STATEMENT.FILE_TOO_LARGE',
          message:
            'the statement file is larger than the upload limit of 4294967296 bytes (STATEMENT_UPLOAD_MAX_BYTES)',
          details: { limitBytes: 4294967296 },
        },
      ],
    },
    {
      status: 422,
      description: 'The file cannot be imported as it is; nothing of it was stored',
      examples: [
        {
          error: 'STATEMENT.PARSE_ERROR',
          message: 'line 5, field amount: "2x.50" is not a decimal amount (column amount); nothing imported',
          details: {
            code: 'STATEMENT.MALFORMED_LINE',
            line: 5,
            field: 'amount',
            detail: '"2x.50" is not a decimal amount (column amount)',
          },
        },
        {
          error: 'STATEMENT.BUSINESS_DATE_REQUIRED',
          message:
            'line 9, field tradeTime: 2026-11-23 00:00:04 is not on 2026-11-22 like the lines before it; the file spans several dates, give the business date (--date)',
        },
      ],
    },
  )
  async import(
    @UploadedFile() file: { path: string } | undefined,
    @Body() body: Record<string, unknown>,
    @Caller() caller: Principal,
  ): Promise<StatementImportResult> {
    const { channel, format, businessDate, match } = parseInput(
      StatementUploadFieldsSchema,
      withoutEmptyFields(body),
    );
    if (file === undefined)
      throw invalidRequest([{ field: 'file', message: 'a statement file is required' }]);
    return this.statements.import({
      channel,
      format,
      businessDate,
      filePath: file.path,
      silent: true,
      match: match === 'true',
      uploadedBy: caller.id,
      mayReplace: caller.roles.includes(ROLE.replaceStatement),
    });
  }
}

/** The audit row's target: the channel and date the upload claimed (checked by the import). */
function statementTarget(request: AccessRequest): string | null {
  const body = (request.body ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v.slice(0, 40) : '?');
  return `statement ${text(body.channel)} ${text(body.businessDate ?? '(from lines)')}`;
}

/** An HTML form sends every field, the unfilled ones empty: those are absent. */
function withoutEmptyFields(body: Record<string, unknown> | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body ?? {}).filter(([, value]) => value !== ''));
}
