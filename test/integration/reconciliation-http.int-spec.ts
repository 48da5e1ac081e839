/**
 * The reconciliation REST API on the real Postgres and Kafka: the whole service booted with
 * NestFactory and driven over HTTP with fetch — statement upload (streamed to a temp file, size
 * limit, parse errors, repeats), a match run of the sample day, the report, its CSV, the
 * discrepancy endpoints, the error shape and the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { dlqTopicOf, TOPIC } from '@app/contracts';
import { ensureTopics } from '@app/messaging';
import type { DataSource } from 'typeorm';
import { StatementUploads, ReconciliationModule } from '../../apps/reconciliation/src/index.js';
import {
  migrateAll,
  openDataSource,
  publish,
  readLines,
  SAMPLES_DIR,
  testKafka,
  useIsolatedDatabase,
  waitFor,
} from '../support/infra.js';
import { startServiceApp } from '../support/http-app.js';
import { staffFetch } from '../support/identity.js';

// Every call of this file as staff with every staff role (access itself: access-control.int-spec.ts).
const fetch = staffFetch();

const sample = (name: string) => path.join(SAMPLES_DIR, name);

/** Small enough for a test file to exceed, large enough for every sample. */
const UPLOAD_LIMIT = 64 * 1024;

const SAMPLE_DAY_COUNTS = {
  MATCHED: 24,
  AMOUNT_MISMATCH: 3,
  STATUS_MISMATCH: 3,
  MISSING_IN_CHANNEL: 3,
  MISSING_INTERNAL: 3,
  PENDING_CROSS_DAY: 3,
  DUPLICATE: 0,
};

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details?: Record<string, unknown>;
}

