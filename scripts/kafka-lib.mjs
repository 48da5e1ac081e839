// Helpers to run a REAL single-node Apache Kafka broker (KRaft, broker+controller in one JVM)
// without Docker: jars come from Maven Central (tools/kafka/pom.xml), Java 17 runs them.
//
// Node builtins only. Used by scripts/kafka.mjs (CLI) and importable from other scripts, e.g. a
// test global-setup:
//
//   import { ensureKafka, stopKafka } from '../scripts/kafka-lib.mjs';
//   const { brokers, reused } = await ensureKafka({ quiet: true });
//
// Environment:
//   KAFKA_HOME_DIR          cache dir (default <repo>/.cache/kafka): libs/, data/, server.properties,
//                           kafka.pid, kafka.log, cluster.id
//   KAFKA_HOST              listener host (default 127.0.0.1)
//   KAFKA_PORT              broker (PLAINTEXT) port (default 9092)
//   KAFKA_CONTROLLER_PORT   KRaft controller port (default 9093)
//   KAFKA_HEAP_MAX          JVM -Xmx (default 1g)
//   KAFKA_START_TIMEOUT_S   readiness timeout in seconds (default 90)
//   JAVA_HOME               java is taken from $JAVA_HOME/bin/java if set, else from PATH

import { spawn } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const POM = path.join(REPO_ROOT, 'tools', 'kafka', 'pom.xml');
const LOG4J = path.join(REPO_ROOT, 'tools', 'kafka', 'log4j.properties');
const MARKER = '.complete';
const READY_LINE = 'Kafka Server started';

export function kafkaConfig(env = process.env) {
  const home = path.resolve(env.KAFKA_HOME_DIR || path.join(REPO_ROOT, '.cache', 'kafka'));
  const host = env.KAFKA_HOST || '127.0.0.1';
  const port = intEnv(env.KAFKA_PORT, 9092, 'KAFKA_PORT');
  const controllerPort = intEnv(env.KAFKA_CONTROLLER_PORT, 9093, 'KAFKA_CONTROLLER_PORT');
  return {
    home,
    host,
    port,
    controllerPort,
    brokers: `${host}:${port}`,
    // A second broker (tests) can share the first one's jars instead of fetching them again.
    libs: path.resolve(env.KAFKA_LIBS_DIR || path.join(home, 'libs')),
    data: path.join(home, 'data'),
    serverProps: path.join(home, 'server.properties'),
    pidFile: path.join(home, 'kafka.pid'),
    logFile: path.join(home, 'kafka.log'),
    clusterIdFile: path.join(home, 'cluster.id'),
    lockFile: path.join(home, 'start.lock'),
    heapMax: env.KAFKA_HEAP_MAX || '1g',
    startTimeoutMs: intEnv(env.KAFKA_START_TIMEOUT_S, 90, 'KAFKA_START_TIMEOUT_S') * 1000,
    java: env.JAVA_HOME ? path.join(env.JAVA_HOME, 'bin', 'java') : 'java',
  };
}

function intEnv(value, dflt, name) {
  if (value === undefined || value === '') return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${value}"`);
  return n;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function makeLogger(quiet) {
  // Human-readable progress goes to stderr so that stdout can carry --json output.
  return quiet ? () => {} : (msg) => process.stderr.write(`[kafka] ${msg}\n`);
}

// ---------------------------------------------------------------------------------------------
// Kafka wire-protocol probes (ApiVersions v0, Metadata v4), just enough to tell "a Kafka broker
// answers here" and "the broker is registered/unfenced" apart from "something listens".
// ---------------------------------------------------------------------------------------------

function kafkaRequest(host, port, apiKey, apiVersion, body, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const correlationId = Math.floor(Math.random() * 0x7fffffff);
    const clientId = Buffer.from('kafka-mjs-probe');
    // Request header v1: api_key int16, api_version int16, correlation_id int32, client_id string
    const header = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
    header.writeInt16BE(apiKey, 0);
    header.writeInt16BE(apiVersion, 2);
    header.writeInt32BE(correlationId, 4);
    header.writeInt16BE(clientId.length, 8);
    clientId.copy(header, 10);
    const size = Buffer.alloc(4);
    size.writeInt32BE(header.length + body.length, 0);

    const sock = net.createConnection({ host, port });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (err, val) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(val);
    };
    const timer = setTimeout(() => finish(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs);
    sock.on('connect', () => sock.write(Buffer.concat([size, header, body])));
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 4) return;
      const len = buf.readInt32BE(0);
      if (len < 4 || len > 16 * 1024 * 1024) return finish(new Error(`implausible response size ${len}`));
      if (buf.length < 4 + len) return;
      const payload = buf.subarray(4, 4 + len);
      // Response header v0: correlation_id int32
      if (payload.readInt32BE(0) !== correlationId) return finish(new Error('correlation id mismatch'));
      finish(null, payload.subarray(4));
    });
    sock.on('error', (e) => finish(e));
    sock.on('close', () => finish(new Error('connection closed before a full response')));
  });
}

