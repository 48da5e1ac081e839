#!/usr/bin/env node
// Make sure a PostgreSQL server answers at DATABASE_URL, and that its database exists.
//
//   node scripts/postgres.mjs ensure [--json] [--quiet]   use the server at DATABASE_URL, or start a
//                                                        throwaway cluster there; create the database
//   node scripts/postgres.mjs status [--json]            exit 0 if a server answers, 3 if not
//   node scripts/postgres.mjs stop   [--json]            stop the throwaway cluster of this port (only
//                                                        one this script started; never any other)
//   node scripts/postgres.mjs reset  [--json]            stop it and delete its folder
//
// DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/clearing.
//
// If nothing answers at the URL's host:port, the host is local and the PostgreSQL server binaries
// (initdb, pg_ctl) are installed ($PG_BIN_DIR if set, else PATH, then /usr/lib/postgresql/<v>/bin,
// highest version first), a THROWAWAY cluster is created in <repo>/.cache/postgres/<port> (git-ignored):
// trust auth, user postgres, fsync off. It is for tests and local runs only; its settings
// (fsync=off, synchronous_commit=off, full_page_writes=off) must never be used for a real server.
// initdb refuses to run as root: as root, the cluster is run by the `postgres` OS user (runuser/su).
//
// Library use (Node builtins + pg), e.g. from a test global-setup:
//
//   import { ensurePostgres, createDatabase, dropDatabase, withDatabaseName } from '../scripts/postgres.mjs';
//   await ensurePostgres({ databaseUrl, quiet: true });
//   const url = withDatabaseName(databaseUrl, `clearing_test_${process.pid}`);
//   await createDatabase(url); ... await dropDatabase(url);
//
// Human-readable progress goes to stderr; with --json, stdout carries a single JSON object.

import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/clearing';
const CACHE_DIR = path.join(REPO_ROOT, '.cache', 'postgres');
const MARKER = 'cluster.json';
const MAINTENANCE_DBS = ['postgres', 'template1'];
const PROTECTED_DBS = new Set(['postgres', 'template0', 'template1']);
const MAX_IDENT_BYTES = 63; // NAMEDATALEN - 1: longer names are silently truncated by PostgreSQL
const MAX_SOCKET_PATH = 103; // sun_path is 108 bytes on Linux, 104 on macOS

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function makeLogger(quiet) {
  return quiet ? () => {} : (msg) => process.stderr.write(`[postgres] ${msg}\n`);
}

// ---------------------------------------------------------------------------------------------
// URL helpers
// ---------------------------------------------------------------------------------------------

/** Parses a postgres:// or postgresql:// URL into { host, port, user, database }. */
export function parseDatabaseUrl(databaseUrl = DEFAULT_DATABASE_URL) {
  let u;
  try {
    u = new URL(databaseUrl);
  } catch {
    throw new Error(`DATABASE_URL is not a valid URL: "${redact(databaseUrl)}"`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new Error(`DATABASE_URL must start with postgres:// or postgresql://, got "${u.protocol}//"`);
  }
  const host = (u.hostname || '127.0.0.1').replace(/^\[(.*)\]$/, '$1');
  const port = u.port ? Number(u.port) : 5432;
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database) throw new Error(`DATABASE_URL names no database: "${redact(databaseUrl)}"`);
  return { host, port, user: decodeURIComponent(u.username) || undefined, database };
}

/** The same URL with another database name (host, port, credentials and query kept). */
export function withDatabaseName(databaseUrl, name) {
  checkDatabaseName(name);
  const u = new URL(databaseUrl);
  u.pathname = '/' + encodeURIComponent(name);
  return u.toString();
}

/** Double-quotes an SQL identifier (embedded double quotes doubled). */
export function quoteIdent(name) {
  checkDatabaseName(name);
  return '"' + name.replace(/"/g, '""') + '"';
}

function checkDatabaseName(name) {
  if (typeof name !== 'string' || name.length === 0)
    throw new Error('database name must be a non-empty string');
  if (name.includes('\0')) throw new Error('database name must not contain NUL');
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENT_BYTES) {
    throw new Error(
      `database name "${name}" is longer than ${MAX_IDENT_BYTES} bytes (PostgreSQL would truncate it)`,
    );
  }
}

