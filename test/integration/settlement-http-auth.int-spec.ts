/**
 * Maker-checker with authenticated callers: the settlement service booted with
 * HTTP_AUTH_JWT_SECRET takes the approver from the bearer token's `sub`, not from the body. No
 * token, a forged, expired or foreign-issuer token → 401; a body naming someone else, or a token
 * without the command's role → 403; the close job's principal cannot approve its own records even
 * with a valid token; the approval is recorded under the token's principal. Real Postgres and Kafka.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { SignJWT } from 'jose';
import { dlqTopicOf, TOPIC } from '@app/contracts';
import { Ledger } from '@app/ledger';
import { ensureTopics } from '@app/messaging';
import type { DataSource } from 'typeorm';
import { itemCleared, SettlementModule } from '../../apps/settlement/src/index.js';
import { migrateAll, openDataSource, testKafka, useIsolatedDatabase } from '../support/infra.js';
import { startServiceApp } from '../support/http-app.js';
import { clearIntoSettleable } from '../support/settlement-payouts.js';

const SECRET = 'test-only-secret-of-at-least-32-characters!';
const ISSUER = 'https://id.example.test';
const APPROVER = { roles: ['settlement.approve'] };

describe('settlement HTTP commands with bearer tokens (real Postgres + Kafka)', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  const saved = {
    prefix: process.env.KAFKA_TOPIC_PREFIX,
    secret: process.env.HTTP_AUTH_JWT_SECRET,
    issuer: process.env.HTTP_AUTH_JWT_ISSUER,
  };
  const prefix = `${saved.prefix ?? ''}settlement-http-auth.`;
  let app: INestApplication;
  let base: string;
  let db: DataSource;
  let recordId: string;

  const token = (
    sub: string,
    options: { roles?: string[]; secret?: string; issuer?: string; expiresIn?: string } = {},
  ) =>
    new SignJWT({ roles: options.roles ?? [] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setIssuer(options.issuer ?? ISSUER)
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? '5m')
      .sign(new TextEncoder().encode(options.secret ?? SECRET));

  const post = async (url: string, body: unknown, key: string, bearer?: string) => {
    const response = await fetch(`${base}${url}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': key,
        ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
      },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    await useIsolatedDatabase('settlement_http_auth');
    await admin.connect();
    const topic = `${prefix}${TOPIC.clearingItemClearedV1}`;
    await ensureTopics(admin, [topic, dlqTopicOf(topic)], 3);
    await migrateAll();
    db = await openDataSource('settlement');
    expect(await clearIntoSettleable(db, new Ledger(), [itemCleared('M_AUTH', '2026-09-25', '88.00')])).toBe(
      1,
    );
    process.env.KAFKA_TOPIC_PREFIX = prefix;
    process.env.HTTP_AUTH_JWT_SECRET = SECRET;
    process.env.HTTP_AUTH_JWT_ISSUER = ISSUER;
    ({ app: app, base: base } = await startServiceApp(SettlementModule, ['error']));
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await db?.destroy();
    await admin.disconnect();
    for (const [name, value] of [
      ['KAFKA_TOPIC_PREFIX', saved.prefix],
      ['HTTP_AUTH_JWT_SECRET', saved.secret],
      ['HTTP_AUTH_JWT_ISSUER', saved.issuer],
    ] as const)
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
  });

  it('needs a token to close a cycle, and audits who closed it', async () => {
    const anonymous = await post('/cycles/close', { date: '2026-09-28' }, 'c-0');
    expect(anonymous).toMatchObject({ status: 401, body: { error: 'AUTH.UNAUTHENTICATED' } });
    const noRole = await post('/cycles/close', { date: '2026-09-28' }, 'c-2', await token('ops:zhao'));
    expect(noRole).toMatchObject({
      status: 403,
      body: { error: 'AUTH.FORBIDDEN', message: expect.stringContaining('lacks the role settlement.close') },
    });
    const closed = await post(
      '/cycles/close',
      { date: '2026-09-28' },
      'c-1',
      await token('ops:zhao', { roles: ['settlement.close'] }),
    );
    expect(closed).toMatchObject({ status: 200, body: { recordsCreated: 1 } });
    const [record] = await db.query<{ id: string; submitted_by: string; by: string }[]>(
      `SELECT r.id::text, r.submitted_by, a.by FROM settlement.settlement_record r
       JOIN settlement.record_audit a ON a.record_id = r.id AND a.action = 'CREATED'`,
    );
    // The closer is the maker (issue 15 hole 4: it used to stay system:cycle-close whoever closed).
    expect(record).toMatchObject({ submitted_by: 'ops:zhao', by: 'ops:zhao' });
    recordId = record!.id;
  });

  it('refuses commands without a valid token: missing, forged, expired, another issuer', async () => {
    const url = `/settlement-records/${recordId}/approve`;
    const cases = [
      [undefined, 'a bearer token is required'],
      [
        await token('finance:li', { secret: 'another-secret-that-is-32-chars-long!!' }),
        'its signature does not verify',
      ],
      [await token('finance:li', { expiresIn: '-2m' }), 'it has expired'],
      [await token('finance:li', { issuer: 'https://evil.example' }), 'claim iss'],
      ['not.a.jwt', 'it is malformed'],
    ] as const;
    for (const [bearer, why] of cases) {
      const refused = await post(url, {}, `bad-${why}`, bearer);
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({
        error: 'AUTH.UNAUTHENTICATED',
        message: expect.stringContaining(why),
      });
    }
    const [row] = await db.query<{ status: string; version: number }[]>(
      'SELECT status, version FROM settlement.settlement_record WHERE id = $1',
      [recordId],
    );
    expect(row).toEqual({ status: 'PENDING_APPROVAL', version: 1 });
  });

  it("refuses acting in someone else's name, a caller without the approver role, and the close job's principal approving its own record", async () => {
    const url = `/settlement-records/${recordId}/approve`;
    const impostor = await post(url, { by: 'finance:wang' }, 'imp-1', await token('finance:li', APPROVER));
    expect(impostor).toMatchObject({
      status: 403,
      body: {
        error: 'AUTH.PRINCIPAL_MISMATCH',
        message: expect.stringContaining("the token is finance:li's"),
      },
    });
    const operator = await post(url, {}, 'op-1', await token('ops:zhao', { roles: ['settlement.close'] }));
    expect(operator).toMatchObject({ status: 403, body: { error: 'AUTH.FORBIDDEN' } });
    // The operator who closed holds the approver role too: still the maker, still refused, in any
    // spelling of their name.
    for (const [i, sub] of ['ops:zhao', 'OPS:Zhao', 'ｏｐｓ：ｚｈａｏ'].entries()) {
      const maker = await post(
        url,
        {},
        `maker-${i}`,
        await token(sub, { roles: ['settlement.close', 'settlement.approve'] }),
      );
      expect(maker).toMatchObject({ status: 403, body: { error: 'SETTLEMENT.SELF_APPROVAL' } });
    }
  });

  it("approves as the token's principal, with or without the matching body field", async () => {
    const approved = await post(
      `/settlement-records/${recordId}/approve`,
      {},
      'ok-1',
      await token('finance:li', APPROVER),
    );
    expect(approved).toMatchObject({ status: 200, body: { status: 'APPROVED', version: 2 } });
    expect((approved.body.approvals as { by: string }[]).map((a) => a.by)).toEqual(['finance:li']);
    const audit = await db.query<{ by: string; action: string; to_status: string }[]>(
      `SELECT by, action, to_status FROM settlement.record_audit WHERE record_id = $1 AND action = 'APPROVE' ORDER BY id`,
      [recordId],
    );
    // The refused self-approval is audited under the authenticated principal too.
    expect(audit).toEqual([
      { by: 'ops:zhao', action: 'APPROVE', to_status: 'PENDING_APPROVAL' },
      { by: 'ops:zhao', action: 'APPROVE', to_status: 'PENDING_APPROVAL' },
      { by: 'ops:zhao', action: 'APPROVE', to_status: 'PENDING_APPROVAL' },
      { by: 'finance:li', action: 'APPROVE', to_status: 'APPROVED' },
    ]);
  });
});
