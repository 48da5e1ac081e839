/**
 * Issue 15's holes 1 and 4 as a hostile user tried them, against the real services (Postgres,
 * Kafka, HTTP):
 * - hole 1: a "corrected" statement for a reconciled day and a match run, sent without a token,
 *   used to replace the real statement, close discrepancies as REMATCH and release forged items to
 *   clearing. Now: 401, nothing imported, nothing run, nothing released; an upload is refused before
 *   a byte of it is stored; a second file for the day needs recon.statement-replace; the uploader
 *   and the run's starter are recorded.
 * - hole 4: whoever closes a cycle is the maker of its records and cannot approve them, whatever
 *   roles the token holds and however the name is spelled; above the threshold two distinct people.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { dlqTopicOf, TOPIC } from '@app/contracts';
import { ROLE } from '@app/http';
import { Ledger } from '@app/ledger';
import { ensureTopics } from '@app/messaging';
import type { DataSource } from 'typeorm';
import { StatementUploads, ReconciliationModule } from '../../apps/reconciliation/src/index.js';
import { itemCleared, SettlementModule } from '../../apps/settlement/src/index.js';
import { startServiceApp } from '../support/http-app.js';
import { authHeader } from '../support/identity.js';
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
import { clearIntoSettleable } from '../support/settlement-payouts.js';

const OPERATOR = { sub: 'ops.zhang', roles: [ROLE.importStatement, ROLE.runMatch, ROLE.financeRead] };

describe('the trust boundary: holes 1 and 4 of issue 15 (real Postgres + Kafka + HTTP)', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  const saved = process.env.KAFKA_TOPIC_PREFIX;
  const prefix = `${saved ?? ''}trust.`;
  let recon: { app: INestApplication; base: string };
  let settlement: { app: INestApplication; base: string };
  let reconDb: DataSource;
  let settlementDb: DataSource;

  const count = async (table: string) =>
    Number((await reconDb.query<[{ n: string }]>(`SELECT count(*)::text AS n FROM ${table}`))[0].n);

  const upload = async (file: string, content: string | Uint8Array, headers: Record<string, string>) => {
    const form = new FormData();
    form.append('channel', 'WECHAT');
    form.append('format', 'generic');
    form.append('businessDate', '2026-11-22');
    form.append('file', new Blob([content]), file);
    return fetch(`${recon.base}/statements`, { method: 'POST', body: form, headers });
  };

  beforeAll(async () => {
    await useIsolatedDatabase('trust_boundary');
    await admin.connect();
    const topic = `${prefix}${TOPIC.paymentsTransactionV1}`;
    await ensureTopics(admin, [topic, dlqTopicOf(topic), `${prefix}${TOPIC.reconItemMatchedV1}`], 3);
    await migrateAll();
    process.env.KAFKA_TOPIC_PREFIX = prefix;
    recon = await startServiceApp(ReconciliationModule, ['error']);
    settlement = await startServiceApp(SettlementModule, ['error']);
    reconDb = await openDataSource('reconciliation');
    settlementDb = await openDataSource('settlement');
    const events = await readLines(path.join(SAMPLES_DIR, 'internal-events.jsonl'));
    await publish(
      kafka,
      topic,
      events.map((value) => ({ key: (JSON.parse(value) as { merchantId: string }).merchantId, value })),
    );
    await waitFor(
      'the 36 sample transactions stored',
      () => count('reconciliation.internal_transaction'),
      (n) => n >= 36,
    );
  }, 120_000);

  afterAll(async () => {
    await recon?.app.close();
    await settlement?.app.close();
    await reconDb?.destroy();
    await settlementDb?.destroy();
    await admin.disconnect();
    process.env.KAFKA_TOPIC_PREFIX = saved;
  });

  it('hole 1: a forged statement and a match run without a token are refused (401): nothing imported, nothing released', async () => {
    const real = await readFile(path.join(SAMPLES_DIR, 'generic-2026-11-22.csv'), 'utf8');
    // The forger's "correction": every CLOSED line turned SUCCESS.
    const forged = real.replaceAll('CLOSED', 'SUCCESS');
    const refused = await upload('corrected.csv', forged, {});
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'AUTH.UNAUTHENTICATED' });
    const run = await fetch(`${recon.base}/match-runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'WECHAT', businessDate: '2026-11-22' }),
    });
    expect(run.status).toBe(401);
    expect(await count('reconciliation.statement_file')).toBe(0);
    expect(await count('reconciliation.match_run')).toBe(0);
    expect(await count('reconciliation.matched_item')).toBe(0);
    const audit = await reconDb.query<{ action: string; outcome: string; http_status: number }[]>(
      `SELECT action, outcome, http_status FROM reconciliation.command_audit ORDER BY id`,
    );
    expect(audit).toEqual([
      { action: 'STATEMENT_IMPORT', outcome: 'REFUSED', http_status: 401 },
      { action: 'MATCH_RUN', outcome: 'REFUSED', http_status: 401 },
    ]);
  });

  it('refuses an unauthenticated upload before storing any of it, however large it claims to be', async () => {
    const uploadRoot = recon.app.get(StatementUploads).root;
    // 256 MiB offered as a stream: the guard answers before multer reads it.
    let sent = 0;
    const body = new Readable({
      read() {
        sent += 1 << 20;
        this.push(sent > 256 << 20 ? null : Buffer.alloc(1 << 20, 0x41));
      },
    });
    const started = Date.now();
    const response = await fetch(`${recon.base}/statements`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      body: Readable.toWeb(body) as ReadableStream,
      duplex: 'half',
    }).catch((error: unknown) => ({ status: -1, error }));
    expect(response.status).toBe(401);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await readdir(uploadRoot)).toEqual([]);
    body.destroy();
  });

  it('imports with the operator’s token and records the uploader; the run records who started it', async () => {
    const operator = await authHeader(OPERATOR.sub, OPERATOR.roles);
    const real = await readFile(path.join(SAMPLES_DIR, 'generic-2026-11-22.csv'));
    const imported = await upload('generic-2026-11-22.csv', real, operator);
    expect(imported.status).toBe(201);
    const run = await fetch(`${recon.base}/match-runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...operator },
      body: JSON.stringify({ channel: 'WECHAT', businessDate: '2026-11-22' }),
    });
    expect(run.status).toBe(201);
    expect(((await run.json()) as { counts: { MATCHED: number } }).counts.MATCHED).toBe(24);
    expect(await reconDb.query('SELECT uploaded_by FROM reconciliation.statement_file')).toEqual([
      { uploaded_by: 'ops.zhang' },
    ]);
    expect(await reconDb.query('SELECT started_by FROM reconciliation.match_run')).toEqual([
      { started_by: 'ops.zhang' },
    ]);
  });

  it('refuses a "corrected" statement for a reconciled day without recon.statement-replace (403), keeping nothing', async () => {
    const real = await readFile(path.join(SAMPLES_DIR, 'generic-2026-11-22.csv'), 'utf8');
    const forged = real.replaceAll('CLOSED', 'SUCCESS');
    const refused = await upload('corrected.csv', forged, await authHeader(OPERATOR.sub, OPERATOR.roles));
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({
      error: 'STATEMENT.REPLACEMENT_FORBIDDEN',
      message: expect.stringContaining('already has statement file'),
    });
    expect(await count('reconciliation.statement_file')).toBe(1);
    // Someone trusted to replace statements may, and is recorded as the uploader.
    const replaced = await upload(
      'corrected.csv',
      forged,
      await authHeader('finance.lead', [ROLE.importStatement, ROLE.replaceStatement]),
    );
    expect(replaced.status).toBe(201);
    expect(
      await reconDb.query('SELECT uploaded_by FROM reconciliation.statement_file ORDER BY statement_file.id'),
    ).toEqual([{ uploaded_by: 'ops.zhang' }, { uploaded_by: 'finance.lead' }]);
  });

  it('hole 4: who closes is the maker: their approval is refused under any spelling; above the threshold two people approve', async () => {
    const ledger = new Ledger();
    await clearIntoSettleable(settlementDb, ledger, [
      itemCleared('M_T1', '2026-09-25', '12.00'),
      itemCleared('M_T2', '2026-09-25', '60000.00'),
    ]);
    const closer = await authHeader('Ops.Li', [ROLE.closeCycle, ROLE.approveSettlement, ROLE.financeRead]);
    const post = (url: string, headers: Record<string, string>, key: string, body: unknown = {}) =>
      fetch(`${settlement.base}${url}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key, ...headers },
        body: JSON.stringify(body),
      });
    const closed = await post('/cycles/close', closer, 'close-1', { date: '2026-09-28' });
    expect(closed.status).toBe(200);
    const records = await settlementDb.query<{ id: string; merchant_id: string; submitted_by: string }[]>(
      'SELECT id::text, merchant_id, submitted_by FROM settlement.settlement_record ORDER BY merchant_id',
    );
    expect(records.map((r) => r.submitted_by)).toEqual(['ops.li', 'ops.li']);
    const [small, large] = records;
    for (const [i, name] of ['Ops.Li', 'OPS.LI', 'ｏｐｓ．ｌｉ', 'ops.li'].entries()) {
      const self = await post(
        `/settlement-records/${small!.id}/approve`,
        await authHeader(name, [ROLE.approveSettlement]),
        `self-${i}`,
      );
      expect({ name, status: self.status, body: await self.json() }).toMatchObject({
        name,
        status: 403,
        body: { error: 'SETTLEMENT.SELF_APPROVAL' },
      });
    }
    // 60,000.00 CNY is above the 50,000.00 threshold: one approval leaves it pending; the same
    // approver again is refused; a second person approves it.
    const wang = await authHeader('finance.wang', [ROLE.approveSettlement]);
    const first = await post(`/settlement-records/${large!.id}/approve`, wang, 'a-1');
    expect(await first.json()).toMatchObject({ status: 'PENDING_APPROVAL' });
    const again = await post(
      `/settlement-records/${large!.id}/approve`,
      await authHeader('Finance.Wang', [ROLE.approveSettlement]),
      'a-2',
    );
    expect(again.status).toBe(403);
    expect(await again.json()).toMatchObject({ error: 'SETTLEMENT.SAME_APPROVER_TWICE' });
    const second = await post(
      `/settlement-records/${large!.id}/approve`,
      await authHeader('finance.li', [ROLE.approveSettlement]),
      'a-3',
    );
    expect(await second.json()).toMatchObject({ status: 'APPROVED' });
    const audit = await settlementDb.query<
      { principal: string; action: string; outcome: string; code: string }[]
    >(
      `SELECT principal, action, outcome, code FROM settlement.command_audit
       WHERE action = 'SETTLEMENT_APPROVE' AND outcome = 'REFUSED' ORDER BY id`,
    );
    expect(audit.map((a) => [a.principal, a.code])).toEqual([
      ['ops.li', 'SETTLEMENT.SELF_APPROVAL'],
      ['ops.li', 'SETTLEMENT.SELF_APPROVAL'],
      ['ops.li', 'SETTLEMENT.SELF_APPROVAL'],
      ['ops.li', 'SETTLEMENT.SELF_APPROVAL'],
      ['finance.wang', 'SETTLEMENT.SAME_APPROVER_TWICE'],
    ]);
  });
});