function redact(databaseUrl) {
  return String(databaseUrl).replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

function isLocalHost(host) {
  return ['127.0.0.1', 'localhost', '::1'].includes(host) || host.startsWith('127.');
}

// ---------------------------------------------------------------------------------------------
// Talking to a server
// ---------------------------------------------------------------------------------------------

/** Runs fn(client) on a fresh connection to databaseUrl; always closes it. */
async function withClient(databaseUrl, fn, { timeoutMs = 5000 } = {}) {
  const client = new pg.Client({
    connectionString: databaseUrl,
    connectionTimeoutMillis: timeoutMs,
    application_name: 'scripts/postgres.mjs',
  });
  client.on('error', () => {}); // a dropped connection must not crash the process; the query rejects
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Runs fn on the maintenance database (postgres, else template1) of databaseUrl's server. */
async function withMaintenanceClient(databaseUrl, fn, opts) {
  let lastErr;
  for (const db of MAINTENANCE_DBS) {
    try {
      return await withClient(withDatabaseName(databaseUrl, db), fn, opts);
    } catch (e) {
      lastErr = e;
      if (e && e.code === '3D000') continue; // invalid_catalog_name: try the next maintenance DB
      throw e;
    }
  }
  throw lastErr;
}

const isSqlState = (e) => typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code);

function tcpConnects(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * Asks the server at databaseUrl's host:port for `select 1` on the maintenance DB.
 * Returns { state: 'up', version } | { state: 'down', error } | { state: 'starting', error }
 *       | { state: 'rejected', error } (a PostgreSQL server answers but refuses us)
 *       | { state: 'foreign', error } (something listens there but does not speak PostgreSQL)
 */
export async function probePostgres(databaseUrl = DEFAULT_DATABASE_URL, { timeoutMs = 3000 } = {}) {
  const { host, port } = parseDatabaseUrl(databaseUrl);
  try {
    const version = await withMaintenanceClient(
      databaseUrl,
      async (c) => {
        await c.query('select 1');
        return c.query('show server_version').then((r) => r.rows[0].server_version);
      },
      { timeoutMs },
    );
    return { state: 'up', version };
  } catch (e) {
    const error = e?.message || String(e);
    if (e?.code === '57P03') return { state: 'starting', error }; // cannot_connect_now
    if (isSqlState(e)) return { state: 'rejected', error: `${error} (SQLSTATE ${e.code})` };
    if (await tcpConnects(host, port)) return { state: 'foreign', error };
    return { state: 'down', error };
  }
}

/** CREATE DATABASE named in databaseUrl unless it exists. Returns { database, created }. */
export async function createDatabase(databaseUrl) {
  const { database } = parseDatabaseUrl(databaseUrl);
  const sql = `CREATE DATABASE ${quoteIdent(database)}`;
  return withMaintenanceClient(databaseUrl, async (c) => {
    const exists = await c.query('select 1 from pg_database where datname = $1', [database]);
    if (exists.rowCount > 0) return { database, created: false };
    try {
      await c.query(sql);
      return { database, created: true };
    } catch (e) {
      // Another process created it between our check and our CREATE: 42P04 duplicate_database,
      // or 23505 unique_violation on pg_database_datname_index when both CREATEs overlap.
      if (e?.code === '42P04' || e?.code === '23505') return { database, created: false };
      throw e;
    }
  });
}

/**
 * Drops the database named in databaseUrl if it exists, after terminating its other sessions.
 * Refuses postgres/template0/template1. Returns { database, dropped }.
 */
export async function dropDatabase(databaseUrl) {
  const { database } = parseDatabaseUrl(databaseUrl);
  if (PROTECTED_DBS.has(database)) throw new Error(`refusing to drop the "${database}" database`);
  const ident = quoteIdent(database);
  return withMaintenanceClient(databaseUrl, async (c) => {
    const exists = await c.query('select 1 from pg_database where datname = $1', [database]);
    if (exists.rowCount === 0) return { database, dropped: false };
    // Keep new sessions out, then end the ones already there (pools of a test that did not close).
    await c.query(`ALTER DATABASE ${ident} WITH ALLOW_CONNECTIONS false`).catch(() => {});
    await c.query(
      'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [database],
    );
    const num = Number((await c.query('show server_version_num')).rows[0].server_version_num);
    await c.query(`DROP DATABASE IF EXISTS ${ident}${num >= 130000 ? ' WITH (FORCE)' : ''}`);
    return { database, dropped: true };
  });
}

// ---------------------------------------------------------------------------------------------
// Finding the server binaries
// ---------------------------------------------------------------------------------------------

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function compareVersionsDesc(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pb[i] ?? 0) - (pa[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Candidate { initdb, pgCtl } pairs, best first. */
export function findServerBinaries(env = process.env) {
  const out = [];
  const seen = new Set();
  const add = (initdb, pgCtl, source) => {
    if (!initdb || !pgCtl) return;
    const key = `${fs.realpathSync(initdb)}|${fs.realpathSync(pgCtl)}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ initdb, pgCtl, source });
  };
  const inDir = (dir, source) => {
    const i = path.join(dir, 'initdb');
    const p = path.join(dir, 'pg_ctl');
    if (isExecutable(i) && isExecutable(p)) add(i, p, source);
  };
  if (env.PG_BIN_DIR) {
    inDir(env.PG_BIN_DIR, 'PG_BIN_DIR'); // set: these binaries and no others
    return out;
  }
  // PATH: prefer a directory holding both; otherwise the first initdb and the first pg_ctl.
  const pathDirs = (env.PATH || '').split(path.delimiter).filter(Boolean);
  for (const d of pathDirs) inDir(d, 'PATH');
  if (!out.some((c) => c.source === 'PATH')) {
    const first = (name) => pathDirs.map((d) => path.join(d, name)).find(isExecutable);
    add(first('initdb'), first('pg_ctl'), 'PATH');
  }
  const root = '/usr/lib/postgresql';
  let versions = [];
  try {
    versions = fs.readdirSync(root).filter((v) => /^\d+(\.\d+)*$/.test(v));
  } catch {
    /* not a Debian-style install */
  }
  for (const v of versions.sort(compareVersionsDesc)) inDir(path.join(root, v, 'bin'), root);
  return out;
}

function execText(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8', ...opts }, (err, stdout, stderr) => {
      if (err) {
        err.message = `${cmd} ${args.join(' ')} failed: ${(stderr || stdout || err.message).trim()}`;
        reject(err);
      } else resolve(stdout);
    });
  });
}

async function binaryVersion(bin) {
  // "initdb (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)"
  const out = await execText(bin, ['--version']);
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(out);
  if (!m) throw new Error(`cannot read the version of ${bin}: "${out.trim()}"`);
  return { major: Number(m[1]), full: m[2] ? `${m[1]}.${m[2]}` : m[1] };
}

// ---------------------------------------------------------------------------------------------
// Running as the postgres OS user when we are root
// ---------------------------------------------------------------------------------------------

async function postgresOsUser() {
  let line = '';
  try {
    line = (await execText('getent', ['passwd', 'postgres'])).trim();
  } catch {
    try {
      line =
        fs
          .readFileSync('/etc/passwd', 'utf8')
          .split('\n')
          .find((l) => l.startsWith('postgres:')) ?? '';
    } catch {
      /* no passwd */
    }
  }
  const f = line.split(':');
  return f.length >= 4 ? { name: 'postgres', uid: Number(f[2]), gid: Number(f[3]) } : null;
}

function findOnPath(name) {
  const dirs = (process.env.PATH || '')
    .split(path.delimiter)
    .concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  return dirs.map((d) => path.join(d, name)).find(isExecutable) ?? null;
}

const shQuote = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/** How to run a command: directly, or as the postgres OS user when we are root. */
async function makeRunner(log) {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return { asUser: null, wrap: (cmd, args) => [cmd, args] };
  }
  const user = await postgresOsUser();
  if (!user) {
    throw new Error(
      'initdb refuses to run as root and there is no "postgres" OS user: create one ' +
        '(useradd --system --shell /bin/sh postgres), run as a non-root user, or start PostgreSQL 15+ yourself',
    );
  }
  const runuser = findOnPath('runuser');
  if (runuser) {
    log(`running as root: the throwaway cluster runs as OS user postgres (via ${runuser})`);
    return { asUser: user, wrap: (cmd, args) => [runuser, ['-u', 'postgres', '--', cmd, ...args]] };
  }
  const su = findOnPath('su');
  if (su) {
    log(`running as root: the throwaway cluster runs as OS user postgres (via ${su})`);
    return {
      asUser: user,
      wrap: (cmd, args) => [su, ['postgres', '-s', '/bin/sh', '-c', [cmd, ...args].map(shQuote).join(' ')]],
    };
  }
  throw new Error(
    'running as root, but neither runuser nor su is available to run initdb as the postgres user',
  );
}

/** Runs a command to completion; rejects with its output on failure. */
function run(runner, cmd, args, { timeoutMs = 120_000 } = {}) {
  const [c, a] = runner.wrap(cmd, args);
  return new Promise((resolve, reject) => {
    // stdin ignored; pg_ctl always gets -l, so the postmaster never holds our pipes open.
    const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${c}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else {
        const err = new Error(
          `${path.basename(cmd)} ${args.join(' ')} exited with ${signal ?? code}: ${out.trim().split('\n').slice(-15).join('\n')}`,
        );
        err.exitCode = code;
        err.output = out;
        reject(err);
      }
    });
  });
}

function chownTree(p, uid, gid) {
  fs.chownSync(p, uid, gid);
  if (fs.lstatSync(p).isDirectory()) {
    for (const e of fs.readdirSync(p)) chownTree(path.join(p, e), uid, gid);
  }
}

// ---------------------------------------------------------------------------------------------
// The throwaway cluster
// ---------------------------------------------------------------------------------------------

export function clusterPaths(port) {
  const dir = path.join(CACHE_DIR, String(port));
  return {
    dir,
    data: path.join(dir, 'data'),
    log: path.join(dir, 'postgres.log'),
    marker: path.join(dir, MARKER),
    lock: path.join(CACHE_DIR, `${port}.lock`),
  };
}

function readMarker(paths) {
  try {
    return JSON.parse(fs.readFileSync(paths.marker, 'utf8'));
  } catch {
    return null;
  }
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** True if the cluster's postmaster.pid names a live process (a crash or reboot leaves a stale one). */
function clusterRunning(paths) {
  try {
    const pid = Number(fs.readFileSync(path.join(paths.data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 && pidAlive(pid);
  } catch {
    return false;
  }
}

/** Serialises cluster creation/start between processes (two test runners at once). */
async function withLock(lockFile, timeoutMs, log, fn) {
  fs.mkdirSync(path.dirname(lockFile), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      let holder;
      try {
        holder = Number(fs.readFileSync(lockFile, 'utf8').trim() || 0);
      } catch {
        continue; // released between our write and our read: try again
      }
      if (!holder || !pidAlive(holder)) {
        fs.rmSync(lockFile, { force: true }); // stale: its owner died
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${lockFile} (held by pid ${holder})`, { cause: e });
      }
      if (!told) log(`waiting for pid ${holder}, which is starting the cluster`);
      told = true;
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockFile, { force: true });
  }
}

function throwawayConf({ host, port, socketDir }) {
  const listen = host === 'localhost' ? 'localhost' : host;
  return [
    '',
    '# ---- added by scripts/postgres.mjs: THROWAWAY test cluster --------------------------------',
    '# fsync/synchronous_commit/full_page_writes off trade crash safety for speed. NEVER use these',
    '# settings for a real server: data is lost on a crash.',
    `listen_addresses = '${listen}'`,
    `port = ${port}`,
    `unix_socket_directories = '${socketDir.replace(/'/g, "''")}'`,
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
    'max_connections = 200',
    "log_min_messages = 'warning'",
    '',
  ].join('\n');
}

async function pickBinaries(wantMajor) {
  const candidates = findServerBinaries();
  for (const c of candidates) {
    const v = await binaryVersion(c.initdb).catch(() => null);
    if (!v) continue;
    if (wantMajor === undefined || v.major === wantMajor) return { ...c, version: v };
  }
  return null;
}

async function startThrowaway({ host, port, log, timeoutMs }) {
  const paths = clusterPaths(port);
  const marker = readMarker(paths);
  const haveCluster = marker && fs.existsSync(path.join(paths.data, 'PG_VERSION'));
  const t0 = Date.now();
  let initMs = 0;

  // An existing cluster must be started by binaries of its own major version.
  const wantMajor = haveCluster
    ? Number(fs.readFileSync(path.join(paths.data, 'PG_VERSION'), 'utf8').trim())
    : undefined;
  const bins = await pickBinaries(wantMajor);
  if (!bins) {
    if (haveCluster && (await pickBinaries())) {
      throw new Error(
        `the throwaway cluster in ${path.relative(REPO_ROOT, paths.dir)} was made by PostgreSQL ${wantMajor}, ` +
          `whose binaries are gone: run "node scripts/postgres.mjs reset" to start afresh`,
      );
    }
    return null;
  }

  const runner = await makeRunner(log);
  fs.mkdirSync(paths.dir, { recursive: true });
  if (runner.asUser) {
    chownTree(paths.dir, runner.asUser.uid, runner.asUser.gid);
    try {
      await run(runner, 'test', ['-w', paths.dir, '-a', '-x', paths.dir]);
    } catch {
      throw new Error(
        `the postgres OS user cannot write ${paths.dir}: every parent folder must be searchable by it (chmod o+x)`,
      );
    }
  }

  if (!haveCluster) {
    // A folder without our marker is a half-made cluster (an initdb that died): start afresh.
    fs.rmSync(paths.data, { recursive: true, force: true });
    fs.rmSync(paths.marker, { force: true });
    log(
      `initdb (PostgreSQL ${bins.version.full}, ${path.dirname(bins.initdb)}) into ${path.relative(REPO_ROOT, paths.data)}`,
    );
    const initArgs = [
      '-D',
      paths.data,
      '-A',
      'trust',
      '-U',
      'postgres',
      '--no-sync',
      '-E',
      'UTF8',
      '--locale=C',
    ];
    if (bins.version.major >= 14) initArgs.push('--no-instructions');
    await run(runner, bins.initdb, initArgs);
    let socketDir = paths.dir;
    if (Buffer.byteLength(path.join(socketDir, `.s.PGSQL.${port}.lock`)) > MAX_SOCKET_PATH) {
      socketDir = ''; // too long for a Unix socket path: TCP only
      log('repository path too long for a Unix socket: the cluster listens on TCP only');
    }
    fs.appendFileSync(path.join(paths.data, 'postgresql.conf'), throwawayConf({ host, port, socketDir }));
    fs.writeFileSync(
      paths.marker,
      JSON.stringify(
        {
          createdBy: 'scripts/postgres.mjs',
          host,
          port,
          major: bins.version.major,
          binDir: path.dirname(bins.pgCtl),
          createdAt: new Date().toISOString(),
        },
        null,
        2,
      ) + '\n',
    );
    if (runner.asUser) chownTree(paths.dir, runner.asUser.uid, runner.asUser.gid);
    initMs = Date.now() - t0;
  }

  const t1 = Date.now();
  try {
    await run(
      runner,
      bins.pgCtl,
      ['start', '-D', paths.data, '-l', paths.log, '-w', '-t', String(Math.ceil(timeoutMs / 1000))],
      {
        timeoutMs: timeoutMs + 10_000,
      },
    );
  } catch (e) {
    throw new Error(`${e.message}\n--- ${paths.log} (tail) ---\n${tail(paths.log, 20)}`, { cause: e });
  }
  const startMs = Date.now() - t1;
  return { paths, bins, initialised: !haveCluster, initMs, startMs };
}

function tail(file, lines) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitUntilUp(databaseUrl, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = await probePostgres(databaseUrl, { timeoutMs: 2000 });
    if (p.state === 'up') return p;
    if (Date.now() > deadline)
      throw new Error(`PostgreSQL did not become ready in ${timeoutMs} ms: ${p.error}`);
    await sleep(200);
  }
}