describe('reconciliation HTTP API (real Postgres + Kafka)', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  // A prefix of its own: this file's consumer group and topics never meet another test's.
  const prefix = `${process.env.KAFKA_TOPIC_PREFIX ?? ''}http.`;
  const savedEnv = {
    prefix: process.env.KAFKA_TOPIC_PREFIX,
    limit: process.env.STATEMENT_UPLOAD_MAX_BYTES,
  };
  let app: INestApplication;
  let base: string;
  let db: DataSource;
  let uploadRoot: string;
  let tmp: string;

  beforeAll(async () => {
    await useIsolatedDatabase('reconciliation_http');
    await admin.connect();
    const topic = `${prefix}${TOPIC.paymentsTransactionV1}`;
    await ensureTopics(admin, [topic, dlqTopicOf(topic), `${prefix}${TOPIC.reconItemMatchedV1}`], 3);
    await migrateAll();
    process.env.KAFKA_TOPIC_PREFIX = prefix;
    process.env.STATEMENT_UPLOAD_MAX_BYTES = String(UPLOAD_LIMIT);
    ({ app: app, base: base } = await startServiceApp(ReconciliationModule));
    uploadRoot = app.get(StatementUploads).root;
    db = await openDataSource('reconciliation');
    tmp = await mkdtemp(path.join(os.tmpdir(), 'cse-http-test-'));
  });

  afterAll(async () => {
    await app?.close();
    await db?.destroy();
    await admin.disconnect();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
    restoreEnv('KAFKA_TOPIC_PREFIX', savedEnv.prefix);
    restoreEnv('STATEMENT_UPLOAD_MAX_BYTES', savedEnv.limit);
  });

  async function upload(
    fields: Record<string, string>,
    file?: { name: string; content: Uint8Array | string },
  ): Promise<Response> {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    if (file !== undefined) form.append('file', new Blob([file.content]), file.name);
    return fetch(`${base}/statements`, { method: 'POST', body: form });
  }

  const postJson = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  async function stored(channel: string): Promise<{ files: number; lines: number }> {
    const [row] = await db.query<[{ files: number; lines: number }]>(
      `SELECT (SELECT count(*)::int FROM reconciliation.statement_file WHERE channel = $1) AS files,
              -- The channel's lines, and any line without a file (a half-kept import would leave those).
              (SELECT count(*)::int FROM reconciliation.statement_line l
               WHERE NOT EXISTS (SELECT 1 FROM reconciliation.statement_file f
                                 WHERE f.id = l.statement_file_id AND f.channel <> $1)) AS lines`,
      [channel],
    );
    return row;
  }

  describe('statements, match runs, errors and the OpenAPI document', () => {
    it('imports the generic sample for WECHAT (201, 33 lines) and keeps no temp file', async () => {
      const content = await readFile(sample('generic-2026-11-22.csv'));
      const response = await upload(
        { channel: 'WECHAT', format: 'generic' },
        { name: 'generic-2026-11-22.csv', content },
      );
      const body = (await response.json()) as Record<string, unknown>;
      expect(response.status).toBe(201);
      expect(body).toMatchObject({
        channel: 'WECHAT',
        businessDate: '2026-11-22',
        format: 'generic',
        lines: 33,
        totals: [expect.objectContaining({ currency: 'CNY' })],
      });
      expect(await stored('WECHAT')).toEqual({ files: 1, lines: 33 });
      // The import records the name the operator uploaded, not the temp file's.
      const [file] = await db.query<[{ file_name: string }]>(
        `SELECT file_name FROM reconciliation.statement_file WHERE id = $1`,
        [body.statementFileId],
      );
      expect(file.file_name).toBe('generic-2026-11-22.csv');
      expect(await readdir(uploadRoot)).toEqual([]);
    });

    it('refuses the same file again with 409 STATEMENT.ALREADY_IMPORTED naming the earlier import', async () => {
      const [earlier] = await db.query<[{ id: string }]>(
        `SELECT id::text AS id FROM reconciliation.statement_file WHERE channel = 'WECHAT'`,
      );
      const response = await upload(
        { channel: 'WECHAT', format: 'generic', businessDate: '2026-11-22' },
        { name: 'again.csv', content: await readFile(sample('generic-2026-11-22.csv')) },
      );
      const body = (await response.json()) as ErrorBody;
      expect(response.status).toBe(409);
      expect(body).toEqual({
        statusCode: 409,
        error: 'STATEMENT.ALREADY_IMPORTED',
        message: expect.stringContaining(`as statement file #${earlier.id} on `),
        details: {
          earlier: {
            statementFileId: earlier.id,
            importedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
            businessDate: '2026-11-22',
          },
        },
      });
      expect(await stored('WECHAT')).toEqual({ files: 1, lines: 33 });
      expect(await readdir(uploadRoot)).toEqual([]);
    });

    it('answers 422 STATEMENT.PARSE_ERROR for a bad amount on line 5, naming line and field, and stores nothing', async () => {
      const lines = (await readFile(sample('generic-2026-11-22.csv'), 'utf8')).split('\n');
      const cells = lines[4]!.split(',');
      cells[3] = `${cells[3]!.slice(0, 1)}x${cells[3]!.slice(2)}`; // 983.95 → 9x3.95
      lines[4] = cells.join(',');
      const file = path.join(tmp, 'generic-bad-amount.csv');
      await writeFile(file, lines.join('\n'));

      const response = await upload(
        { channel: 'GENERIC_BAD', format: 'generic' },
        { name: 'generic-bad-amount.csv', content: await readFile(file) },
      );
      const body = (await response.json()) as ErrorBody;
      expect(response.status).toBe(422);
      expect(body).toEqual({
        statusCode: 422,
        error: 'STATEMENT.PARSE_ERROR',
        message: 'line 5, field amount: "9x3.95" is not a decimal amount (column amount); nothing imported',
        details: {
          code: 'STATEMENT.MALFORMED_LINE',
          line: 5,
          field: 'amount',
          detail: '"9x3.95" is not a decimal amount (column amount)',
        },
      });
      expect(await stored('GENERIC_BAD')).toEqual({ files: 0, lines: 0 });
      expect(await readdir(uploadRoot)).toEqual([]);
    });

    it('answers 413 STATEMENT.FILE_TOO_LARGE for an upload over STATEMENT_UPLOAD_MAX_BYTES, keeping nothing', async () => {
      const header = 'channel_txn_id,order_no,type,amount,fee,currency,status,trade_time\n';
      const row = '420000000000000000,O202611220000000,PAYMENT,239.54,1.44,CNY,SUCCESS,2026-11-22 21:49:20\n';
      const content = header + row.repeat(Math.ceil((2 * UPLOAD_LIMIT) / row.length));
      expect(Buffer.byteLength(content)).toBeGreaterThan(UPLOAD_LIMIT);

      const response = await upload(
        { channel: 'TOO_LARGE', format: 'generic' },
        { name: 'big.csv', content },
      );
      expect(response.status).toBe(413);
      expect(await response.json()).toEqual({
        statusCode: 413,
        error: 'STATEMENT.FILE_TOO_LARGE',
        message: `the statement file is larger than the upload limit of ${UPLOAD_LIMIT} bytes (STATEMENT_UPLOAD_MAX_BYTES)`,
        details: { limitBytes: UPLOAD_LIMIT },
      });
      expect(await stored('TOO_LARGE')).toEqual({ files: 0, lines: 0 });
      expect(await readdir(uploadRoot)).toEqual([]);
    });

    it('answers 400 REQUEST.INVALID for bad fields and a missing file, naming each field', async () => {
      const content = await readFile(sample('generic-2026-11-23.csv'));
      const file = { name: 'generic-2026-11-23.csv', content };

      const badFields = await upload({ channel: 'wechat', format: 'csv', businessDate: '2026-02-30' }, file);
      const body = (await badFields.json()) as ErrorBody;
      expect(badFields.status).toBe(400);
      expect(body.error).toBe('REQUEST.INVALID');
      expect((body.details?.issues as { field: string }[]).map((i) => i.field)).toEqual([
        'channel',
        'format',
        'businessDate',
      ]);
      expect(body.message).toMatch(/^channel: must be 1 to 32 characters of A-Z, 0-9 and _; format: /);

      const noFile = await upload({ channel: 'WECHAT', format: 'generic' });
      expect(noFile.status).toBe(400);
      expect(await noFile.json()).toEqual({
        statusCode: 400,
        error: 'REQUEST.INVALID',
        message: 'file: a statement file is required',
        details: { issues: [{ field: 'file', message: 'a statement file is required' }] },
      });

      expect(await stored('wechat')).toEqual({ files: 0, lines: 0 });
      expect(await stored('WECHAT')).toEqual({ files: 1, lines: 33 });
      expect(await readdir(uploadRoot)).toEqual([]);
    });

    it('runs the match of WECHAT 2026-11-22 after the day’s transactions are ingested from Kafka: 201 with counts per class', async () => {
      const events = await readLines(sample('internal-events.jsonl'));
      expect(events).toHaveLength(36);
      await publish(
        kafka,
        `${prefix}${TOPIC.paymentsTransactionV1}`,
        events.map((value) => ({ key: (JSON.parse(value) as { merchantId: string }).merchantId, value })),
      );
      await waitFor(
        'the 36 sample transactions stored',
        async () =>
          (
            await db.query<[{ n: number }]>(
              `SELECT count(*)::int AS n FROM reconciliation.internal_transaction`,
            )
          )[0].n,
        (n) => n >= 36,
      );
      const [stored] = await db.query<[{ n: number }]>(
        `SELECT count(*)::int AS n FROM reconciliation.internal_transaction`,
      );
      expect(stored.n).toBe(36);

      const response = await postJson('/match-runs', { channel: 'WECHAT', businessDate: '2026-11-22' });
      const body = (await response.json()) as { counts: unknown; channel: string; businessDate: string };
      expect(response.status).toBe(201);
      expect(body).toMatchObject({ channel: 'WECHAT', businessDate: '2026-11-22' });
      expect(body.counts).toEqual(SAMPLE_DAY_COUNTS);
    });

    it('answers 400 for a bad match-run body and for malformed JSON, and 404 for an unknown route, all in one shape', async () => {
      const bad = await postJson('/match-runs', { channel: 'WECHAT', businessDate: '2026-11-31', extra: 1 });
      expect(bad.status).toBe(400);
      const badBody = (await bad.json()) as ErrorBody;
      expect(badBody).toMatchObject({ statusCode: 400, error: 'REQUEST.INVALID' });
      expect((badBody.details?.issues as { field: string }[]).map((i) => i.field).sort()).toEqual([
        '',
        'businessDate',
      ]);

      const malformed = await fetch(`${base}/match-runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"channel":',
      });
      expect(malformed.status).toBe(400);
      expect(await malformed.json()).toMatchObject({ statusCode: 400, error: 'REQUEST.INVALID' });

      const unknown = await fetch(`${base}/nowhere`);
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toEqual({
        statusCode: 404,
        error: 'REQUEST.NOT_FOUND',
        message: 'Cannot GET /nowhere',
      });
    });

    it('serves the OpenAPI document at /docs-json with every endpoint, and Swagger UI at /docs', async () => {
      const response = await fetch(`${base}/docs-json`);
      expect(response.status).toBe(200);
      const document = (await response.json()) as {
        paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> } }>>;
        components: { schemas: Record<string, unknown> };
      };
      const operations = Object.entries(document.paths)
        .flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`))
        .sort();
      expect(operations).toEqual(
        expect.arrayContaining([
          'POST /statements',
          'POST /match-runs',
          'GET /reports/reconciliation',
          'GET /reports/reconciliation.csv',
          'GET /discrepancies',
          'GET /discrepancies/{id}',
          'POST /discrepancies/{id}/resolve',
        ]),
      );
      expect(Object.keys(document.paths['/statements']!.post!.requestBody!.content)).toEqual([
        'multipart/form-data',
      ]);
      expect(Object.keys(document.components.schemas)).toEqual(
        expect.arrayContaining(['ApiError', 'Discrepancy', 'ReconReport', 'MatchRunResult']),
      );

      // Room for a 1 GB upload over a slow link (Node's default would cut it after 5 minutes).
      expect((app.getHttpServer() as Server).requestTimeout).toBe(60 * 60 * 1000);

      const ui = await fetch(`${base}/docs`);
      expect(ui.status).toBe(200);
      expect(ui.headers.get('content-type')).toMatch(/^text\/html/);
    });
  });

  // These need the lead's DiscrepancyService; they follow the match run above. PENDING_CROSS_DAY is
  // not a discrepancy (it waits for the next day's statement), so the day has 4 × 3 = 12.
  describe('report and discrepancies', () => {
    const DISCREPANCY_COUNTS = {
      AMOUNT_MISMATCH: 3,
      STATUS_MISMATCH: 3,
      MISSING_IN_CHANNEL: 3,
      MISSING_INTERNAL: 3,
      DUPLICATE: 0,
    };

    it('reports 12 discrepancies for WECHAT 2026-11-22, three of each class but DUPLICATE', async () => {
      const response = await fetch(`${base}/reports/reconciliation?businessDate=2026-11-22&channel=WECHAT`);
      expect(response.status).toBe(200);
      const report = (await response.json()) as {
        businessDate: string;
        channel: string;
        runs: { counts: unknown }[];
        discrepancies: { class: keyof typeof DISCREPANCY_COUNTS; status: string }[];
      };
      expect(report).toMatchObject({ businessDate: '2026-11-22', channel: 'WECHAT' });
      expect(report.runs.map((r) => r.counts)).toEqual([SAMPLE_DAY_COUNTS]);
      expect(report.discrepancies).toHaveLength(12);
      const counts = Object.fromEntries(Object.keys(DISCREPANCY_COUNTS).map((c) => [c, 0]));
      for (const d of report.discrepancies) counts[d.class] = (counts[d.class] ?? 0) + 1;
      expect(counts).toEqual(DISCREPANCY_COUNTS);
      expect(report.discrepancies.every((d) => d.status === 'OPEN')).toBe(true);

      const bad = await fetch(`${base}/reports/reconciliation?channel=WECHAT`);
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error: 'REQUEST.INVALID', message: /^businessDate: / });
    });

    it('serves the report as CSV: BOM, header + 12 rows, as an attachment', async () => {
      const response = await fetch(
        `${base}/reports/reconciliation.csv?businessDate=2026-11-22&channel=WECHAT`,
      );
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(response.headers.get('content-disposition')).toBe(
        'attachment; filename="discrepancies-WECHAT-2026-11-22.csv"',
      );
      const bytes = new Uint8Array(await response.arrayBuffer());
      expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
      const lines = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes).slice(1).split('\r\n');
      expect(lines.pop()).toBe('');
      expect(lines).toHaveLength(13);
      expect(lines[0]).toMatch(/^id,channel,business_date,/);

      const all = await fetch(`${base}/reports/reconciliation.csv?businessDate=2026-11-22`);
      expect(all.headers.get('content-disposition')).toBe(
        'attachment; filename="discrepancies-all-2026-11-22.csv"',
      );
    });

    it('lists, filters and gets discrepancies; a missing one is 404, a bad filter 400', async () => {
      const list = await fetch(`${base}/discrepancies?businessDate=2026-11-22&channel=WECHAT&status=OPEN`);
      expect(list.status).toBe(200);
      const all = (await list.json()) as { id: string; class: string }[];
      expect(all).toHaveLength(12);

      const mismatches = (await (
        await fetch(`${base}/discrepancies?channel=WECHAT&class=AMOUNT_MISMATCH&limit=2`)
      ).json()) as { id: string; class: string }[];
      expect(mismatches.map((d) => d.class)).toEqual(['AMOUNT_MISMATCH', 'AMOUNT_MISMATCH']);
      const rest = (await (
        await fetch(`${base}/discrepancies?channel=WECHAT&class=AMOUNT_MISMATCH&afterId=${mismatches[1]!.id}`)
      ).json()) as unknown[];
      expect(rest).toHaveLength(1);

      const one = await fetch(`${base}/discrepancies/${all[0]!.id}`);
      expect(one.status).toBe(200);
      expect(await one.json()).toEqual(all[0]);

      const missing = await fetch(`${base}/discrepancies/999999999`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toEqual({
        statusCode: 404,
        error: 'DISCREPANCY.NOT_FOUND',
        message: 'no discrepancy 999999999',
      });

      const bad = await fetch(`${base}/discrepancies?status=CLOSED&limit=0`);
      expect(bad.status).toBe(400);
      const badBody = (await bad.json()) as ErrorBody;
      expect((badBody.details?.issues as { field: string }[]).map((i) => i.field)).toEqual([
        'status',
        'limit',
      ]);
    });

    it('resolves a discrepancy as WRITE_OFF once: a replay answers the same body, another key is 409', async () => {
      const [target, other] = (await (
        await fetch(`${base}/discrepancies?channel=WECHAT&class=MISSING_INTERNAL`)
      ).json()) as { id: string }[];
      const resolve = (id: string, key: string | undefined, body: unknown = {}) =>
        postJson(`/discrepancies/${id}/resolve`, body, key === undefined ? {} : { 'Idempotency-Key': key });
      const request = { action: 'WRITE_OFF', actor: 'finance.li', note: 'channel confirmed: test order' };

      const noKey = await resolve(target!.id, undefined, request);
      expect(noKey.status).toBe(400);
      expect(await noKey.json()).toEqual({
        statusCode: 400,
        error: 'REQUEST.INVALID',
        message: 'Idempotency-Key: is required',
        details: { issues: [{ field: 'Idempotency-Key', message: 'is required' }] },
      });

      const first = await resolve(target!.id, 'http-test-1', request);
      expect(first.status).toBe(200);
      expect(first.headers.get('idempotent-replayed')).toBe('false');
      const resolved = (await first.json()) as Record<string, unknown>;
      expect(resolved).toMatchObject({
        id: target!.id,
        status: 'RESOLVED',
        resolution: 'WRITE_OFF',
        resolvedBy: 'finance.li',
        resolutionNote: 'channel confirmed: test order',
      });

      const replay = await resolve(target!.id, 'http-test-1', request);
      expect(replay.status).toBe(200);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(await replay.json()).toEqual(resolved);

      const anotherKey = await resolve(target!.id, 'http-test-2', request);
      expect(anotherKey.status).toBe(409);
      expect(await anotherKey.json()).toMatchObject({
        statusCode: 409,
        error: 'DISCREPANCY.ALREADY_RESOLVED',
      });

      const keyReused = await resolve(other!.id, 'http-test-1', request);
      expect(keyReused.status).toBe(409);
      expect(await keyReused.json()).toMatchObject({
        statusCode: 409,
        error: 'DISCREPANCY.IDEMPOTENCY_CONFLICT',
      });

      const badAction = await resolve(other!.id, 'http-test-3', { ...request, action: 'DELETE' });
      expect(badAction.status).toBe(400);
      expect(await badAction.json()).toMatchObject({ error: 'REQUEST.INVALID', message: /^action: / });
    });
  });
});

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
