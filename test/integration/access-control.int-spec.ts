/**
 * Who may call what, over every route of every service (issue 15): the routes are read from each
 * running app's router, so a route added without a row in ACCESS below fails this test (and a
 * route without an access rule stops the service at boot). Each route is called as five callers —
 * no token, an expired token, a token with every role but the one needed, a merchant user of
 * another merchant, and the right caller — and must answer the status the table expects. Refusals
 * are audited. Real Postgres, Kafka and the three Nest apps on real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { ROLE, type Role } from '@app/http';
import { Ledger } from '@app/ledger';
import { SignJWT } from 'jose';
import type { DataSource } from 'typeorm';
import { ClearingModule } from '../../apps/clearing/src/index.js';
import { ReconciliationModule } from '../../apps/reconciliation/src/index.js';
import { itemCleared, CycleCloseService, SettlementModule } from '../../apps/settlement/src/index.js';
import { startServiceApp } from '../support/http-app.js';
import { STAFF_ROLES, tokenFor } from '../support/identity.js';
import { migrateAll, openDataSource, useIsolatedDatabase } from '../support/infra.js';
import { clearIntoSettleable } from '../support/settlement-payouts.js';

type Service = 'reconciliation' | 'clearing' | 'settlement';

/** What a route declares, as this test expects it. */
type Expected =
  | { rule: 'PUBLIC' }
  | { rule: 'COMMAND'; role: Role; rightStatus: number }
  | { rule: 'READ'; rightStatus: number }
  /**
   * Finance reads all; a merchant user its own (rightStatus), and another's as `otherStatus`: 404
   * for a resource, 200 for a list (which then holds only its own: checked below).
   */
  | { rule: 'MERCHANT_READ'; rightStatus: number; otherStatus: number };

const OWN = 'M_OWN';
const OTHER = 'M_OTHER';

/**
 * Every route of every service. Paths are the router's; `:id` is filled with the record of OTHER
 * for merchant reads (so the merchant user of OWN must get 404) and with an id that does not
 * exist elsewhere. The right caller's status is what an empty or minimal request gets once it is
 * let in: a 400 for a command proves the body was validated only after the caller was checked.
 */
const ACCESS: Record<Service, Record<string, Expected>> = {
  reconciliation: {
    'GET /health': { rule: 'PUBLIC' },
    'GET /health/ready': { rule: 'PUBLIC' },
    'GET /docs': { rule: 'PUBLIC' },
    'GET /docs/*': { rule: 'PUBLIC' },
    'GET /docs-json': { rule: 'PUBLIC' },
    'POST /statements': { rule: 'COMMAND', role: ROLE.importStatement, rightStatus: 400 },
    'POST /match-runs': { rule: 'COMMAND', role: ROLE.runMatch, rightStatus: 400 },
    'GET /discrepancies': { rule: 'READ', rightStatus: 200 },
    'GET /discrepancies/:id': { rule: 'READ', rightStatus: 404 },
    'POST /discrepancies/:id/confirm-adjustment': {
      rule: 'COMMAND',
      role: ROLE.resolveDiscrepancy,
      rightStatus: 400,
    },
    'POST /discrepancies/:id/reject-adjustment': {
      rule: 'COMMAND',
      role: ROLE.resolveDiscrepancy,
      rightStatus: 400,
    },
    'POST /discrepancies/:id/resolve': { rule: 'COMMAND', role: ROLE.resolveDiscrepancy, rightStatus: 400 },
    'GET /reports/reconciliation': { rule: 'READ', rightStatus: 400 },
    'GET /reports/reconciliation.csv': { rule: 'READ', rightStatus: 400 },
  },
  clearing: {
    'GET /health': { rule: 'PUBLIC' },
    'GET /health/ready': { rule: 'PUBLIC' },
    'GET /docs': { rule: 'PUBLIC' },
    'GET /docs/*': { rule: 'PUBLIC' },
    'GET /docs-json': { rule: 'PUBLIC' },
    'POST /fee-rules': { rule: 'COMMAND', role: ROLE.manageFeeRules, rightStatus: 400 },
    'GET /fee-rules': { rule: 'READ', rightStatus: 200 },
    'GET /fee-rules/in-force': { rule: 'READ', rightStatus: 400 },
    'POST /fees/quote': { rule: 'READ', rightStatus: 400 },
    'GET /internal-reconciliation': { rule: 'READ', rightStatus: 400 },
    'GET /cleared-items/summary': { rule: 'READ', rightStatus: 400 },
  },
  settlement: {
    'GET /health': { rule: 'PUBLIC' },
    'GET /health/ready': { rule: 'PUBLIC' },
    'GET /docs': { rule: 'PUBLIC' },
    'GET /docs/*': { rule: 'PUBLIC' },
    'GET /docs-json': { rule: 'PUBLIC' },
    'GET /settlement-records': { rule: 'MERCHANT_READ', rightStatus: 200, otherStatus: 200 },
    'GET /settlement-records/:id': { rule: 'MERCHANT_READ', rightStatus: 200, otherStatus: 404 },
    'GET /settlement-records/:id/statement.csv': {
      rule: 'MERCHANT_READ',
      rightStatus: 200,
      otherStatus: 404,
    },
    'POST /settlement-records/:id/approve': {
      rule: 'COMMAND',
      role: ROLE.approveSettlement,
      rightStatus: 400,
    },
    'POST /settlement-records/:id/reject': {
      rule: 'COMMAND',
      role: ROLE.approveSettlement,
      rightStatus: 400,
    },
    'POST /settlement-records/:id/retry-payout': {
      rule: 'COMMAND',
      role: ROLE.retryPayout,
      rightStatus: 400,
    },
    'POST /cycles/close': { rule: 'COMMAND', role: ROLE.closeCycle, rightStatus: 400 },
    'GET /settlement-summary': { rule: 'READ', rightStatus: 400 },
  },
};