/** ApiVersions v0. Resolves { ok: true, errorCode, apiCount } or { ok: false, reason }. */
export async function probeApiVersions(host, port, timeoutMs = 2000) {
  try {
    const b = await kafkaRequest(host, port, 18, 0, Buffer.alloc(0), timeoutMs);
    // v0 body: error_code int16, api_keys [api_key int16, min int16, max int16] (int32 count)
    if (b.length < 6) return { ok: false, reason: 'short ApiVersions response' };
    const errorCode = b.readInt16BE(0);
    const n = b.readInt32BE(2);
    if (n < 0 || b.length !== 6 + n * 6) return { ok: false, reason: 'malformed ApiVersions response' };
    // 0 = NONE; 35 = UNSUPPORTED_VERSION (still a well-formed answer from a Kafka broker).
    if (errorCode !== 0 && errorCode !== 35) return { ok: false, reason: `ApiVersions error ${errorCode}` };
    return { ok: true, errorCode, apiCount: n };
  } catch (e) {
    return { ok: false, reason: e.code || e.message };
  }
}

/** Metadata v4 for no topics. Resolves { ok, brokers: [{nodeId, host, port}], clusterId, controllerId }. */
export async function probeMetadata(host, port, timeoutMs = 2000) {
  try {
    // v4 body: topics nullable array (empty = none), allow_auto_topic_creation bool
    const body = Buffer.from([0, 0, 0, 0, 0]);
    const b = await kafkaRequest(host, port, 3, 4, body, timeoutMs);
    let o = 0;
    const int16 = () => {
      const v = b.readInt16BE(o);
      o += 2;
      return v;
    };
    const int32 = () => {
      const v = b.readInt32BE(o);
      o += 4;
      return v;
    };
    const str = () => {
      const l = int16();
      if (l < 0) return null;
      const s = b.toString('utf8', o, o + l);
      o += l;
      return s;
    };
    int32(); // throttle_time_ms
    const n = int32();
    const brokers = [];
    for (let i = 0; i < n; i++) {
      const nodeId = int32();
      const h = str();
      const p = int32();
      str(); // rack
      brokers.push({ nodeId, host: h, port: p });
    }
    const clusterId = str();
    const controllerId = int32();
    return { ok: brokers.length > 0, brokers, clusterId, controllerId };
  } catch (e) {
    return { ok: false, brokers: [], reason: e.code || e.message };
  }
}