/**
 * Makes sure a PostgreSQL server answers at databaseUrl and that its database exists.
 * Returns { databaseUrl, host, port, database, version, reused, throwaway, databaseCreated,
 *           dataDir?, initMs?, startMs?, totalMs }.
 */
export async function ensurePostgres({
  databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL,
  quiet = false,
  timeoutMs = 60_000,
  announce = true, // print the one "ready" line after a fresh start (unless quiet)
} = {}) {
  const log = makeLogger(quiet);
  const t0 = Date.now();
  const { host, port, database } = parseDatabaseUrl(databaseUrl);
  const where = `${host}:${port}`;
  const paths = clusterPaths(port);

  let probe = await probePostgres(databaseUrl);
  if (probe.state === 'starting') probe = await waitUntilUp(databaseUrl, timeoutMs);

  let started = null;
  if (probe.state === 'rejected') {
    throw new Error(
      `PostgreSQL at ${where} refused the connection: ${probe.error}: fix DATABASE_URL (user/password)`,
    );
  }
  if (probe.state === 'foreign') {
    throw new Error(
      `something listens at ${where} but does not speak PostgreSQL (${probe.error}): set DATABASE_URL to another port`,
    );
  }
  if (probe.state === 'down') {
    const noServer = `PostgreSQL is not reachable at ${where}`;
    if (!isLocalHost(host)) throw new Error(`${noServer} (${probe.error}): start it or set DATABASE_URL`);
    started = await withLock(paths.lock, timeoutMs + 30_000, log, async () => {
      // Another process may have started it while we waited for the lock.
      const again = await probePostgres(databaseUrl);
      if (again.state === 'up' || again.state === 'starting') return { raced: true };
      const s = await startThrowaway({ host, port, log, timeoutMs });
      if (!s) {
        throw new Error(`${noServer} and no initdb/pg_ctl found: start PostgreSQL 15+ or set DATABASE_URL`);
      }
      return s;
    });
    probe = await waitUntilUp(databaseUrl, timeoutMs);
  }

  const { created } = await createDatabase(databaseUrl);
  const totalMs = Date.now() - t0;
  const throwaway = readMarker(paths) !== null && clusterRunning(paths);
  const result = {
    databaseUrl: redact(databaseUrl),
    host,
    port,
    database,
    version: probe.version,
    reused: !started || Boolean(started.raced),
    throwaway,
    databaseCreated: created,
    ...(throwaway ? { dataDir: path.relative(REPO_ROOT, paths.data) } : {}),
    ...(started && !started.raced
      ? { initialised: started.initialised, initMs: started.initMs, startMs: started.startMs }
      : {}),
    totalMs,
  };
  if (started && !started.raced && announce) {
    const how = started.initialised
      ? `initialised in ${(started.initMs / 1000).toFixed(1)} s, started in ${(started.startMs / 1000).toFixed(1)} s`
      : `started in ${(started.startMs / 1000).toFixed(1)} s`;
    log(
      `throwaway PostgreSQL ${probe.version} ready at ${where} (${path.relative(REPO_ROOT, paths.dir)}; ${how}); ` +
        `database "${database}" ${created ? 'created' : 'exists'}`,
    );
  }
  return result;
}

