/**
 * Every command prints either for people (default) or one JSON document on stdout (`--json`), so
 * scripts never have to scrape human text. Progress and logs go to stderr in both modes.
 *
 * Text for people often carries what came from outside — statement fields, notes, reasons, file
 * names, merchant names, a service's error message — and a terminal executes control sequences it
 * is sent (ESC ] 0 ; … BEL retitles the window, ESC [ 2 J clears it, OSC 52 writes the clipboard).
 * So every human output goes through terminalSafe: cells and values lose every control character,
 * and the laid-out text keeps only the line breaks the CLI put there. JSON needs nothing: its
 * serialiser escapes every control character.
 */
export interface OutputOptions {
  json?: boolean;
}

export function emit(options: OutputOptions, result: unknown, human: () => string): void {
  if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else process.stdout.write(`${terminalSafe(human(), { keepNewlines: true })}\n`);
}

/** An error that ends the command with a message (no stack trace) and its own exit code. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Errors a user can fix (bad file, bad option): one line, exit code 2; no stack trace. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';
  constructor(message: string) {
    super(message, 2);
  }
}

// C0 (U+0000–U+001F), DEL (U+007F) and C1 (U+0080–U+009F, e.g. U+009B, the one-character CSI).
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;
// The same, line feed excepted.
// eslint-disable-next-line no-control-regex
const CONTROLS_BUT_LF = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;

/**
 * Text that came from outside, made safe to print on a terminal: every C0/C1 control character
 * (ESC, CSI, BEL, CR, TAB, …) removed; with keepNewlines, line feeds stay (for text whose lines the
 * CLI laid out itself). Printable text is returned unchanged.
 */
export function terminalSafe(text: string, options: { keepNewlines?: boolean } = {}): string {
  return text.replace(options.keepNewlines ? CONTROLS_BUT_LF : CONTROLS, '');
}

export function table(rows: Record<string, string | number | null | undefined>[]): string {
  if (rows.length === 0) return '(none)';
  const columns = Object.keys(rows[0]!);
  const cell = (value: string | number | null | undefined) => terminalSafe(String(value ?? ''));
  const width = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (cells: string[]) =>
    cells
      .map((text, i) => text.padEnd(width[i]!))
      .join('  ')
      .trimEnd();
  return [
    line(columns),
    line(width.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(columns.map((c) => cell(r[c])))),
  ].join('\n');
}
