/**
 * The CLI's commands that change state go through the service's HTTP API with a bearer token (one
 * enforcement point, issue 15): `cse` run as a separate process, as an operator runs it, against the
 * reconciliation service booted with the development identity's public key (real Postgres + Kafka).
 * Without a token: exit code 3, a plain 401 message, nothing imported. With one minted by
 * `cse auth token`: the file is streamed, imported and recorded as the token's principal's; the match
 * run classifies the sample day. A refusal prints the API's code (exit 2); a service that is not
 * there names its URL and variable (exit 1). And text from a statement never reaches the terminal
 * as control sequences (`recon report`).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { dlqTopicOf, TOPIC } from '@app/contracts';
import { devIdentityEnv, ensureDevIdentity, mintDevToken, ROLE, type DevIdentity } from '@app/http';
import { ensureTopics } from '@app/messaging';
import type { DataSource } from 'typeorm';
import { ReconciliationModule } from '../../apps/reconciliation/src/index.js';
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

const CLI = path.resolve('apps/cli/src/main.ts');
const sample = (name: string) => path.join(SAMPLES_DIR, name);
const HOSTILE = '\u001b]0;pwned\u0007\u001b[2J';

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `cse …` in a process of its own (never spawnSync: the service answers from this process). */
function cse(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', '@swc-node/register/esm-register', CLI, ...args], {
      env: { ...process.env, NODE_OPTIONS: '', CSE_TOKEN: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('cse over HTTP with a bearer token (real service, Postgres, Kafka)', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  const prefix = `${process.env.KAFKA_TOPIC_PREFIX ?? ''}cli-http.`;
  const authVariables = [
    'HTTP_AUTH_JWT_PUBLIC_KEY_FILE',
    'HTTP_AUTH_JWT_ALGORITHM',
    'HTTP_AUTH_JWT_ISSUER',
    'HTTP_AUTH_JWT_AUDIENCE',
  ];
  const saved: Record<string, string | undefined> = Object.fromEntries(
    ['KAFKA_TOPIC_PREFIX', 'AUTH_MODE', 'HTTP_AUTH_JWT_SECRET', ...authVariables].map((name) => [
      name,
      process.env[name],
    ]),
  );
  let app: INestApplication;
  let base: string;
  let db: DataSource;
  let tmp: string;
  let identity: DevIdentity;
  let operatorToken: string;

  const api = () => ({ CSE_RECONCILIATION_URL: base });

  async function stored(channel: string): Promise<{ files: number; lines: number }> {
    const [row] = await db.query<[{ files: number; lines: number }]>(
      `SELECT (SELECT count(*)::int FROM reconciliation.statement_file WHERE channel = $1) AS files,
              (SELECT count(*)::int FROM reconciliation.statement_line l
               JOIN reconciliation.statement_file f ON f.id = l.statement_file_id WHERE f.channel = $1) AS lines`,
      [channel],
    );
    return row;
  }

  beforeAll(async () => {
    await useIsolatedDatabase('cli_http');
    await admin.connect();
    const topic = `${prefix}${TOPIC.paymentsTransactionV1}`;
    await ensureTopics(admin, [topic, dlqTopicOf(topic), `${prefix}${TOPIC.reconItemMatchedV1}`], 3);
    await migrateAll();
    tmp = await mkdtemp(path.join(os.tmpdir(), 'cse-cli-http-'));
    identity = await ensureDevIdentity(path.join(tmp, 'identity'));
    process.env.KAFKA_TOPIC_PREFIX = prefix;
    // The development identity's public key instead of the run's shared secret: one or the other.
    delete process.env.AUTH_MODE;
    delete process.env.HTTP_AUTH_JWT_SECRET;
    Object.assign(process.env, devIdentityEnv(identity));
    ({ app, base } = await startServiceApp(ReconciliationModule, ['error']));
    db = await openDataSource('reconciliation');
    // Our side of the sample day, so that the match run has something to match.
    const events = await readLines(sample('internal-events.jsonl'));
    await publish(
      kafka,
      topic,
      events.map((value) => ({ key: (JSON.parse(value) as { merchantId: string }).merchantId, value })),
    );
    await waitFor(
      'the 36 sample transactions stored',
      async () =>
        (
          await db.query<[{ n: number }]>(
            'SELECT count(*)::int AS n FROM reconciliation.internal_transaction',
          )
        )[0].n,
      (n) => n >= 36,
    );
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await db?.destroy();
    await admin.disconnect();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
    for (const [name, value] of Object.entries(saved))
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
  });

  it('`auth token` refuses without a development identity, and mints a short-lived token with one', async () => {
    const missing = await cse([
      'auth',
      'token',
      '--sub',
      'ops.zhang',
      '--role',
      'recon.import',
      '--identity-dir',
      path.join(tmp, 'nowhere'),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no development identity in .*nowhere.*--create-identity/);
    expect(missing.stdout).toBe('');

    const badRole = await cse(['auth', 'token', '--sub', 'ops.zhang', '--role', 'root']);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain('--role must be one of');

    const minted = await cse([
      'auth',
      'token',
      '--sub',
      'Ops.Zhang',
      '--role',
      'recon.import',
      '--role',
      'recon.match',
      '--ttl',
      '10m',
      '--identity-dir',
      path.dirname(identity.publicKeyFile),
    ]);
    expect(minted.code).toBe(0);
    expect(minted.stderr).toContain('development token for ops.zhang');
    operatorToken = minted.stdout.trim();
    const claims = JSON.parse(Buffer.from(operatorToken.split('.')[1]!, 'base64url').toString('utf8')) as {
      sub: string;
      roles: string[];
      exp: number;
      iat: number;
    };
    expect(claims).toMatchObject({ sub: 'ops.zhang', roles: ['recon.import', 'recon.match'] });
    expect(claims.exp - claims.iat).toBe(600);
  });

  it('without a token the import is refused with a plain 401 (exit 3) and nothing is imported', async () => {
    const run = await cse(
      [
        'statement',
        'import',
        '--channel',
        'WECHAT',
        '--format',
        'generic',
        '--file',
        sample('generic-2026-11-22.csv'),
      ],
      api(),
    );
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(
      /^error: not authenticated \(401\) by the reconciliation service at http:\/\/127\.0\.0\.1:\d+: AUTH\.UNAUTHENTICATED: /,
    );
    expect(run.stderr).toContain('no token was sent: set CSE_TOKEN or pass --token-file');
    expect(run.stdout).toBe('');

    const forged = await cse(['recon', 'run', '--channel', 'WECHAT', '--date', '2026-11-22'], {
      ...api(),
      CSE_TOKEN: `${operatorToken.slice(0, -4)}AAAA`,
    });
    expect(forged.code).toBe(3);
    expect(forged.stderr).toContain('not authenticated (401)');
    expect(await stored('WECHAT')).toEqual({ files: 0, lines: 0 });
    const [runs] = await db.query<[{ n: number }]>('SELECT count(*)::int AS n FROM reconciliation.match_run');
    expect(runs.n).toBe(0);
  });

  it('with the token (from a file) the file is streamed and imported as the operator, and the match run classifies the day', async () => {
    const tokenFile = path.join(tmp, 'token');
    await writeFile(tokenFile, `${operatorToken}\n`, { mode: 0o600 });
    const imported = await cse(
      [
        'statement',
        'import',
        '--channel',
        'WECHAT',
        '--format',
        'generic',
        '--file',
        sample('generic-2026-11-22.csv'),
        '--date',
        '2026-11-22',
        '--token-file',
        tokenFile,
        '--json',
      ],
      api(),
    );
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    const result = JSON.parse(imported.stdout) as { statementFileId: string; lines: number };
    expect(result.lines).toBe(33);
    expect(await stored('WECHAT')).toEqual({ files: 1, lines: 33 });
    const [file] = await db.query<[Record<string, unknown>]>(
      'SELECT * FROM reconciliation.statement_file WHERE id = $1',
      [result.statementFileId],
    );
    expect(file).toMatchObject({ file_name: 'generic-2026-11-22.csv' });
    expect(uploaderOf(file)).toBe('ops.zhang');

    const run = await cse(['recon', 'run', '--channel', 'WECHAT', '--date', '2026-11-22'], {
      ...api(),
      CSE_TOKEN: operatorToken,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^match run #\d+: WECHAT 2026-11-22 against statement file #\d+/);
    expect(run.stdout).toMatch(/MATCHED\s+24\n/);
    expect(run.stdout).toContain('discrepancies opened 12');
    const runs = await db.query<{ started_by: string }[]>('SELECT started_by FROM reconciliation.match_run');
    expect(runs).toEqual([{ started_by: 'ops.zhang' }]);

    // A discrepancy resolved through the CLI: not by the operator (no recon.resolve: 403, exit 3),
    // by a clerk holding the role, recorded as theirs.
    const [open] = await db.query<{ id: string }[]>(
      `SELECT id::text FROM reconciliation.discrepancy WHERE status = 'OPEN' AND class = 'MISSING_INTERNAL' ORDER BY id LIMIT 1`,
    );
    const resolveArgs = ['discrepancy', 'resolve', open!.id, '--action', 'WRITE_OFF', '--note', 'test line'];
    const notAllowed = await cse(resolveArgs, { ...api(), CSE_TOKEN: operatorToken });
    expect(notAllowed.code).toBe(3);
    expect(notAllowed.stderr).toMatch(
      /^error: not allowed \(403\) by the reconciliation service .*recon\.resolve/,
    );
    const clerk = await mintDevToken(identity, { sub: 'recon.li', roles: [ROLE.resolveDiscrepancy] });
    const resolved = await cse([...resolveArgs, '--idempotency-key', 'k-resolve-1'], {
      ...api(),
      CSE_TOKEN: clerk,
    });
    expect(resolved.stderr).toBe('');
    expect(resolved.code).toBe(0);
    expect(resolved.stdout).toContain(
      `discrepancy ${open!.id} (MISSING_INTERNAL, WECHAT 2026-11-22): RESOLVED (WRITE_OFF) by recon.li`,
    );
    expect(resolved.stdout).toContain('key k-resolve-1');
    const [row] = await db.query<{ resolved_by: string }[]>(
      'SELECT resolved_by FROM reconciliation.discrepancy WHERE id = $1',
      [open!.id],
    );
    expect(row).toEqual({ resolved_by: 'recon.li' });

    // The same content again: the service's refusal, its code and message, exit code 2.
    const again = await cse(
      [
        'statement',
        'import',
        '--channel',
        'WECHAT',
        '--format',
        'generic',
        '--file',
        sample('generic-2026-11-22.csv'),
      ],
      { ...api(), CSE_TOKEN: operatorToken },
    );
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(
      /^error: refused \(409\) by the reconciliation service .*STATEMENT\.ALREADY_IMPORTED: /,
    );
    expect(await stored('WECHAT')).toEqual({ files: 1, lines: 33 });
  });

  it('names the URL and the variable when the service cannot be reached (exit 1)', async () => {
    const run = await cse(['recon', 'run', '--channel', 'WECHAT', '--date', '2026-11-22'], {
      CSE_RECONCILIATION_URL: 'http://127.0.0.1:9',
      CSE_TOKEN: operatorToken,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'error: cannot reach the reconciliation service at http://127.0.0.1:9 (connection refused); is it running? Its URL is CSE_RECONCILIATION_URL\n',
    );
  });

  it("`recon report` never prints a statement field's control sequences to the terminal", async () => {
    const header = (await readFile(sample('generic-2026-11-22.csv'), 'utf8')).split('\n')[0]!;
    const hostileFile = path.join(tmp, `pwned${HOSTILE}.csv`);
    await writeFile(
      hostileFile,
      `${header}\n420000000000009999,O-PWN${HOSTILE},PAYMENT,1.00,0.01,CNY,SUCCESS${HOSTILE},2026-11-22 10:00:00\n`,
    );
    const imported = await cse(
      [
        'statement',
        'import',
        '--channel',
        'PWN',
        '--format',
        'generic',
        '--file',
        hostileFile,
        '--date',
        '2026-11-22',
        '--match',
      ],
      { ...api(), CSE_TOKEN: operatorToken },
    );
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    // Stored as the channel sent it: the data is evidence, only its printing is made safe.
    const [line] = await db.query<[{ order_no: string }]>(
      `SELECT l.order_no FROM reconciliation.statement_line l
       JOIN reconciliation.statement_file f ON f.id = l.statement_file_id WHERE f.channel = 'PWN'`,
    );
    expect(line.order_no).toBe(`O-PWN${HOSTILE}`);

    const report = await cse(['recon', 'report', '--date', '2026-11-22', '--channel', 'PWN']);
    expect(report.code).toBe(0);
    expect(report.stdout).toContain('O-PWN]0;pwned[2J');
    expect(report.stdout).not.toContain(HOSTILE);
    // eslint-disable-next-line no-control-regex
    expect(report.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);

    // --json keeps the value, escaped by JSON itself.
    const json = await cse(['recon', 'report', '--date', '2026-11-22', '--channel', 'PWN', '--json']);
    expect(json.code).toBe(0);
    expect(json.stdout).toContain('\\u001b]0;pwned\\u0007\\u001b[2J');
    expect(json.stdout).not.toContain('\u001b');
    const parsed = JSON.parse(json.stdout) as { discrepancies: { orderNo: string }[] };
    expect(parsed.discrepancies.map((d) => d.orderNo)).toContain(`O-PWN${HOSTILE}`);
  });
});

/** Who uploaded a statement file (ADR 011 attribution). */
function uploaderOf(file: Record<string, unknown>): unknown {
  return file.uploaded_by;
}