/** Status of the server at databaseUrl and of this port's throwaway cluster. */
export async function postgresStatus({
  databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL,
} = {}) {
  const { host, port, database } = parseDatabaseUrl(databaseUrl);
  const paths = clusterPaths(port);
  const probe = await probePostgres(databaseUrl);
  const marker = readMarker(paths);
  let databaseExists = null;
  if (probe.state === 'up') {
    databaseExists = await withMaintenanceClient(databaseUrl, (c) =>
      c.query('select 1 from pg_database where datname = $1', [database]).then((r) => r.rowCount > 0),
    );
  }
  const throwawayRunning = marker !== null && clusterRunning(paths);
  return {
    host,
    port,
    database,
    state: probe.state,
    running: probe.state === 'up',
    version: probe.version ?? null,
    databaseExists,
    throwaway: marker
      ? { dir: path.relative(REPO_ROOT, paths.dir), running: throwawayRunning, major: marker.major }
      : null,
    ...(probe.error ? { error: probe.error } : {}),
  };
}

/** Stops this port's throwaway cluster if this script made it. Never touches any other server. */
export async function stopPostgres({
  databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL,
  quiet = false,
} = {}) {
  const log = makeLogger(quiet);
  const { port } = parseDatabaseUrl(databaseUrl);
  const paths = clusterPaths(port);
  const marker = readMarker(paths);
  if (!marker)
    return { port, stopped: false, reason: 'no throwaway cluster made by this script for this port' };
  if (!clusterRunning(paths)) return { port, stopped: false, reason: 'not running' };
  const runner = await makeRunner(() => {});
  const pgCtl =
    [path.join(marker.binDir ?? '', 'pg_ctl')].find(isExecutable) ??
    (await pickBinaries(marker.major))?.pgCtl;
  if (!pgCtl) throw new Error(`no pg_ctl for PostgreSQL ${marker.major} to stop ${paths.data}`);
  const t0 = Date.now();
  await run(runner, pgCtl, ['stop', '-D', paths.data, '-m', 'fast', '-w', '-t', '60']);
  const stopMs = Date.now() - t0;
  log(`throwaway PostgreSQL at port ${port} stopped in ${(stopMs / 1000).toFixed(1)} s`);
  return { port, stopped: true, stopMs };
}

