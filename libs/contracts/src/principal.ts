/**
 * Principal ids (who did something) under the one normalisation every check uses. Pure, shared by
 * the HTTP edge (libs/http) and the domain cores (maker-checker in settlement): a comparison that
 * normalised in one place and not in the other would be a way round maker-checker.
 */

/** What a principal id may contain after normalisation: no spaces, no controls, no markup. */
const PRINCIPAL_ID = /^[\p{Ll}\p{Lo}\p{Lm}\p{N}._:@-]{1,200}$/u;

/**
 * The one normalisation of a principal id: Unicode NFKC (full-width ＡＢＣ → ABC), then lower case.
 * `System:Cycle-Close`, `system:cycle-close` and `ｓｙｓｔｅｍ:ｃｙｃｌｅ-ｃｌｏｓｅ` are one principal to
 * every check. Null when nothing usable remains (empty, spaces, control characters, over 200
 * characters).
 */
export function normalizePrincipal(raw: string): string | null {
  const id = raw.normalize('NFKC').toLowerCase();
  return PRINCIPAL_ID.test(id) ? id : null;
}

/**
 * The key two principal ids are compared on: the normalised id, or (for an id that does not
 * normalise, e.g. one stored before the rule) the NFKC lower-case text itself, never the raw text.
 */
export function principalKey(raw: string): string {
  return normalizePrincipal(raw) ?? raw.normalize('NFKC').toLowerCase();
}