type Caller = 'no token' | 'expired' | 'wrong role' | 'other merchant' | 'right role';
const CALLERS: readonly Caller[] = ['no token', 'expired', 'wrong role', 'other merchant', 'right role'];

/** The status each caller must get for a route. */
function expectedStatus(expected: Expected, caller: Caller): number {
  if (expected.rule === 'PUBLIC') return 200;
  if (caller === 'no token' || caller === 'expired') return 401;
  switch (expected.rule) {
    case 'COMMAND':
      return caller === 'right role' ? expected.rightStatus : 403;
    case 'READ':
      return caller === 'right role' ? expected.rightStatus : 403;
    case 'MERCHANT_READ':
      // "other merchant" is OWN's user asking for OTHER's record: as if it did not exist.
      if (caller === 'other merchant') return expected.otherStatus;
      return caller === 'right role' ? expected.rightStatus : 403;
  }
}

/** The routes an Express app serves, as "METHOD /path" (HEAD, which Express adds to GET, left out). */
function routesOf(app: INestApplication): string[] {
  const express = app.getHttpAdapter().getInstance() as {
    router?: { stack: Layer[] };
    _router?: { stack: Layer[] };
  };
  type Layer = { route?: { path: string; methods: Record<string, boolean> } };
  const stack = (express.router ?? express._router)?.stack ?? [];
  return stack.flatMap((layer) =>
    layer.route === undefined
      ? []
      : Object.keys(layer.route.methods)
          .filter((m) => m !== '_all' && m !== 'head')
          // Swagger UI's own files (index.html, scripts, licence) are one public route here.
          .map(
            (m) =>
              `${m.toUpperCase()} ${layer.route!.path.startsWith('/docs/') ? '/docs/*' : layer.route!.path}`,
          ),
  );
}