function tcpConnects(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const sock = net.createConnection({ host, port });
    const t = setTimeout(() => {
      sock.destroy();
      resolve(false);
    }, timeoutMs);
    sock.on('connect', () => {
      clearTimeout(t);
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

function portFree(host, port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

// ---------------------------------------------------------------------------------------------
// pid file
// ---------------------------------------------------------------------------------------------

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (e.code !== 'EPERM') return false;
  }
  // Guard against pid reuse: on Linux make sure it is (still) our Kafka JVM and not a zombie.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return false;
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes('kafka.Kafka');
  } catch {
    return true; // no /proc (not Linux): trust kill(0)
  }
}

function readPid(cfg) {
  try {
    const pid = Number(fs.readFileSync(cfg.pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** { pid, alive, stale } for the pid file; removes a stale pid file. */
function pidState(cfg) {
  const pid = readPid(cfg);
  if (pid === null) {
    if (fs.existsSync(cfg.pidFile)) fs.rmSync(cfg.pidFile, { force: true });
    return { pid: null, alive: false, stale: false };
  }
  if (pidAlive(pid)) return { pid, alive: true, stale: false };
  fs.rmSync(cfg.pidFile, { force: true });
  return { pid, alive: false, stale: true };
}

// ---------------------------------------------------------------------------------------------
// jars, config, storage
// ---------------------------------------------------------------------------------------------

function pomFingerprint() {
  return createHash('sha256').update(fs.readFileSync(POM)).digest('hex');
}

function runCommand(cmd, args, { log, quiet, cwd } = {}) {
  return new Promise((resolve, reject) => {
    let out = '';
    const child = spawn(cmd, args, { cwd: cwd || REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (d) => {
      out += d;
      if (out.length > 200_000) out = out.slice(-100_000);
      if (!quiet && log) process.stderr.write(d);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (e) =>
      reject(new Error(e.code === 'ENOENT' ? `"${cmd}" not found on PATH` : `${cmd}: ${e.message}`)),
    );
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}\n${out.slice(-4000)}`));
    });
  });
}

export function jarsComplete(cfg = kafkaConfig()) {
  try {
    return fs.readFileSync(path.join(cfg.libs, MARKER), 'utf8').trim() === pomFingerprint();
  } catch {
    return false;
  }
}

/** Fetch the broker jars into <home>/libs unless already complete (marker = sha256 of the pom). */
export async function ensureJars(cfg = kafkaConfig(), { quiet = false } = {}) {
  const log = makeLogger(quiet);
  if (jarsComplete(cfg)) return { fetched: false };
  const t0 = Date.now();
  fs.mkdirSync(cfg.home, { recursive: true });
  const tmp = `${cfg.libs}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  log(`fetching Kafka jars with Maven into ${cfg.libs} (first run only) ...`);
  await runCommand(
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      POM,
      'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${tmp}`,
    ],
    { quiet: true },
  );
  const jars = fs.readdirSync(tmp).filter((f) => f.endsWith('.jar'));
  if (!jars.some((f) => /^kafka_2\.13-.*\.jar$/.test(f))) {
    throw new Error(`Maven finished but no kafka_2.13 jar in ${tmp}`);
  }
  fs.writeFileSync(path.join(tmp, MARKER), pomFingerprint() + '\n');
  fs.rmSync(cfg.libs, { recursive: true, force: true });
  fs.renameSync(tmp, cfg.libs);
  log(`fetched ${jars.length} jars in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { fetched: true };
}

function serverProperties(cfg) {
  const { host, port, controllerPort } = cfg;
  return `# Generated by scripts/kafka.mjs on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${host}:${controllerPort}
listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}
advertised.listeners=PLAINTEXT://${host}:${port}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${cfg.data}
num.partitions=3
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=24
`;
}

function javaArgs(cfg, mainClass, args) {
  return [
    '-Xms128m',
    `-Xmx${cfg.heapMax}`,
    '-XX:+UseSerialGC',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${LOG4J}`,
    `-Dkafka.logs.dir=${cfg.home}`,
    '-cp',
    path.join(cfg.libs, '*'),
    mainClass,
    ...args,
  ];
}

/** Kafka's Uuid: 16 random bytes, URL-safe base64 without padding, never starting with '-'. */
function newClusterId() {
  for (;;) {
    const b = randomBytes(16);
    b[6] = (b[6] & 0x0f) | 0x40; // like java.util.UUID.randomUUID (version 4)
    b[8] = (b[8] & 0x3f) | 0x80;
    const id = b.toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function clusterId(cfg) {
  try {
    const id = fs.readFileSync(cfg.clusterIdFile, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{22}$/.test(id)) return id;
  } catch {
    /* create below */
  }
  const id = newClusterId();
  fs.writeFileSync(cfg.clusterIdFile, id + '\n');
  return id;
}

async function ensureFormatted(cfg, log) {
  if (fs.existsSync(path.join(cfg.data, 'meta.properties'))) return { formatted: false };
  const id = clusterId(cfg);
  // A data dir without meta.properties is a leftover of an interrupted format: start clean.
  fs.rmSync(cfg.data, { recursive: true, force: true });
  log(`formatting ${cfg.data} (cluster id ${id})`);
  await runCommand(
    cfg.java,
    javaArgs(cfg, 'kafka.tools.StorageTool', ['format', '-t', id, '-c', cfg.serverProps]),
    {
      quiet: true,
    },
  );
  return { formatted: true };
}

function tail(file, lines = 60) {
  try {
    const s = fs.readFileSync(file, 'utf8');
    return s.split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function logSaysStarted(cfg) {
  try {
    return fs.readFileSync(cfg.logFile, 'utf8').includes(READY_LINE);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// start lock (two test runners starting at once must not spawn two brokers)
// ---------------------------------------------------------------------------------------------

async function withStartLock(cfg, timeoutMs, fn) {
  fs.mkdirSync(cfg.home, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Write our pid to a private file, then hard-link it into place: link() is atomic and fails
    // with EEXIST, so a lock file is never seen half-written (empty) by a concurrent start.
    const mine = `${cfg.lockFile}.${process.pid}`;
    fs.writeFileSync(mine, String(process.pid));
    try {
      fs.linkSync(mine, cfg.lockFile);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      let owner = NaN;
      try {
        owner = Number(fs.readFileSync(cfg.lockFile, 'utf8').trim());
      } catch {
        /* vanished */
      }
      let ownerAlive = false;
      if (Number.isInteger(owner) && owner > 0) {
        try {
          process.kill(owner, 0);
          ownerAlive = true;
        } catch (err) {
          ownerAlive = err.code === 'EPERM';
        }
      }
      if (!ownerAlive || owner === process.pid) {
        // Stale lock (its owner died mid-start). Re-read just before removing so that we do not
        // remove a lock that another waiter has meanwhile taken over.
        let again = '';
        try {
          again = fs.readFileSync(cfg.lockFile, 'utf8').trim();
        } catch {
          /* gone */
        }
        if (again === String(owner) || again === 'NaN' || again === '')
          fs.rmSync(cfg.lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for start lock ${cfg.lockFile} (held by pid ${owner})`, {
          cause: e,
        });
      await sleep(250);
    } finally {
      fs.rmSync(mine, { force: true });
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(cfg.lockFile, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// public API
// ---------------------------------------------------------------------------------------------

/** Current state: { running, pid, pidAlive, responding, ready, brokers, host, port, home }. */
export async function kafkaStatus(cfg = kafkaConfig()) {
  const ps = pidState(cfg);
  const api = await probeApiVersions(cfg.host, cfg.port, 1500);
  let meta = { ok: false, brokers: [] };
  if (api.ok) meta = await probeMetadata(cfg.host, cfg.port, 1500);
  return {
    running: ps.alive || api.ok,
    pid: ps.alive ? ps.pid : null,
    pidAlive: ps.alive,
    stalePidRemoved: ps.stale ? ps.pid : null,
    responding: api.ok,
    ready: api.ok && meta.ok,
    external: api.ok && !ps.alive,
    clusterId: meta.clusterId ?? null,
    brokers: cfg.brokers,
    host: cfg.host,
    port: cfg.port,
    controllerPort: cfg.controllerPort,
    home: cfg.home,
    logFile: cfg.logFile,
  };
}

async function waitReady(cfg, { pid, child, t0, log }) {
  const deadline = t0 + cfg.startTimeoutMs;
  let exited = null;
  if (child) child.once('exit', (code, signal) => (exited = { code, signal }));
  let lastNote = 0;
  while (Date.now() < deadline) {
    if (exited || (pid && !pidAlive(pid))) {
      const why = exited
        ? `exit code ${exited.code}${exited.signal ? `, signal ${exited.signal}` : ''}`
        : 'process gone';
      const err = new Error(
        `Kafka exited during startup (${why}). Last lines of ${cfg.logFile}:\n${tail(cfg.logFile)}`,
      );
      err.logTail = tail(cfg.logFile);
      throw err;
    }
    const api = await probeApiVersions(cfg.host, cfg.port, 1000);
    if (api.ok) {
      const started = logSaysStarted(cfg);
      const meta = await probeMetadata(cfg.host, cfg.port, 1000);
      if (meta.ok && (started || !pid)) return { clusterId: meta.clusterId };
    }
    if (Date.now() - lastNote > 15000 && Date.now() - t0 > 5000) {
      log(`still waiting for the broker (${((Date.now() - t0) / 1000).toFixed(0)} s) ...`);
      lastNote = Date.now();
    }
    await sleep(200);
  }
  const err = new Error(
    `Kafka not ready after ${cfg.startTimeoutMs / 1000} s (KAFKA_START_TIMEOUT_S). Last lines of ${cfg.logFile}:\n${tail(cfg.logFile)}`,
  );
  err.timeout = true;
  throw err;
}

/**
 * Start the broker unless one already answers on host:port. Resolves
 * { brokers, reused, pid, startedInMs, fetchedJars, formatted, clusterId }.
 */
export async function ensureKafka({ quiet = false, env = process.env } = {}) {
  const cfg = kafkaConfig(env);
  const log = makeLogger(quiet);
  const t0 = Date.now();

  const reuse = async () => {
    const s = await kafkaStatus(cfg);
    if (s.ready)
      return { brokers: cfg.brokers, reused: true, pid: s.pid, external: s.external, clusterId: s.clusterId };
    if (s.pidAlive) {
      // Our broker is (re)starting, maybe launched by a concurrent run: wait for it.
      log(`broker pid ${s.pid} is up but not ready yet; waiting ...`);
      const r = await waitReady(cfg, { pid: s.pid, t0, log });
      return { brokers: cfg.brokers, reused: true, pid: s.pid, external: false, clusterId: r.clusterId };
    }
    if (s.responding) {
      // Something answers Kafka requests but reports no broker yet (e.g. an external broker booting).
      const r = await waitReady(cfg, { pid: null, t0, log });
      return { brokers: cfg.brokers, reused: true, pid: null, external: true, clusterId: r.clusterId };
    }
    return null;
  };

  let r = await reuse();
  if (r) {
    log(
      `reusing Kafka already running at ${cfg.brokers}${r.pid ? ` (pid ${r.pid})` : ' (not started by this script)'}`,
    );
    return { ...r, startedInMs: Date.now() - t0, fetchedJars: false, formatted: false };
  }

  return withStartLock(cfg, cfg.startTimeoutMs + 600_000, async () => {
    // Someone may have started it while we waited for the lock.
    r = await reuse();
    if (r) {
      log(`reusing Kafka already running at ${cfg.brokers} (pid ${r.pid ?? '?'})`);
      return { ...r, startedInMs: Date.now() - t0, fetchedJars: false, formatted: false };
    }
    for (const [what, port] of [
      ['KAFKA_PORT', cfg.port],
      ['KAFKA_CONTROLLER_PORT', cfg.controllerPort],
    ]) {
      if (!(await portFree(cfg.host, port))) {
        const kafkaLike = (await tcpConnects(cfg.host, port))
          ? 'something that is not a ready Kafka broker'
          : 'another socket';
        throw new Error(
          `${cfg.host}:${port} (${what}) is already in use by ${kafkaLike}; set ${what} to a free port`,
        );
      }
    }

    const { fetched } = await ensureJars(cfg, { quiet });
    fs.mkdirSync(cfg.home, { recursive: true });
    fs.writeFileSync(cfg.serverProps, serverProperties(cfg));
    const { formatted } = await ensureFormatted(cfg, log);

    if (fs.existsSync(cfg.logFile)) fs.renameSync(cfg.logFile, `${cfg.logFile}.1`);
    const out = fs.openSync(cfg.logFile, 'a');
    const tSpawn = Date.now();
    const child = spawn(cfg.java, javaArgs(cfg, 'kafka.Kafka', [cfg.serverProps]), {
      cwd: cfg.home,
      detached: true, // own process group: survives the parent, not killed by its Ctrl-C
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    const spawnError = new Promise((_, reject) => child.once('error', reject));
    spawnError.catch(() => {});
    await Promise.race([sleep(50), spawnError]);
    fs.writeFileSync(cfg.pidFile, `${child.pid}\n`);
    log(
      `started java pid ${child.pid} (heap max ${cfg.heapMax}), log: ${cfg.logFile}; waiting for the broker ...`,
    );

    let ready;
    try {
      ready = await waitReady(cfg, { pid: child.pid, child, t0: tSpawn, log });
    } catch (e) {
      // Do not leave a half-started JVM behind holding the ports.
      log(`stopping the half-started broker (pid ${child.pid})`);
      await stopKafka({ quiet: true, env }).catch(() => {});
      throw e;
    } finally {
      child.unref();
    }
    const startedInMs = Date.now() - t0;
    log(
      `Kafka ${cfg.brokers} ready in ${(startedInMs / 1000).toFixed(1)} s` +
        ` (JVM to ready ${((Date.now() - tSpawn) / 1000).toFixed(1)} s${fetched ? ', jars fetched' : ''}${formatted ? ', storage formatted' : ''})`,
    );
    return {
      brokers: cfg.brokers,
      reused: false,
      external: false,
      pid: child.pid,
      startedInMs,
      fetchedJars: fetched,
      formatted,
      clusterId: ready.clusterId,
    };
  });
}

/** SIGTERM (controlled shutdown), wait up to timeoutS, then SIGKILL. Resolves { wasRunning, pid, killed, stoppedInMs }. */
export async function stopKafka({ quiet = false, env = process.env, timeoutS = 30 } = {}) {
  const cfg = kafkaConfig(env);
  const log = makeLogger(quiet);
  const t0 = Date.now();
  const ps = pidState(cfg);
  if (!ps.alive) {
    if (ps.stale) log(`removed stale pid file (pid ${ps.pid} is gone)`);
    const api = await probeApiVersions(cfg.host, cfg.port, 1000);
    if (api.ok)
      log(`note: a Kafka broker not started by this script answers on ${cfg.brokers}; leaving it alone`);
    else log('Kafka is not running');
    return { wasRunning: false, pid: null, killed: false, stoppedInMs: 0, external: api.ok };
  }
  const { pid } = ps;
  log(`stopping Kafka pid ${pid} (SIGTERM, controlled shutdown) ...`);
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  let killed = false;
  const deadline = Date.now() + timeoutS * 1000;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(200);
  if (pidAlive(pid)) {
    log(`still alive after ${timeoutS} s: SIGKILL`);
    killed = true;
    try {
      process.kill(-pid, 'SIGKILL'); // whole process group (it was spawned detached)
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    const killDeadline = Date.now() + 5000;
    while (pidAlive(pid) && Date.now() < killDeadline) await sleep(100);
  }
  fs.rmSync(cfg.pidFile, { force: true });
  const stoppedInMs = Date.now() - t0;
  log(`stopped in ${(stoppedInMs / 1000).toFixed(1)} s${killed ? ' (killed)' : ''}`);
  return { wasRunning: true, pid, killed, stoppedInMs, external: false };
}

/** Stop and delete the data dir (keeps jars and the cluster id). */
export async function resetKafka({ quiet = false, env = process.env } = {}) {
  const cfg = kafkaConfig(env);
  const log = makeLogger(quiet);
  const stopped = await stopKafka({ quiet, env });
  fs.rmSync(cfg.data, { recursive: true, force: true });
  log(`deleted ${cfg.data}`);
  return { ...stopped, dataDeleted: cfg.data };
}
