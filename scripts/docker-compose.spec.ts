// Static checks of docker-compose.yml (no Docker needed): the file parses, and the wiring between the
// services (images, KRaft roles, health-gated depends_on, connection settings) is what the apps expect.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';

type Env = Record<string, string>;

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[] };
  ports?: (string | number | { published?: string | number; target?: number })[];
}

interface Compose {
  services: Record<string, Service>;
}

const root = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url));
const source = readFileSync(root('docker-compose.yml'), 'utf8');
// `merge: true`: the file shares settings through YAML anchors and `<<` merge keys.
const doc = parseDocument(source, { merge: true });
const compose = doc.toJS() as Compose;
const services = compose.services;

const APP_SERVICES = { reconciliation: 3001, clearing: 3002, settlement: 3003 } as const;
/** Compose service → its app under apps/. */
const ENTRY_POINTS = {
  reconciliation: 'reconciliation',
  clearing: 'clearing',
  settlement: 'settlement',
  'payout-gateway': 'payout-gateway-simulator',
} as const;

function envOf(s: Service): Env {
  const e = s.environment ?? {};
  if (Array.isArray(e)) {
    return Object.fromEntries(
      e.map((kv) => {
        const i = kv.indexOf('=');
        return i < 0 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v == null ? '' : String(v)]));
}

function dependsOn(s: Service): Record<string, string | undefined> {
  const d = s.depends_on ?? [];
  if (Array.isArray(d)) return Object.fromEntries(d.map((name) => [name, undefined]));
  return Object.fromEntries(Object.entries(d).map(([name, v]) => [name, v?.condition]));
}

function service(name: string): Service {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
}

const commandOf = (s: Service): string =>
  Array.isArray(s.command) ? s.command.join(' ') : (s.command ?? '');

describe('docker-compose.yml', () => {
  it('parses as YAML without errors or warnings, with a services map', () => {
    expect(doc.errors.map((e) => e.message)).toEqual([]);
    expect(doc.warnings.map((w) => w.message)).toEqual([]);
    expect(typeof services).toBe('object');
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining(['kafka', 'postgres', 'reconciliation', 'clearing', 'settlement']),
    );
  });

  it('gives every service that listens beyond loopback a token verification key (secure by default)', () => {
    for (const name of Object.keys(APP_SERVICES)) {
      const env = envOf(service(name));
      expect({ name, host: env.HTTP_HOST }).toEqual({ name, host: '0.0.0.0' });
      expect({ name, key: env.HTTP_AUTH_JWT_PUBLIC_KEY_FILE }).toEqual({
        name,
        key: '/run/identity/public.pem',
      });
      expect(env.AUTH_MODE).toBeUndefined();
    }
  });

  describe('kafka', () => {
    const kafka = service('kafka');
    const env = envOf(kafka);

    it('runs apache/kafka:3.9.1', () => {
      expect(kafka.image).toBe('apache/kafka:3.9.1');
    });

    it('is a single KRaft node acting as broker and controller (no ZooKeeper)', () => {
      expect(
        env.KAFKA_PROCESS_ROLES?.split(',')
          .map((r) => r.trim())
          .sort(),
      ).toEqual(['broker', 'controller']);
      expect(env.KAFKA_NODE_ID).toBe('1');
      expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS).toMatch(/^1@kafka:\d+$/);
      expect(env.KAFKA_CONTROLLER_LISTENER_NAMES).toBe('CONTROLLER');
      expect(Object.keys(env).filter((k) => k.includes('ZOOKEEPER'))).toEqual([]);
    });

    it('advertises kafka:19092 inside the network and localhost:9092 to the host', () => {
      const advertised = (env.KAFKA_ADVERTISED_LISTENERS ?? '').split(',');
      expect(advertised).toEqual(
        expect.arrayContaining(['PLAINTEXT://kafka:19092', 'EXTERNAL://localhost:9092']),
      );
      expect(env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP).toContain('EXTERNAL:PLAINTEXT');
      expect(kafka.ports?.map(String)).toContain('9092:9092');
    });

    it('has a healthcheck', () => {
      expect(kafka.healthcheck?.test).toBeDefined();
    });
  });

  describe('postgres', () => {
    const postgres = service('postgres');

    it('runs PostgreSQL 16', () => {
      expect(postgres.image).toMatch(/^postgres:16(?:[.-]|$)/);
    });

    it('has a pg_isready healthcheck and keeps its data in a volume', () => {
      const test = postgres.healthcheck?.test;
      expect(Array.isArray(test) ? test.join(' ') : test).toContain('pg_isready');
      expect(JSON.stringify(postgres)).toContain('/var/lib/postgresql/data');
    });
  });

  describe.each(Object.entries(APP_SERVICES))('%s', (name, port) => {
    const s = service(name);
    const env = envOf(s);

    it('waits for kafka and postgres to be healthy', () => {
      const deps = dependsOn(s);
      expect(deps.kafka).toBe('service_healthy');
      expect(deps.postgres).toBe('service_healthy');
    });

    it('is given DATABASE_URL and KAFKA_BROKERS that point at the compose services', () => {
      expect(env.DATABASE_URL).toBe('postgres://postgres@postgres:5432/clearing');
      expect(env.KAFKA_BROKERS).toBe('kafka:19092');
      // The broker address must be one Kafka advertises, or clients are redirected somewhere else.
      expect(envOf(service('kafka')).KAFKA_ADVERTISED_LISTENERS).toContain(`//${env.KAFKA_BROKERS}`);
    });

    it(`serves HTTP on ${port}, reachable from outside its container`, () => {
      expect(env.HTTP_PORT).toBe(String(port));
      expect(env.HTTP_HOST).toBe('0.0.0.0');
      expect(s.ports?.map(String)).toContain(`${port}:${port}`);
    });

    it('is built from the root Dockerfile', () => {
      const build = typeof s.build === 'string' ? { context: s.build } : s.build;
      expect(build?.context).toBe('.');
      expect(build?.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
    });
  });

  // Every app service, the payout gateway simulator too: compiled JavaScript from dist/, never the
  // TypeScript register (a devDependency, absent from the image).
  describe.each(Object.entries(ENTRY_POINTS))('%s runs compiled JavaScript', (name, app) => {
    const command = commandOf(service(name));

    it(`starts dist/apps/${app}/src/main.js, built from apps/${app}/src/main.ts`, () => {
      expect(command).toMatch(new RegExp(`^node (?:--[\\w-]+(?:=\\S+)? )*dist/apps/${app}/src/main\\.js$`));
      expect(existsSync(root(`apps/${app}/src/main.ts`))).toBe(true);
    });

    it('loads no TypeScript register', () => {
      expect(command).not.toContain('@swc-node');
      expect(command).not.toContain('--import');
      expect(command).not.toMatch(/\.ts\b/);
    });
  });

  it('keeps the V8 flags of npm run start:reconciliation on reconciliation', () => {
    const pkg = JSON.parse(readFileSync(root('package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(commandOf(service('reconciliation'))).toBe(pkg.scripts['start:reconciliation']);
  });

  it('every depends_on target exists, and health-gated targets have a healthcheck', () => {
    const problems: string[] = [];
    for (const [name, s] of Object.entries(services)) {
      for (const [target, condition] of Object.entries(dependsOn(s))) {
        if (!services[target]) problems.push(`${name} depends on missing service ${target}`);
        else if (condition === 'service_healthy' && !services[target].healthcheck) {
          problems.push(`${name} waits for ${target} to be healthy, but ${target} has no healthcheck`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('publishes no host port twice', () => {
    // "${POSTGRES_HOST_PORT:-5432}:5432" counts as its default, 5432.
    const hostPort = (p: string): string | undefined =>
      p
        .replace(/\$\{[^:}]+:-([^}]*)\}/g, '$1')
        .split(':')
        .at(-2);
    const published = Object.values(services).flatMap((s) =>
      (s.ports ?? []).map((p) => (typeof p === 'object' ? String(p.published) : hostPort(String(p)))),
    );
    expect(published).toContain('5432');
    expect(published.length).toBe(new Set(published).size);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(root('Dockerfile'), 'utf8');
  // The stages, split at each FROM: a build stage, then the runtime stage the image is.
  const stages = dockerfile.split(/^(?=FROM )/m).filter((s) => s.startsWith('FROM '));
  const build = stages[0] ?? '';
  const runtime = stages.at(-1) ?? '';

  it('has two stages on node:20-bookworm-slim: build, then runtime', () => {
    expect(stages).toHaveLength(2);
    expect(build).toMatch(/^FROM node:20-bookworm-slim AS build\b/);
    expect(runtime).toMatch(/^FROM node:20-bookworm-slim AS runtime\b/);
  });

  it('builds with every dependency: npm ci, then npm run build (a script package.json has)', () => {
    expect(build).toMatch(/^RUN .*\bnpm ci$/m);
    expect(build).toMatch(/^RUN npm run build$/m);
    const pkg = JSON.parse(readFileSync(root('package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.build).toBeDefined();
  });

  it('runs with production dependencies and dist/ only, as the non-root user node', () => {
    expect(runtime).toMatch(/^RUN .*\bnpm ci --omit=dev$/m);
    expect(runtime).toMatch(/^COPY --from=build\b.* \/app\/dist \.\/dist$/m);
    // Nothing else comes from the build context but package.json (its "type": "module") and the lock.
    const copies = runtime.match(/^COPY .*$/gm) ?? [];
    expect(copies.filter((c) => !c.includes('--from=build'))).toEqual([
      'COPY --chown=node:node package.json package-lock.json ./',
    ]);
    expect(runtime.match(/^USER .*$/gm)).toEqual(['USER node']);
  });

  it('defaults to compiled reconciliation with its V8 flags', () => {
    const cmd = /^CMD (\[.*\])$/m.exec(runtime)?.[1];
    const pkg = JSON.parse(readFileSync(root('package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect((JSON.parse(cmd ?? '[]') as string[]).join(' ')).toBe(pkg.scripts['start:reconciliation']);
  });
});
