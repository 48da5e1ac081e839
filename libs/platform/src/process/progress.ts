/**
 * Progress for long jobs: a rewritten line with rate and ETA on a TTY, a plain log line every few
 * seconds otherwise (CI logs and journald should not fill with carriage returns).
 */
export interface ProgressOptions {
  label: string;
  total?: number;
  unit?: string;
  stream?: NodeJS.WriteStream;
  logEveryMs?: number;
  /** Suppress all output (e.g. `--json` mode, where stdout is for the machine-readable result). */
  silent?: boolean;
}

export class ProgressReporter {
  private done = 0;
  private readonly startedAt = Date.now();
  private lastPrintAt = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly logEveryMs: number;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
    this.logEveryMs = options.logEveryMs ?? (this.tty ? 200 : 5_000);
  }

  add(count: number): void {
    this.done += count;
    const now = Date.now();
    if (now - this.lastPrintAt >= this.logEveryMs) {
      this.lastPrintAt = now;
      this.print(false);
    }
  }

  finish(): { count: number; elapsedMs: number; perSecond: number } {
    this.print(true);
    const elapsedMs = Date.now() - this.startedAt;
    return { count: this.done, elapsedMs, perSecond: rate(this.done, elapsedMs) };
  }

  private print(final: boolean): void {
    if (this.options.silent) return;
    const elapsedMs = Date.now() - this.startedAt;
    const perSecond = rate(this.done, elapsedMs);
    const unit = this.options.unit ?? 'items';
    const total = this.options.total;
    let line = `${this.options.label}: ${this.done.toLocaleString('en-US')}`;
    if (total !== undefined)
      line += `/${total.toLocaleString('en-US')} (${((100 * this.done) / Math.max(total, 1)).toFixed(1)}%)`;
    line += ` ${unit}, ${Math.round(perSecond).toLocaleString('en-US')} ${unit}/s`;
    if (total !== undefined && !final && perSecond > 0)
      line += `, ETA ${formatDuration(((total - this.done) / perSecond) * 1000)}`;
    if (final) line += `, ${formatDuration(elapsedMs)}`;
    if (this.tty) this.stream.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
    else this.stream.write(`${line}\n`);
  }
}

function rate(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (count * 1000) / elapsedMs : 0;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(s % 60).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
