/**
 * Measuring aids for benches that run a service's own code unchanged: where a consumer's
 * transactions spend their time statement by statement, where Node's CPU goes (a sampled CPU
 * profile, summed by function and by package), the CPU of other processes on this machine, and a
 * phase's peak RSS.
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';

// -----------------------------------------------------------------------------------------------
// Statements.

/**
 * Times every statement of the transactions a DataSource runs, without touching the code that runs
 * them: `wrapDataSource` hands each `transaction` callback an EntityManager whose `query` is timed
 * under a label, and so is every COPY streamed through its query runner's pg client (copyRows).
 * Times are summed over concurrent transactions.
 */
export class StatementProfile {
  private readonly byLabel = new Map<string, { calls: number; ms: number }>();
  private readonly runners = new WeakMap<QueryRunner, QueryRunner>();

  wrapDataSource(dataSource: DataSource): DataSource {
    return new Proxy(dataSource, {
      get: (target, prop) => {
        if (prop === 'transaction') {
          return (...args: unknown[]) => {
            const run = args[args.length - 1] as (tx: EntityManager) => Promise<unknown>;
            const level = args.slice(0, -1) as [];
            return (target.transaction as (...a: unknown[]) => Promise<unknown>).call(
              target,
              ...level,
              (tx: EntityManager) => run(this.wrap(tx)),
            );
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  wrap(tx: EntityManager): EntityManager {
    return new Proxy(tx, {
      get: (target, prop, receiver) => {
        if (prop === 'query') {
          return async (sql: string, parameters?: unknown[]) => {
            const t = performance.now();
            try {
              return (await target.query(sql, parameters)) as unknown;
            } finally {
              this.add(statementLabel(sql), performance.now() - t);
            }
          };
        }
        if (prop === 'queryRunner' && target.queryRunner) return this.wrapRunner(target.queryRunner);
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
  }

  private wrapRunner(runner: QueryRunner): QueryRunner {
    const cached = this.runners.get(runner);
    if (cached) return cached;
    const wrapped = new Proxy(runner, {
      get: (target, prop) => {
        if (prop !== 'connect') return Reflect.get(target, prop, target) as unknown;
        return async () => {
          const client = (await target.connect()) as { query: (q: unknown) => unknown };
          return new Proxy(client, {
            get: (c, p) => {
              if (p !== 'query') return Reflect.get(c, p, c) as unknown;
              return (query: unknown) => {
                const stream = c.query(query);
                const text = (query as { text?: string }).text;
                if (typeof text === 'string' && /^COPY/i.test(text)) {
                  const t = performance.now();
                  (stream as NodeJS.EventEmitter).once('finish', () =>
                    this.add(statementLabel(text), performance.now() - t),
                  );
                }
                return stream;
              };
            },
          });
        };
      },
    });
    this.runners.set(runner, wrapped);
    return wrapped;
  }

  private add(label: string, ms: number): void {
    const entry = this.byLabel.get(label) ?? { calls: 0, ms: 0 };
    entry.calls += 1;
    entry.ms += ms;
    this.byLabel.set(label, entry);
  }

  /** Statements by time, as shares of `transactionMs` (the time spent inside transactions). */
  rows(transactionMs: number): { label: string; calls: number; ms: number; share: number }[] {
    const rows = [...this.byLabel]
      .map(([label, e]) => ({ label, calls: e.calls, ms: Math.round(e.ms), share: e.ms / transactionMs }))
      .sort((a, b) => b.ms - a.ms);
    const statementsMs = rows.reduce((sum, r) => sum + r.ms, 0);
    rows.push({
      label: 'rest: Node work between statements (decode is outside), BEGIN/COMMIT, GC',
      calls: 0,
      ms: Math.round(transactionMs - statementsMs),
      share: (transactionMs - statementsMs) / transactionMs,
    });
    return rows;
  }
}

export function statementLabel(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  const copy = /^COPY (\S+)/i.exec(flat);
  if (copy) return `COPY ${copy[1]}`;
  if (/^(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)/i.test(flat))
    return flat.split(' ').slice(0, -1).join(' ');
  return flat.length > 110 ? `${flat.slice(0, 110)}…` : flat;
}

// -----------------------------------------------------------------------------------------------
// Node CPU profile.

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface CpuProfileSummary {
  file: string;
  sampledMs: number;
  /** Self time by package or area (node_modules package, repo folder, V8 pseudo-frames). */
  byArea: { area: string; share: number }[];
  /** Self time by function, the heaviest first. */
  byFunction: { fn: string; share: number }[];
}

/** A sampled CPU profile of this process between `start` and `stop` (node:inspector). */
export class CpuProfiler {
  private readonly session = new Session();

  async start(intervalUs = 500): Promise<void> {
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: intervalUs });
    await this.session.post('Profiler.start');
  }

  /** Writes the profile (loadable in Chrome DevTools) and sums its self time. */
  async stop(file: string, top = 25): Promise<CpuProfileSummary> {
    const { profile } = (await this.session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
    await this.session.post('Profiler.disable');
    this.session.disconnect();
    fs.writeFileSync(file, JSON.stringify(profile));
    return summarize(profile, file, top);
  }
}

function summarize(profile: CpuProfile, file: string, top: number): CpuProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // Sample k's time is the gap to the next one.
  for (let k = 0; k < samples.length; k += 1) {
    const ms = (deltas[k + 1] ?? 0) / 1000;
    selfMs.set(samples[k]!, (selfMs.get(samples[k]!) ?? 0) + ms);
  }
  const total = [...selfMs.values()].reduce((a, b) => a + b, 0);
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const frame = byId.get(id)!.callFrame;
    areas.set(
      areaOf(frame.url, frame.functionName),
      (areas.get(areaOf(frame.url, frame.functionName)) ?? 0) + ms,
    );
    const where = frame.url === '' ? '' : ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
    const fn = `${frame.functionName || '(anonymous)'}${where}`;
    functions.set(fn, (functions.get(fn) ?? 0) + ms);
  }
  const shares = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).map(([k, ms]) => ({ k, share: Number((ms / total).toFixed(4)) }));
  return {
    file,
    sampledMs: Math.round(total),
    byArea: shares(areas).map(({ k, share }) => ({ area: k, share })),
    byFunction: shares(functions)
      .slice(0, top)
      .map(({ k, share }) => ({ fn: k, share })),
  };
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  const repo = /\/(apps|libs|test|scripts)\/.*/.exec(url);
  return repo ? repo[0].slice(1) : url.replace(/^file:\/\//, '');
}

function areaOf(url: string, functionName: string): string {
  if (url === '') {
    // V8's pseudo-frames: (garbage collector), (program), (idle), (root) — and native builtins.
    return functionName.startsWith('(') ? functionName : '(native)';
  }
  if (url.startsWith('node:')) return 'node: core';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const repo = /\/(apps\/[^/]+\/src\/[^/]+|libs\/[^/]+|test\/[^/]+)/.exec(url);
  return repo ? repo[1]! : shortUrl(url);
}

// -----------------------------------------------------------------------------------------------
// CPU of other processes, and RSS.

/**
 * CPU seconds (user + system, including reaped children) of the processes `select` picks, from
 * /proc; null where /proc cannot be read (not Linux). The postmaster's reaped-children times keep
 * the CPU of backends that have exited, so the sum only grows.
 */
export function processCpuSeconds(select: (pid: number, comm: string) => boolean): number | null {
  let total = 0;
  try {
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      try {
        const comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        if (!select(pid, comm)) continue;
        // After "pid (comm) ": utime, stime, cutime, cstime are the 12th to 15th fields.
        const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        total += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
      } catch {
        // the process ended between readdir and read
      }
    }
  } catch {
    return null;
  }
  return total;
}

const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

/** Peak RSS of this process over one phase. */
export class RssSampler {
  private peak = 0;
  private atStart = 0;
  private maxRssBefore = 0;
  private timer: NodeJS.Timeout | undefined;

  start(): void {
    this.atStart = process.memoryUsage.rss();
    this.peak = this.atStart;
    this.maxRssBefore = process.resourceUsage().maxRSS * 1024;
    this.timer = setInterval(() => this.sample(), 100);
  }

  stop(): { startMiB: number; peakMiB: number; processMaxMiB: number } {
    clearInterval(this.timer);
    this.sample();
    // A timer misses what happens while the event loop is blocked; the kernel's high-water mark
    // does not, and when this phase raised it, it is the phase's peak.
    const maxRssAfter = process.resourceUsage().maxRSS * 1024;
    const peak = maxRssAfter > this.maxRssBefore ? Math.max(this.peak, maxRssAfter) : this.peak;
    return { startMiB: mib(this.atStart), peakMiB: mib(peak), processMaxMiB: mib(maxRssAfter) };
  }

  private sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
  }
}