/** Stops this port's throwaway cluster and deletes its folder. */
export async function resetPostgres(opts = {}) {
  const r = await stopPostgres(opts);
  const { port } = parseDatabaseUrl(opts.databaseUrl || process.env.DATABASE_URL || DEFAULT_DATABASE_URL);
  const paths = clusterPaths(port);
  const existed = fs.existsSync(paths.dir);
  if (existed && !readMarker(paths) && clusterRunning(paths)) {
    throw new Error(`${paths.dir} holds a running cluster this script did not make: not deleting it`);
  }
  fs.rmSync(paths.dir, { recursive: true, force: true });
  return { ...r, deleted: existed ? path.relative(REPO_ROOT, paths.dir) : null };
}

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

const USAGE = 'usage: node scripts/postgres.mjs ensure|status|stop|reset [--json] [--quiet]';

async function main(argv) {
  const flags = new Set(argv.filter((a) => a.startsWith('-')));
  const [cmd, ...extra] = argv.filter((a) => !a.startsWith('-'));
  const json = flags.has('--json');
  const quiet = flags.has('--quiet') || flags.has('-q');
  if (flags.has('--help') || flags.has('-h')) {
    console.log(USAGE);
    return 0;
  }
  if (!cmd || extra.length) {
    console.error(USAGE);
    return 2;
  }
  const emit = (obj, text) => {
    if (json) process.stdout.write(JSON.stringify(obj) + '\n');
    else if (text) console.log(text);
  };
  try {
    switch (cmd) {
      case 'ensure': {
        const r = await ensurePostgres({ quiet: quiet || json, announce: false });
        const db = `database "${r.database}" ${r.databaseCreated ? 'created' : 'exists'}`;
        const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
        emit(
          { command: 'ensure', ok: true, ...r },
          r.reused
            ? `PostgreSQL ${r.version} reused at ${r.host}:${r.port}${r.throwaway ? ` (throwaway, ${r.dataDir})` : ''}; ${db}`
            : `throwaway PostgreSQL ${r.version} started at ${r.host}:${r.port} (${r.dataDir}; ` +
                (r.initialised ? `initdb ${secs(r.initMs)}, ` : '') +
                `start ${secs(r.startMs)}, total ${secs(r.totalMs)}); ${db}`,
        );
        return 0;
      }
      case 'status': {
        const s = await postgresStatus();
        const text =
          (s.running
            ? `PostgreSQL ${s.version} running at ${s.host}:${s.port}; database "${s.database}" ${s.databaseExists ? 'exists' : 'missing'}`
            : `PostgreSQL not running at ${s.host}:${s.port} (${s.state}: ${s.error})`) +
          (s.throwaway
            ? `; throwaway cluster ${s.throwaway.dir} ${s.throwaway.running ? 'running' : 'stopped'}`
            : '');
        emit({ command: 'status', ...s }, text);
        return s.running ? 0 : 3;
      }
      case 'stop': {
        const r = await stopPostgres({ quiet: true });
        emit(
          { command: 'stop', ok: true, ...r },
          r.stopped
            ? `throwaway PostgreSQL at port ${r.port} stopped in ${(r.stopMs / 1000).toFixed(1)} s`
            : `nothing stopped: ${r.reason}`,
        );
        return 0;
      }
      case 'reset': {
        const r = await resetPostgres({ quiet: true });
        emit(
          { command: 'reset', ok: true, ...r },
          r.deleted
            ? `throwaway cluster ${r.stopped ? 'stopped and ' : ''}${r.deleted} deleted`
            : 'no throwaway cluster to delete',
        );
        return 0;
      }
      default:
        console.error(`unknown command "${cmd}"\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (json) emit({ command: cmd, ok: false, error: e.message });
    console.error(`[postgres] ${cmd} failed: ${e.message}`);
    return 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