describe('access control over every route of every service (real Postgres + Kafka + HTTP)', () => {
  const saved = process.env.KAFKA_TOPIC_PREFIX;
  const apps = new Map<Service, { app: INestApplication; base: string }>();
  let db: DataSource;
  let otherRecordId: string;
  let ownRecordId: string;

  beforeAll(async () => {
    await useIsolatedDatabase('access_control');
    await migrateAll();
    db = await openDataSource('settlement');
    const ledger = new Ledger();
    await clearIntoSettleable(db, ledger, [
      itemCleared(OWN, '2026-09-25', '10.00'),
      itemCleared(OTHER, '2026-09-25', '20.00'),
    ]);
    await new CycleCloseService(db, ledger).close('2026-09-28', { by: 'ops.zhang' });
    const records = await db.query<{ id: string; merchant_id: string }[]>(
      'SELECT id::text, merchant_id FROM settlement.settlement_record',
    );
    otherRecordId = records.find((r) => r.merchant_id === OTHER)!.id;
    ownRecordId = records.find((r) => r.merchant_id === OWN)!.id;
    process.env.KAFKA_TOPIC_PREFIX = `${saved ?? ''}access-control.`;
    apps.set('reconciliation', await startServiceApp(ReconciliationModule, ['error']));
    apps.set('clearing', await startServiceApp(ClearingModule, ['error']));
    apps.set('settlement', await startServiceApp(SettlementModule, ['error']));
  }, 120_000);

  afterAll(async () => {
    for (const { app } of apps.values()) await app.close();
    await db?.destroy();
    process.env.KAFKA_TOPIC_PREFIX = saved;
  });

  it('has a row for every route each running app serves, and no row for a route that is gone', () => {
    for (const [service, { app }] of apps) {
      const served = [...new Set(routesOf(app))].sort();
      expect({ service, routes: served }).toEqual({ service, routes: Object.keys(ACCESS[service]).sort() });
    }
  });

  const tokenOf = async (caller: Caller, expected: Expected): Promise<string | undefined> => {
    const neededRole = expected.rule === 'COMMAND' ? expected.role : ROLE.financeRead;
    switch (caller) {
      case 'no token':
        return undefined;
      case 'expired': {
        // Signed right and holding every role, but expired a minute ago (past the 30 s leeway).
        const now = Math.floor(Date.now() / 1000);
        return new SignJWT({ roles: [...STAFF_ROLES] })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('finance.wang')
          .setIssuedAt(now - 600)
          .setExpirationTime(now - 60)
          .sign(new TextEncoder().encode(process.env.HTTP_AUTH_JWT_SECRET));
      }
      case 'wrong role':
        // Every staff role but the one the route needs (and finance.read removed for reads).
        return tokenFor(
          'ops.nobody',
          STAFF_ROLES.filter((r) => r !== neededRole),
        );
      case 'other merchant':
        return tokenFor('merchant.own', [ROLE.merchant], { merchantId: OWN });
      case 'right role':
        return expected.rule === 'MERCHANT_READ'
          ? tokenFor('merchant.other', [ROLE.merchant], { merchantId: OTHER })
          : tokenFor('finance.zhou', [neededRole]);
    }
  };

  const call = async (service: Service, route: string, bearer: string | undefined): Promise<number> => {
    const [method, path] = route.split(' ') as [string, string];
    const url = `${apps.get(service)!.base}${path
      .replace(':id', service === 'settlement' ? otherRecordId : '999999999')
      .replace('*', 'index.html')}`;
    const response = await fetch(url, {
      method,
      redirect: 'manual',
      headers: {
        ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
        ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
      },
      ...(method === 'POST' ? { body: '{}' } : {}),
    });
    await response.arrayBuffer();
    // Swagger UI answers /docs with a redirect to /docs/ on some versions: that is "let in" too.
    return response.status === 301 ? 200 : response.status;
  };

  it('answers each caller of each route with the expected status', async () => {
    const mismatches: string[] = [];
    let checked = 0;
    for (const service of Object.keys(ACCESS) as Service[])
      for (const [route, expected] of Object.entries(ACCESS[service]))
        for (const caller of CALLERS) {
          const status = await call(service, route, await tokenOf(caller, expected));
          const want = expectedStatus(expected, caller);
          checked += 1;
          if (status !== want)
            mismatches.push(`${service} ${route} as ${caller}: ${status}, expected ${want}`);
        }
    expect(mismatches).toEqual([]);
    expect(checked).toBe(5 * Object.values(ACCESS).reduce((n, routes) => n + Object.keys(routes).length, 0));
  }, 120_000);

  it('lets a merchant user read its own record and statement, and lists only its own records', async () => {
    const base = apps.get('settlement')!.base;
    const own = {
      authorization: `Bearer ${await tokenFor('merchant.own', [ROLE.merchant], { merchantId: OWN })}`,
    };
    expect((await fetch(`${base}/settlement-records/${ownRecordId}`, { headers: own })).status).toBe(200);
    const csv = await fetch(`${base}/settlement-records/${ownRecordId}/statement.csv`, { headers: own });
    expect(csv.status).toBe(200);
    expect(await csv.text()).toContain(OWN);
    const listed = (await (await fetch(`${base}/settlement-records`, { headers: own })).json()) as {
      merchantId: string;
    }[];
    expect(listed.map((r) => r.merchantId)).toEqual([OWN]);
    // Asking for the other merchant by filter gives nothing, not the other's records.
    const filtered = (await (
      await fetch(`${base}/settlement-records?merchantId=${OTHER}`, { headers: own })
    ).json()) as unknown[];
    expect(filtered).toEqual([]);
    // A token with the merchant role but no merchant claim reads nothing.
    const unscoped = { authorization: `Bearer ${await tokenFor('merchant.none', [ROLE.merchant])}` };
    expect((await fetch(`${base}/settlement-records`, { headers: unscoped })).status).toBe(403);
  });

  it('audits every refusal and every command in the service’s append-only command_audit', async () => {
    const rows = await db.query<{ outcome: string; http_status: number; n: string }[]>(
      `SELECT outcome, http_status, count(*)::text AS n FROM settlement.command_audit GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    const refused401 = rows.find((r) => r.outcome === 'REFUSED' && r.http_status === 401);
    const refused403 = rows.find((r) => r.outcome === 'REFUSED' && r.http_status === 403);
    expect(Number(refused401?.n ?? 0)).toBeGreaterThan(0);
    expect(Number(refused403?.n ?? 0)).toBeGreaterThan(0);
    const [approve] = await db.query<{ principal: string; action: string; roles: string[]; code: string }[]>(
      `SELECT principal, action, roles, code FROM settlement.command_audit
       WHERE action = 'SETTLEMENT_APPROVE' AND principal = 'finance.zhou' ORDER BY id DESC LIMIT 1`,
    );
    expect(approve).toMatchObject({ principal: 'finance.zhou', roles: [ROLE.approveSettlement] });
    await expect(db.query('UPDATE settlement.command_audit SET outcome = $1', ['APPLIED'])).rejects.toThrow(
      'append-only',
    );
    await expect(db.query('DELETE FROM settlement.command_audit')).rejects.toThrow('append-only');
  });
});
