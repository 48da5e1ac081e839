/**
 * The clearing REST API on the real Postgres and Kafka: the whole service booted with NestFactory
 * and driven over HTTP with fetch — fee rule versions (create, overlap, a start in the past,
 * invalid drafts), the list, the rule in force, the fee quote, the error shape and the OpenAPI
 * document.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { dlqTopicOf, TOPIC } from '@app/contracts';
import { ensureTopics } from '@app/messaging';
import type { DataSource } from 'typeorm';
import { ClearingModule } from '../../apps/clearing/src/index.js';
import { migrateAll, openDataSource, testKafka, useIsolatedDatabase } from '../support/infra.js';
import { startServiceApp } from '../support/http-app.js';
import { staffFetch } from '../support/identity.js';

// Every call of this file as staff with every staff role (access itself: access-control.int-spec.ts).
const fetch = staffFetch();

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details?: Record<string, unknown>;
}

const YEAR = new Date().getUTCFullYear();
const START = `${YEAR + 2}-01-01T00:00:00+08:00`;
const SAMPLE_DAY = '2026-11-22T21:49:20+08:00';
const SEED_FROM = '2025-12-31T16:00:00.000Z';

const merchantDraft = (overrides: Record<string, unknown> = {}) => ({
  scope: { merchantId: 'M_HTTP', channel: 'WECHAT', paymentMethod: null },
  currency: 'CNY',
  formula: { kind: 'PERCENTAGE_PLUS_FIXED', rate: '0.0035', fixed: '0.10', rounding: 'HALF_UP' },
  refundPolicy: 'FULL',
  effectiveFrom: START,
  actor: 'finance.li',
  note: 'contract 2026-17',
  ...overrides,
});

describe('clearing HTTP API (real Postgres + Kafka)', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  // A prefix of its own: whatever consumers the service runs never meet another test's topics.
  const prefix = `${process.env.KAFKA_TOPIC_PREFIX ?? ''}clearing-http.`;
  const savedPrefix = process.env.KAFKA_TOPIC_PREFIX;
  let app: INestApplication;
  let base: string;
  let db: DataSource;

  beforeAll(async () => {
    await useIsolatedDatabase('clearing_http');
    await admin.connect();
    const topics = [TOPIC.reconItemMatchedV1, TOPIC.clearingItemClearedV1].map((t) => `${prefix}${t}`);
    await ensureTopics(admin, [...topics, ...topics.map((t) => dlqTopicOf(t))], 3);
    await migrateAll();
    process.env.KAFKA_TOPIC_PREFIX = prefix;
    ({ app: app, base: base } = await startServiceApp(ClearingModule));
    db = await openDataSource('clearing');
  });

  afterAll(async () => {
    await app?.close();
    await db?.destroy();
    await admin.disconnect();
    if (savedPrefix === undefined) delete process.env.KAFKA_TOPIC_PREFIX;
    else process.env.KAFKA_TOPIC_PREFIX = savedPrefix;
  });

  const postJson = (url: string, body: unknown) =>
    fetch(`${base}${url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const ruleCount = async () =>
    (await db.query<[{ n: number }]>('SELECT count(*)::int AS n FROM clearing.fee_rule'))[0].n;

  it('creates a version (201) and lists it with its audit fields', async () => {
    const response = await postJson('/fee-rules', merchantDraft());
    expect(response.status).toBe(201);
    const created = (await response.json()) as Record<string, unknown>;
    expect(created).toEqual({
      id: expect.stringMatching(/^\d+$/),
      version: 1,
      scope: { merchantId: 'M_HTTP', channel: 'WECHAT', paymentMethod: null },
      currency: 'CNY',
      formula: { kind: 'PERCENTAGE_PLUS_FIXED', rate: '0.0035', fixed: '0.10', rounding: 'HALF_UP' },
      refundPolicy: 'FULL',
      effectiveFrom: new Date(START).toISOString(),
      effectiveTo: null,
      createdBy: 'finance.li',
      createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      note: 'contract 2026-17',
    });

    const list = await fetch(`${base}/fee-rules?merchantId=M_HTTP`);
    expect(list.status).toBe(200);
    expect(await list.json()).toEqual([created]);
    const all = (await (await fetch(`${base}/fee-rules?currency=CNY`)).json()) as { id: string }[];
    expect(all.map((r) => r.id)).toHaveLength(2); // the seeded default, then the new one
  });

  it('refuses an overlapping version with 409 FEES.OVERLAP', async () => {
    const before = await ruleCount();
    const response = await postJson(
      '/fee-rules',
      merchantDraft({ effectiveFrom: `${YEAR + 1}-12-01T00:00:00+08:00` }),
    );
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({
      statusCode: 409,
      error: 'FEES.OVERLAP',
      message: expect.stringMatching(
        /^the new version \[.*, ∞\) of merchant M_HTTP, channel WECHAT, method any, CNY overlaps v1 \(rule \d+\)/,
      ),
    });
    expect(await ruleCount()).toBe(before);
  });

  it('answers 422 FEES.INVALID_RULE for a start in the past or a broken formula, 400 for a malformed draft', async () => {
    const before = await ruleCount();
    const past = await postJson('/fee-rules', merchantDraft({ effectiveFrom: '2026-06-01T00:00:00+08:00' }));
    expect(past.status).toBe(422);
    expect(await past.json()).toEqual({
      statusCode: 422,
      error: 'FEES.INVALID_RULE',
      message: expect.stringContaining('is in the past'),
    });

    const broken = await postJson(
      '/fee-rules',
      merchantDraft({
        formula: { kind: 'PERCENTAGE', rate: '6' },
        effectiveFrom: `${YEAR + 3}-01-01T00:00:00Z`,
      }),
    );
    expect(broken.status).toBe(422);
    expect(await broken.json()).toEqual({
      statusCode: 422,
      error: 'FEES.INVALID_RULE',
      message: expect.stringMatching(/^fee rule \(new\) v2: formula\.rate: "6" is not a rate in \[0, 1\)/),
    });

    const { scope: _omitted, ...withoutScope } = merchantDraft({ refundPolicy: 'SOME' });
    const malformed = await postJson('/fee-rules', withoutScope);
    expect(malformed.status).toBe(400);
    const body = (await malformed.json()) as ErrorBody;
    expect(body.error).toBe('REQUEST.INVALID');
    expect((body.details?.issues as { field: string }[]).map((i) => i.field)).toEqual([
      'scope',
      'refundPolicy',
    ]);
    expect(await ruleCount()).toBe(before);
  });

  it('answers the rule in force: the default on the sample day, the merchant’s from its start, 404 when none', async () => {
    const inForce = (query: Record<string, string>) =>
      fetch(`${base}/fee-rules/in-force?${new URLSearchParams(query).toString()}`);
    const sampleDay = await inForce({
      merchantId: 'M_HTTP',
      channel: 'WECHAT',
      currency: 'CNY',
      at: SAMPLE_DAY,
    });
    expect(sampleDay.status).toBe(200);
    expect(await sampleDay.json()).toMatchObject({
      version: 1,
      scope: { merchantId: null, channel: null, paymentMethod: null },
      formula: { kind: 'PERCENTAGE', rate: '0.006', rounding: 'HALF_UP' },
      effectiveFrom: SEED_FROM,
      effectiveTo: null,
    });
    const fromStart = await inForce({ merchantId: 'M_HTTP', channel: 'WECHAT', currency: 'CNY', at: START });
    expect(await fromStart.json()).toMatchObject({ scope: { merchantId: 'M_HTTP', channel: 'WECHAT' } });
    const otherChannel = await inForce({
      merchantId: 'M_HTTP',
      channel: 'ALIPAY',
      currency: 'CNY',
      at: START,
    });
    expect(await otherChannel.json()).toMatchObject({ scope: { merchantId: null } });

    const none = await inForce({ merchantId: 'M_HTTP', channel: 'WECHAT', currency: 'USD', at: SAMPLE_DAY });
    expect(none.status).toBe(404);
    expect(await none.json()).toEqual({
      statusCode: 404,
      error: 'FEES.NO_RULE',
      message: `no fee rule in force for merchant M_HTTP, channel WECHAT, payment method (none), currency USD at ${SAMPLE_DAY}`,
    });
    const missing = await inForce({ merchantId: 'M_HTTP', currency: 'CNY', at: 'yesterday' });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as ErrorBody).details?.issues as { field: string }[]).toEqual([
      expect.objectContaining({ field: 'channel' }),
      expect.objectContaining({ field: 'at' }),
    ]);
  });

  it('quotes a payment without writing anything: 90.00 + coupon 10.00 (6/4) → fee 0.60, net 95.40, channel cost 0.54', async () => {
    const before = await ruleCount();
    const response = await postJson('/fees/quote', {
      merchantId: 'M00001',
      channel: 'WECHAT',
      amount: '90.00',
      currency: 'CNY',
      coupon: { amount: '10.00', merchantFunded: '4.00', platformFunded: '6.00' },
      at: SAMPLE_DAY,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      currency: 'CNY',
      amount: '90.00',
      orderValue: '100.00',
      couponMerchantFunded: '4.00',
      couponPlatformFunded: '6.00',
      pending: '96.00',
      fee: '0.60',
      merchantNet: '95.40',
      channelCost: '0.54',
    });

    // The merchant's own rule from its start: 1000.00 × 0.35% + 0.10.
    const own = await postJson('/fees/quote', {
      merchantId: 'M_HTTP',
      channel: 'WECHAT',
      paymentMethod: 'JSAPI',
      amount: '1000.00',
      currency: 'CNY',
      at: START,
    });
    expect(await own.json()).toMatchObject({ fee: '3.60', merchantNet: '996.40', channelCost: '6.00' });

    const badCoupon = await postJson('/fees/quote', {
      merchantId: 'M00001',
      channel: 'WECHAT',
      amount: '90.00',
      currency: 'CNY',
      coupon: { amount: '10.00', merchantFunded: '4.00', platformFunded: '5.00' },
      at: SAMPLE_DAY,
    });
    expect(badCoupon.status).toBe(422);
    expect(await badCoupon.json()).toEqual({
      statusCode: 422,
      error: 'FEES.INVALID_INPUT',
      message: 'coupon: merchantFunded 4.00 + platformFunded 5.00 ≠ amount 10.00 CNY',
    });
    const badAmount = await postJson('/fees/quote', {
      merchantId: 'M00001',
      channel: 'WECHAT',
      amount: 90,
      currency: 'CNY',
    });
    expect(badAmount.status).toBe(400);
    expect(((await badAmount.json()) as ErrorBody).error).toBe('REQUEST.INVALID');
    expect(await ruleCount()).toBe(before);
  });

  it('serves the OpenAPI document at /docs-json with every fee endpoint', async () => {
    const response = await fetch(`${base}/docs-json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    const operations = Object.entries(document.paths).flatMap(([p, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(operations).toEqual(
      expect.arrayContaining([
        'POST /fee-rules',
        'GET /fee-rules',
        'GET /fee-rules/in-force',
        'POST /fees/quote',
      ]),
    );
    expect(Object.keys(document.components.schemas)).toEqual(
      expect.arrayContaining(['ApiError', 'FeeRule', 'FeeFormula', 'PaymentSplit', 'CreateFeeRuleRequest']),
    );
    expect((await fetch(`${base}/docs`)).status).toBe(200);
  });
});
