/**
 * Every command prints either for people (default) or one JSON document on stdout (`--json`), so
 * scripts never have to scrape human text. Progress and logs go to stderr in both modes.
 */
export interface OutputOptions {
  json?: boolean;
}

export function emit(options: OutputOptions, result: unknown, human: () => string): void {
  if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else process.stdout.write(`${human()}\n`);
}

/** Errors a user can fix (bad file, bad option): one line, exit code 2; no stack trace. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function table(rows: Record<string, string | number>[]): string {
  if (rows.length === 0) return '(none)';
  const columns = Object.keys(rows[0]!);
  const width = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(width[i]!))
      .join('  ')
      .trimEnd();
  return [
    line(columns),
    line(width.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(columns.map((c) => String(r[c] ?? '')))),
  ].join('\n');
}
